//! Users › one user (operators): the record as stored, reached from the
//! quick search, with a one-time sign-in link for that user.

use crate::error::AppError;
use domain::audit::AuditEvent;
use domain::store::EditOutcome;
#[cfg(feature = "ssr")]
use domain::store::UserEdit;
use domain::{Field, Role, User};
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
            roles: roles.map(|r| domain::Roles::of(&r)),
            expected_version: version,
            operator: me.by(),
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
    let operator = me.by();
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
            <crate::user_edit::EditForm user=edit_user.clone() can_edit_roles editing saved/>
        </Show>
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
