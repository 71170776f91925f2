//! The middleware every request passes before its handler: the client's
//! address (behind trusted proxies), the cross-site check (CSRF), a
//! session before any `/api` body is read, and session failures said in
//! words; and the session checks the handlers themselves start with.

use super::proxies::TrustedProxies;
use app::context::AppStore;
use app::error::AppError;
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use leptos::server_fn::error::FromServerFnError;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the session layer answers when it cannot read or write a session
/// (its store is the engine's database): an empty 500. Said in words, as a
/// 503, since asking again later is the remedy.
pub(super) async fn explain_session_failures(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let empty = axum::body::HttpBody::size_hint(response.body()).exact() == Some(0);
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR || !empty {
        return response;
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "Roster cannot read its sessions just now: is its database reachable? Nothing was \
         changed; try again in a moment.\n",
    )
        .into_response()
}

/// Refuses state-changing requests that a browser marks as coming from
/// another site (CSRF): `Sec-Fetch-Site` when present, else `Origin`
/// against `Host`.
pub(super) async fn same_origin_only(request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !same_origin(request.headers()) {
        return (StatusCode::FORBIDDEN, "Cross-site request refused.").into_response();
    }
    next.run(request).await
}

fn same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        return matches!(site.to_str(), Ok("same-origin") | Ok("none"));
    }
    match headers.get(header::ORIGIN) {
        None => true, // not a browser request (curl, CLI tools)
        Some(origin) => {
            let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, rest)| rest.trim_end_matches('/'));
            host.is_some() && origin_host == host
        }
    }
}

/// Server functions that answer without a session: signing in and out,
/// the sign-in-link page's two (the link is the credential) and "Forgot
/// password?" (throttled, answers the same for every address).
fn public_api() -> [&'static str; 6] {
    use app::auth::{LinkEmail, SetPasswordWithLink, SignIn, SignOut, WhoAmI};
    use app::mail::ForgotPassword;
    use leptos::server_fn::ServerFn;
    [
        SignIn::PATH,
        SignOut::PATH,
        WhoAmI::PATH,
        LinkEmail::PATH,
        SetPasswordWithLink::PATH,
        ForgotPassword::PATH,
    ]
}

/// Every other server function needs a valid session before its body is
/// read (decoding arguments costs memory and time; the function checks
/// its role itself once it runs).
pub(super) async fn api_needs_session(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") && !public_api().contains(&path) {
        match app::context::session_user(&session, store).await {
            Ok(Some(_)) => {}
            Ok(None) => return refusal(AppError::NotSignedIn),
            Err(e) => return refusal(e),
        }
    }
    next.run(request).await
}

/// A refusal as server functions answer it: the error's status, and the
/// error encoded as the browser decodes it.
pub(super) fn refusal(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        error.ser(),
    )
        .into_response()
}

/// 401 without a valid session, 403 without the Operator role.
pub(super) async fn operator_session(
    session: &tower_sessions::Session,
    store: &AppStore,
) -> Result<domain::User, AppError> {
    session_with(session, store, app::context::is_operator).await
}

/// The session's user: 401 without a valid session, 403 unless `allowed`
/// accepts the user.
pub(super) async fn session_with(
    session: &tower_sessions::Session,
    store: &AppStore,
    allowed: fn(&domain::User) -> bool,
) -> Result<domain::User, AppError> {
    match app::context::session_user(session, store.clone()).await? {
        None => Err(AppError::NotSignedIn),
        Some(u) if allowed(&u) => Ok(u),
        Some(_) => Err(AppError::not_allowed()),
    }
}

/// Decides the request's client address once ([`TrustedProxies::client`]
/// over the TCP peer) and puts it into the request as
/// [`app::context::ClientAddr`], where every throttle reads it.
pub(super) async fn client_address(
    axum::extract::State(trusted): axum::extract::State<Arc<TrustedProxies>>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    if let Some(peer) = peer {
        let client = if trusted.is_empty() {
            peer.to_canonical()
        } else {
            // A value that is not text cannot be an address: it ends the
            // walk like any other junk entry.
            let forwarded: Vec<&str> = request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .map(|v| v.to_str().unwrap_or(""))
                .collect();
            trusted.client(peer, &forwarded)
        };
        request
            .extensions_mut()
            .insert(app::context::ClientAddr(client));
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn csrf_origin_checks() {
        assert!(same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[("origin", "http://evil.example")])));
        assert!(same_origin(&headers(&[])));
    }
}
