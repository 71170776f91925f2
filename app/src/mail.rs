//! Mail from the web app: "Email sign-in links" on an import's result
//! page, "Forgot password?" on the sign-in page, and Admin › Outbox. Each
//! server function authorises itself; messages go into the store's outbox
//! (see `domain::usecase::mail`) and the server's sender delivers them.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the result page needs to know about mail.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSetup {
    /// A mail server is configured (`--smtp-url`).
    pub enabled: bool,
    /// The option `enrolment.email_on_import`: the commit queued the mails.
    pub on_import: bool,
}

/// Mail settings (operators only).
#[server(endpoint = "mail_settings")]
pub async fn mail_settings() -> Result<MailSetup, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let store = store()?;
    let enabled = mail_enabled();
    let on_import = blocking(move || store.options()).await?.email_on_import;
    Ok(MailSetup { enabled, on_import })
}

/// The answer to "Forgot password?", whatever the address: it never
/// tells whether an account exists.
pub const RESET_ANSWER: &str = "If an active account with a password has this address, a link to \
     set a new password is on its way to it. Check your mail.";

/// "Forgot password?" (anyone): for an active user with a password, a
/// one-time reset link mailed to the user's own address. Always the same
/// answer; throttled per address asked for and per client (requests over
/// the limit are dropped silently, with the same answer).
#[server(endpoint = "forgot_password")]
pub async fn forgot_password(email: String) -> Result<String, AppError> {
    use crate::context::*;
    use crate::security::{address_key, throttle_begin};
    if !mail_enabled() {
        return Err(AppError::Invalid(
            "This server sends no mail: ask an administrator for a sign-in link.".into(),
        ));
    }
    let Ok(email) = domain::Email::parse(&email) else {
        return Err(AppError::Invalid(
            "Enter an email address, such as name@example.org.".into(),
        ));
    };
    let client = client_ip().await;
    let keys = vec![
        format!("reset-{}", address_key(client)),
        format!("reset-account:{}", email.key()),
    ];
    let allowed = throttle_begin(crate::security::throttles().links, keys)
        .await
        .map_err(store_error)?
        .is_ok();
    if allowed {
        let store = store()?;
        let now = now_s();
        // The answer does not depend on the outcome; a store that is down
        // is logged, not shown.
        if let Err(e) = blocking(move || store.request_reset(&email, now)).await {
            leptos::logging::error!("forgot password: {e}");
        }
    }
    Ok(RESET_ANSWER.to_string())
}

/// A failed message as Admin › Outbox shows it (never its link).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedMail {
    pub id: i64,
    pub recipient: String,
    pub kind: String,
    pub attempts: u32,
    pub reason: String,
    pub created_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxState {
    pub enabled: bool,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub failures: Vec<FailedMail>,
}

/// The outbox's counts and its newest 200 failed messages (administrators
/// only).
#[server(endpoint = "outbox_view")]
pub async fn outbox_view() -> Result<OutboxState, AppError> {
    use crate::context::*;
    require(is_admin).await?;
    let store = store()?;
    let (counts, failed) = blocking(move || store.outbox_overview(200)).await?;
    Ok(OutboxState {
        enabled: mail_enabled(),
        queued: counts.queued as i64,
        sent: counts.sent as i64,
        failed: counts.failed as i64,
        failures: failed
            .into_iter()
            .map(|m| FailedMail {
                id: m.id as i64,
                recipient: m.recipient,
                kind: m.kind.label().to_string(),
                attempts: m.attempts,
                reason: m.last_answer.unwrap_or_default(),
                created_at: m.created_at,
            })
            .collect(),
    })
}

/// Queues a failed message again (administrators only).
#[server(endpoint = "retry_mail")]
pub async fn retry_mail(id: i64) -> Result<(), AppError> {
    use crate::context::*;
    require(is_admin).await?;
    let id = u64::try_from(id).map_err(|_| failed(AppError::Invalid("No such message.".into())))?;
    let store = store()?;
    blocking(move || store.retry_mail(id, now_s())).await?;
    Ok(())
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<ForgotPassword>::new();
    view! {
        <h1>"Forgot password?"</h1>
        <ActionForm action=action attr:class="card">
            <label for="reset-email">"Email"</label>
            <input id="reset-email" type="email" name="email" autocomplete="username" required/>
            <p>
                <button type="submit" disabled=move || action.pending().get()>"Send reset link"</button>
            </p>
        </ActionForm>
        {move || {
            action.value().get().map(|r| match r {
                Ok(answer) => view! { <p role="status" class="ok">{answer}</p> }.into_any(),
                Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
            })
        }}
        <p><a href="/signin">"Sign in"</a></p>
    }
}

#[component]
pub fn OutboxPage() -> impl IntoView {
    let retry = ServerAction::<RetryMail>::new();
    let view_data = Resource::new(move || retry.version().get(), |_| outbox_view());
    crate::page::guarded(move || {
        view! {
            <h1>"Outbox"</h1>
            {move || {
                retry.value().get().and_then(Result::err).map(|e| {
                    view! { <p role="alert" class="error">{format!("Not queued again: {e}")}</p> }
                })
            }}
            {crate::page::loaded(view_data, move |v| view! { <OutboxTables v retry/> })}
        }
    })
}

#[component]
fn OutboxTables(v: OutboxState, retry: ServerAction<RetryMail>) -> impl IntoView {
    view! {
        {(!v.enabled).then(|| view! {
            <p class="help">"No mail server is configured (--smtp-url): nothing is sent."</p>
        })}
        <table>
            <caption>"Messages"</caption>
            <crate::table::TableHead columns=vec!["Queued", "Sent", "Failed"]/>
            <tbody>
                <tr>
                    <td data-testid="outbox-queued">{v.queued}</td>
                    <td data-testid="outbox-sent">{v.sent}</td>
                    <td data-testid="outbox-failed">{v.failed}</td>
                </tr>
            </tbody>
        </table>
        <table>
            <caption>"Failed messages"</caption>
            <crate::table::TableHead columns=vec!["To", "Kind", "Attempts", "Reason", "Queued at", ""]/>
            <tbody>
                {v.failures.is_empty().then(|| view! { <crate::table::EmptyRow width=6 text="No failed messages."/> })}
                {v.failures
                    .into_iter()
                    .map(|m| {
                        let id = m.id;
                        view! {
                            <tr>
                                <td>{m.recipient}</td>
                                <td>{m.kind}</td>
                                <td>{m.attempts}</td>
                                <td>{m.reason}</td>
                                <td>{domain::time::rfc3339(m.created_at)}</td>
                                <td>
                                    <button type="button" on:click=move |_| { retry.dispatch(RetryMail { id }); }>
                                        "Retry"
                                    </button>
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
