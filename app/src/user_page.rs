//! Users › one user (operators): the record as stored, reached from the
//! quick search, with a one-time sign-in link for that user.

use crate::error::AppError;
use domain::audit::AuditEvent;
use domain::store::EditOutcome;
#[cfg(feature = "ssr")]
use domain::store::UserEdit;
use domain::{Change, Field, Role, Roles, RowError, User};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

/// A user as the user's page shows it, and what the viewer may do to it
/// (the server decides; it checks again when asked to do it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub user: User,
    /// The privilege rule lets the viewer change this user.
    pub can_edit: bool,
    /// The viewer is an administrator: the edit form has role checkboxes.
    pub can_edit_roles: bool,
}

/// One user by email (operators only); `None` when there is none.
#[server(endpoint = "user_details")]
pub async fn user_details(email: String) -> Result<Option<UserView>, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    // The key as every stored user's is made (NFC, lower case); a text
    // that is no address names nobody.
    let Ok(email) = domain::Email::parse(&email) else {
        return Ok(None);
    };
    let key = email.key().clone();
    let store = store()?;
    let user = blocking(move || store.user(&key)).await?;
    let actor = actor(&me);
    Ok(user.map(|user| UserView {
        can_edit: domain::privilege::check_edit(actor, &user, &user).is_ok(),
        can_edit_roles: is_admin(&me),
        user,
    }))
}

/// Saves an operator's edit of a user made against `version` (operators;
/// roles only by administrators). Validated again here by the same domain
/// rules the page used; when the user changed meanwhile nothing is written
/// and the answer carries the fresh record and the edit's changes to it.
#[server(endpoint = "edit_user", input = Json)]
pub async fn edit_user(
    email: String,
    version: u64,
    cells: Vec<(Field, String)>,
    roles: Option<Vec<Role>>,
) -> Result<EditOutcome, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let email =
        domain::Email::parse(&email).map_err(|e| failed(AppError::Invalid(e.to_string())))?;
    if cells.len() > Field::ALL.len() {
        return Err(failed(AppError::Invalid("Too many fields.".into())));
    }
    let (store, actor, now) = (store()?, actor(&me), now_s());
    blocking(move || {
        let cells: Vec<(Field, &str)> = cells.iter().map(|(f, v)| (*f, v.as_str())).collect();
        store.edit_user(UserEdit {
            key: email.key(),
            cells: &cells,
            roles: roles.map(|r| Roles::of(&r)),
            expected_version: version,
            operator: me.email.as_str(),
            actor,
            now,
        })
    })
    .await
}

/// Activates or deactivates a user (operators, under the privilege rule:
/// never an administrator unless the actor is one, never the last active
/// administrator). Deactivation ends the user's sessions and revokes their
/// sign-in links at once.
#[server(endpoint = "set_user_end_state")]
pub async fn set_user_end_state(email: String, active: bool) -> Result<User, AppError> {
    use crate::context::*;
    use domain::EndState;
    let me = require(is_operator).await?;
    let email =
        domain::Email::parse(&email).map_err(|e| failed(AppError::Invalid(e.to_string())))?;
    let end_state = if active {
        EndState::Active
    } else {
        EndState::Inactive
    };
    let (store, actor, now) = (store()?, actor(&me), now_s());
    let operator = me.email.to_string();
    blocking(move || store.set_end_state(email.key(), end_state, &operator, actor, now)).await
}

/// Every change to one user, newest first: for operators, and only of
/// users the privilege rule lets them act on (an operator does not read an
/// administrator's trail, as the Audit log is an administrator's): `None`
/// when the trail is not the viewer's to read.
#[server(endpoint = "user_history")]
pub async fn user_history(email: String) -> Result<Option<Vec<AuditEvent>>, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let Ok(email) = domain::Email::parse(&email) else {
        return Ok(Some(Vec::new()));
    };
    let (store, actor) = (store()?, actor(&me));
    blocking(move || {
        let target = store.user(email.key())?;
        if domain::privilege::check_change(actor, domain::Act::Change, target.as_ref(), None)
            .is_err()
        {
            return Ok(None);
        }
        store.user_history(email.key()).map(Some)
    })
    .await
}

/// The page's address for a user. Everything but unreserved characters
/// (RFC 3986) and `@` is percent-encoded, so any valid address survives
/// the path.
pub fn user_path(email: &str) -> String {
    use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
    const PATH_SAFE: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'@');
    format!("/users/u/{}", utf8_percent_encode(email, PATH_SAFE))
}

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let email = move || params.read().get("email").unwrap_or_default();
    let change = ServerAction::<SetUserEndState>::new();
    // Bumped when an edit is saved.
    let saved = RwSignal::new(0u32);
    // Loaded again after each activation, deactivation or saved edit.
    let user = Resource::new(
        move || (email(), change.version().get(), saved.get()),
        |(email, _, _)| user_details(email),
    );
    let history = Resource::new(
        move || (email(), change.version().get(), saved.get()),
        |(email, _, _)| user_history(email),
    );
    let link = ServerAction::<crate::users::MakeSignInLink>::new();
    let show = move |found: Option<UserView>| match found {
        None => view! {
            <h1>"No such user"</h1>
            <p>{format!("There is no user {}.", email())}</p>
        }
        .into_any(),
        Some(details) => view! { <UserRecord details link change saved/> }.into_any(),
    };
    crate::page::guarded(move || {
        view! {
            {crate::page::loaded(user, show)}
            <crate::users::LinkAnswer answer=link.value()/>
            {crate::page::loaded(history, |events| match events {
                Some(events) => view! {
                    <crate::audit_log::EventTable caption="History" events with_target=false/>
                }
                .into_any(),
                None => view! {
                    <p class="muted" data-testid="history-hidden">
                        "The history of this user is shown to those who may change them."
                    </p>
                }
                .into_any(),
            })}
            {move || {
                change
                    .value()
                    .try_get()
                    .flatten()
                    .and_then(|r| r.err())
                    .map(|error| view! { <crate::error::ErrorAlert error/> })
            }}
        }
    })
}

#[component]
fn UserRecord(
    details: UserView,
    link: ServerAction<crate::users::MakeSignInLink>,
    change: ServerAction<SetUserEndState>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    let UserView {
        user: u,
        can_edit,
        can_edit_roles,
    } = details;
    let editing = RwSignal::new(false);
    let edit_user = u.clone();
    let address = u.email.to_string();
    let active = u.end_state == domain::EndState::Active;
    let (label, question) = if active {
        (
            "Deactivate",
            "Deactivate this user? Their sessions end and their sign-in links stop working now.",
        )
    } else {
        ("Activate", "Activate this user again?")
    };
    let target = address.clone();
    view! {
        <h1>{u.name()}</h1>
        <table>
            <caption>"User"</caption>
            <tbody>
                {Field::ALL
                    .into_iter()
                    .map(|f| view! { <tr><th scope="row">{f.label()}</th><td>{u.field(f).to_string()}</td></tr> })
                    .collect_view()}
                <tr><th scope="row">"Roles"</th><td>{u.roles.to_string()}</td></tr>
                <tr><th scope="row">"End state"</th><td>{u.end_state.to_string()}</td></tr>
                <tr><th scope="row">"Source"</th><td>{u.source.to_string()}</td></tr>
                <tr><th scope="row">"Created"</th><td>{domain::time::rfc3339(u.created_at)}</td></tr>
                <tr><th scope="row">"Updated"</th><td>{domain::time::rfc3339(u.updated_at)}</td></tr>
                <tr><th scope="row">"Version"</th><td>{u.version}</td></tr>
            </tbody>
        </table>
        <p class="actions">
            <button
                type="button"
                on:click=move |_| {
                    link.dispatch(crate::users::MakeSignInLink { email: address.clone() });
                }
            >
                "Make sign-in link"
            </button>
            " "
            <button
                type="button"
                class="secondary"
                disabled=move || change.pending().get()
                on:click=move |_| {
                    if window().confirm_with_message(question).unwrap_or(false) {
                        change.dispatch(SetUserEndState { email: target.clone(), active: !active });
                    }
                }
            >
                {label}
            </button>
            " "
            {can_edit.then(|| view! {
                <button type="button" class="secondary" on:click=move |_| editing.set(true) disabled=move || editing.get()>
                    "Edit"
                </button>
            })}
        </p>
        {(!can_edit).then(|| view! {
            <p class="muted">"Only an administrator may change this user."</p>
        })}
        <Show when=move || editing.get()>
            <EditForm user=edit_user.clone() can_edit_roles editing saved/>
        </Show>
    }
}

/// "Edit": the Manual input fields (email fixed) and, for administrators,
/// the roles; "Save" shows the changes old → new, computed in the browser
/// by the same domain rules the server applies, and "Confirm" writes them
/// if nobody changed the user meanwhile.
#[component]
fn EditForm(
    user: User,
    can_edit_roles: bool,
    editing: RwSignal<bool>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    // The record the edit is against: the page's, or the fresh one after a
    // "changed meanwhile".
    let base = RwSignal::new(user.clone());
    let values: Vec<(Field, RwSignal<String>)> = Field::ALL
        .into_iter()
        .skip(1)
        .map(|f| (f, RwSignal::new(user.field(f).to_string())))
        .collect();
    let roles = RwSignal::new(user.roles);
    let errors = RwSignal::new(Vec::<RowError>::new());
    // The changes "Save" found, shown until "Confirm" or "Cancel".
    let review = RwSignal::new(None::<Vec<Change>>);
    let notice = RwSignal::new(None::<&'static str>);
    let confirm = ServerAction::<EditUser>::new();
    let cells = {
        let values = values.clone();
        move || -> Vec<(Field, String)> {
            values
                .iter()
                .map(|(f, v)| (*f, v.get_untracked()))
                .collect()
        }
    };
    let wanted_roles = move || can_edit_roles.then(|| roles.get_untracked());
    let save = {
        let cells = cells.clone();
        move |_| {
            let cells = cells();
            let borrowed: Vec<(Field, &str)> =
                cells.iter().map(|(f, v)| (*f, v.as_str())).collect();
            let before = base.get_untracked();
            notice.set(None);
            match domain::manual::operator_edit(&before, &borrowed, wanted_roles()) {
                Ok(after) => {
                    errors.set(Vec::new());
                    review.set(Some(domain::plan::diff(&before, &after)));
                }
                Err(found) => {
                    errors.set(found);
                    review.set(None);
                }
            }
        }
    };
    let on_confirm = {
        let cells = cells.clone();
        move |_| {
            let before = base.get_untracked();
            confirm.dispatch(EditUser {
                email: before.email.to_string(),
                version: before.version,
                cells: cells(),
                roles: wanted_roles().map(|r| r.iter().collect()),
            });
        }
    };
    Effect::new(move |_| {
        let Some(answer) = confirm.value().get() else {
            return;
        };
        match answer {
            Ok(EditOutcome::Saved(_)) | Ok(EditOutcome::Unchanged(_)) => {
                review.set(None);
                editing.set(false);
                saved.update(|n| *n += 1);
            }
            Ok(EditOutcome::ChangedMeanwhile { current, changes }) => {
                base.set(current);
                review.set(Some(changes));
                notice.set(Some(
                    "This user was changed meanwhile: nothing was saved. Here is what your edit \
                     changes on the record as it is now; confirm again or cancel.",
                ));
            }
            Ok(EditOutcome::Invalid(found)) => {
                errors.set(found);
                review.set(None);
            }
            Err(_) => {}
        }
    });
    let error_of = move |f: Field| {
        errors.with(|e| {
            e.iter()
                .find(|e| e.column == f.column())
                .map(|e| e.message.clone())
        })
    };
    view! {
        <form class="card" on:submit=|ev| ev.prevent_default() aria-label="Edit user">
            <h2>"Edit"</h2>
            {values
                .iter()
                .map(|&(f, value)| {
                    let id = format!("edit-{}", f.column());
                    let error_id = format!("{id}-error");
                    view! {
                        <label for=id.clone()>{f.label()}{f.required().then_some(" (required)")}</label>
                        <input
                            id=id
                            type="text"
                            maxlength=f.max_chars()
                            aria-describedby=error_id.clone()
                            prop:value=move || value.get()
                            on:input=move |ev| value.set(event_target_value(&ev))
                        />
                        <span id=error_id class="error">{move || error_of(f)}</span>
                    }
                })
                .collect_view()}
            {can_edit_roles.then(|| view! {
                <fieldset>
                    <legend>"Roles"</legend>
                    {Role::ALL
                        .into_iter()
                        .map(|role| view! {
                            <label class="check">
                                <input
                                    type="checkbox"
                                    prop:checked=move || roles.get().contains(role)
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        roles.update(|r| {
                                            *r = Roles::of(&r.iter().filter(|x| *x != role).chain(on.then_some(role)).collect::<Vec<_>>());
                                        });
                                    }
                                />
                                {role.label()}
                            </label>
                        })
                        .collect_view()}
                </fieldset>
            })}
            <p class="help">"A blank optional field is cleared. The email is the user's key and cannot be changed."</p>
            <p class="actions">
                <button type="button" on:click=save>"Save"</button>
                " "
                <button type="button" class="secondary" on:click=move |_| {
                    review.set(None);
                    editing.set(false);
                }>"Cancel"</button>
            </p>
        </form>
        {move || notice.get().map(|text| view! { <p role="alert" class="error">{text}</p> })}
        {move || review.get().map(|changes| {
            if changes.is_empty() {
                return view! { <p role="status">"Nothing changed."</p> }.into_any();
            }
            view! {
                <div class="card">
                    <h2>"Changes"</h2>
                    <ul aria-label="Changes">
                        {changes.iter().map(|c| view! { <li>{c.describe()}</li> }).collect_view()}
                    </ul>
                    <p class="actions">
                        <button type="button" on:click=on_confirm.clone() disabled=move || confirm.pending().get()>"Confirm"</button>
                        " "
                        <button type="button" class="secondary" on:click=move |_| review.set(None)>"Cancel"</button>
                    </p>
                </div>
            }
            .into_any()
        })}
        {move || {
            confirm
                .value()
                .try_get()
                .flatten()
                .and_then(|r| r.err())
                .map(|error| view! { <crate::error::ErrorAlert error/> })
        }}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_path_safe() {
        assert_eq!(user_path("ada@x.org"), "/users/u/ada@x.org");
        assert_eq!(
            user_path("a+b/c?d#e@x.org"),
            "/users/u/a%2Bb%2Fc%3Fd%23e@x.org"
        );
        assert_eq!(user_path("zoë@x.org"), "/users/u/zo%C3%AB@x.org");
    }
}
