use super::*;
use crate::error::ErrorCode;
use crate::options;
use crate::user::{EndState, Role, Roles, Source};
use proptest::prelude::*;

const HEAD: &str = "email,first_name,last_name,display_name,phone,mobile,employee_number,title,department,organization\n";

fn opts() -> Options {
    Options::default()
}

fn plan_str(csv: &str, existing: &HashMap<UserKey, User>) -> ImportPlan {
    plan(csv.as_bytes(), existing, &opts(), crate::Actor::Owner).unwrap()
}

/// The users a plan would leave in the store.
fn apply(plan: &ImportPlan, store: &mut HashMap<UserKey, User>) {
    for row in &plan.rows {
        match &row.action {
            Action::Create(u) | Action::Update { after: u, .. } => {
                store.insert(u.key().clone(), (**u).clone());
            }
            _ => {}
        }
    }
}

fn existing_ada() -> HashMap<UserKey, User> {
    let mut store = HashMap::new();
    apply(
        &plan_str(
            &format!("{HEAD}ada@example.com,Ada,Lovelace,,+44 1,,E1,Countess,Math,Analytical\n"),
            &store,
        ),
        &mut store,
    );
    store
}

#[test]
fn creates_with_defaults_from_options() {
    let p = plan_str(
        &format!("{HEAD}ada@example.com,Ada,Lovelace,,,,,,,\n"),
        &HashMap::new(),
    );
    assert_eq!(
        p.counts,
        Counts {
            create: 1,
            ..Counts::default()
        }
    );
    let (line, u) = p.creates().next().unwrap();
    assert_eq!(line, 2);
    assert_eq!(u.profile.display_name(), "Ada Lovelace");
    assert_eq!(
        u.roles,
        Roles::of(&[Role::SelfService, Role::Operator, Role::Approval])
    );
    assert_eq!(u.end_state, EndState::Active);
    assert_eq!(u.source, Source::Csv);
    assert_eq!(u.version, 1);
}

#[test]
fn update_lists_changed_fields_and_blank_keeps_stored_value() {
    let store = existing_ada();
    // Phone blank: kept. Title changed. Email differs only in case: key matches.
    let p = plan_str(
        &format!("{HEAD}ADA@example.com,Ada,Lovelace,,,,,Engineer,,\n"),
        &store,
    );
    assert_eq!(p.counts.update, 1);
    let (_, before, after, changes) = p.updates().next().unwrap();
    assert_eq!(after.profile.phone(), "+44 1");
    assert_eq!(after.profile.department(), "Math");
    assert_eq!(after.version, before.version + 1);
    let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["email", "title"]);
    assert_eq!(changes[1].old, "Countess");
    assert_eq!(changes[1].new, "Engineer");
}

#[test]
fn reimport_is_unchanged() {
    let csv = format!("{HEAD}ada@example.com,Ada,Lovelace,,+44 1,,E1,Countess,Math,Analytical\n");
    let store = existing_ada();
    let p = plan_str(&csv, &store);
    assert_eq!(
        p.counts,
        Counts {
            unchanged: 1,
            ..Counts::default()
        }
    );
}

#[test]
fn roles_added_not_removed_and_option_changes_are_updates() {
    let mut store = existing_ada();
    let ada = store.get_mut("ada@example.com").unwrap();
    ada.roles = Roles::of(&[Role::Admin]);
    ada.source = Source::Manual;
    let mut o = opts();
    o.set(options::END_STATE, "inactive").unwrap();
    let p = plan(
        format!("{HEAD}ada@example.com,Ada,Lovelace,,,,,,,\n").as_bytes(),
        &store,
        &o,
        crate::Actor::Owner,
    )
    .unwrap();
    let (_, _, after, changes) = p.updates().next().unwrap();
    assert!(after.roles.contains(Role::Admin) && after.roles.contains(Role::Operator));
    assert_eq!(after.end_state, EndState::Inactive);
    assert_eq!(after.source, Source::Csv);
    let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, ["roles", "end_state", "source"]);
}

#[test]
fn what_people_decided_holds_against_an_import() {
    let mut store = existing_ada();
    let ada = store.get_mut("ada@example.com").unwrap();
    ada.end_state = EndState::Inactive;
    ada.roles = Roles::of(&[Role::SelfService]);
    ada.held.deactivated_by = Some(Decided {
        by: "boss@example.com".into(),
        at: 86_400,
    });
    ada.held.withheld_roles = Roles::of(&[Role::Operator]);
    let row = format!("{HEAD}ada@example.com,Ada,Lovelace,,,,,,,\n");
    let p = plan(row.as_bytes(), &store, &opts(), crate::Actor::Owner).unwrap();
    // Approval is added; Operator is withheld; the user stays inactive.
    let (_, _, after, changes) = p.updates().next().unwrap();
    assert_eq!(after.end_state, EndState::Inactive);
    assert_eq!(after.roles, Roles::of(&[Role::SelfService, Role::Approval]));
    assert!(
        changes.iter().all(|c| c.field != "end_state"),
        "{changes:?}"
    );
    let notes = HeldBack::describe_all(&p.rows[0].held_back);
    assert_eq!(
        notes,
        "stays inactive (deactivated by boss@example.com on 1970-01-02T00:00:00Z); \
         role withheld: Operator"
    );
    // With nothing else to change the row is Unchanged, and still says why.
    let ada = store.get_mut("ada@example.com").unwrap();
    ada.roles = Roles::of(&[Role::SelfService, Role::Approval]);
    let p = plan(row.as_bytes(), &store, &opts(), crate::Actor::Owner).unwrap();
    assert_eq!(p.counts.unchanged, 1);
    assert_eq!(p.rows[0].held_back.len(), 2);
    // Once an administrator gives a role back and activates, the
    // import applies the options again.
    let ada = store.get_mut("ada@example.com").unwrap();
    ada.held = Default::default();
    let p = plan(row.as_bytes(), &store, &opts(), crate::Actor::Owner).unwrap();
    let (_, _, after, _) = p.updates().next().unwrap();
    assert_eq!(after.end_state, EndState::Active);
    assert!(after.roles.contains(Role::Operator));
    assert!(p.rows[0].held_back.is_empty());
}

#[test]
fn an_operators_rows_for_administrators_are_invalid() {
    let mut store = existing_ada();
    store.get_mut("ada@example.com").unwrap().roles = Roles::of(&[Role::Admin]);
    let csv = format!("{HEAD}ada@example.com,Ada,Other,,,,,,,\nbob@example.com,Bob,B,,,,,,,\n");
    let operator = crate::Actor::User(Roles::of(&[Role::SelfService, Role::Operator]));
    let p = plan(csv.as_bytes(), &store, &opts(), operator).unwrap();
    assert_eq!(
        p.counts,
        Counts {
            create: 1,
            invalid: 1,
            ..Counts::default()
        }
    );
    let err = p.errors().next().unwrap();
    assert_eq!((err.line, err.column.as_str()), (2, "email"));
    assert_eq!(err.code, ErrorCode::NotAllowed);
    assert_eq!(
        err.message,
        "administrators can only be changed by an administrator"
    );
    // An unchanged row for an administrator is refused too: an operator
    // does not act on administrators at all.
    let same = format!("{HEAD}ada@example.com,Ada,Lovelace,,,,,,,\n");
    assert_eq!(
        plan(same.as_bytes(), &store, &opts(), operator)
            .unwrap()
            .counts
            .invalid,
        1
    );
    // An administrator (and the command line) may.
    let admin = crate::Actor::User(Roles::of(&[Role::Admin]));
    assert_eq!(
        plan(csv.as_bytes(), &store, &opts(), admin)
            .unwrap()
            .counts
            .update,
        1
    );
    // An import whose roles would make administrators is an
    // administrator's import.
    let mut with_admin = opts();
    with_admin
        .set(options::ROLES, "self-service,admin")
        .unwrap();
    let p = plan(csv.as_bytes(), &HashMap::new(), &with_admin, operator).unwrap();
    assert_eq!(p.counts.invalid, 2);
    assert_eq!(p.counts.create, 0);
}

#[test]
fn an_unclosed_quote_is_reported_where_it_opens() {
    let csv = "email,first_name,last_name\na@x.org,Ada,L\n\"b@x.org,Bob,B\nc@x.org,C,C\n";
    assert_eq!(
        plan(csv.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap_err(),
        FileError::UnclosedQuote { line: 3 }
    );
    let msg = FileError::UnclosedQuote { line: 3 }.to_string();
    assert!(msg.contains("starts on line 3") && msg.contains("missing closing quote"));
    // CR-only and CRLF line ends count the same.
    let cr = csv.replace('\n', "\r");
    assert_eq!(
        plan(cr.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap_err(),
        FileError::UnclosedQuote { line: 3 }
    );
    // Closed quotes, escaped quotes, quoted line breaks and quotes
    // inside unquoted values are fine.
    let ok = "email;first_name;last_name;title\n\
              a@x.org;\"Ada\";\"L\";\"say \"\"hi\"\"\"\n\
              b@x.org;Bob;O\"Brien;\"two\nlines\"\n\
              c@x.org;\"\";C;5\" screen\n";
    let p = plan(ok.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap();
    assert_eq!(p.counts.total(), 3);
}

#[test]
fn too_many_columns_is_a_file_error_before_any_row_is_read() {
    let header = format!("email,first_name,last_name{}\n", ",x".repeat(1_000));
    // The row after it would be invalid: it is never read.
    let csv = format!("{header}not an email\n");
    assert_eq!(
        plan(csv.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap_err(),
        FileError::TooManyColumns {
            found: 1_003,
            limit: MAX_COLUMNS as u64
        }
    );
    let msg = FileError::TooManyColumns {
        found: 100_000,
        limit: 1_000,
    }
    .to_string();
    assert!(msg.contains("100 000 columns"), "{msg}");
}

#[test]
fn ignored_column_warnings_are_summarised_and_cut() {
    let extra: String = (0..30).map(|i| format!(",extra{i}")).collect();
    let long = "h".repeat(1_000_000);
    let csv = format!("email,first_name,last_name,{long}{extra}\na@x.org,A,B\n");
    let p = plan(csv.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap();
    assert_eq!(p.warnings.len(), LISTED_WARNINGS + 1);
    assert!(p.warnings[0].contains("(1 000 000 characters)"));
    assert!(p.warnings[0].len() < 300);
    assert_eq!(p.warnings[20], "… and 11 more ignored columns.");
}

#[test]
fn a_huge_cell_is_carried_cut_with_its_length() {
    let title = "x".repeat(10_000_000);
    let csv = format!("email,first_name,last_name,title\na@x.org,A,B,{title}\n");
    let p = plan(csv.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap();
    let e = p.errors().next().unwrap();
    assert_eq!(e.code, ErrorCode::TooLong);
    assert!(
        e.value.ends_with("… (10 000 000 characters)"),
        "{}",
        &e.value[..50]
    );
    assert!(e.value.len() < 300);
}

#[test]
fn spoofing_characters_make_a_row_invalid_naming_them() {
    let csv = "email,first_name,last_name\n\
               a@x.org,😀\u{202E}evil,L\n\
               b@x.org,Bob,Zero\u{200B}width\n\
               \u{FEFF}c@x.org,C,C\n\
               d@x.org,👩\u{200D}💻,ok\n";
    let p = plan(csv.as_bytes(), &NoUsers, &opts(), crate::Actor::Owner).unwrap();
    assert_eq!((p.counts.invalid, p.counts.create), (3, 1));
    let messages: Vec<&str> = p.errors().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        [
            "First name contains an invisible right-to-left override (U+202E)",
            "Last name contains an invisible zero-width space (U+200B)",
            "not a valid email address: it contains an invisible byte order mark \
             (zero-width no-break space) (U+FEFF)",
        ]
    );
    assert!(p.errors().all(|e| e.code == ErrorCode::InvisibleCharacter));
}

#[test]
fn invalid_rows_carry_line_column_value_message() {
    let csv =
        format!("{HEAD}not-an-email,Ada,,,,,,,,\nbob@example.com,Bob,Builder,,call me,,,,,\n");
    let p = plan_str(&csv, &HashMap::new());
    assert_eq!(p.counts.invalid, 2);
    let errs: Vec<_> = p.errors().collect();
    assert_eq!(errs[0].line, 2);
    assert_eq!(errs[0].column, "email");
    assert_eq!(errs[0].value, "not-an-email");
    assert_eq!(errs[1].column, "last_name");
    assert_eq!(errs[1].code, ErrorCode::Required);
    assert_eq!(
        (
            errs[2].line,
            errs[2].column.as_str(),
            errs[2].value.as_str()
        ),
        (3, "phone", "call me")
    );
}

#[test]
fn duplicates_in_file_are_invalid_after_the_first() {
    let csv = format!("{HEAD}a@x.org,A,A,,,,,,,\nb@x.org,B,B,,,,,,,\nA@X.org,A2,A2,,,,,,,\n");
    let p = plan_str(&csv, &HashMap::new());
    assert_eq!(p.counts.create, 2);
    let e = p.errors().next().unwrap();
    assert_eq!(
        (e.line, e.code, e.message.as_str()),
        (4, ErrorCode::Duplicate, "duplicate of line 2")
    );
}

#[test]
fn line_numbers_follow_quoted_newlines_and_skip_blank_lines() {
    let csv = "email,first_name,last_name,title\n\"a@x.org\",A,A,\"multi\nline title\"\n\n,,,\nbad,B,B,\n";
    let p = plan_str(csv, &HashMap::new());
    // The title has a control character (the line break): invalid, line 2.
    let lines: Vec<_> = p.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 6]);
    assert_eq!(p.counts.invalid, 2);
    assert_eq!(p.counts.total(), 2);
}

#[test]
fn semicolons_crlf_bom_and_aliases() {
    let csv = "\u{feff}E-mail;Vorname;Surname;Mobile Phone\r\nzoe@x.org;Zoë;Ünal;+49 170 1\r\n";
    let p = plan_str(csv, &HashMap::new());
    let (_, u) = p.creates().next().unwrap();
    assert_eq!(u.profile.first_name(), "Zoë");
    assert_eq!(u.profile.mobile(), "+49 170 1");
    assert_eq!(p.delimiter, ';');
    assert_eq!(p.encoding, TextEncoding::Utf8Bom);
}

#[test]
fn crlf_files_have_the_same_line_numbers_as_lf_files() {
    for eol in ["\n", "\r\n", "\r"] {
        let csv = [
            "email,first_name,last_name,title",
            "a@x.org,A,B,\"two",
            "lines\"",
            "",
            "bad,C,D,",
            "A@x.org,E,F,",
        ]
        .join(eol);
        let p = plan_str(&csv, &HashMap::new());
        let lines: Vec<u64> = p.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 5, 6], "{eol:?}");
        let messages: Vec<String> = p.errors().map(|e| e.to_string()).collect();
        assert_eq!(
            messages,
            [
                "line 2, column title: Title contains a control character (such as a line break)",
                "line 5, column email: not a valid email address: it has no @",
                "line 6, column email: duplicate of line 2"
            ],
            "{eol:?}"
        );
    }
}

#[test]
fn windows_1252_file() {
    let bytes = b"email,first_name,last_name\nm@x.org,J\xFCrgen,M\xFCller\n";
    let p = plan(bytes, &NoUsers, &opts(), crate::Actor::Owner).unwrap();
    assert_eq!(p.creates().next().unwrap().1.profile.last_name(), "Müller");
}

#[test]
fn unknown_columns_warn_and_entra_version_line_is_skipped() {
    let csv = "version:v1.0\nName [displayName] Required,User name [userPrincipalName] Required,Initial password [passwordProfile] Required,First name [givenName],Last name [surname]\nAda L,ada@x.org,Secret1!,Ada,Lovelace\n";
    let p = plan_str(csv, &HashMap::new());
    assert_eq!(p.counts.create, 1);
    assert_eq!(p.creates().next().unwrap().0, 3);
    assert!(p.warnings[0].contains("version:v1.0"));
    assert!(p.warnings[1].contains("Initial password"));
}

#[test]
fn file_level_errors() {
    assert_eq!(
        plan(b"", &NoUsers, &opts(), crate::Actor::Owner).unwrap_err(),
        FileError::Empty
    );
    assert_eq!(
        plan(
            b"email,first_name,last_name\n",
            &NoUsers,
            &opts(),
            crate::Actor::Owner
        )
        .unwrap()
        .counts
        .total(),
        0
    );
    assert!(matches!(
        plan(
            b"first_name,last_name\nA,B\n",
            &NoUsers,
            &opts(),
            crate::Actor::Owner
        )
        .unwrap_err(),
        FileError::MissingColumn { .. }
    ));
    let mut o = opts();
    o.max_rows = 2;
    let csv = format!("{HEAD}a@x.org,A,A\nb@x.org,B,B\nc@x.org,C,C\n");
    assert_eq!(
        plan(csv.as_bytes(), &NoUsers, &o, crate::Actor::Owner).unwrap_err(),
        FileError::TooManyRows { limit: 2 }
    );
}

#[test]
fn too_many_cells_is_an_invalid_row_but_trailing_empty_cells_are_fine() {
    let csv = "email,first_name,last_name\na@x.org,A,A,,\nb@x.org,Smith, John,B\n";
    let p = plan_str(csv, &HashMap::new());
    assert_eq!(p.counts.create, 1);
    assert_eq!(p.errors().next().unwrap().code, ErrorCode::TooManyCells);
}

#[test]
fn neutralised_formula_cells_round_trip() {
    let csv = "email,first_name,last_name,phone\na@x.org,'=A,B,'+41 1\n";
    let p = plan_str(csv, &HashMap::new());
    let (_, u) = p.creates().next().unwrap();
    assert_eq!(u.profile.first_name(), "=A");
    assert_eq!(u.profile.phone(), "+41 1");
}

#[test]
fn fingerprint_changes_when_the_store_changes() {
    let csv = format!("{HEAD}ada@example.com,Ada,Lovelace,,,,,Engineer,,\n");
    let mut store = existing_ada();
    let a = plan_str(&csv, &store).fingerprint;
    assert_eq!(a, plan_str(&csv, &store).fingerprint);
    store.get_mut("ada@example.com").unwrap().version += 1;
    assert_ne!(a, plan_str(&csv, &store).fingerprint);
}

mod sync;

fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[A-Za-zÀ-ÿ' ]{1,12}",
        "[+0-9 ()-]{1,12}",
        "\\PC{0,12}",
        Just("\"quoted, with comma\"".to_string()),
    ]
}

fn row() -> impl Strategy<Value = Vec<String>> {
    (
        prop_oneof!["[a-c]{1,2}@x\\.org", "[A-C]{1,2}@X\\.ORG", "\\PC{0,6}"],
        proptest::collection::vec(cell(), 9),
    )
        .prop_map(|(e, mut rest)| {
            rest.insert(0, e);
            rest
        })
}

fn to_csv(rows: &[Vec<String>]) -> String {
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record(Field::ALL.map(Field::column)).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    String::from_utf8(w.into_inner().unwrap()).unwrap()
}

proptest! {
    #[test]
    fn plan_never_panics_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = plan(&bytes, &NoUsers, &opts(), crate::Actor::Owner);
        let mut with_header = HEAD.as_bytes().to_vec();
        with_header.extend(&bytes);
        let _ = plan(&with_header, &NoUsers, &opts(), crate::Actor::Owner);
    }

    #[test]
    fn counts_add_up_to_the_data_rows(rows in proptest::collection::vec(row(), 0..30)) {
        let csv = to_csv(&rows);
        let p = plan_str(&csv, &HashMap::new());
        let non_blank = rows.iter().filter(|r| r.iter().any(|c| !c.trim().is_empty())).count() as u64;
        prop_assert_eq!(p.counts.total(), non_blank);
        prop_assert_eq!(p.rows.len() as u64, non_blank);
    }

    #[test]
    fn planning_against_its_own_result_is_all_unchanged(rows in proptest::collection::vec(row(), 0..30)) {
        let csv = to_csv(&rows);
        let mut store = HashMap::new();
        let first = plan_str(&csv, &store);
        apply(&first, &mut store);
        let second = plan_str(&csv, &store);
        prop_assert_eq!(second.counts.create, 0);
        prop_assert_eq!(second.counts.update, 0);
        prop_assert_eq!(second.counts.unchanged, first.counts.create + first.counts.update);
        prop_assert_eq!(second.counts.invalid, first.counts.invalid);
    }
}
