//! Admin › Options: the administrator's defaults for imports, sign-in links
//! and self-service (see the README's Options). Saved all at once or not at all.

// The server function takes the form's fields as its arguments; the
// macro's generated code trips this lint.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use crate::options_mail::{MailFields, MailOptions};
use domain::mail::{MailKind, Part};
use domain::{Field, Options, Role};
use leptos::prelude::*;

/// Stores the options (administrators only). Values are in the same text
/// form as `roster options set`; every one is validated before any is
/// written.
#[server(endpoint = "save_options")]
pub async fn save_options(
    end_state: String,
    roles: String,
    max_rows: String,
    approval_above: String,
    approval_window_hours: String,
    sync_max_deactivate_percent: String,
    link_days: String,
    editable: String,
    scim_delete: String,
    // The mail options: absent ones are left as they are.
    #[server(default)] mail_organization: Option<String>,
    #[server(default)] email_on_import: Option<String>,
    #[server(default)] reset_minutes: Option<String>,
    #[server(default)] mail_per_minute: Option<String>,
    #[server(default)] sign_in_subject: Option<String>,
    #[server(default)] sign_in_text: Option<String>,
    #[server(default)] sign_in_html: Option<String>,
    #[server(default)] reset_subject: Option<String>,
    #[server(default)] reset_text: Option<String>,
    #[server(default)] reset_html: Option<String>,
) -> Result<Options, AppError> {
    use crate::context::*;
    use domain::options::OptionKey;
    let admin = require(|u| u.roles.contains(Role::Admin)).await?;
    let store = store()?;
    let by = admin.email.to_string();
    let given = [
        (OptionKey::EndState, Some(end_state)),
        (OptionKey::Roles, Some(roles)),
        (OptionKey::MaxRows, Some(max_rows)),
        (OptionKey::ApprovalAbove, Some(approval_above)),
        (OptionKey::ApprovalWindowHours, Some(approval_window_hours)),
        (
            OptionKey::SyncMaxDeactivatePercent,
            Some(sync_max_deactivate_percent),
        ),
        (OptionKey::LinkDays, Some(link_days)),
        (OptionKey::Editable, Some(editable)),
        (OptionKey::ScimDelete, Some(scim_delete)),
        (OptionKey::MailOrganization, mail_organization),
        (OptionKey::EmailOnImport, email_on_import),
        (OptionKey::ResetMinutes, reset_minutes),
        (OptionKey::MailPerMinute, mail_per_minute),
        (
            OptionKey::Template(MailKind::SignInLink, Part::Subject),
            sign_in_subject,
        ),
        (
            OptionKey::Template(MailKind::SignInLink, Part::Text),
            sign_in_text,
        ),
        (
            OptionKey::Template(MailKind::SignInLink, Part::Html),
            sign_in_html,
        ),
        (
            OptionKey::Template(MailKind::Reset, Part::Subject),
            reset_subject,
        ),
        (OptionKey::Template(MailKind::Reset, Part::Text), reset_text),
        (OptionKey::Template(MailKind::Reset, Part::Html), reset_html),
    ];
    let saved = blocking(move || {
        let pairs: Vec<(&str, &str)> = given
            .iter()
            .filter_map(|(key, value)| Some((key.as_str(), value.as_deref()?)))
            .collect();
        store.set_options(&pairs, &admin.by(), now_s())
    })
    .await?;
    crate::security_log::note(domain::audit::AuditAction::OptionsChanged, &by, "options");
    Ok(saved)
}

#[component]
pub fn OptionsPage() -> impl IntoView {
    let current = Resource::new(|| (), |_| crate::import::import_options());
    let setup = Resource::new(|| (), |_| crate::mail::mail_settings());
    crate::page::guarded(move || {
        view! {
            <h1>"Options"</h1>
            {crate::page::loaded(current, move |options| view! { <OptionsForm options setup/> })}
        }
    })
}

#[component]
fn OptionsForm(
    options: Options,
    setup: Resource<Result<crate::mail::MailSetup, AppError>>,
) -> impl IntoView {
    let save = ServerAction::<SaveOptions>::new();
    let end_state = RwSignal::new(options.end_state.key().to_string());
    let roles = RwSignal::new(options.roles.iter().collect::<Vec<Role>>());
    let max_rows = RwSignal::new(options.max_rows.to_string());
    let link_days = RwSignal::new(options.link_days.to_string());
    let approval_above = RwSignal::new(options.approval_above.to_string());
    let approval_window_hours = RwSignal::new(options.approval_window_hours.to_string());
    let sync_max = RwSignal::new(options.sync_max_deactivate_percent.to_string());
    let editable = RwSignal::new(options.editable.clone());
    let scim_delete = RwSignal::new(options.scim_delete.key().to_string());
    let mail = MailFields::new(&options);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveOptions {
            end_state: end_state.get_untracked(),
            roles: roles
                .get_untracked()
                .iter()
                .map(|r| r.key())
                .collect::<Vec<_>>()
                .join(","),
            max_rows: max_rows.get_untracked(),
            approval_above: approval_above.get_untracked(),
            approval_window_hours: approval_window_hours.get_untracked(),
            sync_max_deactivate_percent: sync_max.get_untracked(),
            link_days: link_days.get_untracked(),
            editable: editable
                .get_untracked()
                .iter()
                .map(|f| f.column())
                .collect::<Vec<_>>()
                .join(","),
            scim_delete: scim_delete.get_untracked(),
            mail_organization: Some(mail.organization.get_untracked()),
            email_on_import: Some(mail.email_on_import.get_untracked().to_string()),
            reset_minutes: Some(mail.reset_minutes.get_untracked()),
            mail_per_minute: Some(mail.per_minute.get_untracked()),
            sign_in_subject: Some(mail.part(MailKind::SignInLink, Part::Subject)),
            sign_in_text: Some(mail.part(MailKind::SignInLink, Part::Text)),
            sign_in_html: Some(mail.part(MailKind::SignInLink, Part::Html)),
            reset_subject: Some(mail.part(MailKind::Reset, Part::Subject)),
            reset_text: Some(mail.part(MailKind::Reset, Part::Text)),
            reset_html: Some(mail.part(MailKind::Reset, Part::Html)),
        });
    };
    view! {
        {move || {
            save.value()
                .get()
                .map(|r| match r {
                    Ok(_) => view! { <p role="status" class="ok">"Options saved."</p> }.into_any(),
                    Err(e) => view! {
                        <p role="alert" class="error">
                            {format!("Nothing was saved: {e}")}
                        </p>
                    }
                    .into_any(),
                })
        }}
        <form class="card" on:submit=submit>
            <fieldset>
                <legend>"Imports"</legend>
                <label for="opt-end-state">"End state of imported users"</label>
                <select id="opt-end-state" prop:value=move || end_state.get() on:change=move |ev| end_state.set(event_target_value(&ev))>
                    <option value="active" selected=options.end_state.key() == "active">"Active"</option>
                    <option value="inactive" selected=options.end_state.key() == "inactive">"Inactive"</option>
                </select>
                <p class="help">"Roles given to imported users (added, never removed):"</p>
                {Role::ALL
                    .into_iter()
                    .map(|role| member_checkbox(format!("opt-role-{}", role.key()), role.label(), role, roles))
                    .collect_view()}
                <label for="opt-max-rows">"Largest import (rows)"</label>
                <input id="opt-max-rows" type="number" min="1" value=options.max_rows.to_string() prop:value=move || max_rows.get() on:input=move |ev| max_rows.set(event_target_value(&ev))/>
                <label for="opt-approval-above">"Approval needed above (rows)"</label>
                <input id="opt-approval-above" type="number" min="0" value=options.approval_above.to_string() prop:value=move || approval_above.get() on:input=move |ev| approval_above.set(event_target_value(&ev))/>
                <label for="opt-approval-window">"Counted over (hours)"</label>
                <input id="opt-approval-window" type="number" min="1" max="8760" value=options.approval_window_hours.to_string() prop:value=move || approval_window_hours.get() on:input=move |ev| approval_window_hours.set(event_target_value(&ev))/>
                <p class="help">
                    "An import that, with what its operator created and updated over the \
                     hours above, creates and updates more users than this waits until an \
                     independent second person with the Approval role approves it. 0: never."
                </p>
            </fieldset>
            <fieldset>
                <legend>"Sync imports"</legend>
                <label for="opt-sync-max">"Deactivate at most (% of the imported users)"</label>
                <input id="opt-sync-max" type="number" min="0" max="100" value=options.sync_max_deactivate_percent.to_string() prop:value=move || sync_max.get() on:input=move |ev| sync_max.set(event_target_value(&ev))/>
                <p class="help">
                    "A sync import (\"Sync\" ticked in the preview, or roster import --sync) that \
                     would deactivate more than this share of the active imported users it covers is refused unless confirmed."
                </p>
            </fieldset>
            <fieldset>
                <legend>"Sign-in links"</legend>
                <label for="opt-link-days">"Sign-in links valid for (days)"</label>
                <input id="opt-link-days" type="number" min="1" max="365" value=options.link_days.to_string() prop:value=move || link_days.get() on:input=move |ev| link_days.set(event_target_value(&ev))/>
            </fieldset>
            <fieldset>
                <legend>"Fields self-service users may edit"</legend>
                {Field::ALL
                    .into_iter()
                    .skip(1)
                    .map(|field| {
                        member_checkbox(format!("opt-edit-{}", field.column()), field.label(), field, editable)
                    })
                    .collect_view()}
            </fieldset>
            <fieldset>
                <legend>"SCIM provisioning"</legend>
                <label for="opt-scim-delete">"A SCIM DELETE"</label>
                <select id="opt-scim-delete" prop:value=move || scim_delete.get() on:change=move |ev| scim_delete.set(event_target_value(&ev))>
                    <option value="deactivate" selected=options.scim_delete.key() == "deactivate">"deactivates the user (kept for its history and undo)"</option>
                    <option value="delete" selected=options.scim_delete.key() == "delete">"deletes the user (its fields stay in the audit log)"</option>
                </select>
                <p class="help">
                    "Either way the user is gone for the provisioning client, and a user a person \
                     deactivated stays as that person left it."
                </p>
            </fieldset>
            <MailOptions fields=mail options=options.clone() link_days setup/>
            <p class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
            </p>
        </form>
    }
}

/// A labelled checkbox that says whether `item` is in `set`. The initial
/// state is an attribute too, so the server-rendered page shows it.
fn member_checkbox<T>(
    id: String,
    label: &'static str,
    item: T,
    set: RwSignal<Vec<T>>,
) -> impl IntoView
where
    T: Copy + PartialEq + Send + Sync + 'static,
{
    view! {
        <p>
            <input
                type="checkbox"
                id=id.clone()
                checked=set.with_untracked(|s| s.contains(&item))
                prop:checked=move || set.with(|s| s.contains(&item))
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    set.update(|s| {
                        s.retain(|x| *x != item);
                        if on {
                            s.push(item);
                        }
                    });
                }
            />
            <label for=id>{label}</label>
        </p>
    }
}
