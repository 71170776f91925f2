//! `roster serve`: the axum server with the SSR + hydrated Leptos app.
//!
//! This file: the routes ([`router_with`]), body limits and timeouts, the
//! first start's administrator, and the connection loop with its header
//! timeout ([`serve_on`]). Beside it:
//! - `middleware`: the client address, CSRF, the session check before
//!   `/api` bodies;
//! - `downloads`: the CSV downloads;
//! - [`upload`]: the streamed import upload, one per operator;
//! - [`sessions`]: the session store, on the engine;
//! - [`headers`]: CSP and the other security headers;
//! - [`proxies`]: trusted proxies (`--trusted-proxies`).

mod downloads;
pub mod headers;
mod middleware;
pub mod proxies;
pub mod scim;
pub mod sessions;
pub mod upload;

use crate::cli::Common;
use crate::commands::{first_admin, now};
use crate::engine::Engine;
use app::context::AppStore;
use app::context::PublicBase;
use app::{App, shell};
use axum::Router;
use axum::extract::ConnectInfo;
use axum::extract::DefaultBodyLimit;
use axum::extract::Request;
use axum::middleware::from_fn;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use domain::Email;
use domain::{Actor, By};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list_with_exclusions};
use middleware::{client_address, operator_session, refusal};
use proxies::TrustedProxies;
use sessions::EngineSessionStore;
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
fn bootstrap_admin(
    store: &dyn domain::store::AppStore,
    base: &str,
    common: &Common,
) -> Result<(), String> {
    let email = Email::parse(&common.admin_email)
        .map_err(|e| format!("--admin-email / ROSTER_ADMIN_EMAIL: {e}"))?;
    let admin = first_admin(store, &email).map_err(|e| e.to_string())?;
    if store
        .password_hash(admin.key())
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    if let Some(password) = &common.admin_password {
        let hash = app::security::hash_password(password)
            .map_err(|e| format!("ROSTER_ADMIN_PASSWORD: {e}"))?;
        store
            .set_password(admin.key(), &hash, app::context::now_ms(), &By::Cli)
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
        .create_link(admin.key(), now(), days, &By::Cli, Actor::Owner)
        .map_err(|e| e.to_string())?;
    println!(
        "First sign-in for {}: open this one-time link within {days} days to set a password:",
        admin.email
    );
    println!("  {}", domain::mail::link_url(base, &token));
    Ok(())
}

fn leptos_options(addr: SocketAddr, site: &Site) -> LeptosOptions {
    let env = match site.env.as_str() {
        "DEV" | "dev" | "development" => leptos::config::Env::DEV,
        _ => leptos::config::Env::PROD,
    };
    LeptosOptions::builder()
        .output_name("roster")
        .site_root(site.root.clone())
        .site_pkg_dir("pkg")
        .site_addr(addr)
        .env(env)
        .build()
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
    pub site: Site,
    /// Each API token's request rate on the SCIM routes.
    pub scim_rate: domain::throttle::Rate,
    /// A mail server is configured (`--smtp-url`): the pages offer mail.
    pub mail: bool,
}

/// Where the web app's files are, and Leptos's environment.
#[derive(Clone, Debug)]
pub struct Site {
    pub root: String,
    pub env: String,
}

impl Default for Site {
    fn default() -> Site {
        Site {
            root: "target/site".into(),
            env: "PROD".into(),
        }
    }
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
            site: Site::default(),
            scim_rate: domain::throttle::Rate { per_second: 100 },
            mail: false,
        }
    }
}

/// What every page and server function finds in its context: the store,
/// the base of sign-in links, the sign-in throttles and whether cookies
/// are `Secure`. Provided by [`RequestContext::provide`] on every route
/// that runs the app (the pages and server functions, and the import's
/// large-body routes), so that none misses a part.
#[derive(Clone)]
struct RequestContext {
    store: AppStore,
    base: PublicBase,
    throttles: domain::throttle::Throttles,
    secure: app::device::SecureCookies,
    mail: app::context::MailEnabled,
}

impl RequestContext {
    fn provide(&self) {
        provide_context(self.store.clone());
        provide_context(self.base.clone());
        provide_context(self.throttles.clone());
        provide_context(self.secure);
        provide_context(self.mail);
    }
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
    let context = RequestContext {
        store: app_store.clone(),
        base: PublicBase(base.to_string()),
        throttles: store.throttles(),
        secure: app::device::SecureCookies(secure),
        mail: app::context::MailEnabled(settings.mail),
    };
    let options = leptos_options(settings.addr, &settings.site);
    // The import's server functions take whole files: they get their own
    // routes with a larger body limit (still authorised inside).
    let large = app::import::large_body_endpoints();
    let routes = generate_route_list_with_exclusions(
        App,
        Some(large.iter().map(|p| p.to_string()).collect()),
    );
    let mut import_routes = Router::new();
    for path in large {
        let context = context.clone();
        import_routes = import_routes.route(
            path,
            post(move |session: tower_sessions::Session, request: Request| {
                let context = context.clone();
                async move {
                    // Checked before the body is read: without an operator's
                    // session nobody can make the server take 64 MiB. The
                    // server function authorises again, as every one does.
                    if let Err(e) = operator_session(&session, &context.store).await {
                        return refusal(e);
                    }
                    leptos_axum::handle_server_fns_with_context(move || context.provide(), request)
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
        post(upload::import_upload).with_state(
            upload::UploadState::new(app_store.clone(), timeouts.upload_idle)
                .with_mail(settings.mail),
        ),
    );
    let app = Router::new()
        .route(
            "/template.csv",
            get(downloads::template_csv).with_state(app_store.clone()),
        )
        .route(
            "/users/export.csv",
            get(downloads::users_export).with_state(app_store.clone()),
        )
        .route(
            "/admin/audit.csv",
            get(downloads::audit_export).with_state(app_store.clone()),
        )
        .leptos_routes_with_context(
            &options,
            routes,
            {
                let context = context.clone();
                move || context.provide()
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        // An unknown address renders the app's "Page not found", whose
        // header reads the session through the store: it needs the
        // context as every page does.
        .fallback(leptos_axum::file_and_error_handler_with_context(
            move || context.provide(),
            shell,
        ))
        .layer(RequestBodyTimeoutLayer::new(timeouts.body))
        .merge(import_routes)
        .layer(from_fn_with_state(
            app_store.clone(),
            middleware::api_needs_session,
        ))
        .layer(session_layer)
        .layer(from_fn(middleware::explain_session_failures))
        .layer(from_fn(middleware::same_origin_only))
        // SCIM clients authenticate with API tokens: no sessions, no
        // cookies, no browser origin to check.
        .nest(
            scim::PREFIX,
            scim::routes(store.clone(), base, settings.scim_rate),
        )
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(
            Arc::new(settings.trusted_proxies.clone()),
            client_address,
        ));
    headers::secure(app, secure).with_state(options)
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
        let (store, base, common) = (store.clone(), base.clone(), common.clone());
        tokio::task::spawn_blocking(move || {
            match store.purge_expired_links(now()) {
                Ok(n) => tracing::info!(removed = n, "expired sign-in links removed"),
                Err(e) => tracing::warn!("cannot purge expired sign-in links: {e}"),
            }
            bootstrap_admin(&*store, &base, &common)?;
            let sessions = EngineSessionStore::new(store.clone());
            if let Ok(n) = sessions.delete_expired() {
                tracing::info!(removed = n, "expired sessions removed");
            }
            Ok::<u64, String>(store.user_count().unwrap_or(0))
        })
    };
    let users = startup.await.map_err(|e| e.to_string())??;
    let mailer = common.mailer()?;
    let mail = mailer.is_some();
    if let Some(mailer) = mailer {
        tracing::info!(?mailer, "sending mail");
        tokio::spawn(crate::mail::run(store.clone(), mailer, base.clone()));
    }
    let settings = Settings {
        mail,
        secure: common.secure_cookies,
        trusted_proxies: common.trusted_proxies.clone().unwrap_or_default(),
        site: Site {
            root: common.site_root.clone(),
            env: common.leptos_env.clone(),
        },
        scim_rate: domain::throttle::Rate {
            per_second: common.scim_requests_per_second,
        },
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
