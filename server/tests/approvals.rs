//! Four-eyes approval on a real redb file: above the threshold an
//! operator's import writes nothing but a request; another person approves
//! (written as a batch, only if the plan is unchanged) or rejects it.

use domain::approval::ApprovalState;
use domain::store::{ApprovalOutcome, Decision, ImportOutcome, ImportRequest, Store, StoreError};
use domain::user::{Role, Roles};
use domain::{Actor, Field, UserKey};
use server::engine::redb::RedbStore;

fn k(email: &str) -> UserKey {
    domain::Email::parse(email).unwrap().key().clone()
}

fn operator() -> Actor {
    Actor::User(Roles::of(&[Role::Operator, Role::Approval]))
}

fn send(store: &RedbStore, csv: &str, by: &str) -> ImportOutcome {
    store
        .apply_import(ImportRequest {
            bytes: csv.as_bytes(),
            file_name: "big.csv",
            operator: domain::By::parse(by),
            actor: operator(),
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 100,
        })
        .unwrap()
}

fn sent_id(outcome: ImportOutcome) -> u64 {
    match outcome {
        ImportOutcome::SentForApproval { request, .. } => request.id,
        other => panic!("{other:?}"),
    }
}

const THREE: &str = "email,first_name,last_name\na@x.org,A,A\nb@x.org,B,B\nc@x.org,C,C\n";

#[test]
fn above_the_threshold_an_import_waits_and_a_second_person_approves_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    store
        .set_option("import.approval_above", "2", &domain::By::Cli, 1)
        .unwrap();
    // Two users: at the threshold, written at once.
    let two = "email,first_name,last_name\nx@x.org,X,X\ny@x.org,Y,Y\n";
    assert!(matches!(
        send(&store, two, "op@x.org"),
        ImportOutcome::Committed { .. }
    ));
    let id = sent_id(send(&store, THREE, "op@x.org"));
    assert_eq!(store.user_count().unwrap(), 2, "nothing written");
    assert_eq!(store.batches().unwrap().len(), 1, "no batch");
    let (request, bytes) = store.approval(id).unwrap().unwrap();
    assert_eq!(request.state, ApprovalState::Waiting);
    assert_eq!(bytes, THREE.as_bytes(), "the exact bytes are kept");
    assert_eq!(request.counts.create, 3);

    // The sender cannot decide, in any letter case.
    assert!(matches!(
        store.decide_approval(
            id,
            Decision::Approve,
            &domain::By::parse("OP@x.org"),
            operator(),
            200
        ),
        Err(StoreError::Forbidden(_))
    ));
    let approved = store
        .decide_approval(
            id,
            Decision::Approve,
            &domain::By::parse("boss@x.org"),
            operator(),
            200,
        )
        .unwrap();
    let ApprovalOutcome::Approved { batch, .. } = approved else {
        panic!("{approved:?}")
    };
    assert_eq!(batch.counts.create, 3);
    assert_eq!(batch.operator, "op@x.org", "the batch is the sender's");
    assert_eq!(store.user_count().unwrap(), 5);
    let (request, bytes) = store.approval(id).unwrap().unwrap();
    assert_eq!(
        request.state,
        ApprovalState::Approved {
            by: "boss@x.org".into(),
            at: 200,
            batch: batch.id
        }
    );
    assert!(bytes.is_empty(), "the file is dropped once decided");
    // Decided once only.
    assert!(matches!(
        store.decide_approval(
            id,
            Decision::Approve,
            &domain::By::parse("boss@x.org"),
            operator(),
            300
        ),
        Err(StoreError::Conflict(_))
    ));
    // The machine owner's import is not held.
    let owner = store
        .apply_import(ImportRequest {
            bytes: b"email,first_name,last_name\nd@x.org,D,D\ne@x.org,E,E\nf@x.org,F,F\n",
            file_name: "cli.csv",
            operator: domain::By::Cli,
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 400,
        })
        .unwrap();
    assert!(matches!(owner, ImportOutcome::Committed { .. }));
}

#[test]
fn a_rejection_needs_a_reason_and_a_changed_store_makes_the_request_stale() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    store
        .set_option("import.approval_above", "2", &domain::By::Cli, 1)
        .unwrap();
    let id = sent_id(send(&store, THREE, "op@x.org"));
    assert!(matches!(
        store.decide_approval(
            id,
            Decision::Reject {
                reason: "  ".into()
            },
            &domain::By::parse("boss@x.org"),
            operator(),
            200
        ),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store
            .decide_approval(
                id,
                Decision::Reject {
                    reason: "wrong file".into()
                },
                &domain::By::parse("boss@x.org"),
                operator(),
                200
            )
            .unwrap(),
        ApprovalOutcome::Rejected
    );
    assert_eq!(store.user_count().unwrap(), 0, "a rejection writes no user");
    let (request, _) = store.approval(id).unwrap().unwrap();
    assert!(request.state.label().contains("wrong file"));

    // Sent, then one of its users is created meanwhile: approval finds a
    // different plan, writes nothing and closes the request as stale.
    let id = sent_id(send(&store, THREE, "op@x.org"));
    store
        .apply_import(ImportRequest {
            bytes: b"email,first_name,last_name\nb@x.org,Bea,B\n",
            file_name: "one.csv",
            operator: domain::By::Cli,
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: false,
            corrected: None,
            now: 300,
        })
        .unwrap();
    assert_eq!(
        store
            .decide_approval(
                id,
                Decision::Approve,
                &domain::By::parse("boss@x.org"),
                operator(),
                400
            )
            .unwrap(),
        ApprovalOutcome::Stale
    );
    assert_eq!(store.user_count().unwrap(), 1);
    let b = store.user(&k("b@x.org")).unwrap().unwrap();
    assert_eq!(b.field(Field::FirstName), "Bea", "nothing of the request");
    let (request, _) = store.approval(id).unwrap().unwrap();
    assert!(matches!(request.state, ApprovalState::Stale { .. }));
}

#[test]
fn the_privilege_rule_holds_for_the_approver() {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(dir.path()).unwrap();
    store
        .set_option("import.approval_above", "2", &domain::By::Cli, 1)
        .unwrap();
    // Imported users get the Operator role (the default options): an
    // approver with only the Approval role ranks below them.
    let id = sent_id(send(&store, THREE, "op@x.org"));
    let approval_only = Actor::User(Roles::of(&[Role::SelfService, Role::Approval]));
    assert!(matches!(
        store.decide_approval(id, Decision::Approve, &domain::By::parse("ap@x.org"), approval_only, 200),
        Err(StoreError::Forbidden(m)) if m.contains("Nothing was written")
    ));
    assert_eq!(store.user_count().unwrap(), 0);
    let (request, _) = store.approval(id).unwrap().unwrap();
    assert_eq!(request.state, ApprovalState::Waiting, "still waiting");
}
