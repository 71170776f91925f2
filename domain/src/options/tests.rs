use super::*;
use crate::user::Role;

#[test]
fn defaults_match_the_design() {
    let o = Options::default();
    let pairs = o.to_pairs();
    let expected = [
        (END_STATE, "active"),
        (ROLES, "self-service,operator,approval"),
        (MAX_ROWS, "1000000"),
        (APPROVAL_ABOVE, "0"),
        (APPROVAL_WINDOW_HOURS, "24"),
        (APPROVAL_MAX_WAITING, "10"),
        (APPROVAL_MAX_WAITING_MB, "2048"),
        (SYNC_MAX_DEACTIVATE_PERCENT, "10"),
        (LINK_DAYS, "7"),
        (EDITABLE, "display_name,phone,mobile"),
        (SCIM_DELETE, "deactivate"),
        (EMAIL_ON_IMPORT, "false"),
        (RESET_MINUTES, "30"),
        (MAIL_PER_MINUTE, "600"),
        (MAIL_ORGANIZATION, "Roster"),
    ];
    assert_eq!(pairs.len(), expected.len() + 6);
    for ((k, v), (ek, ev)) in pairs.iter().zip(expected) {
        assert_eq!((k.as_str(), v.as_str()), (ek, ev));
    }
    // Then the mails' words: Roster's own, for each kind and part.
    let templates = &pairs[expected.len()..];
    let mut i = 0;
    for (kind, prefix) in [
        (MailKind::SignInLink, "mail.sign_in"),
        (MailKind::Reset, "mail.reset"),
    ] {
        for part in Part::ALL {
            let (k, v) = &templates[i];
            assert_eq!(k, &format!("{prefix}.{}", part.key()));
            assert_eq!(v, MailTemplate::default_for(kind).part(part));
            i += 1;
        }
    }
}

#[test]
fn set_validates_and_keeps_old_value_on_error() {
    let mut o = Options::default();
    assert!(o.set(END_STATE, "maybe").is_err());
    assert_eq!(o.end_state, EndState::Active);
    o.set(END_STATE, "Inactive").unwrap();
    assert_eq!(o.end_state, EndState::Inactive);
    o.set(ROLES, "admin").unwrap();
    assert_eq!(o.roles, Roles::of(&[Role::Admin]));
    assert!(o.set(MAX_ROWS, "0").is_err());
    assert!(o.set(MAX_ROWS, "-5").is_err());
    o.set(MAX_ROWS, "10").unwrap();
    assert_eq!(o.max_rows, 10);
    assert_eq!(o.max_upload_bytes(), 10 * 512 + 1024 * 1024);
    let m = Options::default().upload_too_large();
    assert!(m.contains("at most 513 MB for the 1 000 000 rows"), "{m}");
    assert!(m.contains("import.max_rows"), "{m}");
    assert!(o.set(LINK_DAYS, "1000").is_err());
    assert!(o.set(APPROVAL_ABOVE, "-1").is_err());
    o.set(APPROVAL_ABOVE, "2").unwrap();
    assert_eq!(o.approval_above, 2);
    assert!(o.set(EDITABLE, "email").is_err());
    assert!(o.set(EDITABLE, "shoe_size").is_err());
    o.set(EDITABLE, "phone, title,phone").unwrap();
    assert_eq!(o.editable, vec![Field::Phone, Field::Title]);
    assert!(matches!(o.set("x.y", "1"), Err(OptionError::UnknownKey(_))));
}

#[test]
fn mail_options_are_validated() {
    let mut o = Options::default();
    o.set(EMAIL_ON_IMPORT, "On").unwrap();
    assert!(o.email_on_import);
    assert!(o.set(EMAIL_ON_IMPORT, "maybe").is_err());
    assert!(o.email_on_import);
    assert!(o.set(RESET_MINUTES, "0").is_err());
    assert!(o.set(RESET_MINUTES, "abc").is_err());
    o.set(RESET_MINUTES, "15").unwrap();
    assert_eq!(o.reset_minutes, 15);
    assert!(o.set(MAIL_PER_MINUTE, "0").is_err());
    o.set(MAIL_PER_MINUTE, "60").unwrap();
    assert_eq!(o.mail_per_minute, 60);
    assert!(o.set(MAIL_ORGANIZATION, "  ").is_err());
    assert!(o.set(MAIL_ORGANIZATION, "A\nB").is_err());
    assert!(o.set(MAIL_ORGANIZATION, &"x".repeat(201)).is_err());
    o.set(MAIL_ORGANIZATION, " Acme & Co ").unwrap();
    assert_eq!(o.mail_organization, "Acme & Co");
    let back =
        Options::from_pairs(o.to_pairs().iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    assert_eq!(back, o);
}

#[test]
fn mail_templates_are_options_checked_as_templates() {
    let mut o = Options::default();
    let key = "mail.sign_in.subject";
    assert_eq!(o.get(key).unwrap(), "Your sign-in link for {organization}");
    o.set(key, "Welcome to {organization}, {name}").unwrap();
    assert_eq!(o.sign_in_mail.subject, "Welcome to {organization}, {name}");
    let e = o.set("mail.reset.text", "no way in").unwrap_err();
    assert_eq!(e.to_string(), "mail.reset.text: it must contain {link}");
    assert_eq!(o.reset_mail, MailTemplate::default_for(MailKind::Reset));
    o.set("mail.reset.html", "<p>{link}</p>").unwrap();
    let back =
        Options::from_pairs(o.to_pairs().iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    assert_eq!(back, o);
}

#[test]
fn every_key_parses_back_to_itself() {
    for key in OptionKey::ALL {
        assert_eq!(OptionKey::parse(key.as_str()), Ok(key));
    }
    let e = OptionKey::parse("mail.sign_in").unwrap_err().to_string();
    assert!(
        e.starts_with("unknown option \"mail.sign_in\" (known: import.end_state,"),
        "{e}"
    );
}

#[test]
fn pairs_round_trip() {
    let mut o = Options::default();
    o.set(END_STATE, "inactive").unwrap();
    o.set(EDITABLE, "").unwrap();
    let pairs = o.to_pairs();
    let back = Options::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).unwrap();
    assert_eq!(back, o);
}
