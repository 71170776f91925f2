//! SCIM 2.0 over the real router on both engines, with real API tokens:
//! requests shaped as Entra ID and Okta send them (their documented
//! quirks: `active` as the string "False", `replace` without `path`, a
//! filter on `userName`), the privilege rule for the token's role, ETags,
//! and what lands in the store and the audit trail.

mod support;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use domain::Actor;
use domain::audit::AuditAction;
use domain::token::TokenRole;
use domain::usecase::tokens::NewToken;
use domain::user::{EndState, Role, Source};
use serde_json::{Value, json};
use server::engine::Engine;
use std::net::SocketAddr;
use std::sync::Arc;
use support::{Fresh, k};
use tower::ServiceExt;

const BASE: &str = "http://roster.test";

/// A SCIM client of the router. Requests run on a runtime of its own;
/// the test's store calls run outside it (the PostgreSQL client blocks).
struct Client {
    app: axum::Router,
    token: String,
    rt: tokio::runtime::Runtime,
}

impl Client {
    fn new(store: &Arc<dyn Engine>, role: TokenRole) -> Client {
        Client::with_rate(store, role, 100)
    }

    /// A client of a router whose tokens may make `per_second` requests a
    /// second.
    fn with_rate(store: &Arc<dyn Engine>, role: TokenRole, per_second: u32) -> Client {
        let made = store
            .create_token(NewToken {
                name: "entra",
                role,
                days: None,
                by: &domain::By::Cli,
                actor: Actor::Owner,
                now: 1,
            })
            .unwrap();
        let addr: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // The router's pages want the runtime as their executor.
        let settings = server::web::Settings {
            scim_rate: domain::throttle::Rate { per_second },
            ..server::web::Settings::new(BASE, addr)
        };
        let app = rt.block_on(async { server::web::router_with(store.clone(), &settings) });
        Client {
            app,
            token: made.text,
            rt,
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        self.rt.block_on(self.send_async(method, path, body, extra))
    }

    async fn send_async(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value, axum::http::HeaderMap) {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("/scim/v2{path}"))
            .header("authorization", format!("Bearer {}", self.token))
            .header("content-type", "application/scim+json");
        for (name, value) in extra {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(body.map_or_else(Body::empty, |b| Body::from(b.to_string())))
            .unwrap();
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json, headers)
    }
}

/// Entra ID's create (its documented body, enterprise extension included).
fn entra_user(email: &str) -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": email,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": email}],
        "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
        "title": "Engineer",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": "E-7",
            "department": "Research"
        },
        "meta": {"resourceType": "User"}
    })
}

/// A missing token, a token with a wrong secret (right shape and
/// length), and text that is no token are 401 with `WWW-Authenticate:
/// Bearer`; nothing reaches the store.
fn a_token_is_needed(f: &Fresh) {
    let mut client = Client::new(&f.store, TokenRole::Operator);
    let (status, body, _) = client.send("GET", "/Users", None, &[]);
    assert_eq!(status, StatusCode::OK, "{body}");
    let good = client.token.clone();
    // The last hex digit of the secret changed: a lookup, then a refusal.
    let last = good.chars().last().unwrap();
    client.token = format!(
        "{}{}",
        &good[..good.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let (status, body, headers) = client.send("GET", "/Users", None, &[]);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    assert_eq!(headers["www-authenticate"], "Bearer");
    client.token = "not a token at all".into();
    let (status, _, _) = client.send("POST", "/Users", Some(entra_user("x@x.org")), &[]);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(f.store.user(&k("x@x.org")).unwrap().is_none());
    // Revoked, the token opens nothing.
    client.token = good;
    let id = f.store.list_tokens().unwrap()[0].id.clone();
    f.store
        .revoke_token(&id, &domain::By::Cli, Actor::Owner, 2)
        .unwrap();
    let (status, _, _) = client.send("GET", "/Users", None, &[]);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Entra's create, read, filter, PATCH without path with "False", and
/// DELETE: Source SCIM, the import's roles, the audit trail names the
/// token.
fn entra_provisions_a_user(f: &Fresh) {
    {
        let client = Client::new(&f.store, TokenRole::Operator);
        let (status, body, headers) = client.send(
            "POST",
            "/Users",
            Some(entra_user("Test.User@Example.org")),
            &[],
        );
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["id"], "test.user@example.org");
        assert_eq!(body["name"]["givenName"], "Test");
        assert_eq!(
            headers["location"],
            "http://roster.test/scim/v2/Users/test.user@example.org"
        );
        let stored = f.store.user(&k("test.user@example.org")).unwrap().unwrap();
        assert_eq!(stored.source, Source::Scim);
        assert_eq!(stored.end_state, EndState::Active);
        assert_eq!(stored.profile.department(), "Research");
        // Self-Service only, whatever the import options give imported
        // users: an administrator grants more.
        assert_eq!(stored.roles, domain::Roles::of(&[Role::SelfService]));
        let history = f.store.user_history(&k("test.user@example.org")).unwrap();
        assert!(
            history
                .iter()
                .any(|e| e.action == AuditAction::ScimCreate && e.actor == "token:entra"),
            "{history:?}"
        );

        // The client's externalId is kept, shown and found (Entra's
        // matching attribute), exactly as sent.
        assert_eq!(body["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
        let (_, body, _) = client.send(
            "GET",
            "/Users?filter=externalId%20eq%20%220a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef%22",
            None,
            &[],
        );
        assert_eq!(body["totalResults"], 1, "{body}");
        assert_eq!(body["Resources"][0]["id"], "test.user@example.org");
        let (_, body, _) = client.send(
            "GET",
            "/Users?filter=externalId%20eq%20%220A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF%22",
            None,
            &[],
        );
        assert_eq!(body["totalResults"], 0, "case-exact: {body}");
        let (status, body, _) = client.send(
            "PATCH",
            "/Users/test.user@example.org",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "externalId", "value": "hr-42"}]
            })),
            &[],
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["externalId"], "hr-42");
        let (_, body, _) = client.send(
            "POST",
            "/Users/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "externalId eq \"hr-42\" and active eq true",
                "attributes": ["userName", "externalId"],
            })),
            &[],
        );
        assert_eq!(body["totalResults"], 1, "{body}");
        assert_eq!(body["Resources"][0]["externalId"], "hr-42");
        assert!(body["Resources"][0].get("title").is_none(), "{body}");
        let (_, body, _) = client.send("GET", "/Users/test.user@example.org", None, &[]);
        assert_eq!(body["externalId"], "hr-42");
        // At the root, a search covers the users.
        let (status, body, _) = client.send(
            "POST",
            "/.search",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": "userName eq \"test.user@example.org\"",
            })),
            &[],
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["totalResults"], 1);

        // The same address again is a uniqueness conflict.
        let (status, body, _) = client.send(
            "POST",
            "/Users",
            Some(entra_user("test.user@example.org")),
            &[],
        );
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(body["scimType"], "uniqueness");

        // Entra's and Okta's lookup before a create.
        let (status, body, _) = client.send(
            "GET",
            "/Users?filter=userName%20eq%20%22TEST.user%40example.org%22",
            None,
            &[],
        );
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["totalResults"], 1);
        assert_eq!(body["Resources"][0]["userName"], "Test.User@Example.org");
        let (_, body, _) = client.send(
            "GET",
            "/Users?filter=name.familyName%20sw%20%22us%22&count=5",
            None,
            &[],
        );
        assert_eq!(body["totalResults"], 1);
        let (status, body, _) =
            client.send("GET", "/Users?filter=userName%20xx%20%22a%22", None, &[]);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["scimType"], "invalidFilter");

        // Entra disables with `replace` without a path and "False".
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "value": {"active": "False", "title": "Manager"}}
            ]
        });
        let (status, body, _) =
            client.send("PATCH", "/Users/test.user@example.org", Some(patch), &[]);
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["active"], false);
        let stored = f.store.user(&k("test.user@example.org")).unwrap().unwrap();
        assert_eq!(stored.end_state, EndState::Inactive);
        assert_eq!(stored.profile.title(), "Manager");
        // A SCIM deactivation is the provider's, not a person's: a later
        // `active: true` brings the user back.
        assert!(stored.held.deactivated_by.is_none());

        // DELETE deactivates in Roster; the resource is gone for SCIM.
        let (status, _, _) = client.send(
            "PATCH",
            "/Users/test.user@example.org",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "active", "value": true}]
            })),
            &[],
        );
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = client.send("DELETE", "/Users/test.user@example.org", None, &[]);
        assert_eq!(status, StatusCode::NO_CONTENT);
        let stored = f.store.user(&k("test.user@example.org")).unwrap().unwrap();
        assert_eq!(stored.end_state, EndState::Inactive);
        assert_eq!(
            stored.held.deactivated_by.as_ref().map(|d| d.by.as_str()),
            Some("token:entra"),
            "an import leaves a removed user inactive"
        );
        let history = f.store.user_history(&k("test.user@example.org")).unwrap();
        assert!(
            history
                .iter()
                .any(|e| e.action == AuditAction::ScimRemove && e.actor == "token:entra"),
            "{history:?}"
        );
        for (method, body) in [
            ("GET", None),
            ("DELETE", None),
            ("PUT", Some(entra_user("test.user@example.org"))),
        ] {
            let (status, body, _) = client.send(method, "/Users/test.user@example.org", body, &[]);
            assert_eq!(status, StatusCode::NOT_FOUND, "{method}: {body}");
        }
        let (_, body, _) = client.send(
            "GET",
            "/Users?filter=userName%20eq%20%22test.user%40example.org%22",
            None,
            &[],
        );
        assert_eq!(body["totalResults"], 0, "{body}");
        let (_, body, _) = client.send("GET", "/Users", None, &[]);
        assert!(
            body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["id"] != "test.user@example.org"),
            "{body}"
        );
        // Posted again (a re-hire), the same user comes back, active.
        let (status, body, _) = client.send(
            "POST",
            "/Users",
            Some(entra_user("test.user@example.org")),
            &[],
        );
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["active"], true);
        let stored = f.store.user(&k("test.user@example.org")).unwrap().unwrap();
        assert_eq!(stored.end_state, EndState::Active);
        assert!(stored.held.deactivated_by.is_none());
        assert!(stored.version > 3, "the same record, not a new one");
        let (status, _, _) = client.send("GET", "/Users/test.user@example.org", None, &[]);
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = client.send("GET", "/Users/nobody@x.org", None, &[]);
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// PUT with a stale `If-Match` is 412 and writes nothing; with the
/// current ETag it writes. Invalid values get `invalidValue`, with the
/// CSV's rules (a bidi control in a name).
fn etags_and_field_rules(f: &Fresh) {
    {
        let client = Client::new(&f.store, TokenRole::Operator);
        let (_, _, headers) = client.send("POST", "/Users", Some(entra_user("e@x.org")), &[]);
        let etag = headers["etag"].to_str().unwrap().to_string();
        let mut changed = entra_user("e@x.org");
        changed["title"] = json!("Director");
        let (status, _, _) = client.send(
            "PUT",
            "/Users/e@x.org",
            Some(changed.clone()),
            &[("if-match", "W/\"9\"")],
        );
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            f.store
                .user(&k("e@x.org"))
                .unwrap()
                .unwrap()
                .profile
                .title(),
            "Engineer"
        );
        let (status, body, _) = client.send(
            "PUT",
            "/Users/e@x.org",
            Some(changed),
            &[("if-match", &etag)],
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["title"], "Director");
        // PATCH and DELETE with the old ETag are refused too.
        let patch = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Boss"}]
        });
        let (status, _, _) = client.send(
            "PATCH",
            "/Users/e@x.org",
            Some(patch),
            &[("if-match", &etag)],
        );
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        let (status, _, _) = client.send("DELETE", "/Users/e@x.org", None, &[("if-match", &etag)]);
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        assert_eq!(
            f.store.user(&k("e@x.org")).unwrap().unwrap().end_state,
            EndState::Active
        );
        let mut spoofed = entra_user("s@x.org");
        spoofed["name"]["familyName"] = json!("User\u{202e}gnp.exe");
        let (status, body, _) = client.send("POST", "/Users", Some(spoofed), &[]);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["scimType"], "invalidValue");
        assert!(f.store.user(&k("s@x.org")).unwrap().is_none());
    }
}

/// An Operator token cannot touch an administrator (the privilege rule),
/// and never changes roles; the first administrator stays active.
fn an_operator_token_cannot_touch_an_administrator(f: &Fresh) {
    {
        let admin = server::commands::ensure_admin(
            &*f.store,
            &domain::Email::parse("root@x.org").unwrap(),
            Source::Bootstrap,
        )
        .unwrap();
        assert!(admin.roles.contains(Role::Admin));
        let client = Client::new(&f.store, TokenRole::Operator);
        let (status, body, _) = client.send("DELETE", "/Users/root@x.org", None, &[]);
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(
            f.store.user(&k("root@x.org")).unwrap().unwrap().end_state,
            EndState::Active
        );
        let admin_client = Client::new(&f.store, TokenRole::Admin);
        let (status, body, _) = admin_client.send("DELETE", "/Users/root@x.org", None, &[]);
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "the last administrator: {body}"
        );
        assert!(
            body["detail"]
                .as_str()
                .is_some_and(|d| d.contains("administrator")),
            "{body}"
        );
        assert_eq!(
            f.store.user(&k("root@x.org")).unwrap().unwrap().end_state,
            EndState::Active
        );
    }
}

/// The discovery documents answer, and an unknown endpoint is SCIM's 404.
fn discovery(f: &Fresh) {
    {
        let client = Client::new(&f.store, TokenRole::Operator);
        let (status, body, headers) = client.send("GET", "/ServiceProviderConfig", None, &[]);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["patch"]["supported"], true);
        assert_eq!(headers["content-type"], "application/scim+json");
        // Lists are ListResponses (RFC 7644 §4); an item is read by id.
        let (status, body, _) = client.send("GET", "/Schemas", None, &[]);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["totalResults"], 3);
        assert_eq!(
            body["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:ListResponse"
        );
        let (status, body, _) = client.send("GET", "/ResourceTypes", None, &[]);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["Resources"][0]["id"], "User");
        let (status, body, _) = client.send("GET", "/ResourceTypes/User", None, &[]);
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["endpoint"], "/Users");
        let (status, _, _) = client.send(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
            &[],
        );
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = client.send("GET", "/Schemas/nothing", None, &[]);
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, body, _) = client.send("GET", "/Nothing", None, &[]);
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["status"], "404");
    }
}

/// The roles as Groups: an administrator's token grants and takes away
/// a role through `members`, all or nothing, audited under its name; an
/// Operator token changes no role; the last administrator keeps Admin;
/// the groups themselves are fixed.
fn groups_are_the_roles(f: &Fresh) {
    {
        server::commands::ensure_admin(
            &*f.store,
            &domain::Email::parse("root@x.org").unwrap(),
            Source::Bootstrap,
        )
        .unwrap();
        let admin = Client::new(&f.store, TokenRole::Admin);
        for address in ["a@x.org", "b@x.org"] {
            let (status, _, _) = admin.send("POST", "/Users", Some(entra_user(address)), &[]);
            assert_eq!(status, StatusCode::CREATED);
        }
        let (status, body, _) = admin.send("GET", "/Groups", None, &[]);
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["totalResults"], 4);
        let names: Vec<&str> = body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Self-Service", "Operator", "Approval", "Admin"]);
        // Entra's lookup before it links a group.
        let (_, body, _) = admin.send(
            "GET",
            "/Groups?filter=displayName%20eq%20%22operator%22&excludedAttributes=members",
            None,
            &[],
        );
        assert_eq!(body["totalResults"], 1);
        assert_eq!(body["Resources"][0]["id"], "operator");
        assert!(body["Resources"][0].get("members").is_none(), "{body}");

        let add = |ids: &[&str]| {
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{
                    "op": "Add",
                    "path": "members",
                    "value": ids.iter().map(|id| json!({"value": id})).collect::<Vec<_>>(),
                }]
            })
        };
        let (status, body, _) =
            admin.send("PATCH", "/Groups/operator", Some(add(&["a@x.org"])), &[]);
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
        let a = f.store.user(&k("a@x.org")).unwrap().unwrap();
        assert!(a.roles.contains(Role::Operator));
        let history = f.store.user_history(&k("a@x.org")).unwrap();
        assert!(
            history
                .iter()
                .any(|e| e.action == AuditAction::RoleChange && e.actor == "token:entra"),
            "{history:?}"
        );
        let (_, body, _) = admin.send("GET", "/Groups/operator", None, &[]);
        assert_eq!(
            body["members"],
            json!([{
                "value": "a@x.org",
                "$ref": "http://roster.test/scim/v2/Users/a@x.org",
                "display": "Test User",
                "type": "User",
            }])
        );

        // All or nothing: an id that names nobody refuses the whole PATCH.
        let (status, body, _) = admin.send(
            "PATCH",
            "/Groups/approval",
            Some(add(&["b@x.org", "nobody@x.org"])),
            &[],
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            !f.store
                .user(&k("b@x.org"))
                .unwrap()
                .unwrap()
                .roles
                .contains(Role::Approval)
        );

        // An Operator token grants nothing.
        let operator = Client::new(&f.store, TokenRole::Operator);
        let (status, _, _) =
            operator.send("PATCH", "/Groups/approval", Some(add(&["b@x.org"])), &[]);
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(
            !f.store
                .user(&k("b@x.org"))
                .unwrap()
                .unwrap()
                .roles
                .contains(Role::Approval)
        );

        // Okta's removal by a value filter.
        let remove = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members[value eq \"a@x.org\"]"}]
        });
        let (status, _, _) = admin.send("PATCH", "/Groups/operator", Some(remove), &[]);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(
            !f.store
                .user(&k("a@x.org"))
                .unwrap()
                .unwrap()
                .roles
                .contains(Role::Operator)
        );

        // The last administrator keeps Admin.
        let last = json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": "root@x.org"}]}]
        });
        let (status, body, _) = admin.send("PATCH", "/Groups/admin", Some(last), &[]);
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert!(
            f.store
                .user(&k("root@x.org"))
                .unwrap()
                .unwrap()
                .roles
                .contains(Role::Admin)
        );

        // The groups are fixed.
        for (method, path) in [
            ("POST", "/Groups"),
            ("PUT", "/Groups/admin"),
            ("DELETE", "/Groups/admin"),
        ] {
            let (status, _, _) =
                admin.send(method, path, Some(json!({"displayName": "Finance"})), &[]);
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}");
        }
        let (status, _, _) = admin.send("GET", "/Groups/finance", None, &[]);
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

/// A token's requests are throttled (twice the rate at once, then 429
/// with Retry-After); another token's are not.
fn a_token_is_throttled(f: &Fresh) {
    let mut client = Client::with_rate(&f.store, TokenRole::Operator, 1);
    // A burst of two goes through; of the next six (sent at once, in far
    // less than the seconds that would refill them) one is refused at
    // least, however slow the machine.
    for _ in 0..2 {
        let (status, _, _) = client.send("GET", "/ServiceProviderConfig", None, &[]);
        assert_eq!(status, StatusCode::OK);
    }
    let refused = (0..6)
        .map(|_| client.send("GET", "/Users", None, &[]))
        .find(|(status, _, _)| *status == StatusCode::TOO_MANY_REQUESTS);
    let (_, body, headers) = refused.expect("a request beyond the rate is refused");
    assert_eq!(body["status"], "429");
    assert_eq!(headers["retry-after"], "1");
    // Another token of the same server has its own bucket.
    let other = f
        .store
        .create_token(NewToken {
            name: "okta",
            role: TokenRole::Operator,
            days: None,
            by: &domain::By::Cli,
            actor: Actor::Owner,
            now: 1,
        })
        .unwrap();
    client.token = other.text;
    let (status, _, _) = client.send("GET", "/Users", None, &[]);
    assert_eq!(status, StatusCode::OK);
}

/// A person's deactivation outlives a client's DELETE: the person stays
/// the one who decided, so a later POST of the address cannot bring the
/// user back (the attack: DELETE, then POST, by an Operator token).
fn a_persons_deactivation_outlives_a_scim_delete(f: &Fresh) {
    let client = Client::new(&f.store, TokenRole::Operator);
    let (status, _, _) = client.send("POST", "/Users", Some(entra_user("p@x.org")), &[]);
    assert_eq!(status, StatusCode::CREATED);
    f.store
        .set_end_state(
            &k("p@x.org"),
            EndState::Inactive,
            &domain::By::parse("boss@x.org"),
            support::admin(),
            5,
        )
        .unwrap();
    let (status, _, _) = client.send("DELETE", "/Users/p@x.org", None, &[]);
    assert_eq!(status, StatusCode::NO_CONTENT);
    let stored = f.store.user(&k("p@x.org")).unwrap().unwrap();
    assert_eq!(
        stored.held.deactivated_by.as_ref().map(|d| d.by.as_str()),
        Some("boss@x.org")
    );
    let (status, body, _) = client.send("POST", "/Users", Some(entra_user("p@x.org")), &[]);
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (_, body, _) = client.send("GET", "/Users/p@x.org", None, &[]);
    assert_eq!(body["active"], false);
    assert_eq!(
        f.store.user(&k("p@x.org")).unwrap().unwrap().end_state,
        EndState::Inactive
    );

    // Undone, a SCIM-created user leaves no externalId behind for a later
    // user of the same address.
    let (status, _, _) = client.send("POST", "/Users", Some(entra_user("u@x.org")), &[]);
    assert_eq!(status, StatusCode::CREATED);
    let batch = f.store.recent_batches(1).unwrap()[0].id;
    f.store
        .undo_batch(batch, &domain::By::parse("boss@x.org"), support::admin(), 6)
        .unwrap();
    assert!(f.store.user(&k("u@x.org")).unwrap().is_none());
    assert_eq!(f.store.external_id(&k("u@x.org")).unwrap(), None);
    assert!(
        f.store
            .users_with_external_id("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", 10)
            .unwrap()
            .iter()
            .all(|u| u.key().as_str() != "u@x.org")
    );
}

/// With `scim.delete` = `delete`, a DELETE deletes the user (its fields
/// stay in the audit trail) under the privilege rule; the last
/// administrator stays; the address may be created afresh.
fn the_delete_option_deletes(f: &Fresh) {
    f.store
        .set_options(&[("scim.delete", "delete")], &domain::By::Cli, 2)
        .unwrap();
    server::commands::ensure_admin(
        &*f.store,
        &domain::Email::parse("root@x.org").unwrap(),
        Source::Bootstrap,
    )
    .unwrap();
    let client = Client::new(&f.store, TokenRole::Admin);
    let (status, _, _) = client.send("POST", "/Users", Some(entra_user("d@x.org")), &[]);
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = client.send("DELETE", "/Users/d@x.org", None, &[]);
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(f.store.user(&k("d@x.org")).unwrap().is_none());
    assert_eq!(f.store.external_id(&k("d@x.org")).unwrap(), None);
    let history = f.store.user_history(&k("d@x.org")).unwrap();
    let removal = history
        .iter()
        .find(|e| e.action == AuditAction::ScimRemove)
        .expect("audited");
    assert!(
        removal
            .changes
            .iter()
            .any(|c| c.field == "scim.delete" && c.new == "delete")
    );
    assert!(
        removal.changes.iter().any(|c| c.old == "Test"),
        "the fields are kept: {removal:?}"
    );
    let (status, _, _) = client.send("GET", "/Users/d@x.org", None, &[]);
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body, _) = client.send("POST", "/Users", Some(entra_user("d@x.org")), &[]);
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(f.store.user(&k("d@x.org")).unwrap().unwrap().version, 1);
    let (status, _, _) = client.send("DELETE", "/Users/root@x.org", None, &[]);
    assert_eq!(status, StatusCode::FORBIDDEN, "the last administrator");
    assert!(f.store.user(&k("root@x.org")).unwrap().is_some());
}

macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod redb {
            $( #[test] fn $name() { super::$name(&super::support::redb()) } )*
        }
        mod postgres {
            $( #[test] fn $name() { super::$name(&super::support::postgres()) } )*
        }
    };
}

on_both_engines!(
    a_token_is_needed,
    entra_provisions_a_user,
    etags_and_field_rules,
    an_operator_token_cannot_touch_an_administrator,
    discovery,
    groups_are_the_roles,
    a_token_is_throttled,
    a_persons_deactivation_outlives_a_scim_delete,
    the_delete_option_deletes,
);

/// `roster copy` carries each user's externalId, both ways.
fn a_copy_carries_the_external_ids(from: Fresh, to: Fresh) {
    let client = Client::new(&from.store, TokenRole::Operator);
    let (status, _, _) = client.send("POST", "/Users", Some(entra_user("c@x.org")), &[]);
    assert_eq!(status, StatusCode::CREATED);
    drop(client);
    let n = server::engine::copy(&*from.store, &*to.store).unwrap();
    assert_eq!(n.external_ids, 1);
    let id = "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef";
    assert_eq!(
        to.store.external_id(&k("c@x.org")).unwrap().as_deref(),
        Some(id)
    );
    let found = to.store.users_with_external_id(id, 10).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key().as_str(), "c@x.org");
}

#[test]
fn a_copy_from_redb_to_postgres_carries_the_external_ids() {
    a_copy_carries_the_external_ids(support::redb(), support::postgres());
}

#[test]
fn a_copy_from_postgres_to_redb_carries_the_external_ids() {
    a_copy_carries_the_external_ids(support::postgres(), support::redb());
}

/// Two servers on one PostgreSQL database: what one writes the other
/// reads (externalId too), `If-Match` holds across them, and of the same
/// address posted to both at once exactly one is created.
#[test]
fn two_servers_share_one_postgresql_store() {
    let f = support::postgres();
    let one = Client::new(&f.store, TokenRole::Operator);
    let two = Client::new(&f.reopen(), TokenRole::Operator);
    let (status, _, headers) = one.send("POST", "/Users", Some(entra_user("m@x.org")), &[]);
    assert_eq!(status, StatusCode::CREATED);
    let etag = headers["etag"].to_str().unwrap().to_string();
    let (status, body, _) = two.send("GET", "/Users/m@x.org", None, &[]);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["externalId"], "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef");
    let mut changed = entra_user("m@x.org");
    changed["title"] = json!("Director");
    let (status, _, _) = two.send(
        "PUT",
        "/Users/m@x.org",
        Some(changed.clone()),
        &[("if-match", &etag)],
    );
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = one.send(
        "PUT",
        "/Users/m@x.org",
        Some(changed),
        &[("if-match", &etag)],
    );
    assert_eq!(
        status,
        StatusCode::PRECONDITION_FAILED,
        "stale on the other server too"
    );
    let (status, _, _) = one.send("DELETE", "/Users/m@x.org", None, &[]);
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = two.send("GET", "/Users/m@x.org", None, &[]);
    assert_eq!(status, StatusCode::NOT_FOUND);

    let statuses: Vec<StatusCode> = std::thread::scope(|s| {
        let posts: Vec<_> = (0..8)
            .map(|i| {
                let client = if i % 2 == 0 { &one } else { &two };
                s.spawn(move || {
                    client
                        .send("POST", "/Users", Some(entra_user("race@x.org")), &[])
                        .0
                })
            })
            .collect();
        posts.into_iter().map(|p| p.join().unwrap()).collect()
    });
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7), "{statuses:?}");
}
