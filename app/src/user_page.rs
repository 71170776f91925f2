//! Users › one user (operators): the record as stored, reached from the
//! quick search, with a one-time sign-in link for that user.

use crate::error::AppError;
use crate::table::{EmptyRow, TableHead};
use domain::audit::AuditEvent;
use domain::{Field, User};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// One user by email (operators only); `None` when there is none.
#[server(endpoint = "user_details")]
pub async fn user_details(email: String) -> Result<Option<User>, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    // The key as every stored user's is made (NFC, lower case); a text
    // that is no address names nobody.
    let Ok(email) = domain::Email::parse(&email) else {
        return Ok(None);
    };
    let key = email.key().clone();
    let store = store()?;
    blocking(move || store.user(&key)).await
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

/// Every change to one user, newest first (operators only).
#[server(endpoint = "user_history")]
pub async fn user_history(email: String) -> Result<Vec<AuditEvent>, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let Ok(email) = domain::Email::parse(&email) else {
        return Ok(Vec::new());
    };
    let store = store()?;
    blocking(move || store.user_history(email.key())).await
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
    // Loaded again after each activation or deactivation.
    let user = Resource::new(
        move || (email(), change.version().get()),
        |(email, _)| user_details(email),
    );
    let history = Resource::new(
        move || (email(), change.version().get()),
        |(email, _)| user_history(email),
    );
    let link = ServerAction::<crate::users::MakeSignInLink>::new();
    let show = move |found: Option<User>| match found {
        None => view! {
            <h1>"No such user"</h1>
            <p>{format!("There is no user {}.", email())}</p>
        }
        .into_any(),
        Some(u) => view! { <UserRecord user=u link change/> }.into_any(),
    };
    crate::page::guarded(move || {
        view! {
            {crate::page::loaded(user, show)}
            <crate::users::LinkAnswer answer=link.value()/>
            {crate::page::loaded(history, |events| view! { <History events/> })}
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

/// The user's audit trail.
#[component]
fn History(events: Vec<AuditEvent>) -> impl IntoView {
    let empty = events.is_empty();
    view! {
        <table>
            <caption>"History"</caption>
            <TableHead columns=vec!["When (UTC)", "Who", "What", "Changes"]/>
            <tbody>
                {empty.then(|| view! { <EmptyRow width=4 text="No changes recorded."/> })}
                {events
                    .into_iter()
                    .map(|e| {
                        let what = match e.batch {
                            Some(b) => format!("{} (batch {b})", e.action.label()),
                            None => e.action.label().to_string(),
                        };
                        view! {
                            <tr>
                                <td>{domain::time::rfc3339(e.at)}</td>
                                <td>{e.actor}</td>
                                <td>{what}</td>
                                <td>{domain::plan::Change::describe_all(&e.changes)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

#[component]
fn UserRecord(
    user: User,
    link: ServerAction<crate::users::MakeSignInLink>,
    change: ServerAction<SetUserEndState>,
) -> impl IntoView {
    let u = user;
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
        </p>
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
