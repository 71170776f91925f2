//! Server-side access to what the server provides through Leptos context,
//! and the session-based authorisation every server function starts with.

pub use crate::error::AppError;
use domain::store::{SESSION_USER, StoreError};
use domain::user::{EndState, User};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tower_sessions::Session;

/// The store, as the server provides it to every request.
pub type AppStore = Arc<dyn domain::store::AppStore>;

pub fn store() -> Result<AppStore, AppError> {
    use_context::<AppStore>().ok_or_else(|| internal("the store is not in the request's context"))
}

/// An internal failure: logged here, shown to nobody.
pub fn internal(what: impl std::fmt::Display) -> AppError {
    leptos::logging::error!("internal error: {what}");
    AppError::Unavailable
}

/// Maps a store error to what the browser sees; a refusal by the
/// privilege rule is a 403.
pub fn store_error(e: StoreError) -> AppError {
    let error = match e {
        StoreError::File(e) => AppError::Invalid(e.to_string()),
        StoreError::NotFound(m) => AppError::NotFound(m),
        StoreError::Invalid(m) => AppError::Invalid(m),
        StoreError::Conflict(m) => AppError::Conflict(m),
        StoreError::Forbidden(m) => AppError::NotAllowed(m),
        StoreError::Unavailable(m) => {
            leptos::logging::error!("database unavailable: {m}");
            AppError::DatabaseDown
        }
        e @ (StoreError::Locked(_) | StoreError::Backend(_)) => return failed(internal(e)),
    };
    failed(error)
}

/// Sets the answer's HTTP status from the error, and returns it.
pub fn failed(error: AppError) -> AppError {
    if let Ok(status) = axum::http::StatusCode::from_u16(error.status()) {
        set_status(status);
    }
    error
}

/// The authority a signed-in user acts with.
pub fn actor(user: &User) -> domain::Actor {
    domain::Actor::User(user.roles)
}

/// The nonce of this request's Content-Security-Policy; the server puts it
/// into the request's extensions.
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);

/// Gives Leptos this request's CSP nonce, so that its inline scripts carry
/// it (called by the shell, on the server).
pub fn provide_csp_nonce() {
    let nonce = use_context::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<CspNonce>().cloned());
    if let Some(CspNonce(n)) = nonce {
        provide_context(leptos::nonce::Nonce::from_value(n));
    }
}

/// The base of the links the server hands out (the configured public URL,
/// or `http://` and the listen address), provided by the server.
#[derive(Clone, Debug)]
pub struct PublicBase(pub String);

pub fn public_base() -> String {
    use_context::<PublicBase>()
        .map(|b| b.0)
        .unwrap_or_else(|| "http://127.0.0.1:3000".into())
}

/// Whether the server sends mail (`--smtp-url`), provided by the server.
#[derive(Clone, Copy, Debug, Default)]
pub struct MailEnabled(pub bool);

pub fn mail_enabled() -> bool {
    use_context::<MailEnabled>().is_some_and(|m| m.0)
}

/// Runs blocking store work off the async executor.
/// The audit events the work records carry this request's client
/// address.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, AppError> {
    let client = client_ip().await.map(|ip| ip.to_string());
    tokio::task::spawn_blocking(move || domain::audit::from_client(client, f))
        .await
        .map_err(internal)?
        .map_err(store_error)
}

/// Now, in Unix seconds (what records store).
pub fn now_s() -> i64 {
    now_ms().div_euclid(1000)
}

/// Now, in Unix milliseconds (password epochs and sessions). The one
/// clock of the server and the command line.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A session ends this long after sign-in, however active (absolute
/// timeout); the idle timeout is the session cookie's expiry.
pub const ABSOLUTE_TIMEOUT_MS: i64 = 12 * 60 * 60 * 1000;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionUser {
    pub key: domain::UserKey,
    pub signed_in_ms: i64,
}

pub async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| internal(format!("no session layer: {e}")))
}

/// Why a sign-in was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignInRefused {
    /// Too many failures: try again after this long.
    Throttled(std::time::Duration),
    /// Unknown account, wrong password or inactive account: one answer for
    /// all three, so that the answer tells nothing about the account.
    WrongCredentials,
    /// The throttle's counters could not be read or written (a database
    /// that is down): nothing was tried.
    Store(StoreError),
}

impl SignInRefused {
    pub fn message(&self) -> String {
        match self {
            SignInRefused::Throttled(wait) => format!(
                "Too many failed sign-ins. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
            SignInRefused::WrongCredentials => "Wrong email or password.".into(),
            SignInRefused::Store(e) => e.to_string(),
        }
    }
}

/// Checks an email and password against `store`, throttled per account
/// and per client address (`throttle`). The attempt is counted before the
/// password is verified; unknown accounts cost the same hashing work, and
/// unknown, wrong and inactive all get the same answer and count as
/// failures.
///
/// With a valid device cookie for the account among `device_cookies`
/// ([`crate::device`]), the attempt is counted on that device instead of
/// the account: failures by others on the account do not hold it back, and
/// its own failures slow down only itself (and its address). A success
/// then clears the device's counter and leaves the account's alone, so an
/// owner signing in does not give a guesser fresh attempts. Needs no
/// Leptos context.
pub async fn authenticate_with(
    store: AppStore,
    throttle: std::sync::Arc<dyn domain::throttle::Counters>,
    email: &str,
    password: String,
    client: Option<std::net::IpAddr>,
    device_cookies: Vec<String>,
) -> Result<User, SignInRefused> {
    use crate::security::{
        address_key, throttle_begin, throttle_succeeded, verify_password_bounded,
    };
    let key = domain::Email::parse(email).ok().map(|e| e.key().clone());
    let device = match &key {
        Some(key) if !device_cookies.is_empty() => {
            let (store, key) = (store.clone(), key.clone());
            tokio::task::spawn_blocking(move || {
                let secret = store.secret(crate::device::SECRET_NAME)?;
                let now = now_s();
                Ok(device_cookies
                    .iter()
                    .find_map(|c| crate::device::verify(&secret, &key, c, now)))
            })
            .await
            .map_err(|e| SignInRefused::Store(StoreError::Backend(e.to_string())))?
            .map_err(SignInRefused::Store)?
        }
        _ => None,
    };
    let counted = match &device {
        Some(device) => Some(device.throttle_key()),
        None => key.as_ref().map(|k| format!("account:{k}")),
    };
    let address = address_key(client);
    let mut keys = vec![address.clone()];
    keys.extend(counted.clone());
    throttle_begin(throttle.clone(), keys)
        .await
        .map_err(SignInRefused::Store)?
        .map_err(SignInRefused::Throttled)?;
    let found = match key {
        Some(key) => blocking(move || Ok((store.user(&key)?, store.password_hash(&key)?)))
            .await
            .map_err(|_| SignInRefused::WrongCredentials)?,
        None => (None, None),
    };
    let (user, hash) = found;
    let password_ok = verify_password_bounded(hash, password).await;
    match user {
        Some(user) if password_ok && user.end_state == EndState::Active => {
            throttle_succeeded(throttle, counted.into_iter().collect(), vec![address])
                .await
                .map_err(SignInRefused::Store)?;
            Ok(user)
        }
        _ => Err(SignInRefused::WrongCredentials),
    }
}

/// [`authenticate_with`] on this request's store, client and device
/// cookies, with the server's throttle.
pub async fn authenticate(email: &str, password: String) -> Result<User, AppError> {
    let client = client_ip().await;
    authenticate_with(
        store()?,
        crate::security::throttles().sign_in,
        email,
        password,
        client,
        device_cookies(),
    )
    .await
    .map_err(|e| {
        failed(match e {
            SignInRefused::Throttled(_) => AppError::Throttled(e.message()),
            SignInRefused::WrongCredentials => AppError::Invalid(e.message()),
            SignInRefused::Store(e) => return store_error(e),
        })
    })
}

fn secure_cookies() -> bool {
    use_context::<crate::device::SecureCookies>()
        .unwrap_or_default()
        .0
}

/// The device cookies this request carries (unchecked).
fn device_cookies() -> Vec<String> {
    use_context::<axum::http::request::Parts>()
        .map(|parts| crate::device::values_in(&parts.headers, secure_cookies()))
        .unwrap_or_default()
}

/// Gives the browser of this request a new device cookie for `user_key`
/// (after it signed in). A cookie that cannot be made is logged, not an
/// error: the sign-in itself succeeded.
pub async fn remember_device(user_key: &domain::UserKey) {
    let Ok(store) = store() else { return };
    let key = user_key.clone();
    let made = tokio::task::spawn_blocking(move || {
        store
            .secret(crate::device::SECRET_NAME)
            .map(|secret| crate::device::new_value(&secret, &key, now_s()))
    })
    .await;
    let value = match made {
        Ok(Ok(value)) => value,
        Ok(Err(e)) => return leptos::logging::error!("no device cookie: {e}"),
        Err(e) => return leptos::logging::error!("no device cookie: {e}"),
    };
    let header = crate::device::set_cookie(value, secure_cookies());
    match axum::http::HeaderValue::from_str(&header) {
        Ok(header) => {
            if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
                res.append_header(axum::http::header::SET_COOKIE, header);
            }
        }
        Err(e) => leptos::logging::error!("no device cookie: {e}"),
    }
}

/// The address of the client a request comes from, as the server decided
/// it (the TCP peer, or the address a trusted proxy forwarded), put into
/// the request's extensions. Every throttle (and every record of where a
/// request came from) uses this.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);

/// The client address of a request with these extensions: its
/// [`ClientAddr`], or else the TCP peer.
pub fn client_ip_in(extensions: &axum::http::Extensions) -> Option<std::net::IpAddr> {
    use axum::extract::ConnectInfo;
    use std::net::SocketAddr;
    extensions.get::<ClientAddr>().map(|c| c.0).or_else(|| {
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(a)| a.ip())
    })
}

/// This request's client address ([`client_ip_in`]), if known.
pub async fn client_ip() -> Option<std::net::IpAddr> {
    use_context::<axum::http::request::Parts>().and_then(|parts| client_ip_in(&parts.extensions))
}

/// A new password's argon2id hash, once both entries match and it passes
/// the policy; hashed off the async executor, bounded like every argon2
/// computation.
pub async fn new_password_hash(password: String, repeat: String) -> Result<String, AppError> {
    if password != repeat {
        return Err(failed(AppError::Invalid(
            "The two passwords differ.".into(),
        )));
    }
    domain::password::check(&password).map_err(|e| failed(AppError::Invalid(e)))?;
    crate::security::hash_password_bounded(password)
        .await
        .map_err(internal)
}

/// Signs `user_key` in on this request's session, under a new session id
/// (no session fixation).
pub async fn start_session(user_key: &domain::UserKey, signed_in_ms: i64) -> Result<(), AppError> {
    let session = session().await?;
    session.cycle_id().await.map_err(internal)?;
    session
        .insert(
            SESSION_USER,
            SessionUser {
                key: user_key.clone(),
                signed_in_ms,
            },
        )
        .await
        .map_err(internal)
}

/// The signed-in, active user of this request, if any. A session older than
/// the absolute timeout, older than the user's last password change, or of
/// a user who is gone or inactive is ended here.
pub async fn current_user() -> Result<Option<User>, AppError> {
    session_user(&session().await?, store()?).await
}

/// The user signed in on `session`, checked as `current_user` says; an
/// invalid session is ended. Needs no Leptos context, so plain axum
/// handlers use it too.
pub async fn session_user(session: &Session, store: AppStore) -> Result<Option<User>, AppError> {
    let Some(su) = session
        .get::<SessionUser>(SESSION_USER)
        .await
        .ok()
        .flatten()
    else {
        return Ok(None);
    };
    let key = su.key.clone();
    let (user, epoch) =
        blocking(move || Ok((store.user(&key)?, store.password_epoch(&key)?))).await?;
    let valid = session_valid(&su, user.as_ref(), epoch, now_ms());
    if !valid {
        let _ = session.flush().await;
        return Ok(None);
    }
    Ok(user)
}

/// Whether a signed-in session still counts: within the absolute timeout,
/// not older than the user's last password change, and the user exists and
/// is active.
pub fn session_valid(
    su: &SessionUser,
    user: Option<&User>,
    password_epoch_ms: i64,
    now_ms: i64,
) -> bool {
    now_ms - su.signed_in_ms < ABSOLUTE_TIMEOUT_MS
        && su.signed_in_ms >= password_epoch_ms
        && user.is_some_and(|u| u.end_state == EndState::Active)
}

/// Redirects a form posted without JavaScript to `path` (a 302). The
/// hydrated app, whose forms post through fetch, is not redirected here:
/// it makes a full load itself once the action succeeds
/// (`auth::navigate_on_success`), so a sign-in is one navigation.
pub async fn redirect_plain_form(path: &str) {
    let accepts_html = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| {
            h.get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    if accepts_html {
        leptos_axum::redirect(path);
    }
}

/// Sets the HTTP status of the response being rendered or answered.
pub fn set_status(status: axum::http::StatusCode) {
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(status);
    }
}

/// May act as an operator (Admin implies Operator).
pub fn is_operator(u: &User) -> bool {
    u.roles.can_operate()
}

/// May approve or reject imports waiting for approval.
pub fn is_approver(u: &User) -> bool {
    u.roles.contains(domain::Role::Approval)
}

/// An administrator (the Audit log, Options, roles).
pub fn is_admin(u: &User) -> bool {
    u.roles.contains(domain::Role::Admin)
}

/// The signed-in user when `allowed` says yes: no session → 401, wrong
/// role → 403, and the server function stops before doing anything.
pub async fn require(allowed: fn(&User) -> bool) -> Result<User, AppError> {
    match current_user().await? {
        None => Err(failed(AppError::NotSignedIn)),
        Some(u) if !allowed(&u) => Err(failed(AppError::not_allowed())),
        Some(u) => Ok(u),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::plan::{NoUsers, plan};

    fn ada() -> User {
        let p = plan(
            b"email,first_name,last_name\nada@x.org,Ada,L\n",
            &NoUsers,
            &domain::Options::default(),
            domain::Actor::Owner,
        )
        .unwrap();
        p.creates().next().unwrap().1.clone()
    }

    #[test]
    fn sessions_end_at_the_absolute_timeout_password_change_or_deactivation() {
        let su = SessionUser {
            key: domain::Email::parse("ada@x.org").unwrap().key().clone(),
            signed_in_ms: 1_000,
        };
        let user = ada();
        assert!(session_valid(&su, Some(&user), 0, 2_000));
        assert!(session_valid(
            &su,
            Some(&user),
            1_000,
            1_000 + ABSOLUTE_TIMEOUT_MS - 1
        ));
        assert!(
            !session_valid(&su, Some(&user), 0, 1_000 + ABSOLUTE_TIMEOUT_MS),
            "absolute timeout"
        );
        assert!(
            !session_valid(&su, Some(&user), 1_001, 2_000),
            "password changed after sign-in"
        );
        assert!(!session_valid(&su, None, 0, 2_000), "user gone");
        let mut inactive = user.clone();
        inactive.end_state = EndState::Inactive;
        assert!(
            !session_valid(&su, Some(&inactive), 0, 2_000),
            "user deactivated"
        );
    }
}
