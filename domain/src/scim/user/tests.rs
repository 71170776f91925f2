use super::*;
use crate::scim::ada;
use crate::user::Role;
use proptest::prelude::*;

const BASE: &str = "https://roster.example/scim/v2/";

fn resource() -> Value {
    let ada = ada();
    user_resource(&ada, ada.key(), Some("ext-1"), BASE)
}

#[test]
fn a_user_is_a_core_and_enterprise_resource() {
    assert_eq!(
        resource(),
        json!({
            "schemas": [CORE_USER_URN, ENTERPRISE_USER_URN],
            "id": "ada@example.org",
            "externalId": "ext-1",
            "userName": "Ada@Example.org",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "displayName": "Ada Lovelace",
            "title": "Countess",
            "active": true,
            "emails": [{"value": "Ada@Example.org", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+44 1", "type": "work"}],
            ENTERPRISE_USER_URN: {"employeeNumber": "E-1", "department": "Maths"},
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": "W/\"3\"",
                "location": "https://roster.example/scim/v2/Users/ada@example.org",
            },
        })
    );
    // Empty values are absent; no extension without a value of it.
    let mut bare = ada();
    bare.profile = Profile::default();
    bare.profile.set(Field::FirstName, "Ada").unwrap();
    bare.end_state = EndState::Inactive;
    let r = user_resource(&bare, "a/b?c#d%e", None, "https://r.example/scim/v2");
    assert_eq!(r["schemas"], json!([CORE_USER_URN]));
    assert_eq!(r["name"], json!({"givenName": "Ada"}));
    assert_eq!(r["active"], false);
    for absent in [
        "externalId",
        "title",
        "displayName",
        "phoneNumbers",
        ENTERPRISE_USER_URN,
    ] {
        assert!(r.get(absent).is_none(), "{absent}");
    }
    assert_eq!(
        r["meta"]["location"], "https://r.example/scim/v2/Users/a%2Fb%3Fc%23d%25e",
        "the id is one path segment"
    );
}

#[test]
fn etags_are_weak_versions() {
    let ada = ada();
    assert_eq!(etag(&ada), "W/\"3\"");
    for ok in ["W/\"3\"", "\"3\"", "*", "W/\"1\", W/\"3\""] {
        assert!(etag_matches(ok, &ada), "{ok}");
    }
    for stale in ["W/\"2\"", "\"33\"", ""] {
        assert!(!etag_matches(stale, &ada), "{stale}");
    }
}

#[test]
fn attributes_and_excluded_attributes_project_the_resource() {
    let full = resource();
    let only = |a: &str| project(&full, Some(a), None).unwrap();
    let always = |mut extra: Value| {
        for key in ["schemas", "id", "meta"] {
            extra[key] = full[key].clone();
        }
        extra
    };
    assert_eq!(
        only("userName, name.givenName"),
        always(json!({"userName": "Ada@Example.org", "name": {"givenName": "Ada"}}))
    );
    assert_eq!(
        only("emails.value,EMAILS.TYPE"),
        always(json!({"emails": [{"value": "Ada@Example.org", "type": "work"}]}))
    );
    assert_eq!(
        only("department,nickName,noSuchThing"),
        always(json!({ENTERPRISE_USER_URN: {"department": "Maths"}}))
    );
    assert_eq!(
        only(ENTERPRISE_USER_URN),
        always(json!({ENTERPRISE_USER_URN: {"employeeNumber": "E-1", "department": "Maths"}}))
    );
    assert_eq!(only("id,meta.created"), always(json!({})));

    let without = |x: &str| project(&full, None, Some(x)).unwrap();
    let r = without(
        "emails, name.familyName,id,meta,schemas, urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    );
    assert!(r.get("emails").is_none());
    assert_eq!(r["name"], json!({"givenName": "Ada"}));
    assert_eq!(r[ENTERPRISE_USER_URN], json!({"employeeNumber": "E-1"}));
    for kept in ["id", "meta", "schemas", "userName"] {
        assert!(r.get(kept).is_some(), "{kept} is always returned");
    }
    let r =
        without("phoneNumbers.value,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    assert_eq!(r["phoneNumbers"], json!([{"type": "work"}]));
    assert!(r.get(ENTERPRISE_USER_URN).is_none());
    assert_eq!(project(&full, None, None).unwrap(), full);

    let e = project(&full, Some("emails[type eq \"work\"]"), None).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(project(&full, None, Some("a b")).is_err());
}

/// A body as Entra ID sends it.
fn entra() -> Value {
    json!({
        "schemas": [CORE_USER_URN, ENTERPRISE_USER_URN],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7d2dd8f3e3b1",
        "userName": "Ada@Example.org",
        "active": "True",
        "displayName": "Ada Lovelace",
        "title": "Countess",
        "emails": [{"primary": true, "type": "work", "value": "ada@example.org"}],
        "name": {"formatted": "Ada Lovelace", "familyName": "Lovelace", "givenName": "Ada"},
        "phoneNumbers": [
            {"type": "work", "value": "+44 1"},
            {"type": "mobile", "value": "+44 7"},
            {"type": "fax", "value": "not a number"},
        ],
        "addresses": [{"type": "work", "formatted": "1 Street", "primary": true}],
        "preferredLanguage": "en-GB",
        ENTERPRISE_USER_URN: {
            "employeeNumber": "E-1",
            "department": "Maths",
            "organization": "Analytical Engines",
            "manager": {"value": "babbage@example.org"},
        },
    })
}

#[test]
fn an_entra_body_maps_to_the_profile() {
    let input = ScimUserInput::from_json(&entra(), Write::Create).unwrap();
    assert_eq!(input.email.as_str(), "Ada@Example.org");
    let p = &input.profile;
    let fields = [
        (p.first_name(), "Ada"),
        (p.last_name(), "Lovelace"),
        (p.display_name(), "Ada Lovelace"),
        (p.title(), "Countess"),
        (p.phone(), "+44 1"),
        (p.mobile(), "+44 7"),
        (p.employee_number(), "E-1"),
        (p.department(), "Maths"),
        (p.organization(), "Analytical Engines"),
    ];
    for (got, want) in fields {
        assert_eq!(got, want);
    }
    assert_eq!(input.active, Some(true));
    assert_eq!(
        input.external_id.as_deref(),
        Some("0a21f0f2-8d2a-4f8e-bf98-7d2dd8f3e3b1")
    );
    let user = input.new_user(Roles::of(&[Role::SelfService]), Source::Manual);
    assert_eq!(
        (user.end_state, user.version, user.source),
        (EndState::Active, 1, Source::Manual)
    );
    assert_eq!(user.roles, Roles::of(&[Role::SelfService]));
}

#[test]
fn an_okta_body_with_its_variations() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "UserName": "ada@example.org",
        "Name": {"GivenName": "Ada", "familyName": "Lovelace"},
        // userName wins over a different primary email.
        "emails": [{"primary": "true", "value": "ada.lovelace@example.org"}, {"value": "ada@home.org", "type": "home"}],
        "active": false,
        "password": "t1meMachine",
        "locale": "en-US",
        "urn:okta:example:1.0:user:custom": {"badge": "7"},
        "id": "ignored on a create",
        "meta": {"created": "ignored"},
    });
    let input = ScimUserInput::from_json(&body, Write::Create).unwrap();
    assert_eq!(input.email.as_str(), "ada@example.org");
    assert_eq!(input.active, Some(false));
    assert_eq!(
        input.profile.display_name(),
        "Ada Lovelace",
        "made from the names"
    );
    assert_eq!(
        input.new_user(Roles::EMPTY, Source::Manual).end_state,
        EndState::Inactive
    );
}

fn refused(body: Value, write: Write<'_>) -> ScimError {
    ScimUserInput::from_json(&body, write).unwrap_err()
}

#[test]
fn bodies_that_are_not_user_resources_are_invalid_syntax() {
    let mut typo = entra();
    typo["titel"] = json!("Countess");
    let mut twice = entra();
    twice["TITLE"] = json!("Queen");
    let mut both = entra();
    both["name.givenName"] = json!("Augusta");
    let mut no_schema = entra();
    no_schema["schemas"] = json!([ENTERPRISE_USER_URN]);
    let mut bad_ext = entra();
    bad_ext[ENTERPRISE_USER_URN] = json!("Maths");
    let mut bad_sub = entra();
    bad_sub["name"]["nickname"] = json!("Ada");
    let cases = [
        (json!([]), "The body must be a JSON object"),
        (
            no_schema,
            "schemas must list urn:ietf:params:scim:schemas:core:2.0:User",
        ),
        (typo, "'titel' is not an attribute of a User"),
        (twice, "is given twice"),
        (both, "'name.givenName' is given twice"),
        (bad_ext, "must be an object of its attributes"),
        (bad_sub, "'name.nickname' is not an attribute of a User"),
    ];
    for (body, expected) in cases {
        let e = refused(body, Write::Create);
        assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax), "{expected}");
        assert!(e.detail.contains(expected), "{expected}: {}", e.detail);
    }
}

#[test]
fn values_follow_the_csv_rules_and_every_problem_is_said() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("userName", Value::Null, "userName is required"),
        (
            "userName",
            json!("bjensen"),
            "userName: not a valid email address: it has no @",
        ),
        (
            "userName",
            json!("ad\u{202e}a@x.org"),
            "right-to-left override (U+202E)",
        ),
        (
            "name",
            json!({"familyName": "L"}),
            "name.givenName: First name is required",
        ),
        (
            "name",
            json!("Ada Lovelace"),
            "name takes an object of sub-attributes",
        ),
        (
            "displayName",
            json!("Ada\u{202e}ecalevoL"),
            "displayName: Display name contains an invisible right-to-left override (U+202E)",
        ),
        (
            "displayName",
            json!("Ada\nL"),
            "Display name contains a control character",
        ),
        ("title", json!(5), "title must be a string"),
        (
            "title",
            json!("x".repeat(201)),
            "title: Title is longer than 200 characters",
        ),
        (
            "phoneNumbers",
            json!([{"type": "work", "value": "call me"}]),
            "phoneNumbers[type eq \"work\"].value: Phone may only contain",
        ),
        (
            "phoneNumbers",
            json!([{"type": "work", "value": 5}]),
            "phoneNumbers[0].value must be a string",
        ),
        (
            "emails",
            json!([{"value": "a@x.org", "primary": "maybe"}]),
            "emails[0].primary must be true or false",
        ),
        (
            "emails",
            json!("a@x.org"),
            "emails takes an object of sub-attributes",
        ),
        ("active", json!("yes"), "active must be true or false"),
        (
            "externalId",
            json!("a\u{7}b"),
            "externalId contains a control character",
        ),
        (
            "externalId",
            json!("x".repeat(257)),
            "externalId is longer than 256 characters",
        ),
        (
            "externalId",
            json!("a\u{200b}b"),
            "externalId contains an invisible zero-width space",
        ),
    ];
    for (key, value, expected) in cases {
        let mut body = entra();
        body[key] = value;
        let e = refused(body, Write::Create);
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{key}");
        assert!(e.detail.contains(expected), "{key}: {}", e.detail);
    }
    let mut body = entra();
    body["title"] = json!(5);
    body["name"]["givenName"] = Value::Null;
    body[ENTERPRISE_USER_URN]["department"] = json!("x".repeat(201));
    let e = refused(body, Write::Create);
    assert_eq!(
        e.detail,
        "name.givenName: First name is required; title must be a string; \
         department: Department is longer than 200 characters"
    );
}

#[test]
fn put_replaces_the_profile_but_not_the_id_or_the_key() {
    let ada = ada();
    let put = |body: &Value| ScimUserInput::from_json(body, Write::Replace { id: ada.key() });
    let mut body = entra();
    body["id"] = json!("someone-else");
    let e = put(&body).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    assert_eq!(
        e.detail,
        "id is readOnly: this resource's id is \"ada@example.org\""
    );
    body["id"] = json!("ada@example.org");
    let mut after = put(&body).unwrap().replace(&ada).unwrap();
    assert_eq!(after.profile.organization(), "Analytical Engines");
    assert_eq!(after.version, ada.version, "the store increments it");

    // Absent: optional fields cleared, the end state kept.
    after.end_state = EndState::Inactive;
    let minimal = json!({
        "schemas": [CORE_USER_URN],
        "userName": "ADA@example.org",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
    });
    let cleared = put(&minimal).unwrap().replace(&after).unwrap();
    assert_eq!(
        cleared.email.as_str(),
        "ADA@example.org",
        "a new letter case is kept"
    );
    assert_eq!(cleared.end_state, EndState::Inactive);
    assert_eq!(cleared.profile.title(), "");
    assert_eq!(cleared.profile.display_name(), "Ada Lovelace");

    let mut moved = minimal.clone();
    moved["userName"] = json!("ada@elsewhere.org");
    let e = put(&moved).unwrap().replace(&ada).unwrap_err();
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    assert!(
        e.detail
            .starts_with("userName cannot change from Ada@Example.org to ada@elsewhere.org")
    );
}

/// Text already as validation leaves it (trimmed, NFC).
fn text(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!(
        "([A-Za-zÀ-ÿ][A-Za-zÀ-ÿ .'-]{{0,{}}})?[A-Za-zÀ-ÿ]",
        max - 2
    ))
    .unwrap()
}

proptest! {
    /// What Roster writes out, it reads back as the same user.
    #[test]
    fn a_resource_read_back_is_the_same_user(
        first in text(20), last in text(20), display in proptest::option::of(text(40)),
        title in proptest::option::of(text(40)), org in proptest::option::of(text(40)),
        phone in proptest::option::of("\\+[0-9]{1,3}( [0-9]{1,4}){0,3}"),
        mobile in proptest::option::of("\\([0-9]{3}\\) [0-9]{3}-[0-9]{4}"),
        active in any::<bool>(), external in proptest::option::of("[A-Za-z0-9-]{1,40}"),
    ) {
        let mut user = ada();
        let p = &mut user.profile;
        p.set(crate::Field::FirstName, &first).unwrap();
        p.set(crate::Field::LastName, &last).unwrap();
        p.set(crate::Field::DisplayName, display.as_deref().unwrap_or(&format!("{first} {last}"))).unwrap();
        p.set(crate::Field::Title, title.as_deref().unwrap_or("")).unwrap();
        p.set(crate::Field::Organization, org.as_deref().unwrap_or("")).unwrap();
        p.set(crate::Field::Phone, phone.as_deref().unwrap_or("")).unwrap();
        p.set(crate::Field::Mobile, mobile.as_deref().unwrap_or("")).unwrap();
        user.end_state = if active { EndState::Active } else { EndState::Inactive };
        let r = user_resource(&user, user.key(), external.as_deref(), BASE);
        let input = ScimUserInput::from_json(&r, Write::Replace { id: user.key() }).unwrap();
        prop_assert_eq!(&input.external_id, &external);
        prop_assert_eq!(input.replace(&user).unwrap(), user);
    }

    #[test]
    fn any_json_body_is_answered_without_a_panic(body in json_strategy()) {
        let _ = ScimUserInput::from_json(&body, Write::Create);
        let _ = project(&body, Some("userName,emails.value"), Some("name.givenName"));
    }
}

/// JSON values shaped like user bodies, with the schema's names among
/// random ones.
pub(crate) fn json_strategy() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("schemas".to_string()),
        Just("userName".to_string()),
        Just("name".to_string()),
        Just("givenName".to_string()),
        Just("familyName".to_string()),
        Just("emails".to_string()),
        Just("phoneNumbers".to_string()),
        Just("value".to_string()),
        Just("type".to_string()),
        Just("primary".to_string()),
        Just("active".to_string()),
        Just("id".to_string()),
        Just(ENTERPRISE_USER_URN.to_string()),
        "[a-zA-Z.:\\[\\] \"]{0,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        Just(Value::from(CORE_USER_URN)),
        Just(Value::from("ada@example.org")),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 40, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
