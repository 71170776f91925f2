use super::*;
use crate::Options;
use crate::plan::{NoUsers, plan};
use crate::user::{EndState, Role, Roles};

fn user(email: &str, version: u64) -> User {
    let csv = format!("email,first_name,last_name\n{email},Ada,Lovelace\n");
    let planned = plan(csv.as_bytes(), &NoUsers, &Options::default(), Actor::Owner).unwrap();
    let mut u = planned.creates().next().unwrap().1.clone();
    u.version = version;
    u
}

fn batch(touched: Vec<Touched>) -> BatchRecord {
    BatchRecord {
        summary: BatchSummary {
            id: 7,
            operator: "op@x.org".into(),
            at: 1,
            file_name: "users.csv".into(),
            sha256: String::new(),
            counts: Counts::default(),
            undo_of: None,
            undone_by: None,
            approved_by: None,
        },
        touched,
    }
}

fn now_users(users: &[&User]) -> crate::UsersByKey {
    users
        .iter()
        .map(|u| (u.key().clone(), (*u).clone()))
        .collect()
}

fn no_password(_: &UserKey) -> Result<bool, StoreError> {
    Ok(false)
}

#[test]
fn an_update_is_restored_as_a_new_version_and_a_create_removed() {
    let mut before = user("ada@x.org", 1);
    let mut updated = before.clone();
    updated.version = 2;
    updated.end_state = EndState::Inactive;
    before.end_state = EndState::Active;
    let created = user("bob@x.org", 1);
    let record = batch(vec![
        Touched {
            key: before.key().clone(),
            before: Some(before.clone()),
            after_version: Some(2),
        },
        Touched {
            key: created.key().clone(),
            before: None,
            after_version: Some(1),
        },
    ]);
    let plan = plan_undo(
        &record,
        now_users(&[&updated, &created]),
        &mut no_password,
        &By::Cli,
        Actor::Owner,
        50,
    )
    .unwrap();
    let restored = plan.users[0].1.as_ref().unwrap();
    assert_eq!((restored.version, restored.updated_at), (3, 50));
    assert_eq!(restored.end_state, EndState::Active);
    assert_eq!(plan.users[1], (Some(created.clone()), None));
    assert_eq!(plan.removed, vec![created.key().clone()]);
    assert_eq!((plan.counts.update, plan.counts.create), (1, 1));
    assert_eq!(plan.touched[0].after_version, Some(3));
    assert_eq!(plan.touched[1].before.as_ref(), Some(&created));
    assert_eq!(plan.events.len(), 2);
    assert!(plan.events.iter().all(|e| e.actor == "cli"));
    assert!(!plan.admin_lost);
}

#[test]
fn a_user_changed_since_refuses_the_whole_undo() {
    let before = user("ada@x.org", 1);
    let mut later = before.clone();
    later.version = 3;
    let record = batch(vec![Touched {
        key: before.key().clone(),
        before: Some(before),
        after_version: Some(2),
    }]);
    let refused = plan_undo(
        &record,
        now_users(&[&later]),
        &mut no_password,
        &By::Cli,
        Actor::Owner,
        50,
    );
    assert_eq!(refused, Err(NotUndone::Changed(vec!["ada@x.org".into()])));
}

#[test]
fn an_operator_may_not_remove_a_user_who_set_a_password() {
    let created = user("bob@x.org", 1);
    let record = batch(vec![Touched {
        key: created.key().clone(),
        before: None,
        after_version: Some(1),
    }]);
    let operator = Actor::User(Roles::of(&[Role::Operator]));
    let refused = plan_undo(
        &record,
        now_users(&[&created]),
        &mut |_| Ok(true),
        &By::parse("op@x.org"),
        operator,
        50,
    );
    assert!(matches!(
        refused,
        Err(NotUndone::Error(StoreError::Forbidden(_)))
    ));
    // Without a password the operator may.
    let plan = plan_undo(
        &record,
        now_users(&[&created]),
        &mut no_password,
        &By::parse("op@x.org"),
        operator,
        50,
    );
    assert!(plan.is_ok());
}

#[test]
fn a_batch_is_undone_once_and_an_undo_never() {
    let mut record = batch(Vec::new());
    assert!(undoable(&record.summary).is_ok());
    record.summary.undone_by = Some(8);
    assert!(undoable(&record.summary).is_err());
    record.summary.undone_by = None;
    record.summary.undo_of = Some(3);
    assert!(undoable(&record.summary).is_err());
}
