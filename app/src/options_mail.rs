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

    /// The template part behind an option key's last two words.
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

#[component]
pub fn MailOptions(fields: MailFields, options: Options) -> impl IntoView {
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
            <label for="opt-mail-per-minute">"Mails sent at most (a minute)"</label>
            <input id="opt-mail-per-minute" type="number" min="1" max="100000" value=options.mail_per_minute.to_string() prop:value=move || per_minute.get() on:input=move |ev| per_minute.set(event_target_value(&ev))/>
            <p class="help">
                "Mails are sent only when the server has a mail server (--smtp-url). \
                 In the templates below, {name}, {organization}, {link} and {expires} are \
                 filled for each recipient; the HTML template's values are escaped."
            </p>
        </fieldset>
        <TemplateFields fields kind=MailKind::SignInLink title="Sign-in link mail" link_seconds=i64::from(options.link_days) * 86_400/>
        <TemplateFields fields kind=MailKind::Reset title="Password reset mail" link_seconds=0/>
    }
}

/// One kind of mail: its subject, plain text and HTML, and a preview.
/// `link_seconds` is the link's lifetime for the preview's expiry (0: the
/// reset's, from its minutes field as typed).
#[component]
fn TemplateFields(
    fields: MailFields,
    kind: MailKind,
    title: &'static str,
    link_seconds: i64,
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
            template.update(|t| match part {
                Part::Subject => t.subject = v,
                Part::Text => t.text = v,
                Part::Html => t.html = v,
            })
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
        let lifetime = if link_seconds > 0 {
            link_seconds
        } else {
            fields
                .reset_minutes
                .with(|m| m.trim().parse::<i64>().unwrap_or(30))
                * 60
        };
        let t = template.get();
        let problems: Vec<String> = Part::ALL
            .into_iter()
            .filter_map(|p| {
                template::check(p, t.part(p))
                    .err()
                    .map(|e| format!("The {} would be refused: {e}.", part_name(p)))
            })
            .collect();
        let (subject, text, html) =
            template::preview(&t, &fields.organization.get(), now + lifetime);
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
            {part_field(Part::Subject, "subject")}
            {part_field(Part::Text, "plain text")}
            {part_field(Part::Html, "HTML")}
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

fn part_name(part: Part) -> &'static str {
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
