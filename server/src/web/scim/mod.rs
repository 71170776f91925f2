//! SCIM 2.0 over HTTP (`/scim/v2`): the discovery documents (here),
//! `/Users` (`users.rs`) and `/Groups`, the roles (`groups.rs`). Every
//! request is authenticated by an API token
//! (`Authorization: Bearer …`, made by an administrator with `roster
//! tokens create`), acts with the token's role under the privilege rule,
//! and writes through the domain's use cases (`domain::scim::provision`)
//! in one write transaction. These routes sit outside the session and
//! CSRF layers: a token never opens a page or a server function, and a
//! session never opens these.

mod groups;
mod users;

use crate::engine::Engine;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::scim::provision::scim_error;
use domain::scim::{ListResponse, ScimError, ScimType};
use domain::store::TokenAuthError;
use domain::throttle::{Bucket, Rate};
use domain::token::ApiToken;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Where the routes are mounted.
pub const PREFIX: &str = "/scim/v2";
/// Largest request body (a user is a few kilobytes; a PATCH of many
/// values more).
const BODY_LIMIT: usize = 256 * 1024;
/// The whole body must arrive within this (as on the app's routes).
const BODY_TIME: std::time::Duration = std::time::Duration::from_secs(60);
/// A list without a `userName eq` or `externalId eq` (and a group list
/// with members) reads every user: up to this many stored users it is
/// answered, beyond it refused with `tooMany`.
const SCAN_LIMIT: u64 = 20_000;

#[derive(Clone)]
struct Scim {
    store: Arc<dyn Engine>,
    /// `https://host/scim/v2`, for `meta.location`.
    base: String,
    rate: Rate,
    /// Each token's request bucket, by token id (only tokens that passed
    /// the check get one, so the map is as large as the live tokens).
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

/// The SCIM routes (to be nested at [`PREFIX`], outside the session
/// layers).
pub fn routes<S: Clone + Send + Sync + 'static>(
    store: Arc<dyn Engine>,
    public_base: &str,
    rate: Rate,
) -> Router<S> {
    let state = Scim {
        store,
        base: format!("{}{PREFIX}", public_base.trim_end_matches('/')),
        rate,
        buckets: Arc::default(),
    };
    Router::new()
        .route("/ServiceProviderConfig", get(provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{id}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(users::list_users).post(users::create_user))
        .route("/Users/.search", axum::routing::post(users::search_users))
        // At the root, a search covers every resource type whose members
        // are found by filter: the users (the groups are the four roles).
        .route("/.search", axum::routing::post(users::search_users))
        .route("/Groups", get(groups::list_groups).post(groups::fixed))
        .route(
            "/Groups/{id}",
            get(groups::get_group)
                .patch(groups::patch_group)
                .put(groups::fixed)
                .delete(groups::fixed),
        )
        .route(
            "/Users/{id}",
            get(users::get_user)
                .put(users::replace_user)
                .patch(users::patch_user)
                .delete(users::delete_user),
        )
        .route_layer(from_fn_with_state(state.clone(), authenticated))
        .fallback(not_found)
        .layer((
            DefaultBodyLimit::max(BODY_LIMIT),
            tower_http::timeout::RequestBodyTimeoutLayer::new(BODY_TIME),
        ))
        .with_state(state)
}

/// A SCIM response: JSON as `application/scim+json`.
fn scim_json(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/scim+json")],
        body.to_string(),
    )
        .into_response()
}

fn error(e: ScimError) -> Response {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = scim_json(status, &e.to_json());
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

async fn not_found() -> Response {
    error(ScimError::new(404, None, "There is no such SCIM endpoint."))
}

/// Every SCIM route: the request's API token is checked from its headers
/// before anything else (its body is not read for a caller without one),
/// and handed to the handler as an extension.
async fn authenticated(State(state): State<Scim>, mut request: Request, next: Next) -> Response {
    match client(&state, request.headers()).await {
        Ok(token) => {
            if let Err(wait_ms) = take_request(&state, &token.id) {
                return too_many_requests(wait_ms);
            }
            request.extensions_mut().insert(token);
            next.run(request).await
        }
        Err(refusal) => refusal,
    }
}

/// One request from the token's bucket, or how long until it has one.
fn take_request(state: &Scim, token_id: &str) -> Result<(), i64> {
    let now_ms = app::context::now_ms();
    let mut buckets = state.buckets.lock().unwrap_or_else(|p| p.into_inner());
    let bucket = buckets
        .entry(token_id.to_string())
        .or_insert_with(|| state.rate.full(now_ms));
    state.rate.take(bucket, now_ms)
}

/// 429 with `Retry-After` (whole seconds, at least 1), RFC 7644 §3.12.
fn too_many_requests(wait_ms: i64) -> Response {
    let seconds = wait_ms.saturating_add(999) / 1000;
    let mut response = error(ScimError::new(
        429,
        None,
        "Too many requests with this token; wait and try again.",
    ));
    if let Ok(value) = HeaderValue::from_str(&seconds.clamp(1, 3600).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// The token of the request, or the answer to give without one.
async fn client(state: &Scim, headers: &HeaderMap) -> Result<ApiToken, Response> {
    let refused = || error(ScimError::new(401, None, "A valid API token is needed."));
    // The scheme's name is case-insensitive (RFC 7235).
    let presented = headers
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes)
        .filter(|v| v.len() > 7 && v[..7].eq_ignore_ascii_case(b"bearer "))
        .map(|v| v[7..].to_vec())
        .ok_or_else(refused)?;
    let store = state.store.clone();
    let now = crate::commands::now();
    match tokio::task::spawn_blocking(move || store.authenticate_token(&presented, now)).await {
        Ok(Ok(token)) => Ok(token),
        Ok(Err(TokenAuthError::Refused)) => Err(refused()),
        // The store is down: not the client's token's fault (a client
        // that took a 401 would think its token revoked).
        Ok(Err(TokenAuthError::Store(e))) => Err(error(scim_error(e))),
        Err(_) => Err(error(ScimError::new(500, None, "The request failed."))),
    }
}

/// Runs store work off the async executor; its error as SCIM's.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ScimError> + Send + 'static,
) -> Result<T, ScimError> {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|_| Err(ScimError::new(500, None, "The request failed.")))
}

fn json_body(body: &Bytes) -> Result<Value, ScimError> {
    serde_json::from_slice(body).map_err(|e| {
        ScimError::bad_request(
            ScimType::InvalidSyntax,
            format!("The body is not JSON: {e}"),
        )
    })
}

async fn provider_config(State(state): State<Scim>) -> Response {
    scim_json(
        StatusCode::OK,
        &domain::scim::service_provider_config(&state.base),
    )
}

/// A discovery list (RFC 7644 §4: a ListResponse).
fn listed(items: Value) -> Value {
    let resources = items.as_array().cloned().unwrap_or_default();
    ListResponse {
        total_results: resources.len() as u64,
        start_index: 1,
        resources,
    }
    .to_json()
}

/// One item of a discovery list by its `id`.
fn one_of(items: Value, id: &str) -> Response {
    let found = items
        .as_array()
        .and_then(|all| all.iter().find(|item| item["id"] == id).cloned());
    match found {
        Some(item) => scim_json(StatusCode::OK, &item),
        None => error(ScimError::not_found(id)),
    }
}

async fn resource_types(State(state): State<Scim>) -> Response {
    scim_json(
        StatusCode::OK,
        &listed(domain::scim::resource_types(&state.base)),
    )
}

async fn resource_type(State(state): State<Scim>, Path(id): Path<String>) -> Response {
    one_of(domain::scim::resource_types(&state.base), &id)
}

async fn schemas() -> Response {
    scim_json(StatusCode::OK, &listed(domain::scim::schemas()))
}

async fn schema(Path(id): Path<String>) -> Response {
    one_of(domain::scim::schemas(), &id)
}
