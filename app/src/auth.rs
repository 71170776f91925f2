//! Sign-in, sign-out, one-time sign-in links, and the guard that pages use.

use crate::error::AppError;
use domain::user::{Role, Roles, User};
use leptos::prelude::*;
use leptos::server_fn::ServerFn;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

/// What the browser knows about the signed-in user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub email: String,
    pub name: String,
    pub roles: Roles,
}

impl Me {
    pub fn is_operator(&self) -> bool {
        self.roles.can_operate()
    }
    pub fn is_admin(&self) -> bool {
        self.roles.contains(Role::Admin)
    }
    pub fn is_approver(&self) -> bool {
        self.roles.contains(Role::Approval)
    }
}

impl From<&User> for Me {
    fn from(u: &User) -> Self {
        Me {
            email: u.email.to_string(),
            name: u.name(),
            roles: u.roles,
        }
    }
}

/// The signed-in user, or `None`.
#[server(endpoint = "who_am_i")]
pub async fn who_am_i() -> Result<Option<Me>, AppError> {
    Ok(crate::context::current_user().await?.as_ref().map(Me::from))
}

#[server(endpoint = "sign_in")]
pub async fn sign_in(email: String, password: String) -> Result<(), AppError> {
    use crate::context::{authenticate, client_ip, now_ms, remember_device, start_session};
    use crate::security_log::{record, sign_in_event};
    use domain::audit::AuditAction;
    let client = client_ip().await;
    let outcome = authenticate(&email, password).await;
    let action = match &outcome {
        Ok(_) => AuditAction::SignIn,
        Err(AppError::Throttled(_)) => AuditAction::SignInThrottled,
        Err(AppError::Invalid(_)) => AuditAction::SignInFailed,
        Err(_) => return outcome.map(drop), // the store is down: nothing to record it in
    };
    record(sign_in_event(action, &email, client));
    let user = outcome?;
    start_session(user.key(), now_ms()).await?;
    remember_device(user.key()).await;
    crate::context::redirect_plain_form("/").await;
    Ok(())
}

#[server(endpoint = "sign_out")]
pub async fn sign_out() -> Result<(), AppError> {
    let session = crate::context::session().await?;
    session.flush().await.map_err(crate::context::internal)?;
    crate::context::redirect_plain_form("/signin").await;
    Ok(())
}

/// The message for a link that is not (or no longer) valid.
const LINK_NOT_VALID: &str = "This sign-in link is not valid: it was used already or it expired. \
     Ask an operator for a new one.";

/// The user (key and email) of a valid sign-in link, throttled per client
/// address: the link is the credential, so guessing links is treated like
/// guessing passwords. A valid link gives its attempt back.
#[cfg(feature = "ssr")]
async fn check_link(token: String) -> Result<Option<(domain::UserKey, String)>, AppError> {
    use crate::context::*;
    use crate::security::{address_key, throttle_begin, throttle_succeeded, throttles};
    let address = address_key(client_ip().await);
    let throttle = throttles().links;
    let begun = throttle_begin(throttle.clone(), vec![address.clone()]).await;
    if let Err(wait) = begun.map_err(store_error)? {
        return Err(failed(AppError::Throttled(format!(
            "Too many invalid sign-in links from your address. Try again in {} seconds.",
            wait.as_secs().max(1)
        ))));
    }
    // Tokens are 64 hex characters; anything else is not looked up.
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token = domain::link::LinkToken::new(token);
    let store = store()?;
    let now = now_s();
    let found = blocking(move || {
        Ok(match store.peek_link(&token, now)? {
            Some(key) => store.user(&key)?.map(|u| (key, u.email.to_string())),
            None => None,
        })
    })
    .await?;
    if found.is_some() {
        throttle_succeeded(throttle, Vec::new(), vec![address])
            .await
            .map_err(store_error)?;
    }
    Ok(found)
}

/// The email a valid sign-in link belongs to (public: the link is the
/// credential).
#[server(endpoint = "link_email")]
pub async fn link_email(token: String) -> Result<Option<String>, AppError> {
    Ok(check_link(token).await?.map(|(_, email)| email))
}

/// Sets the password through a one-time link, ends the user's other
/// sessions (new password epoch) and signs the user in.
#[server(endpoint = "set_password_with_link")]
pub async fn set_password_with_link(
    token: String,
    password: String,
    repeat: String,
) -> Result<(), AppError> {
    use crate::context::*;
    use domain::user::EndState;
    // The link first: no password is hashed for a request without a valid
    // link (hashing is the expensive part).
    if check_link(token.clone()).await?.is_none() {
        return Err(failed(AppError::NotFound(LINK_NOT_VALID.into())));
    }
    let hash = new_password_hash(password, repeat).await?;
    let token = domain::link::LinkToken::new(token);
    let store = store()?;
    let now = now_ms();
    let user = blocking(move || {
        // Used up, password set and the user's other links revoked, in one
        // transaction; `None` if another request used it meanwhile.
        match store.redeem_link(&token, &hash, now)? {
            Some(key) => store.user(&key),
            None => Ok(None),
        }
    })
    .await?;
    let Some(user) = user else {
        return Err(failed(AppError::NotFound(LINK_NOT_VALID.into())));
    };
    if user.end_state != EndState::Active {
        return Err(failed(AppError::NotAllowed(
            "The password is set, but this account is inactive and cannot sign in.".into(),
        )));
    }
    crate::security_log::note(
        domain::audit::AuditAction::SignInLinkUsed,
        user.email.as_str(),
        user.email.as_str(),
    );
    start_session(user.key(), now).await?;
    remember_device(user.key()).await;
    crate::context::redirect_plain_form("/").await;
    Ok(())
}

/// The actions that change who is signed in, shared so that the `me`
/// resource refetches after each of them.
#[derive(Clone, Copy)]
pub struct AuthActions {
    pub sign_in: ServerAction<SignIn>,
    pub sign_out: ServerAction<SignOut>,
    pub set_password: ServerAction<SetPasswordWithLink>,
    pub me: Resource<Result<Option<Me>, AppError>>,
}

impl AuthActions {
    pub fn provide() -> AuthActions {
        let sign_in = ServerAction::<SignIn>::new();
        let sign_out = ServerAction::<SignOut>::new();
        let set_password = ServerAction::<SetPasswordWithLink>::new();
        let me = Resource::new(
            move || {
                (
                    sign_in.version().get(),
                    sign_out.version().get(),
                    set_password.version().get(),
                )
            },
            |_| who_am_i(),
        );
        let actions = AuthActions {
            sign_in,
            sign_out,
            set_password,
            me,
        };
        provide_context(actions);
        actions
    }
}

pub fn auth() -> AuthActions {
    expect_context::<AuthActions>()
}

/// Who may see a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Need {
    SignedIn,
    Operator,
    Admin,
    Approval,
}

/// Whether the signed-in user has the role a route group needs (`Ok`), or
/// why not: not signed in, or not allowed.
#[server(endpoint = "check_access")]
pub async fn check_access(need: Need) -> Result<(), AppError> {
    use crate::context::*;
    let allowed: fn(&User) -> bool = match need {
        Need::SignedIn => |_| true,
        Need::Operator => is_operator,
        Need::Admin => |u| u.roles.contains(Role::Admin),
        Need::Approval => is_approver,
    };
    require(allowed).await.map(|_| ())
}

/// The answer of `check_access` for the current route group.
#[derive(Clone, Copy)]
pub struct Access(pub Resource<Result<(), AppError>>);

/// The layout of a route group (see `crate::App`): checks once, on the
/// server, that the session's user has the role the group needs, and
/// gives the answer to the group's pages, which show themselves only when
/// it is yes (`crate::page::guarded`), else send the visitor to the
/// sign-in page or show "Not allowed" (status 403). Server functions
/// check again: this only decides what to render.
///
/// The page itself (`<Outlet/>`) is made at once, not after an awaited
/// answer, and each page creates its resources at its top: so resources
/// are created in the same order on the server and in the browser, and
/// their server-rendered data hydrates.
#[component]
pub fn RequireRole(need: Need) -> impl IntoView {
    use leptos_router::components::Outlet;
    let access = Resource::new(|| (), move |_| check_access(need));
    provide_context(Access(access));
    view! { <Outlet/> }
}

/// Loads `path` once `action` succeeds. The server function also
/// redirects (for forms posted without JavaScript); this covers the
/// hydrated app, where the answer arrives through fetch.
pub fn navigate_on_success<S>(action: ServerAction<S>, path: &'static str)
where
    S: ServerFn<Output = ()> + Clone + Send + Sync + 'static,
    S::Error: Send + Sync + 'static,
{
    // Returns the last version acted on; the value may arrive after the
    // version bump, so both are tracked.
    Effect::new(move |handled: Option<usize>| {
        let v = action.version().get();
        let ok = action.value().with(|value| matches!(value, Some(Ok(()))));
        let handled = handled.unwrap_or(v);
        if ok && v != handled {
            // A full load: who is signed in changed, so start afresh.
            let _ = window().location().set_href(path);
            return v;
        }
        handled
    });
}

/// The error message of an action's last answer, if it failed.
fn action_error<S>(action: ServerAction<S>) -> Option<String>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Send + Sync + 'static,
{
    action.value().with(|value| match value {
        Some(Err(e)) => Some(e.to_string()),
        _ => None,
    })
}

/// A new password and its repetition (form fields `password`, `repeat`).
#[component]
pub fn NewPasswordFields(id_prefix: &'static str, repeat_label: &'static str) -> impl IntoView {
    let (password, repeat) = (format!("{id_prefix}password"), format!("{id_prefix}repeat"));
    view! {
        <label for=password.clone()>"New password"</label>
        <input id=password type="password" name="password" autocomplete="new-password" required minlength="8"/>
        <label for=repeat.clone()>{repeat_label}</label>
        <input id=repeat type="password" name="repeat" autocomplete="new-password" required minlength="8"/>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let action = auth().sign_in;
    let error = move || action_error(action);
    navigate_on_success(action, "/");
    view! {
        <h1>"Sign in to Roster"</h1>
        <ActionForm action=action attr:class="card">
            <label for="email">"Email"</label>
            <input id="email" type="email" name="email" autocomplete="username" required/>
            <label for="password">"Password"</label>
            <input id="password" type="password" name="password" autocomplete="current-password" required/>
            <p>
                <button type="submit" disabled=move || action.pending().get()>"Sign in"</button>
            </p>
            <p class="error" role="alert">{error}</p>
        </ActionForm>
        <p><a href="/forgot-password">"Forgot password?"</a></p>
    }
}

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let email = Resource::new(token, link_email);
    let action = auth().set_password;
    let error = move || action_error(action);
    navigate_on_success(action, "/");
    view! {
        <h1>"Set password"</h1>
        <Suspense fallback=|| view! { <p>"Checking the link…"</p> }>
            {move || {
                email
                    .get()
                    .map(|r| match r {
                        Ok(Some(email)) => {
                            view! {
                                <ActionForm action=action attr:class="card">
                                    <p>"Choose a password for " <strong>{email}</strong> ". At least 8 characters."</p>
                                    <input type="hidden" name="token" value=token/>
                                    <NewPasswordFields id_prefix="" repeat_label="Repeat password"/>
                                    <p>
                                        <button type="submit" disabled=move || action.pending().get()>"Set password"</button>
                                    </p>
                                    <p class="error" role="alert">{error}</p>
                                </ActionForm>
                            }
                                .into_any()
                        }
                        Ok(None) => {
                            view! {
                                <p class="error">{LINK_NOT_VALID}</p>
                                <p><a href="/signin">"Sign in"</a></p>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </Suspense>
    }
}
