//! `roster serve`: the axum server with the SSR + hydrated Leptos app.

use crate::cli::Common;
use crate::commands::{first_admin, now, sign_in_url};
use crate::engine::Engine;
use crate::proxies::TrustedProxies;
use crate::sessions::EngineSessionStore;
use app::context::AppStore;
use app::context::PublicBase;
use app::error::AppError;
use app::{App, shell};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use domain::Actor;
use domain::Email;
use domain::audit::AuditQuery;
use domain::directory::UserQuery;
use leptos::prelude::*;
use leptos::server_fn::error::FromServerFnError;
use leptos_axum::{LeptosRoutes, generate_route_list_with_exclusions};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

/// Largest request body, but for the import's own routes (see `serve`), so
/// that other requests can never send large bodies.
const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// Idle timeout of a session.
const IDLE_MINUTES: i64 = 30;

/// First start: make sure an administrator exists; print a one-time
/// sign-in link for one that has no password yet (unless
/// ROSTER_ADMIN_PASSWORD sets it). The new link revokes earlier ones.
fn bootstrap_admin(store: &dyn domain::store::AppStore, base: &str) -> Result<(), String> {
    let email = std::env::var("ROSTER_ADMIN_EMAIL").unwrap_or_else(|_| "admin@localhost".into());
    let email = Email::parse(&email).map_err(|e| format!("ROSTER_ADMIN_EMAIL: {e}"))?;
    let admin = first_admin(store, &email).map_err(|e| e.to_string())?;
    if store
        .password_hash(admin.key())
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    if let Ok(password) = std::env::var("ROSTER_ADMIN_PASSWORD") {
        let hash = app::security::hash_password(&password)
            .map_err(|e| format!("ROSTER_ADMIN_PASSWORD: {e}"))?;
        store
            .set_password(admin.key(), &hash, app::context::now_ms(), "cli")
            .map_err(|e| e.to_string())?;
        println!(
            "Administrator {} can sign in with the password from ROSTER_ADMIN_PASSWORD.",
            admin.email
        );
        return Ok(());
    }
    let days = store.options().map(|o| o.link_days).unwrap_or(7);
    store.revoke_links(admin.key()).map_err(|e| e.to_string())?;
    let token = store
        .create_link(admin.key(), now(), days, "cli", Actor::Owner)
        .map_err(|e| e.to_string())?;
    println!(
        "First sign-in for {}: open this one-time link within {days} days to set a password:",
        admin.email
    );
    println!("  {}", sign_in_url(base, &token));
    Ok(())
}

fn leptos_options(addr: SocketAddr) -> LeptosOptions {
    let site_root = std::env::var("LEPTOS_SITE_ROOT").unwrap_or_else(|_| "target/site".into());
    let env = match std::env::var("LEPTOS_ENV").as_deref() {
        Ok("DEV") | Ok("dev") | Ok("development") => leptos::config::Env::DEV,
        _ => leptos::config::Env::PROD,
    };
    LeptosOptions::builder()
        .output_name("roster")
        .site_root(site_root)
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(env)
        .build()
}

/// What the session layer answers when it cannot read or write a session
/// (its store is the engine's database): an empty 500. Said in words, as a
/// 503, since asking again later is the remedy.
async fn explain_session_failures(request: Request, next: Next) -> Response {
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
async fn same_origin_only(request: Request, next: Next) -> Response {
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
/// and the sign-in-link page's two (the link is the credential).
const PUBLIC_API: [&str; 5] = [
    "/api/sign_in",
    "/api/sign_out",
    "/api/who_am_i",
    "/api/link_email",
    "/api/set_password_with_link",
];

/// Every other server function needs a valid session before its body is
/// read (decoding arguments costs memory and time; the function checks
/// its role itself once it runs).
async fn api_needs_session(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    if path.starts_with("/api/") && !PUBLIC_API.contains(&path) {
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
pub(crate) fn refusal(error: AppError) -> Response {
    let status = StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        error.ser(),
    )
        .into_response()
}

/// 401 without a valid session, 403 without the Operator role.
pub(crate) async fn operator_session(
    session: &tower_sessions::Session,
    store: &AppStore,
) -> Result<domain::User, AppError> {
    session_with(session, store, app::context::is_operator).await
}

/// The session's user: 401 without a valid session, 403 unless `allowed`
/// accepts the user.
async fn session_with(
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

/// A CSV download.
fn csv_file(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Users › "Export users": every user the Users page's filters and search
/// match (not only the page shown), as the export CSV (formula-safe).
async fn users_export(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = operator_session(&session, &store).await {
        return refusal(e);
    }
    let query = UserQuery::from_params(|k| params.get(k).map(String::as_str));
    let answer = tokio::task::spawn_blocking(move || {
        let users = store.matching_users(&query)?;
        Ok(domain::csv_out::users_csv(&users))
    })
    .await;
    match answer {
        Ok(Ok(csv)) => csv_file("users.csv", csv),
        Ok(Err(e)) => refusal(app::context::store_error(e)),
        Err(e) => refusal(app::context::internal(e)),
    }
}

/// Admin › Audit log › "Export CSV": every event the filters match.
async fn audit_export(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = session_with(&session, &store, app::context::is_admin).await {
        return refusal(e);
    }
    let query = AuditQuery::from_params(|k| params.get(k).map(String::as_str));
    let answer = tokio::task::spawn_blocking(move || store.audit_matching(&query)).await;
    match answer {
        Ok(Ok(events)) => csv_file("audit-log.csv", domain::csv_out::audit_csv(&events)),
        Ok(Err(e)) => refusal(app::context::store_error(e)),
        Err(e) => refusal(app::context::internal(e)),
    }
}

/// The downloadable template: the canonical header row, made from the same
/// field list the import reads.
async fn template_csv(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
) -> Response {
    // Only sign-in and its pages answer without a session (issue 5).
    if let Err(e) = operator_session(&session, &store).await {
        return refusal(e);
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"roster-users.csv\"",
            ),
        ],
        domain::csv_out::template(),
    )
        .into_response()
}

/// How long a client may take, so that slow or stalled clients cannot
/// hold connections (and the memory of their half-sent requests) for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// A request's headers must arrive within this; a kept-alive
    /// connection that sends nothing for this long is closed too.
    pub headers: Duration,
    /// The whole body of a request to any route with the 2 MiB limit.
    pub body: Duration,
    /// The whole body of a request to the 64 MiB routes (the import's
    /// lookups and sign-in links).
    pub large_body: Duration,
    /// The import upload (up to hundreds of MB, so no total limit): the
    /// longest pause between two pieces of its body.
    pub upload_idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts {
            headers: Duration::from_secs(30),
            body: Duration::from_secs(60),
            large_body: Duration::from_secs(10 * 60),
            upload_idle: Duration::from_secs(60),
        }
    }
}

/// How the web server is set up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The base of sign-in links.
    pub base: String,
    /// HTTPS in front: `Secure` and `__Host-` cookies, HSTS.
    pub secure: bool,
    /// The address it listens on.
    pub addr: SocketAddr,
    /// Proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    pub timeouts: Timeouts,
}

impl Settings {
    /// Plain http at `addr`, links starting with `base`, no trusted
    /// proxies, the default timeouts.
    pub fn new(base: &str, addr: SocketAddr) -> Settings {
        Settings {
            base: base.to_string(),
            secure: false,
            addr,
            trusted_proxies: TrustedProxies::default(),
            timeouts: Timeouts::default(),
        }
    }
}

/// Decides the request's client address once ([`TrustedProxies::client`]
/// over the TCP peer) and puts it into the request as
/// [`app::context::ClientAddr`], where every throttle reads it.
async fn client_address(
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

/// Every route of the web server over `store`: pages, server functions,
/// the import upload and the CSV downloads, with sessions, CSRF and body
/// limits, and the security headers; no trusted proxies, the default
/// timeouts.
pub fn router(store: Arc<dyn Engine>, base: &str, secure: bool, addr: SocketAddr) -> Router {
    router_with(
        store,
        &Settings {
            secure,
            ..Settings::new(base, addr)
        },
    )
}

/// [`router`] as `settings` say.
pub fn router_with(store: Arc<dyn Engine>, settings: &Settings) -> Router {
    let (base, secure, timeouts) = (settings.base.as_str(), settings.secure, settings.timeouts);
    let sessions = EngineSessionStore::new(store.clone());
    let session_layer = SessionManagerLayer::new(sessions)
        .with_name(if secure { "__Host-roster" } else { "roster" })
        .with_secure(secure)
        .with_http_only(true)
        .with_same_site(SameSite::Strict)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::minutes(IDLE_MINUTES),
        ))
        // Saved on every request so that the idle expiry (and the cookie's)
        // moves with activity; the store writes at most about once a minute.
        .with_always_save(true);
    let app_store: AppStore = store.clone();
    let throttles = store.throttles();
    let options = leptos_options(settings.addr);
    // The import's server functions take whole files: they get their own
    // routes with a larger body limit (still authorised inside).
    let large: Vec<String> = app::import::LARGE_BODY_ENDPOINTS
        .iter()
        .map(|p| p.to_string())
        .collect();
    let routes = generate_route_list_with_exclusions(App, Some(large));
    let mut import_routes = Router::new();
    for path in app::import::LARGE_BODY_ENDPOINTS {
        let store = app_store.clone();
        let base = PublicBase(base.to_string());
        import_routes = import_routes.route(
            path,
            post(move |session: tower_sessions::Session, request: Request| {
                let store = store.clone();
                let base = base.clone();
                async move {
                    // Checked before the body is read: without an operator's
                    // session nobody can make the server take 64 MiB. The
                    // server function authorises again, as every one does.
                    if let Err(e) = operator_session(&session, &store).await {
                        return refusal(e);
                    }
                    leptos_axum::handle_server_fns_with_context(
                        move || {
                            provide_context(store.clone());
                            provide_context(base.clone());
                        },
                        request,
                    )
                    .await
                    .into_response()
                }
            })
            .layer((
                DefaultBodyLimit::max(app::import::LARGE_BODY_BYTES + 4096),
                RequestBodyTimeoutLayer::new(timeouts.large_body),
            )),
        );
    }
    // Its body limit comes from the options (see `upload`); the
    // route-wide cap of extractors does not apply to a streamed body, and
    // its timeout is a pause between pieces, not a total.
    let import_routes = import_routes.route(
        app::import::UPLOAD_PATH,
        post(crate::upload::import_upload).with_state(crate::upload::UploadState::new(
            app_store.clone(),
            timeouts.upload_idle,
        )),
    );
    let app = Router::new()
        .route(
            "/template.csv",
            get(template_csv).with_state(app_store.clone()),
        )
        .route(
            "/users/export.csv",
            get(users_export).with_state(app_store.clone()),
        )
        .route(
            "/admin/audit.csv",
            get(audit_export).with_state(app_store.clone()),
        )
        .leptos_routes_with_context(
            &options,
            routes,
            {
                let store = app_store.clone();
                let base = PublicBase(base.to_string());
                move || {
                    provide_context(store.clone());
                    provide_context(base.clone());
                    provide_context(throttles.clone());
                    provide_context(app::device::SecureCookies(secure));
                }
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(RequestBodyTimeoutLayer::new(timeouts.body))
        .merge(import_routes)
        .layer(middleware::from_fn_with_state(
            app_store.clone(),
            api_needs_session,
        ))
        .layer(session_layer)
        .layer(middleware::from_fn(explain_session_failures))
        .layer(middleware::from_fn(same_origin_only))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            Arc::new(settings.trusted_proxies.clone()),
            client_address,
        ));
    crate::headers::secure(app, secure).with_state(options)
}

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish. HTTP/1.1 (HTTPS and HTTP/2 are for the proxy
/// in front): each connection must send a request's headers within
/// `header_timeout`, from its first byte or from the end of its previous
/// request, or it is closed; a slow connection holds up only itself. The
/// TCP peer is put into each request (`ConnectInfo`).
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    app: Router,
    header_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let (stop, stopping) = tokio::sync::watch::channel(());
    // Every connection holds a clone; `closed` resolves when all are gone.
    let (open, connection) = tokio::sync::watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: wait, rather than spin.
                    tracing::warn!("cannot accept a connection: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let (mut stopping, connection) = (stopping.clone(), connection.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |mut request: Request<_>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                app.clone().oneshot(request.map(axum::body::Body::new))
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout);
            let served = builder
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            let mut served = std::pin::pin!(served);
            tokio::select! {
                _ = served.as_mut() => {}
                _ = stopping.changed() => {
                    served.as_mut().graceful_shutdown();
                    let _ = served.await;
                }
            }
            drop(connection);
        });
    }
    drop(connection);
    let _ = stop.send(());
    open.closed().await;
}

pub async fn serve(store: Arc<dyn Engine>, common: &Common) -> Result<(), String> {
    let addr = common.addr;
    // Bind first, so that the printed sign-in link has the real port.
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    let base = common.public_base(&local)?;
    // The store's calls block (file I/O, or a PostgreSQL client that runs
    // its own little runtime): off the async executor.
    let startup = {
        let (store, base) = (store.clone(), base.clone());
        tokio::task::spawn_blocking(move || {
            match store.purge_expired_links(now()) {
                Ok(n) => tracing::info!(removed = n, "expired sign-in links removed"),
                Err(e) => tracing::warn!("cannot purge expired sign-in links: {e}"),
            }
            bootstrap_admin(&*store, &base)?;
            let sessions = EngineSessionStore::new(store.clone());
            if let Ok(n) = sessions.delete_expired() {
                tracing::info!(removed = n, "expired sessions removed");
            }
            Ok::<u64, String>(store.user_count().unwrap_or(0))
        })
    };
    let users = startup.await.map_err(|e| e.to_string())??;
    // `Secure` and the `__Host-` prefix need HTTPS; plain http on
    // localhost is the default, ROSTER_SECURE_COOKIES=1 behind TLS.
    let secure = matches!(
        std::env::var("ROSTER_SECURE_COOKIES").as_deref(),
        Ok("1") | Ok("true")
    );
    let settings = Settings {
        secure,
        trusted_proxies: common.trusted_proxies.clone().unwrap_or_default(),
        ..Settings::new(&base, local)
    };
    let app = router_with(store.clone(), &settings);
    println!("Roster is listening on http://{local}");
    tracing::info!(%local, users, "serving");
    serve_on(listener, app, settings.timeouts.headers, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
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
