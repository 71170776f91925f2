//! `roster serve`: the axum server with the SSR + hydrated Leptos app.

use crate::commands::{ensure_admin, now, sign_in_url};
use crate::store::RedbStore;
use app::context::AppStore;
use app::{App, shell};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use domain::Email;
use domain::store::Store;
use domain::user::{Role, Source};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes, generate_route_list};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest request body: CSV uploads of `import.max_rows` rows fit.
const BODY_LIMIT: usize = 256 * 1024 * 1024;

/// DESIGN §8: make sure an administrator exists; print a one-time sign-in
/// link for one that has no password yet (unless ROSTER_ADMIN_PASSWORD sets
/// it).
fn bootstrap_admin(store: &RedbStore, addr: &SocketAddr) -> Result<(), String> {
    let users = store.all_users().map_err(|e| e.to_string())?;
    let admins: Vec<_> = users
        .iter()
        .filter(|u| u.roles.contains(Role::Admin))
        .collect();
    let admin = match admins.first() {
        Some(a) => (*a).clone(),
        None => {
            let email =
                std::env::var("ROSTER_ADMIN_EMAIL").unwrap_or_else(|_| "admin@localhost".into());
            let email = Email::parse(&email).map_err(|e| format!("ROSTER_ADMIN_EMAIL: {e}"))?;
            ensure_admin(store, &email, Source::Bootstrap).map_err(|e| e.to_string())?
        }
    };
    if store
        .password_hash(admin.key())
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(());
    }
    if let Ok(password) = std::env::var("ROSTER_ADMIN_PASSWORD") {
        let hash = crate::auth::hash_password(&password)
            .map_err(|e| format!("ROSTER_ADMIN_PASSWORD: {e}"))?;
        store
            .set_password_hash(admin.key(), &hash)
            .map_err(|e| e.to_string())?;
        println!(
            "Administrator {} can sign in with the password from ROSTER_ADMIN_PASSWORD.",
            admin.email
        );
        return Ok(());
    }
    let days = store.options().map(|o| o.link_days).unwrap_or(7);
    let token = store
        .create_link(admin.key(), now(), days)
        .map_err(|e| e.to_string())?;
    println!(
        "First sign-in for {}: open this one-time link within {days} days to set a password:",
        admin.email
    );
    println!("  {}", sign_in_url(addr, &token));
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

pub async fn serve(store: RedbStore, addr: SocketAddr) -> Result<(), String> {
    bootstrap_admin(&store, &addr)?;
    let store: AppStore = Arc::new(store);
    let options = leptos_options(addr);
    let routes = generate_route_list(App);
    let app = Router::new()
        .leptos_routes_with_context(
            &options,
            routes,
            {
                let store = store.clone();
                move || provide_context(store.clone())
            },
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(options);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    println!("Roster is listening on http://{local}");
    tracing::info!(%local, users = store.user_count().unwrap_or(0), "serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .map_err(|e| e.to_string())
}
