//! Users (operators): the start of the operator's area, and one-time
//! sign-in links for users.

use crate::auth::{Guard, Need};
use crate::home::UserCount;
use leptos::prelude::*;

/// A one-time sign-in link for an existing user (operators only). The URL
/// is built from the request's Host, so it works behind any address.
#[server(endpoint = "make_sign_in_link")]
pub async fn make_sign_in_link(email: String) -> Result<String, ServerFnError> {
    use crate::context::*;
    require(is_operator).await?;
    let email = domain::Email::parse(&email).map_err(|e| ServerFnError::new(e.to_string()))?;
    let store = store()?;
    let key = email.key().to_string();
    let token = blocking(move || {
        if store.user(&key)?.is_none() {
            return Err(domain::store::StoreError::NotFound(format!(
                "There is no user {key}."
            )));
        }
        let days = store.options()?.link_days;
        store.create_link(&key, now_ms() / 1000, days)
    })
    .await?;
    Ok(format!("{}/link/{token}", base_url().await))
}

/// `http://host` of this request, for links the operator hands out.
#[cfg(feature = "ssr")]
pub async fn base_url() -> String {
    let host = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| {
            h.get(axum::http::header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "127.0.0.1:3000".into());
    format!("http://{host}")
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Guard need=Need::Operator>
            <h1>"Users"</h1>
            <p class="actions">
                <a class="button" href="/users/create">"Create user"</a>
                " "
                <a href="/users/history">"Import history"</a>
            </p>
            <UserCount/>
            <SignInLinkForm/>
        </Guard>
    }
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
        {move || {
            action
                .value()
                .get()
                .map(|r| match r {
                    Ok(url) => view! {
                        <p>"One-time sign-in link: " <a data-testid="sign-in-link" href=url.clone()>{url.clone()}</a></p>
                    }
                        .into_any(),
                    Err(e) => {
                        let text = crate::auth::error_text(&e);
                        view! { <p class="error" role="alert">{text}</p> }.into_any()
                    }
                })
        }}
    }
}
