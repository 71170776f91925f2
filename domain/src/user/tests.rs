use super::*;

#[test]
fn roles_parse_and_print() {
    let r = Roles::parse_list("Self-Service, operator ,APPROVAL").unwrap();
    assert!(
        r.contains(Role::SelfService) && r.contains(Role::Operator) && r.contains(Role::Approval)
    );
    assert!(!r.contains(Role::Admin));
    assert_eq!(r.to_keys(), "self-service,operator,approval");
    assert_eq!(r.to_string(), "Self-Service, Operator, Approval");
    assert_eq!(Roles::parse_list("").unwrap(), Roles::EMPTY);
    assert!(
        Roles::parse_list("operator,root")
            .unwrap_err()
            .contains("root")
    );
}

#[test]
fn admin_implies_operator_rights() {
    assert!(Roles::of(&[Role::Admin]).can_operate());
    assert!(Roles::of(&[Role::Operator]).can_operate());
    assert!(!Roles::of(&[Role::SelfService, Role::Approval]).can_operate());
}

#[test]
fn roles_union_adds_never_removes() {
    let a = Roles::of(&[Role::Admin]);
    let b = Roles::of(&[Role::Operator]);
    let u = a.union(b);
    assert!(u.contains(Role::Admin) && u.contains(Role::Operator));
}

#[test]
fn end_state_parse() {
    assert_eq!(EndState::parse(" Inactive "), Some(EndState::Inactive));
    assert_eq!(EndState::parse("gone"), None);
}

#[test]
fn a_derived_display_name_keeps_the_limit() {
    let mut p = Profile::default();
    let long = "é".repeat(100);
    p.set(Field::FirstName, &long).unwrap();
    p.set(Field::LastName, &long).unwrap();
    p.derive_display_name();
    assert_eq!(p.display_name().chars().count(), 200);
    assert!(p.display_name().starts_with(&long));
    assert!(Field::DisplayName.validate(p.display_name()).is_ok());

    let mut short = Profile::default();
    short.set(Field::FirstName, "Ada").unwrap();
    short.set(Field::LastName, "Lovelace").unwrap();
    short.derive_display_name();
    assert_eq!(short.display_name(), "Ada Lovelace");
}

#[test]
fn profile_accessors_cover_every_field() {
    let mut p = Profile::default();
    for f in Field::PROFILE.into_iter() {
        let value = if matches!(f, Field::Phone | Field::Mobile) {
            format!("+{}", f.index())
        } else {
            f.column().to_string()
        };
        p.set(f, &value).unwrap();
    }
    for f in Field::PROFILE.into_iter() {
        let expected = if matches!(f, Field::Phone | Field::Mobile) {
            format!("+{}", f.index())
        } else {
            f.column().to_string()
        };
        assert_eq!(p.get(f), Some(expected.as_str()));
    }
    assert_eq!(p.get(Field::Email), None);
    assert!(p.set(Field::Email, "a@x.org").is_err());
    assert!(p.set(Field::Phone, "call me").is_err());
    assert_eq!(p.phone(), "+4", "a refused value leaves the old one");
}

#[test]
fn set_applies_the_fields_rule_and_blank_is_empty() {
    use crate::error::ErrorCode;
    let mut p = Profile::default();
    p.set(Field::FirstName, "  Zoe\u{0308} ").unwrap();
    assert_eq!(p.first_name(), "Zoë", "trimmed and NFC");
    p.set(Field::LastName, "Lovelace").unwrap();
    p.set(Field::LastName, "   ").unwrap();
    assert_eq!(p.last_name(), "", "blank clears");
    let e = p.set(Field::LastName, &"x".repeat(101)).unwrap_err();
    assert_eq!(e.code, ErrorCode::TooLong);
    assert!(e.message.starts_with("Last name"), "{}", e.message);
    assert_eq!(
        p.set(Field::Mobile, "call me").unwrap_err().code,
        ErrorCode::InvalidPhone
    );
    assert_eq!(
        p.set(Field::Title, "a\u{7}b").unwrap_err().code,
        ErrorCode::ControlCharacter
    );
    assert_eq!(p.first_name(), "Zoë", "refusals change nothing");
}

/// The profile as nine strings: the format every stored record and
/// server message has used, compact or not.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct NineStrings {
    first_name: String,
    last_name: String,
    display_name: String,
    phone: String,
    mobile: String,
    employee_number: String,
    title: String,
    department: String,
    organization: String,
}

fn as_nine(p: &Profile) -> NineStrings {
    NineStrings {
        first_name: p.first_name().into(),
        last_name: p.last_name().into(),
        display_name: p.display_name().into(),
        phone: p.phone().into(),
        mobile: p.mobile().into(),
        employee_number: p.employee_number().into(),
        title: p.title().into(),
        department: p.department().into(),
        organization: p.organization().into(),
    }
}

fn any_value(field: Field) -> impl Strategy<Value = String> {
    if matches!(field, Field::Phone | Field::Mobile) {
        r"(\+?[0-9][0-9 ]{0,10})?".boxed()
    } else {
        "[a-zé ]{0,12}".boxed()
    }
}

fn any_edits() -> impl Strategy<Value = Vec<(Field, String)>> {
    proptest::collection::vec(
        (1..Field::ALL.len()).prop_flat_map(|i| (Just(Field::ALL[i]), any_value(Field::ALL[i]))),
        0..24,
    )
}

use proptest::prelude::*;

proptest! {
    /// Whatever is set, in whatever order, each field reads back the
    /// last value set to it (validated), and the others are untouched:
    /// the compact layout moves values correctly.
    #[test]
    fn compact_profile_behaves_as_nine_strings(edits in any_edits()) {
        let mut compact = Profile::default();
        let mut model: [String; PROFILE_FIELDS] = Default::default();
        for (field, raw) in &edits {
            compact.set(*field, raw).unwrap();
            model[field.index() - 1] = match raw.trim() {
                "" => String::new(),
                t => field.validate(t).unwrap().into_owned(),
            };
            for f in Field::PROFILE.into_iter() {
                prop_assert_eq!(compact.get(f), Some(model[f.index() - 1].as_str()));
            }
        }
        let rebuilt = Profile::from_values(std::array::from_fn(|i| model[i].as_str()));
        prop_assert_eq!(&rebuilt, &compact, "equal values, equal profiles");
    }

    /// Postcard (the stores) and JSON (server functions) read and write
    /// a profile exactly as the nine-string struct.
    #[test]
    fn a_profile_serialises_as_nine_strings(edits in any_edits()) {
        let mut p = Profile::default();
        for (field, raw) in &edits {
            p.set(*field, raw).unwrap();
        }
        let nine = as_nine(&p);
        let bytes = postcard::to_allocvec(&p).unwrap();
        prop_assert_eq!(&bytes, &postcard::to_allocvec(&nine).unwrap());
        prop_assert_eq!(&postcard::from_bytes::<Profile>(&bytes).unwrap(), &p);
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(&json, &serde_json::to_string(&nine).unwrap());
        prop_assert_eq!(&serde_json::from_str::<Profile>(&json).unwrap(), &p);
        let value = serde_json::to_value(&nine).unwrap();
        prop_assert_eq!(serde_json::from_value::<Profile>(value).unwrap(), p);
    }
}
