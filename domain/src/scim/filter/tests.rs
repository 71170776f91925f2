use super::*;
use crate::scim::ada;
use proptest::prelude::*;

fn path(urn: Option<&str>, name: &str, sub: Option<&str>) -> AttrPath {
    AttrPath {
        urn: urn.map(Into::into),
        name: name.into(),
        sub: sub.map(Into::into),
    }
}

fn cmp(p: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::Compare { path: p, op, value }
}

fn s(text: &str) -> CompValue {
    CompValue::Str(text.into())
}

/// Real filters: their tree, and the text printing it gives back.
#[test]
fn real_filters_parse_to_their_tree_and_print_back() {
    let user = crate::scim::CORE_USER_URN;
    let n = AttrPath::name;
    let cases: Vec<(&str, Filter, &str)> = vec![
        (
            "userName eq \"bjensen\"",
            cmp(n("userName"), CompareOp::Eq, s("bjensen")),
            "userName eq \"bjensen\"",
        ),
        (
            "externalId eq \"abc\"",
            cmp(n("externalId"), CompareOp::Eq, s("abc")),
            "externalId eq \"abc\"",
        ),
        (
            "emails[type eq \"work\" and value co \"@example.com\"]",
            Filter::ValuePath {
                path: n("emails"),
                filter: Box::new(Filter::And(vec![
                    cmp(n("type"), CompareOp::Eq, s("work")),
                    cmp(n("value"), CompareOp::Co, s("@example.com")),
                ])),
            },
            "emails[type eq \"work\" and value co \"@example.com\"]",
        ),
        (
            "emails.value eq \"x@y.org\"",
            cmp(
                path(None, "emails", Some("value")),
                CompareOp::Eq,
                s("x@y.org"),
            ),
            "emails.value eq \"x@y.org\"",
        ),
        (
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
            cmp(
                path(None, "meta", Some("lastModified")),
                CompareOp::Gt,
                s("2011-05-13T04:42:34Z"),
            ),
            "meta.lastModified gt \"2011-05-13T04:42:34Z\"",
        ),
        (
            "name.familyName sw \"J\" or active eq false",
            Filter::Or(vec![
                cmp(
                    path(None, "name", Some("familyName")),
                    CompareOp::Sw,
                    s("J"),
                ),
                cmp(n("active"), CompareOp::Eq, CompValue::Bool(false)),
            ]),
            "name.familyName sw \"J\" or active eq false",
        ),
        (
            "not (title pr)",
            Filter::Not(Box::new(Filter::Present(n("title")))),
            "not (title pr)",
        ),
        (
            "userName eq \"a\\\"b\"",
            cmp(n("userName"), CompareOp::Eq, s("a\"b")),
            "userName eq \"a\\\"b\"",
        ),
        // Case-insensitive keywords, spacing, URN prefix, JSON escapes.
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName SW \"J\"",
            cmp(path(Some(user), "userName", None), CompareOp::Sw, s("J")),
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"J\"",
        ),
        (
            "  NOT(title PR)  AND\tx Eq TRUE ",
            Filter::And(vec![
                Filter::Not(Box::new(Filter::Present(n("title")))),
                cmp(n("x"), CompareOp::Eq, CompValue::Bool(true)),
            ]),
            "not (title pr) and x eq true",
        ),
        (
            "members[value eq\"2819c223\"]",
            Filter::ValuePath {
                path: n("members"),
                filter: Box::new(cmp(n("value"), CompareOp::Eq, s("2819c223"))),
            },
            "members[value eq \"2819c223\"]",
        ),
        (
            "x eq \"\\u00e9\\ud83d\\ude00\\/\\n\" or y le -1.5e3 or z ne null",
            Filter::Or(vec![
                cmp(n("x"), CompareOp::Eq, s("é😀/\n")),
                cmp(n("y"), CompareOp::Le, CompValue::Number("-1.5e3".into())),
                cmp(n("z"), CompareOp::Ne, CompValue::Null),
            ]),
            "x eq \"é😀/\\n\" or y le -1.5e3 or z ne null",
        ),
        // Precedence: not > and > or; parentheses only where needed.
        (
            "a pr or b pr and c pr",
            Filter::Or(vec![
                Filter::Present(n("a")),
                Filter::And(vec![Filter::Present(n("b")), Filter::Present(n("c"))]),
            ]),
            "a pr or b pr and c pr",
        ),
        (
            "(a pr or b pr) and ((c pr))",
            Filter::And(vec![
                Filter::Or(vec![Filter::Present(n("a")), Filter::Present(n("b"))]),
                Filter::Present(n("c")),
            ]),
            "(a pr or b pr) and c pr",
        ),
        (
            "a pr and (b pr and c pr)",
            Filter::And(vec![
                Filter::Present(n("a")),
                Filter::And(vec![Filter::Present(n("b")), Filter::Present(n("c"))]),
            ]),
            "a pr and (b pr and c pr)",
        ),
        // An attribute may be called "not".
        ("not pr", Filter::Present(n("not")), "not pr"),
    ];
    for (text, tree, printed) in cases {
        let parsed = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(parsed, tree, "{text}");
        assert_eq!(parsed.to_string(), printed, "{text}");
        assert_eq!(Filter::parse(printed).unwrap(), tree, "{printed}");
    }
}

#[test]
fn malformed_filters_say_what_and_where() {
    let deep = format!("{}a pr{}", "(".repeat(33), ")".repeat(33));
    let deep_ok = format!("{}a pr{}", "(".repeat(32), ")".repeat(32));
    assert!(Filter::parse(&deep_ok).is_ok());
    let long = format!("x eq \"{}\"", "a".repeat(MAX_FILTER_CHARS));
    let cases: Vec<(&str, &str)> = vec![
        ("", "Invalid filter: it is empty"),
        ("   ", "Invalid filter: it is empty"),
        ("userName", "at character 9: an operator is missing"),
        ("userName eq", "at character 12: expected a value"),
        (
            "userName regex \"x\"",
            "at character 10: the operator 'regex' is not supported",
        ),
        ("userName eq bjensen", "at character 13: expected a value"),
        ("userName eq 'x'", "at character 13: expected a value"),
        ("userName eq 01", "expected a value"),
        (
            "userName eq \"abc",
            "at character 13: this string is never closed",
        ),
        ("x eq \"\\q\"", "at character 7: unknown escape"),
        ("x eq \"\\ud800\"", "a lone surrogate"),
        ("x eq \"\\u12\"", "four hex digits"),
        (
            "x eq \"a\tb\"",
            "a control character in a string must be escaped",
        ),
        ("(a pr", "at character 6: expected \")\", found the end"),
        ("a pr)", "at character 5: unexpected \")\""),
        ("a pr b pr", "at character 6: unexpected \"b\""),
        ("a pr and", "an expression is missing"),
        ("emails[type eq \"work\"", "expected \"]\", found the end"),
        (
            "emails[type[value pr] pr]",
            "a [ ] filter cannot hold another",
        ),
        (
            "1abc pr",
            "at character 1: an attribute name starts with a letter",
        ),
        ("name.given.x pr", "an attribute name has only letters"),
        ("foo:bar pr", "a schema prefix is a URN"),
        (") pr", "at character 1: expected an attribute"),
        (&deep, "at character 33: nested deeper than 32 levels"),
        (&long, "Invalid filter: it is longer than 4096 characters"),
    ];
    for (text, expected) in cases {
        let e = Filter::parse(text).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{text}");
        assert!(e.detail.contains(expected), "{text:?}: {}", e.detail);
    }
}

#[test]
fn long_chains_are_flat_and_cost_no_depth() {
    let terms: Vec<String> = (0..400)
        .map(|i| format!("userName eq \"u{i}@x.org\""))
        .collect();
    let text = terms.join(" or ");
    let text = &text[..text[..MAX_FILTER_CHARS].rfind(" or ").unwrap()];
    let Filter::Or(items) = Filter::parse(text).unwrap() else {
        panic!("one or node");
    };
    assert_eq!(items.len(), 150, "a 4 096-character chain");
    let f = Filter::Or(items);
    assert_eq!(matches(&f, &ada(), None), Ok(false));
    assert_eq!(Filter::parse(&f.to_string()), Ok(f));
}

#[test]
fn patch_paths() {
    let p = PatchPath::parse("emails[type eq \"work\"].value").unwrap();
    assert_eq!(p.attr, AttrPath::name("emails"));
    assert_eq!(p.sub.as_deref(), Some("value"));
    assert_eq!(p.to_string(), "emails[type eq \"work\"].value");
    let ext = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department";
    let p = PatchPath::parse(ext).unwrap();
    assert_eq!(p.attr.name, "department");
    assert_eq!(p.to_string(), ext);
    assert_eq!(
        PatchPath::parse("name.givenName")
            .unwrap()
            .attr
            .sub
            .as_deref(),
        Some("givenName")
    );
    for (bad, why) in [
        ("", "it is empty"),
        (
            "emails.value[type eq \"work\"]",
            "a [ ] filter follows an attribute",
        ),
        ("emails[type eq \"work\"].", "an attribute name is missing"),
        ("emails[type eq \"work\"] x", "unexpected \"x\""),
        ("title eq \"x\"", "unexpected \"e\""),
    ] {
        let e = PatchPath::parse(bad).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidPath), "{bad}");
        assert!(e.detail.starts_with("Invalid path"), "{}", e.detail);
        assert!(e.detail.contains(why), "{bad}: {}", e.detail);
    }
}

#[test]
fn username_equality_is_found_for_the_index() {
    let eq = |text: &str| {
        Filter::parse(text)
            .unwrap()
            .equality_on_username()
            .map(String::from)
    };
    assert_eq!(eq("userName eq \"Ada@X.org\""), Some("Ada@X.org".into()));
    assert_eq!(eq("USERNAME EQ \"a@x.org\""), Some("a@x.org".into()));
    assert_eq!(
        eq("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"a@x.org\""),
        Some("a@x.org".into())
    );
    assert_eq!(
        eq("active eq true and userName eq \"a@x.org\""),
        Some("a@x.org".into())
    );
    for scan in [
        "userName co \"a\"",
        "userName eq \"a@x.org\" or title pr",
        "not (userName eq \"a@x.org\")",
        "userName.x eq \"a@x.org\"",
        "urn:example:User:userName eq \"a@x.org\"",
        "emails.value eq \"a@x.org\"",
    ] {
        assert_eq!(eq(scan), None, "{scan}");
    }
}

#[test]
fn filters_evaluate_against_a_user() {
    let ada = ada();
    let cases = [
        ("userName eq \"ada@example.org\"", true),
        ("USERNAME Eq \"ADA@EXAMPLE.ORG\"", true),
        ("userName eq \"bjensen\"", false),
        (
            "urn:ietf:params:scim:schemas:core:2.0:User:userName sw \"ada\"",
            true,
        ),
        ("emails.value eq \"ADA@example.org\"", true),
        (
            "emails[type eq \"work\" and value co \"@example.org\"]",
            true,
        ),
        ("emails[value ew \"EXAMPLE.ORG\" and primary eq true]", true),
        ("emails[type eq \"home\"]", false),
        ("emails co \"example\"", true),
        ("name.familyName sw \"L\" or active eq false", true),
        ("name.familyName sw \"J\" or active eq false", false),
        ("name.givenName eq \"ada\" and name pr", true),
        ("displayName co \"love\"", true),
        ("title pr", true),
        ("not (title pr)", false),
        ("title ne \"countess\"", false),
        ("title gt \"A\" and title lt \"D\"", true),
        ("externalId eq \"abc\"", false),
        ("externalId eq \"ext-1\"", true),
        // Case-exact: the client's own id, kept as sent.
        ("externalId eq \"EXT-1\"", false),
        ("externalId pr", true),
        ("externalId ne \"abc\"", true),
        ("meta.lastModified gt \"2011-05-13T04:42:34Z\"", false),
        ("meta.lastModified ge \"2011-05-13T04:42:34Z\"", true),
        ("meta.lastModified eq \"2011-05-13T06:42:34+02:00\"", true),
        ("meta.lastModified lt \"2011-05-13T04:42:34.001Z\"", true),
        ("meta.created le \"2010-01-23T04:56:21Z\"", false),
        ("meta.version eq \"W/\\\"3\\\"\"", true),
        ("meta.resourceType eq \"User\"", true),
        ("department eq \"maths\"", true),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq \"e-1\"",
            true,
        ),
        ("organization pr", false),
        ("organization eq null", true),
        ("userName eq null", false),
        ("active eq true", true),
        ("active eq \"True\"", true),
        ("active ne false", true),
        ("phoneNumbers[type eq \"work\" and value sw \"+44\"]", true),
        ("phoneNumbers[type eq \"mobile\"]", false),
        ("phoneNumbers.type eq \"work\"", true),
        ("addresses pr", false),
        ("addresses[type eq \"work\"]", false),
        ("urn:example:acme:2.0:User:badge eq \"x\"", false),
        ("id eq \"ada@example.org\"", true),
        (
            "schemas eq \"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User\"",
            true,
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr",
            true,
        ),
    ];
    for (text, expected) in cases {
        let f = Filter::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(matches(&f, &ada, Some("ext-1")), Ok(expected), "{text}");
    }
    let mut gone = ada.clone();
    gone.end_state = crate::EndState::Inactive;
    gone.profile.set(crate::Field::Title, "").unwrap();
    let f = Filter::parse("active eq false and not (title pr)").unwrap();
    assert_eq!(matches(&f, &gone, None), Ok(true));
}

#[test]
fn filters_the_schema_does_not_allow_are_refused_whatever_the_user() {
    let ada = ada();
    let cases = [
        ("foo eq \"x\"", "'foo' is not an attribute of a User"),
        ("name.nick pr", "'name.nick' is not an attribute"),
        ("active gt true", "active is a boolean"),
        ("active eq \"yes\"", "active is a boolean"),
        ("meta.lastModified co \"2011\"", "is a date-time"),
        ("meta.lastModified gt \"yesterday\"", "is a date-time"),
        (
            "meta.lastModified gt \"2011-02-30T00:00:00Z\"",
            "is a date-time",
        ),
        ("title eq 5", "title is a string"),
        ("organization eq true", "organization is a string"),
        ("name eq \"Ada\"", "name is complex"),
        (
            "emails[foo eq \"x\"]",
            "'foo' is not a sub-attribute of emails",
        ),
        ("emails[value.x eq \"y\"]", "name a sub-attribute of emails"),
        (
            "title[value eq \"x\"]",
            "'title' is not a multi-valued attribute",
        ),
        // Checked even where `or` would not need to read it.
        ("userName pr or foo pr", "'foo' is not an attribute"),
    ];
    for (text, expected) in cases {
        let f = Filter::parse(text).unwrap();
        assert_eq!(
            f.validate(),
            matches(&f, &ada, Some("ext-1")).map(drop),
            "{text}"
        );
        let e = matches(&f, &ada, Some("ext-1")).unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{text}");
        assert!(e.detail.contains(expected), "{text}: {}", e.detail);
    }
}

#[test]
fn datetimes_are_read_as_rfc_3339() {
    use super::eval::parse_datetime;
    let instant = 1_305_261_754; // 2011-05-13T04:42:34Z
    for (text, expected) in [
        ("2011-05-13T04:42:34Z", (instant, 0)),
        ("2011-05-13t04:42:34z", (instant, 0)),
        ("2011-05-13T04:42:34", (instant, 0)),
        ("2011-05-13T05:12:34+00:30", (instant, 0)),
        ("2011-05-13T04:42:34.5Z", (instant, 500_000_000)),
        ("2011-05-13T04:42:34.1234567891Z", (instant, 123_456_789)),
        ("2000-02-29T00:00:00Z", (951_782_400, 0)),
        ("1969-12-31T23:59:59Z", (-1, 0)),
    ] {
        assert_eq!(parse_datetime(text), Some(expected), "{text}");
    }
    for bad in [
        "",
        "2011-05-13",
        "2011-05-13 04:42:34Z",
        "2011-13-01T00:00:00Z",
        "2001-02-29T00:00:00Z",
        "2011-05-13T24:00:00Z",
        "2011-05-13T04:42:34.Z",
        "2011-05-13T04:42:34+0200",
        "2011-05-13T04:42:34Zjunk",
        "+011-05-13T04:42:34Z",
        "２０１１-05-13T04:42:34Z",
    ] {
        assert_eq!(parse_datetime(bad), None, "{bad}");
    }
}

fn name_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z][a-zA-Z0-9_-]{0,6}"
}

fn path_strategy(in_brackets: bool) -> BoxedStrategy<AttrPath> {
    if in_brackets {
        return name_strategy().prop_map(|n| AttrPath::name(&n)).boxed();
    }
    let urn = prop_oneof![
        Just(None),
        Just(Some(crate::scim::CORE_USER_URN.to_string())),
        Just(Some("urn:example:Acme.2:x".to_string())),
    ];
    (urn, name_strategy(), proptest::option::of(name_strategy()))
        .prop_map(|(urn, name, sub)| AttrPath { urn, name, sub })
        .boxed()
}

fn value_strategy() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        "-?(0|[1-9][0-9]{0,5})(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,2})?".prop_map(CompValue::Number),
        any::<String>().prop_map(CompValue::Str),
    ]
}

fn op_strategy() -> impl Strategy<Value = CompareOp> {
    proptest::sample::select(CompareOp::ALL.to_vec())
}

fn filter_strategy(in_brackets: bool) -> BoxedStrategy<Filter> {
    let leaf = prop_oneof![
        (path_strategy(in_brackets), op_strategy(), value_strategy())
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        path_strategy(in_brackets).prop_map(Filter::Present),
    ];
    let leaf = if in_brackets {
        leaf.boxed()
    } else {
        prop_oneof![
            3 => leaf,
            1 => (path_strategy(false), filter_strategy(true))
                .prop_map(|(path, f)| Filter::ValuePath { path, filter: Box::new(f) }),
        ]
        .boxed()
    };
    leaf.prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            proptest::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
    .boxed()
}

proptest! {
    #[test]
    fn printing_then_parsing_gives_the_same_tree(f in filter_strategy(false)) {
        let text = f.to_string();
        prop_assert_eq!(Filter::parse(&text), Ok(f), "{}", text);
    }

    #[test]
    fn parsing_never_panics(text in "\\PC{0,120}") {
        let _ = Filter::parse(&text);
        let _ = PatchPath::parse(&text);
    }

    #[test]
    fn parsing_filter_like_noise_never_panics(
        parts in proptest::collection::vec(
            prop_oneof![
                Just("("), Just(")"), Just("["), Just("]"), Just("\""), Just("\\"), Just("\\u"),
                Just("not"), Just("and"), Just("or"), Just("eq"), Just("pr"), Just(" "),
                Just("."), Just(":"), Just("urn:"), Just("a"), Just("1"), Just("é"), Just("-"),
                Just("true"), Just("null"), Just("d800"),
            ],
            0..60,
        )
    ) {
        let text = parts.concat();
        if let Ok(f) = Filter::parse(&text) {
            // What parses prints to text that parses to the same tree.
            prop_assert_eq!(Filter::parse(&f.to_string()), Ok(f));
        }
        let _ = PatchPath::parse(&text);
    }

    #[test]
    fn every_rfc3339_instant_reads_back(t in -62_135_596_800i64..253_402_300_799) {
        prop_assert_eq!(super::eval::parse_datetime(&crate::time::rfc3339(t)), Some((t, 0)));
    }

    #[test]
    fn evaluation_never_panics(f in filter_strategy(false)) {
        let _ = matches(&f, &ada(), None);
    }
}
