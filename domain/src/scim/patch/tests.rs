use super::*;
use crate::scim::{CORE_USER_URN, ada, user_resource};
use serde_json::json;

const EXT: &str = ENTERPRISE_USER_URN;

/// Applies `operations` to Ada (externalId "ext-1") as the wiring would:
/// parse, apply, replace; the resulting resource, or the error.
fn patch(operations: Value) -> Result<Value, ScimError> {
    let ada = ada();
    let body = json!({"schemas": [PATCH_OP_URN], "Operations": operations});
    let input = PatchRequest::parse(&body)?.apply(&ada, ada.key(), Some("ext-1"))?;
    let after = input.replace(&ada)?;
    Ok(user_resource(
        &after,
        after.key(),
        input.external_id.as_deref(),
        "https://r.example",
    ))
}

fn one(op: &str, path: &str, value: Value) -> Value {
    json!([{"op": op, "path": path, "value": value}])
}

enum Expect {
    /// JSON pointers into the resource and their values (`null`: absent).
    Is(&'static [(&'static str, &'static str)]),
    Fails(ScimType, &'static str),
}
use Expect::{Fails, Is};

/// PATCH semantics, one row an operation × path kind × result.
#[test]
fn patch_table() {
    let rows: Vec<(&str, Value, Expect)> = vec![
        (
            "add, the extension's object repeating its schemas",
            one(
                "add",
                EXT,
                json!({"schemas": [EXT], "department": "Poetry"}),
            ),
            Is(&[(
                "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
                "\"Poetry\"",
            )]),
        ),
        (
            "replace, simple path",
            one("replace", "title", json!("Queen")),
            Is(&[("/title", "\"Queen\"")]),
        ),
        (
            "Replace (Entra's case), sub-attribute",
            one("Replace", "name.givenName", json!("Augusta")),
            Is(&[
                ("/name/givenName", "\"Augusta\""),
                ("/name/familyName", "\"Lovelace\""),
            ]),
        ),
        (
            "add, extension URN path",
            one("add", &format!("{EXT}:department"), json!("Poetry")),
            Is(&[(
                "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
                "\"Poetry\"",
            )]),
        ),
        (
            "replace, filtered value path",
            one(
                "replace",
                "phoneNumbers[type eq \"work\"].value",
                json!("+44 2"),
            ),
            Is(&[("/phoneNumbers", r#"[{"value":"+44 2","type":"work"}]"#)]),
        ),
        (
            "add, filtered path matching nothing: made",
            one(
                "add",
                "phoneNumbers[type eq \"mobile\"].value",
                json!("+44 7"),
            ),
            Is(&[("/phoneNumbers/1", r#"{"value":"+44 7","type":"mobile"}"#)]),
        ),
        (
            "replace, filtered path matching nothing",
            one(
                "replace",
                "phoneNumbers[type eq \"mobile\"].value",
                json!("+44 7"),
            ),
            Fails(
                ScimType::NoTarget,
                "Operations[0]: no value of phoneNumbers[type eq \"mobile\"] to change",
            ),
        ),
        (
            "replace, emails value path: userName wins",
            one(
                "replace",
                "emails[type eq \"work\"].value",
                json!("other@x.org"),
            ),
            Is(&[
                ("/userName", "\"Ada@Example.org\""),
                ("/emails/0/value", "\"Ada@Example.org\""),
            ]),
        ),
        (
            "replace, no path, Okta's deactivation",
            json!([{"op": "replace", "value": {"active": false}}]),
            Is(&[("/active", "false")]),
        ),
        (
            "replace, path, Entra's string boolean",
            one("Replace", "active", json!("False")),
            Is(&[("/active", "false")]),
        ),
        (
            "replace, no path, Entra's dotted and URN keys",
            json!([{"op": "Replace", "value": {"name.givenName": "Augusta", "displayName": "A. King",
                format!("{EXT}:employeeNumber"): "E-2"}}]),
            Is(&[
                ("/name/givenName", "\"Augusta\""),
                ("/displayName", "\"A. King\""),
                (
                    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/employeeNumber",
                    "\"E-2\"",
                ),
            ]),
        ),
        (
            "add, no path, the extension's object",
            json!([{"op": "add", "value": {EXT: {"organization": "Engines"}}}]),
            Is(&[
                (
                    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/organization",
                    "\"Engines\"",
                ),
                (
                    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
                    "\"Maths\"",
                ),
            ]),
        ),
        (
            "replace, complex value merges",
            one("replace", "name", json!({"givenName": "Augusta"})),
            Is(&[(
                "/name",
                r#"{"givenName":"Augusta","familyName":"Lovelace"}"#,
            )]),
        ),
        (
            "remove, optional attribute",
            json!([{"op": "remove", "path": "title"}]),
            Is(&[("/title", "null")]),
        ),
        (
            "remove, filtered values",
            json!([{"op": "remove", "path": "phoneNumbers[type eq \"work\"]"}]),
            Is(&[("/phoneNumbers", "null")]),
        ),
        (
            "remove, filter matching nothing",
            json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
            Is(&[("/emails/0/value", "\"Ada@Example.org\"")]),
        ),
        (
            "remove, externalId",
            json!([{"op": "remove", "path": "externalId"}]),
            Is(&[("/externalId", "null")]),
        ),
        (
            "replace, externalId",
            one("replace", "externalId", json!("ext-2")),
            Is(&[("/externalId", "\"ext-2\"")]),
        ),
        (
            "add, multi-valued without filter appends",
            one(
                "add",
                "phoneNumbers",
                json!([{"value": "+1 5", "type": "mobile"}]),
            ),
            Is(&[("/phoneNumbers/1/value", "\"+1 5\"")]),
        ),
        (
            "add, attribute Roster does not keep",
            one(
                "add",
                "addresses[type eq \"work\"].formatted",
                json!("1 Street"),
            ),
            Is(&[("/title", "\"Countess\"")]),
        ),
        (
            "replace, the extension's URN as the path",
            one("replace", EXT, json!({"department": "Poetry"})),
            Is(&[
                (
                    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/department",
                    "\"Poetry\"",
                ),
                (
                    "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/employeeNumber",
                    "\"E-1\"",
                ),
            ]),
        ),
        (
            "remove, the extension's URN as the path",
            json!([{"op": "remove", "path": EXT}]),
            Is(&[(
                "/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "null",
            )]),
        ),
        (
            "replace schemas: nothing to write",
            one("replace", "schemas", json!([CORE_USER_URN])),
            Is(&[("/title", "\"Countess\"")]),
        ),
        (
            "remove userName (required)",
            json!([{"op": "remove", "path": "userName"}]),
            Fails(
                ScimType::Mutability,
                "userName is required: it cannot be removed",
            ),
        ),
        (
            "remove name.givenName (required)",
            json!([{"op": "remove", "path": "name.givenName"}]),
            Fails(ScimType::Mutability, "name.givenName is required"),
        ),
        (
            "remove without path",
            json!([{"op": "remove"}]),
            Fails(ScimType::NoTarget, "remove needs a path"),
        ),
        (
            "replace id",
            one("replace", "id", json!("x")),
            Fails(ScimType::Mutability, "id is readOnly"),
        ),
        (
            "replace meta.version",
            one("replace", "meta.version", json!("W/\"9\"")),
            Fails(ScimType::Mutability, "meta.version is readOnly"),
        ),
        (
            "no path, own id echoed",
            json!([{"op": "replace", "value": {"id": "ada@example.org", "title": "Queen"}}]),
            Is(&[("/title", "\"Queen\"")]),
        ),
        (
            "replace userName to a new key",
            one("replace", "userName", json!("ada@elsewhere.org")),
            Fails(ScimType::Mutability, "userName cannot change"),
        ),
        (
            "replace, unknown attribute",
            one("replace", "titel", json!("Queen")),
            Fails(ScimType::NoTarget, "'titel' is not an attribute of a User"),
        ),
        (
            "replace, filter on a single value",
            one("replace", "title[value eq \"x\"]", json!("Queen")),
            Fails(ScimType::InvalidPath, "title has one value"),
        ),
        (
            "replace, malformed path",
            one("replace", "emails[type eq", json!("x")),
            Fails(
                ScimType::InvalidPath,
                "Operations[0]: Invalid path at character 15",
            ),
        ),
        (
            "replace, filter on an unknown sub-attribute",
            one("replace", "emails[kind eq \"work\"].value", json!("x")),
            Fails(
                ScimType::InvalidFilter,
                "'kind' is not a sub-attribute of emails",
            ),
        ),
        (
            "replace, value validated as PUT",
            one("replace", "title", json!("Queen\u{202e}")),
            Fails(
                ScimType::InvalidValue,
                "title: Title contains an invisible right-to-left override",
            ),
        ),
        (
            "replace, required value emptied",
            one("replace", "name.familyName", json!("")),
            Fails(
                ScimType::InvalidValue,
                "name.familyName: Last name is required",
            ),
        ),
        (
            "add without value",
            json!([{"op": "add", "path": "title"}]),
            Fails(ScimType::InvalidValue, "need a value"),
        ),
        (
            "unknown op",
            json!([{"op": "copy", "path": "title"}]),
            Fails(ScimType::InvalidSyntax, "op must be add, remove or replace"),
        ),
        (
            "no path, value not an object",
            json!([{"op": "replace", "value": "Queen"}]),
            Fails(ScimType::InvalidValue, "without a path, value is an object"),
        ),
        (
            "second operation fails: nothing applied",
            json!([{"op": "replace", "path": "title", "value": "Queen"}, {"op": "remove", "path": "userName"}]),
            Fails(ScimType::Mutability, "Operations[1]: userName is required"),
        ),
    ];
    assert!(rows.len() >= 15);
    for (what, operations, expect) in rows {
        match (patch(operations), expect) {
            (Ok(r), Is(pairs)) => {
                for (pointer, want) in pairs {
                    let want: Value = serde_json::from_str(want).unwrap();
                    let got = r.pointer(pointer).cloned().unwrap_or(Value::Null);
                    assert_eq!(got, want, "{what}: {pointer}");
                }
            }
            (Err(e), Fails(t, detail)) => {
                assert_eq!(e.scim_type, Some(t), "{what}: {}", e.detail);
                assert!(e.detail.contains(detail), "{what}: {}", e.detail);
            }
            (Ok(r), Fails(..)) => panic!("{what}: applied, giving {r}"),
            (Err(e), Is(_)) => panic!("{what}: {e}"),
        }
    }
}

#[test]
fn a_patch_body_is_a_patch_op_message() {
    let cases = [
        (json!("x"), ScimType::InvalidSyntax, "must be a JSON object"),
        (
            json!({"Operations": []}),
            ScimType::InvalidSyntax,
            "schemas must list",
        ),
        (
            json!({"schemas": [CORE_USER_URN], "Operations": []}),
            ScimType::InvalidSyntax,
            "schemas must list",
        ),
        (
            json!({"schemas": [PATCH_OP_URN]}),
            ScimType::InvalidSyntax,
            "Operations must be an array",
        ),
        (
            json!({"schemas": [PATCH_OP_URN], "Operations": []}),
            ScimType::InvalidValue,
            "1 to 1000 operations, not 0",
        ),
        (
            json!({"schemas": [PATCH_OP_URN], "Operations": ["add"]}),
            ScimType::InvalidSyntax,
            "Operations[0]: an operation is an object",
        ),
        (
            json!({"schemas": [PATCH_OP_URN], "Operations": [{"op": "add", "path": 5, "value": 1}]}),
            ScimType::InvalidPath,
            "path must be a string",
        ),
    ];
    for (body, t, detail) in cases {
        let e = PatchRequest::parse(&body).unwrap_err();
        assert_eq!(e.scim_type, Some(t), "{body}");
        assert!(e.detail.contains(detail), "{body}: {}", e.detail);
    }
    let many: Vec<Value> = (0..=MAX_OPERATIONS)
        .map(|_| json!({"op": "remove", "path": "title"}))
        .collect();
    let e =
        PatchRequest::parse(&json!({"schemas": [PATCH_OP_URN], "Operations": many})).unwrap_err();
    assert!(e.detail.contains("not 1001"));
    // Lower-case "operations" and upper-case schemas are accepted.
    let body = json!({"SCHEMAS": [PATCH_OP_URN.to_uppercase()], "operations": [{"OP": "REMOVE", "PATH": "title"}]});
    let request = PatchRequest::parse(&body).unwrap();
    assert_eq!(request.operations[0].op, Op::Remove);
}

#[test]
fn many_adds_are_bounded() {
    let phones: Vec<Value> = (0..60)
        .map(|i| json!({"value": format!("+1 {i}"), "type": "other"}))
        .collect();
    let ops = json!([{"op": "add", "path": "phoneNumbers", "value": phones},
                     {"op": "add", "path": "phoneNumbers", "value": phones.iter().map(|p| {
                         let mut p = p.clone(); p["type"] = json!("fax"); p }).collect::<Vec<_>>()}]);
    let e = patch(ops).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(
        e.detail.contains("phoneNumbers has more than 100 values"),
        "{}",
        e.detail
    );
}

#[test]
fn a_primary_value_made_now_wins() {
    let ada = ada();
    let mut doc = doc::of_user(&ada, None);
    let emails = schema::CORE.iter().find(|a| a.name == "emails").unwrap();
    let target = Target {
        schema: schema::Schema::Core,
        attr: emails,
        sub: None,
    };
    let home = json!([{"value": "ada@home.org", "type": "home", "primary": "True"}]);
    doc::set(&mut doc, target, None, &home, true).unwrap();
    let primaries: Vec<&Value> = doc["emails"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["primary"])
        .collect();
    assert_eq!(primaries, [&json!(false), &json!("True")]);
}

proptest::proptest! {
    #[test]
    fn any_patch_body_is_answered_without_a_panic(ops in proptest::collection::vec(
        (
            proptest::sample::select(vec!["add", "replace", "remove", "Replace"]),
            proptest::option::of(proptest::sample::select(vec![
                "title", "name", "name.givenName", "emails", "emails[type eq \"work\"].value",
                "phoneNumbers[type eq \"mobile\"]", "phoneNumbers.value", "active", "externalId",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "emails[value co \"x\"]", "meta", "userName",
            ])),
            crate::scim::user::tests::json_strategy(),
        ),
        1..5,
    )) {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(op, path, value)| json!({"op": op, "path": path, "value": value}))
            .collect();
        let _ = patch(Value::Array(ops));
    }
}
