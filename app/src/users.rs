//! Users (operators): the start of the operator's area, and one-time
//! sign-in links for users.

use crate::error::AppError;
use crate::home::UserCount;
use leptos::prelude::*;

/// A one-time sign-in link for an existing user (operators only), under
/// the privilege rule: operators make links only for users below or at
/// their rank who have no password yet (enrolment); a link for a user with
/// a password is a reset, for administrators. The URL starts with the
/// configured public address.
#[server(endpoint = "make_sign_in_link")]
pub async fn make_sign_in_link(email: String) -> Result<String, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let email =
        domain::Email::parse(&email).map_err(|e| failed(AppError::Invalid(e.to_string())))?;
    let store = store()?;
    let key = email.key().clone();
    let (actor, by) = (actor(&me), me.email.to_string());
    let token = blocking(move || {
        let days = store.options()?.link_days;
        store.create_link(&key, now_s(), days, &by, actor)
    })
    .await?;
    Ok(format!("{}/link/{token}", public_base()))
}

#[component]
pub fn UsersPage() -> impl IntoView {
    crate::page::guarded(move || {
        view! {
            <h1>"Users"</h1>
            <p class="actions">
                <a class="button" href="/users/create">"Create user"</a>
                " "
                <a href="/users/history">"Import history"</a>
            </p>
            <UserCount/>
            <SignInLinkForm/>
        }
    })
}

#[component]
fn SignInLinkForm() -> impl IntoView {
    let action = ServerAction::<MakeSignInLink>::new();
    view! {
        <h2>"Sign-in link"</h2>
        <ActionForm action=action attr:class="card">
            <label for="link-email">"User email"</label>
            <input id="link-email" type="email" name="email" required/>
            <p>
                <button type="submit">"Make sign-in link"</button>
            </p>
        </ActionForm>
        <LinkAnswer answer=action.value()/>
    }
}

/// The answer to "Make sign-in link": the link, or why not.
///
/// The answer signal is taken when the form is made and read with
/// `try_get`: the page's guard may rebuild its children while the server
/// is still rendering the earlier ones, and reading through the disposed
/// action there panicked ("reactive value … already been disposed").
#[component]
pub fn LinkAnswer(answer: MappedSignal<Option<Result<String, AppError>>>) -> impl IntoView {
    move || {
        answer.try_get().flatten().map(|r| match r {
            Ok(url) => view! {
                <p>"One-time sign-in link: " <a data-testid="sign-in-link" href=url.clone()>{url.clone()}</a></p>
            }
            .into_any(),
            Err(e) => {
                view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
            }
        })
    }
}
