//! `/Groups`: Roster's four roles as SCIM Groups (`domain::scim::group`).
//! Read them (with their members, as the Users list reads users), and
//! PATCH their `members` to grant or take away a role; they cannot be
//! created, replaced or deleted.

use super::{SCAN_LIMIT, Scim, blocking, error, json_body, scim_json};
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::scim::group::{self, group_resource};
use domain::scim::provision::{self, scim_error};
use domain::scim::{ListResponse, Membership, Page, PatchRequest, ScimError, ScimType};
use domain::store::run;
use domain::token::ApiToken;
use domain::{Role, User};
use std::collections::HashMap;

type Params = Query<HashMap<String, String>>;

/// Each role's members, in key order, when the client asks for them;
/// read like a Users list without a filter (refused above [`SCAN_LIMIT`]
/// users: a client then asks with `excludedAttributes=members`).
async fn members(
    state: &Scim,
    wanted: bool,
    roles: Vec<Role>,
) -> Result<Option<HashMap<Role, Vec<User>>>, ScimError> {
    if !wanted || roles.is_empty() {
        return Ok(wanted.then(HashMap::new));
    }
    let store = state.store.clone();
    blocking(move || {
        let total = store.user_count().map_err(scim_error)?;
        if total > SCAN_LIMIT {
            return Err(ScimError::bad_request(
                ScimType::TooMany,
                format!(
                    "Listing members would read all {total} users; ask with \
                     excludedAttributes=members (members are listed up to {SCAN_LIMIT} users)."
                ),
            ));
        }
        let mut users = store.all_users().map_err(scim_error)?;
        users.retain(|u| !provision::is_removed(u));
        users.sort_by(|a, b| a.key().cmp(b.key()));
        let mut by_role: HashMap<Role, Vec<User>> = HashMap::new();
        for role in roles {
            let holders = users.iter().filter(|u| u.roles.contains(role)).cloned();
            by_role.insert(role, holders.collect());
        }
        Ok(Some(by_role))
    })
    .await
}

fn wants_members(params: &HashMap<String, String>) -> bool {
    group::wants_members(
        params.get("attributes").map(String::as_str),
        params.get("excludedAttributes").map(String::as_str),
    )
}

fn resource(
    state: &Scim,
    role: Role,
    members: &Option<HashMap<Role, Vec<User>>>,
) -> serde_json::Value {
    let listed = members
        .as_ref()
        .map(|m| m.get(&role).map_or(&[][..], Vec::as_slice));
    group_resource(role, listed, &state.base)
}

/// `GET /Groups`, with `filter` (`displayName eq` or `id eq`) and paging.
pub(super) async fn list_groups(State(state): State<Scim>, Query(params): Params) -> Response {
    let get = |k: &str| params.get(k).map(String::as_str);
    let (page, roles) = match (
        Page::parse(get("startIndex"), get("count")),
        group::select(get("filter")),
    ) {
        (Ok(page), Ok(roles)) => (page, roles),
        (Err(e), _) | (_, Err(e)) => return error(e),
    };
    let shown = page.slice(&roles).to_vec();
    let members = match members(&state, wants_members(&params), shown).await {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    let list = ListResponse {
        total_results: roles.len() as u64,
        start_index: page.start_index,
        resources: page
            .slice(&roles)
            .iter()
            .map(|role| resource(&state, *role, &members))
            .collect(),
    };
    scim_json(StatusCode::OK, &list.to_json())
}

/// `GET /Groups/{id}`.
pub(super) async fn get_group(
    State(state): State<Scim>,
    Path(id): Path<String>,
    Query(params): Params,
) -> Response {
    let Some(role) = group::role_of(&id) else {
        return error(ScimError::not_found(&id));
    };
    match members(&state, wants_members(&params), vec![role]).await {
        Ok(members) => scim_json(StatusCode::OK, &resource(&state, role, &members)),
        Err(e) => error(e),
    }
}

/// `PATCH /Groups/{id}`: members added and removed in one write
/// transaction (`provision::set_members`); 204 as RFC 7644 §3.5.2 allows.
pub(super) async fn patch_group(
    State(state): State<Scim>,
    Extension(token): Extension<ApiToken>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(role) = group::role_of(&id) else {
        return error(ScimError::not_found(&id));
    };
    // Only an administrator's token changes roles: refused before the
    // body is parsed or the write transaction begins.
    if !token.actor().ranks_as_admin() {
        return error(ScimError::new(
            403,
            None,
            "Only an administrator's token changes roles (a group's members).",
        ));
    }
    let membership = match json_body(&body)
        .and_then(|v| PatchRequest::parse(&v))
        .and_then(|request| Membership::from_patch(&request, role))
    {
        Ok(m) => m,
        Err(e) => return error(e),
    };
    let store = state.store.clone();
    let written = blocking(move || {
        let now = crate::commands::now();
        run(&*store, |tx| {
            let name = token.by();
            let by = provision::Client {
                name: &name,
                actor: token.actor(),
                now,
            };
            provision::set_members(tx, role, &membership, by)
        })
        .map_err(scim_error)
    })
    .await;
    match written {
        Ok(_) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => error(e),
    }
}

/// POST, PUT and DELETE of a group: Roster's groups are its roles.
pub(super) async fn fixed() -> Response {
    error(ScimError::new(
        403,
        None,
        "Roster's groups are its four roles: they cannot be created, replaced or deleted; \
         PATCH a group's members to grant or take away its role.",
    ))
}
