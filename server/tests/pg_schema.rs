//! PostgreSQL's schema migrations: a store made by an earlier roster is
//! upgraded in place when a newer one opens it, with its data intact.

mod support;

use domain::Actor;
use domain::store::ImportRequest;
use postgres::{Client, NoTls};

/// The user-key columns the second migration gives the "C" collation.
const USER_KEY_COLUMNS: [(&str, &str); 5] = [
    ("audit", "user_key"),
    ("links", "user_key"),
    ("sessions", "user_key"),
    ("credentials", "key"),
    ("password_epochs", "key"),
];

/// An import of `csv` by the machine's owner.
fn import(f: &support::Fresh, csv: &str) {
    f.store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "a.csv",
            operator: domain::By::parse("op@example.com"),
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 1_800_000_000,
        })
        .unwrap();
}

/// Each column's collation (`None`: the database's default).
fn collations(client: &mut Client) -> Vec<Option<String>> {
    USER_KEY_COLUMNS
        .iter()
        .map(|(table, column)| {
            client
                .query_one(
                    "SELECT collation_name::text FROM information_schema.columns \
                     WHERE table_name = $1 AND column_name = $2",
                    &[table, column],
                )
                .unwrap()
                .get(0)
        })
        .collect()
}

#[test]
fn a_store_of_the_first_schema_gets_c_collated_user_keys_and_keeps_its_events() {
    let f = support::postgres();
    let csv = "email,first_name,last_name\nada@example.com,Ada,Lovelace\n";
    import(&f, csv);
    let key = domain::Email::parse("ada@example.com")
        .unwrap()
        .key()
        .clone();
    let events = f.store.user_history(&key).unwrap();
    assert_eq!(events.len(), 1);

    // As the first schema left them: the database's default collation.
    let mut client = Client::connect(&f.args[1], NoTls).unwrap();
    for (table, column) in USER_KEY_COLUMNS {
        client
            .batch_execute(&format!(
                "ALTER TABLE {table} ALTER COLUMN {column} TYPE text COLLATE \"default\""
            ))
            .unwrap();
    }
    // Nor had it the tables of later migrations.
    client
        .batch_execute(
            "DROP TABLE secrets; DROP TABLE api_tokens; DROP TABLE scim_external_ids; \
             DROP TABLE user_counts; DROP TABLE outbox; \
             UPDATE roster_schema SET version = 1",
        )
        .unwrap();
    assert_eq!(collations(&mut client), vec![None; 5]);

    let reopened = f.reopen();
    assert_eq!(collations(&mut client), vec![Some("C".to_string()); 5]);
    let version: i32 = client
        .query_one("SELECT version FROM roster_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(
        version,
        server::engine::postgres::migrations::SCHEMA_VERSION
    );
    assert_eq!(reopened.user_history(&key).unwrap(), events);
    let secret = reopened.secret("device-cookie").unwrap();
    assert_eq!(f.reopen().secret("device-cookie").unwrap(), secret);
}

#[test]
fn a_store_from_before_the_counters_gets_them_from_its_users() {
    let f = support::postgres();
    let mut csv = String::from("email,first_name,last_name\n");
    for i in 0..30 {
        csv.push_str(&format!("u{i}@example.com,U,{i}\n"));
    }
    import(&f, &csv);
    f.store
        .set_end_state(
            &domain::Email::parse("u3@example.com")
                .unwrap()
                .key()
                .clone(),
            domain::EndState::Inactive,
            &domain::By::parse("op@example.com"),
            Actor::Owner,
            1_800_000_001,
        )
        .unwrap();
    let before = f.store.user_stats().unwrap();
    assert_eq!((before.total, before.inactive, before.csv), (30, 1, 30));
    // As the schema before the counters left it (nor had it the outbox,
    // a later migration).
    let mut client = Client::connect(&f.args[1], NoTls).unwrap();
    client
        .batch_execute(
            "DROP TABLE user_counts; DROP TABLE outbox; UPDATE roster_schema SET version = 6",
        )
        .unwrap();
    let reopened = f.reopen();
    assert_eq!(reopened.user_stats().unwrap(), before);
    assert_eq!(reopened.user_count().unwrap(), 30);
}

#[test]
fn a_store_from_before_lean_words_loses_the_words_that_start_others() {
    let f = support::postgres();
    let csv = "email,first_name,last_name\njo.johnson@jo.org,Jo,Johnson\nann@x.org,Ann,Anna\n";
    import(&f, csv);
    let mut client = Client::connect(&f.args[1], NoTls).unwrap();
    let words = |client: &mut Client| -> Vec<(String, String)> {
        client
            .query("SELECT word, key FROM user_words ORDER BY key, word", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let lean = words(&mut client);
    // As the earlier rule wrote them: every word, also those that start
    // another of the same user's.
    client
        // Version 8: the schema before the word rule (migration 9).
        .batch_execute(
            "INSERT INTO user_words (word, key) VALUES ('jo', 'jo.johnson@jo.org'), \
             ('ann', 'ann@x.org'); UPDATE roster_schema SET version = 8",
        )
        .unwrap();
    assert_eq!(words(&mut client).len(), lean.len() + 2);
    let reopened = f.reopen();
    assert_eq!(words(&mut client), lean);
    for (search, found) in [("jo", "jo.johnson@jo.org"), ("ann", "ann@x.org")] {
        let page = reopened
            .list_users(&domain::directory::UserQuery {
                search: search.into(),
                ..Default::default()
            })
            .unwrap();
        let emails: Vec<&str> = page.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, [found], "{search}");
    }
}

#[test]
fn a_store_of_schema_11_loses_the_words_its_sort_keys_start_with() {
    let f = support::postgres();
    import(
        &f,
        "email,first_name,last_name\nlee@x.org,Ann,Lee\nzoë@x.org,Zoë,Berg\n",
    );
    let mut client = Client::connect(&f.args[1], NoTls).unwrap();
    let words = |client: &mut Client| -> Vec<(String, String)> {
        client
            .query("SELECT word, key FROM user_words ORDER BY key, word", &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    let lean = words(&mut client);
    let pair = |w: &str, k: &str| (w.to_string(), k.to_string());
    // "ann" starts the name key, "lee" the email key; "zoë" is not ASCII.
    assert_eq!(
        lean,
        [
            pair("org", "lee@x.org"),
            pair("x", "lee@x.org"),
            pair("berg", "zoë@x.org"),
            pair("org", "zoë@x.org"),
            pair("x", "zoë@x.org"),
            pair("zoë", "zoë@x.org"),
        ]
    );
    // As schema 11 wrote them.
    client
        .batch_execute(
            "INSERT INTO user_words (word, key) VALUES ('ann', 'lee@x.org'), \
             ('lee', 'lee@x.org'); UPDATE roster_schema SET version = 11",
        )
        .unwrap();
    let reopened = f.reopen();
    assert_eq!(words(&mut client), lean);
    for (search, found) in [
        ("ann", "lee@x.org"),
        ("lee", "lee@x.org"),
        ("an le", "lee@x.org"),
        ("zo", "zoë@x.org"),
        ("zoë", "zoë@x.org"),
    ] {
        let page = reopened
            .list_users(&domain::directory::UserQuery {
                search: search.into(),
                ..Default::default()
            })
            .unwrap();
        let emails: Vec<&str> = page.users.iter().map(|u| u.email.as_str()).collect();
        assert_eq!(emails, [found], "{search}");
    }
}
