//! Admin › Options, the mail part: the organisation's name, sending with
//! every import, the reset link's lifetime, the sending rate, and the
//! words of each mail with a preview computed in the browser by the same
//! function the server fills a queued mail with.

use domain::Options;
use domain::mail::MailKind;
use domain::mail::template::{self, MailTemplate, Part};
use leptos::prelude::*;

/// The mail options as the form edits them (text, as `roster options set`
/// takes them; the server validates).
#[derive(Clone, Copy)]
pub struct MailFields {
    pub organization: RwSignal<String>,
    pub email_on_import: RwSignal<bool>,
    pub reset_minutes: RwSignal<String>,
    pub per_minute: RwSignal<String>,
    pub sign_in: RwSignal<MailTemplate>,
    pub reset: RwSignal<MailTemplate>,
}

impl MailFields {
    pub fn new(options: &Options) -> MailFields {
        MailFields {
            organization: RwSignal::new(options.mail_organization.clone()),
            email_on_import: RwSignal::new(options.email_on_import),
            reset_minutes: RwSignal::new(options.reset_minutes.to_string()),
            per_minute: RwSignal::new(options.mail_per_minute.to_string()),
            sign_in: RwSignal::new(options.sign_in_mail.clone()),
            reset: RwSignal::new(options.reset_mail.clone()),
        }
    }

    /// One part of one kind's template as edited so far (read without
    /// tracking: for the form's submit).
    pub fn part(&self, kind: MailKind, part: Part) -> String {
        self.template(kind)
            .with_untracked(|t| t.part(part).to_string())
    }

    fn template(&self, kind: MailKind) -> RwSignal<MailTemplate> {
        match kind {
            MailKind::SignInLink => self.sign_in,
            MailKind::Reset => self.reset,
        }
    }
}

/// The mail fieldsets. `link_days` is the form's sign-in link lifetime as
/// typed (the preview's expiry follows it); `setup` says whether this
/// server has a mail server.
#[component]
pub fn MailOptions(
    fields: MailFields,
    options: Options,
    link_days: RwSignal<String>,
    setup: Resource<Result<crate::mail::MailSetup, crate::error::AppError>>,
) -> impl IntoView {
    let MailFields {
        organization,
        email_on_import,
        reset_minutes,
        per_minute,
        ..
    } = fields;
    view! {
        <fieldset>
            <legend>"Mail"</legend>
            <label for="opt-mail-organization">"Organisation name in mails"</label>
            <input id="opt-mail-organization" type="text" value=options.mail_organization.clone() prop:value=move || organization.get() on:input=move |ev| organization.set(event_target_value(&ev))/>
            <p>
                <input type="checkbox" id="opt-email-on-import" checked=options.email_on_import prop:checked=move || email_on_import.get() on:change=move |ev| email_on_import.set(event_target_checked(&ev))/>
                <label for="opt-email-on-import">"Email sign-in links to the users every import creates"</label>
            </p>
            <label for="opt-reset-minutes">"Password reset links valid for (minutes)"</label>
            <input id="opt-reset-minutes" type="number" min="5" max="1440" value=options.reset_minutes.to_string() prop:value=move || reset_minutes.get() on:input=move |ev| reset_minutes.set(event_target_value(&ev))/>
            <label for="opt-mail-per-minute">"Most mails sent a minute (per server)"</label>
            <input id="opt-mail-per-minute" type="number" min="1" max="100000" value=options.mail_per_minute.to_string() prop:value=move || per_minute.get() on:input=move |ev| per_minute.set(event_target_value(&ev))/>
            {crate::page::loaded(setup, |s| {
                let said = if s.enabled {
                    "This server has a mail server: mails are sent."
                } else {
                    "This server has no mail server (--smtp-url): no mail is sent, whatever is set here."
                };
                view! { <p class="help" data-testid="mail-server">{said}</p> }
            })}
            <p class="help">
                "In the templates below, {name}, {organization}, {link} and {expires} are \
                 filled for each recipient; the HTML template's values are escaped. \
                 \"Preview\" and \"Roster's words\" change nothing until the options are saved."
            </p>
        </fieldset>
        <TemplateFields fields kind=MailKind::SignInLink title="Sign-in link mail" lifetime=Signal::derive(move || seconds(&link_days.get(), 86_400, 7))/>
        <TemplateFields fields kind=MailKind::Reset title="Password reset mail" lifetime=Signal::derive(move || seconds(&reset_minutes.get(), 60, 30))/>
    }
}

/// A lifetime field as typed, in seconds (`unit` seconds each; its default
/// while it is not a number).
fn seconds(typed: &str, unit: i64, default: i64) -> i64 {
    typed
        .trim()
        .parse::<i64>()
        .unwrap_or(default)
        .clamp(0, 100_000)
        * unit
}

/// One kind of mail: its subject, plain text and HTML, and a preview whose
/// expiry is `lifetime` seconds from the moment it is asked for.
#[component]
fn TemplateFields(
    fields: MailFields,
    kind: MailKind,
    title: &'static str,
    lifetime: Signal<i64>,
) -> impl IntoView {
    let template = fields.template(kind);
    let slug = match kind {
        MailKind::SignInLink => "sign-in",
        MailKind::Reset => "reset",
    };
    let initial = template.get_untracked();
    let part_field = move |part: Part, label: &'static str| {
        let id = format!("opt-mail-{slug}-{}", part.key());
        let value = initial.part(part).to_string();
        let on_input = move |ev| {
            let v = event_target_value(&ev);
            template.update(|t| *t.part_mut(part) = v)
        };
        let current = move || template.with(|t| t.part(part).to_string());
        let input = match part {
            Part::Subject => view! {
                <input id=id.clone() type="text" class="wide" value=value prop:value=current on:input=on_input/>
            }
            .into_any(),
            _ => view! {
                <textarea id=id.clone() rows="8" class="wide" prop:value=current on:input=on_input>{value}</textarea>
            }
            .into_any(),
        };
        view! {
            <label for=id>{format!("{title}: {label}")}</label>
            {input}
        }
    };
    // When the preview was asked for (Unix seconds, in the browser).
    let shown_at = RwSignal::new(None::<i64>);
    let preview = move || {
        let now = shown_at.get()?;
        let t = template.get();
        let problems: Vec<String> = Part::ALL
            .into_iter()
            .filter_map(|p| {
                template::check(p, t.part(p))
                    .err()
                    .map(|e| format!("The {} would be refused: {e}.", part_label(p)))
            })
            .collect();
        let (subject, text, html) =
            template::preview(&t, &fields.organization.get(), now + lifetime.get());
        Some(view! {
            <section class="mail-preview" aria-label=format!("Preview of the {}", title.to_lowercase())>
                {problems.into_iter().map(|p| view! { <p role="alert" class="error">{p}</p> }).collect_view()}
                <p><strong>"Subject: "</strong>{subject}</p>
                <pre class="mail-text">{text}</pre>
                <iframe title=format!("{title} as HTML") sandbox="" srcdoc=html></iframe>
            </section>
        })
    };
    view! {
        <fieldset>
            <legend>{title}</legend>
            {Part::ALL.map(|p| part_field(p, part_label(p))).collect_view()}
            <p class="actions">
                <button type="button" class="secondary" on:click=move |_| shown_at.set(Some(now_s()))>
                    {format!("Preview the {}", title.to_lowercase())}
                </button>
                <button type="button" class="secondary" on:click=move |_| template.set(MailTemplate::default_for(kind))>
                    {format!("Roster's words for the {}", title.to_lowercase())}
                </button>
            </p>
            {preview}
        </fieldset>
    }
}

fn part_label(part: Part) -> &'static str {
    match part {
        Part::Subject => "subject",
        Part::Text => "plain text",
        Part::Html => "HTML",
    }
}

/// The browser's clock: the preview's expiry is counted from it. Only
/// ever called from a click, so never on the server.
fn now_s() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}
