//! `/Users`: read, list (filter, paging, `.search`), create, replace,
//! PATCH and DELETE, each write one use case of `domain::scim::provision`
//! in one write transaction.

use super::{SCAN_LIMIT, Scim, blocking, error, json_body, scim_json};
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use domain::scim::provision::{self, Replaced, scim_error};
use domain::scim::{
    Filter, ListResponse, Page, PatchRequest, ScimError, ScimType, ScimUserInput, Write,
};
use domain::store::run;
use domain::token::ApiToken;
use domain::transaction::Finish;
use domain::{Email, User, UserKey};
use serde_json::Value;
use std::collections::HashMap;

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

pub(super) async fn get_user(
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
pub(super) async fn list_users(
    State(state): State<Scim>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    list(state, params).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): a list whose parameters come
/// in a SearchRequest body (a filter too long or too private for a URL).
pub(super) async fn search_users(State(state): State<Scim>, body: Bytes) -> Response {
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
        } else if let Some(wanted) = by_external_id
            && !domain::scim::user::could_be_external_id(wanted)
        {
            // No stored externalId looks so: nothing to look up.
            Vec::new()
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

pub(super) async fn create_user(
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
            let name = token.by();
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
    /// Gone for SCIM clients: deactivated in Roster, or deleted when the
    /// option `scim.delete` says so ([`provision::remove`]; RFC 7644 §3.6
    /// lets a service provider keep what it deletes).
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
        // A tag that is not text matches no version (412), never "none
        // sent".
        .map(|v| v.to_str().unwrap_or("\u{0}").to_string());
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
                .user(&key)?
                .ok_or_else(|| domain::store::StoreError::NotFound(id.clone()))?;
            if provision::is_removed(&current) {
                return Err(domain::store::StoreError::NotFound(id.clone()));
            }
            let name = token.by();
            let by = provision::Client {
                name: &name,
                actor: token.actor(),
                now,
            };
            external_id = tx.external_id(&key)?;
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

pub(super) async fn replace_user(
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

pub(super) async fn patch_user(
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

pub(super) async fn delete_user(
    State(state): State<Scim>,
    Extension(token): Extension<ApiToken>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    change(state, token, headers, id, Change::Delete).await
}
