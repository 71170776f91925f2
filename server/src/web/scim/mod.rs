//! SCIM 2.0 over HTTP (`/scim/v2`): the discovery documents, `/Users`
//! (create, read, list with `filter` and paging, replace, PATCH,
//! DELETE = deactivate) and `/Groups` (the roles; `groups.rs`). Every request is authenticated by an API token
//! (`Authorization: Bearer …`, made by an administrator with `roster
//! tokens create`), acts with the token's role under the privilege rule,
//! and writes through the domain's use cases (`domain::scim::provision`)
//! in one write transaction. These routes sit outside the session and
//! CSRF layers: a token never opens a page or a server function, and a
//! session never opens these.

mod groups;

use crate::engine::Engine;
use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::{DefaultBodyLimit, Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use domain::scim::provision::{self, Replaced, scim_error};
use domain::scim::{
    Filter, ListResponse, Page, PatchRequest, ScimError, ScimType, ScimUserInput, Write,
};
use domain::store::{TokenAuthError, run};
use domain::throttle::{Bucket, Rate};
use domain::token::ApiToken;
use domain::transaction::Finish;
use domain::{Email, User, UserKey};
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
/// A list without a userName equality reads every user: up to this many
/// stored users it is answered, beyond it refused with `tooMany`.
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
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", axum::routing::post(search_users))
        // At the root, a search covers every resource type whose members
        // are found by filter: the users (the groups are the four roles).
        .route("/.search", axum::routing::post(search_users))
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
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
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

/// A resource id (the user's key) as a key; one that is not an address
/// names nobody.
fn key_of(id: &str) -> Result<UserKey, ScimError> {
    Email::parse(id)
        .map(|e| e.key().clone())
        .map_err(|_| ScimError::not_found(id))
}

fn resource(state: &Scim, user: &User, external_id: Option<&str>) -> Value {
    domain::scim::user_resource(user, user.key().as_str(), external_id, &state.base)
}

/// A user resource answer, with its ETag and, for a create, its Location.
fn user_answer(
    state: &Scim,
    status: StatusCode,
    user: &User,
    external_id: Option<&str>,
) -> Response {
    let body = resource(state, user, external_id);
    let mut response = scim_json(status, &body);
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&domain::scim::etag(user)) {
        headers.insert(header::ETAG, etag);
    }
    if status == StatusCode::CREATED
        && let Some(Ok(location)) = body
            .pointer("/meta/location")
            .and_then(Value::as_str)
            .map(HeaderValue::from_str)
    {
        headers.insert(header::LOCATION, location);
    }
    response
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

async fn get_user(
    State(state): State<Scim>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let store = state.store.clone();
    let found = blocking(move || {
        let key = key_of(&id)?;
        let user = store
            .user(&key)
            .map_err(scim_error)?
            .filter(|u| !provision::is_removed(u))
            .ok_or_else(|| ScimError::not_found(&id))?;
        let external_id = store.external_id(&key).map_err(scim_error)?;
        Ok((user, external_id))
    })
    .await;
    let (user, external_id) = match found {
        Ok(found) => found,
        Err(e) => return error(e),
    };
    let projected = domain::scim::project(
        &resource(&state, &user, external_id.as_deref()),
        params.get("attributes").map(String::as_str),
        params.get("excludedAttributes").map(String::as_str),
    );
    match projected {
        Ok(body) => {
            let mut response = scim_json(StatusCode::OK, &body);
            if let Ok(etag) = HeaderValue::from_str(&domain::scim::etag(&user)) {
                response.headers_mut().insert(header::ETAG, etag);
            }
            response
        }
        Err(e) => error(e),
    }
}

/// `GET /Users`: the users a filter matches (all without one), by key,
/// one page of them. `userName eq "…"` and `externalId eq "…"` are
/// lookups; any other filter reads every user, which is refused
/// (`tooMany`) above [`SCAN_LIMIT`].
async fn list_users(
    State(state): State<Scim>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    list(state, params).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): a list whose parameters come
/// in a SearchRequest body (a filter too long or too private for a URL).
async fn search_users(State(state): State<Scim>, body: Bytes) -> Response {
    match json_body(&body).and_then(|v| domain::scim::list::search_params(&v)) {
        Ok(params) => list(state, params).await,
        Err(e) => error(e),
    }
}

async fn list(state: Scim, params: HashMap<String, String>) -> Response {
    let get = |k: &str| params.get(k).map(String::as_str);
    let page = match Page::parse(get("startIndex"), get("count")) {
        Ok(p) => p,
        Err(e) => return error(e),
    };
    let filter = match get("filter").map(Filter::parse).transpose() {
        Ok(f) => f,
        Err(e) => return error(e),
    };
    if let Some(Err(e)) = filter.as_ref().map(Filter::validate) {
        return error(e);
    }
    let store = state.store.clone();
    let found = blocking(move || {
        let too_many = |total: u64| {
            ScimError::bad_request(
                ScimType::TooMany,
                format!(
                    "This list would read all {total} users; filter by userName eq or \
                     externalId eq (at most {SCAN_LIMIT} users are listed otherwise)."
                ),
            )
        };
        let by_name = filter.as_ref().and_then(Filter::equality_on_username);
        let by_external_id = filter.as_ref().and_then(Filter::equality_on_external_id);
        // The candidates, each with its externalId.
        let candidates: Vec<(User, Option<String>)> = if let Some(address) = by_name {
            match Email::parse(address) {
                Ok(email) => match store.user(email.key()).map_err(scim_error)? {
                    Some(user) => {
                        let external_id = store.external_id(email.key()).map_err(scim_error)?;
                        vec![(user, external_id)]
                    }
                    None => Vec::new(),
                },
                Err(_) => Vec::new(),
            }
        } else if let Some(wanted) = by_external_id {
            let limit = SCAN_LIMIT as usize + 1;
            let users = store
                .users_with_external_id(wanted, limit)
                .map_err(scim_error)?;
            if users.len() == limit {
                return Err(too_many(SCAN_LIMIT + 1));
            }
            users
                .into_iter()
                .map(|u| (u, Some(wanted.to_string())))
                .collect()
        } else {
            let total = store.user_count().map_err(scim_error)?;
            if total > SCAN_LIMIT {
                return Err(too_many(total));
            }
            let mut external_ids = store.all_external_ids().map_err(scim_error)?;
            let users = store.all_users().map_err(scim_error)?;
            users
                .into_iter()
                .map(|u| {
                    let external_id = external_ids.remove(u.key().as_str());
                    (u, external_id)
                })
                .collect()
        };
        let mut matching = Vec::with_capacity(candidates.len());
        for (user, external_id) in candidates {
            if provision::is_removed(&user) {
                continue;
            }
            let keep = match &filter {
                Some(f) => domain::scim::filter::matches(f, &user, external_id.as_deref())?,
                None => true,
            };
            if keep {
                matching.push((user, external_id));
            }
        }
        matching.sort_by(|a, b| a.0.key().cmp(b.0.key()));
        Ok(matching)
    })
    .await;
    let matching = match found {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    let mut resources = Vec::new();
    for (user, external_id) in page.slice(&matching) {
        match domain::scim::project(
            &resource(&state, user, external_id.as_deref()),
            get("attributes"),
            get("excludedAttributes"),
        ) {
            Ok(r) => resources.push(r),
            Err(e) => return error(e),
        }
    }
    let list = ListResponse {
        total_results: matching.len() as u64,
        start_index: page.start_index,
        resources,
    };
    scim_json(StatusCode::OK, &list.to_json())
}

async fn create_user(
    State(state): State<Scim>,
    Extension(token): Extension<ApiToken>,
    body: Bytes,
) -> Response {
    let input = match json_body(&body).and_then(|v| ScimUserInput::from_json(&v, Write::Create)) {
        Ok(i) => i,
        Err(e) => return error(e),
    };
    let store = state.store.clone();
    let external_id = input.external_id.clone();
    let created = blocking(move || {
        let now = crate::commands::now();
        run(&*store, |tx| {
            let name = token.audit_name();
            let by = provision::Client {
                name: &name,
                actor: token.actor(),
                now,
            };
            provision::create(tx, &input, by)
        })
        .map_err(scim_error)
    })
    .await;
    match created {
        Ok(user) => user_answer(&state, StatusCode::CREATED, &user, external_id.as_deref()),
        Err(e) => error(e),
    }
}

/// What a PUT, PATCH or DELETE asks: the stored user as it leaves it.
enum Change {
    Put(Box<ScimUserInput>),
    Patch(PatchRequest),
    /// Deactivated in Roster and gone for SCIM clients
    /// ([`provision::remove`]; RFC 7644 §3.6 lets a service provider keep
    /// what it deletes: Roster keeps every user for its history and undo).
    Delete,
}

/// PUT, PATCH and DELETE: the new user is made from the stored one inside
/// the write transaction, so nothing written meanwhile is overwritten.
async fn change(
    state: Scim,
    token: ApiToken,
    headers: HeaderMap,
    id: String,
    change: Change,
) -> Response {
    let if_match = headers
        .get(header::IF_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let deleting = matches!(change, Change::Delete);
    let store = state.store.clone();
    let written = blocking(move || {
        let key = key_of(&id)?;
        let now = crate::commands::now();
        let mut refused = None;
        // The externalId the answer shows: the stored one, or the
        // request's once written.
        let mut external_id = None;
        let outcome = run(&*store, |tx| {
            let current = tx
                .user(key.as_str())?
                .ok_or_else(|| domain::store::StoreError::NotFound(id.clone()))?;
            if provision::is_removed(&current) {
                return Err(domain::store::StoreError::NotFound(id.clone()));
            }
            let name = token.audit_name();
            let by = provision::Client {
                name: &name,
                actor: token.actor(),
                now,
            };
            external_id = tx.external_id(key.as_str())?;
            let input = match &change {
                Change::Put(input) => Ok((**input).clone()),
                Change::Patch(request) => request.apply(&current, &id, external_id.as_deref()),
                Change::Delete => {
                    return provision::remove(tx, &key, if_match.as_deref(), by);
                }
            };
            match input.and_then(|input| Ok((input.replace(&current)?, input.external_id))) {
                Ok((after, new_external_id)) => {
                    let written = provision::replace(
                        tx,
                        &key,
                        after,
                        new_external_id.as_deref(),
                        if_match.as_deref(),
                        by,
                    )?;
                    if matches!(written.1, Replaced::Saved(_)) {
                        external_id = new_external_id;
                    }
                    Ok(written)
                }
                Err(e) => {
                    refused = Some(e);
                    Ok((Finish::Abort, Replaced::Unchanged(current)))
                }
            }
        })
        .map_err(|e| match e {
            domain::store::StoreError::NotFound(_) => ScimError::not_found(&id),
            other => scim_error(other),
        })?;
        match refused {
            Some(e) => Err(e),
            None => Ok((outcome, external_id)),
        }
    })
    .await;
    match written {
        Ok((Replaced::Saved(_) | Replaced::Unchanged(_), _)) if deleting => {
            StatusCode::NO_CONTENT.into_response()
        }
        Ok((Replaced::Saved(user) | Replaced::Unchanged(user), external_id)) => {
            user_answer(&state, StatusCode::OK, &user, external_id.as_deref())
        }
        Ok((Replaced::Stale(_), _)) => error(ScimError::precondition_failed(
            "The user changed since the version in If-Match; read it again.",
        )),
        Err(e) => error(e),
    }
}

async fn replace_user(
    State(state): State<Scim>,
    Extension(token): Extension<ApiToken>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match json_body(&body).and_then(|v| ScimUserInput::from_json(&v, Write::Replace { id: &id })) {
        Ok(input) => change(state, token, headers, id, Change::Put(Box::new(input))).await,
        Err(e) => error(e),
    }
}

async fn patch_user(
    State(state): State<Scim>,
    Extension(token): Extension<ApiToken>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    match json_body(&body).and_then(|v| PatchRequest::parse(&v)) {
        Ok(request) => change(state, token, headers, id, Change::Patch(request)).await,
        Err(e) => error(e),
    }
}

async fn delete_user(
    State(state): State<Scim>,
    Extension(token): Extension<ApiToken>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    change(state, token, headers, id, Change::Delete).await
}
