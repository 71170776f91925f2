//! The store's use cases, written once over a write transaction
//! ([`WriteTx`]): every engine runs exactly these rules. Each function
//! returns how the transaction ends and the answer; an `Err` aborts it.

use crate::approval::{ApprovalError, ApprovalRequest, ApprovalState, Lineage, Trail};
use crate::audit::{AuditAction, AuditEvent};
use crate::options::Options;
use crate::plan::{
    ExistingUsers, NoUsers, ParsedFile, SyncSettings, add_sync, parse_file, plan_parsed,
};
use crate::privilege::{self, Act, Actor};
use crate::store::{
    ApprovalOutcome, BatchSummary, Correction, Decision, EditOutcome, ImportOutcome, ImportRequest,
    LinkRefused, StoreError, SyncRequest, UndoOutcome, UserEdit, sha256_hex,
};
use crate::transaction::{
    BatchRecord, Finish, Sequence, SignInLink, Touched, UserWrite, WriteTx, token_id,
};
use crate::user::{EndState, Profile};
use crate::{Action, Counts, ImportPlan, User, UserKey};

pub mod mail;
pub mod tokens;

/// A use case's answer and whether its writes are kept.
pub type Done<T> = Result<(Finish, T), StoreError>;

fn commit<T>(value: T) -> Done<T> {
    Ok((Finish::Commit, value))
}

fn abort<T>(value: T) -> Done<T> {
    Ok((Finish::Abort, value))
}

fn forbidden(refusal: privilege::Refusal) -> StoreError {
    StoreError::Forbidden(refusal.to_string())
}

fn no_such_user(key: &str) -> StoreError {
    StoreError::NotFound(format!("There is no user {key}."))
}

/// Validates and stores several options: all of them or, when any is
/// invalid, none; records what changed (old → new) as done `by`. Returns
/// the options after the change.
pub fn set_options(
    tx: &mut dyn WriteTx,
    pairs: &[(&str, &str)],
    by: &str,
    now: i64,
) -> Done<Options> {
    let before = tx.options()?;
    let mut options = before.clone();
    // Every value is checked before anything is written.
    for (key, value) in pairs {
        options
            .set(key, value)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
    }
    for (key, _) in pairs {
        let stored = options
            .get(key)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        tx.put_option(key, &stored)?;
    }
    let changes: Vec<crate::plan::Change> = pairs
        .iter()
        .filter_map(|(key, _)| {
            let old = before.get(key).ok()?;
            let new = options.get(key).ok()?;
            (old != new).then(|| crate::plan::Change {
                field: key.to_string(),
                old,
                new,
            })
        })
        .collect();
    if !changes.is_empty() {
        let mut event = AuditEvent::about(now, by, "options", AuditAction::OptionsChanged);
        event.changes = changes;
        tx.append_audit(vec![event], None)?;
    }
    commit(options)
}

/// Inserts or replaces one user outside an import (the bootstrap
/// administrator): the next version of an existing user.
pub fn put_user(tx: &mut dyn WriteTx, mut user: User, now: i64) -> Done<User> {
    let old = tx.user(user.key().as_str())?;
    match &old {
        Some(old) => {
            user.created_at = old.created_at;
            user.version = old.version + 1;
        }
        None => {
            user.created_at = now;
            user.version = 1;
        }
    }
    user.updated_at = now;
    tx.write_users(&[UserWrite {
        before: old.as_ref(),
        after: Some(&user),
    }])?;
    commit(user)
}

/// Makes the user of `new`'s address an active administrator with the
/// Self-Service role, creating it as `new` when there is none. With
/// `first_only`, an existing administrator (active or not) is answered
/// instead and nothing is written: the first start of several servers on
/// one database creates one administrator.
pub fn ensure_admin(tx: &mut dyn WriteTx, new: User, first_only: bool, now: i64) -> Done<User> {
    use crate::user::Role;
    if first_only && let Some(admin) = tx.first_admin()? {
        return abort(admin);
    }
    match tx.user(new.key().as_str())? {
        Some(u) if u.roles.contains(Role::Admin) && u.end_state == EndState::Active => abort(u),
        Some(mut u) => {
            u.roles = u.roles.with(Role::Admin).with(Role::SelfService);
            u.end_state = EndState::Active;
            put_user(tx, u, now)
        }
        None => put_user(tx, new, now),
    }
}

/// Refuses a change that took away an active administrator when none is
/// left.
pub(crate) fn keep_an_active_admin(
    tx: &mut dyn WriteTx,
    admin_lost: bool,
) -> Result<(), StoreError> {
    if admin_lost && !tx.has_active_admin()? {
        return Err(StoreError::Forbidden(privilege::LAST_ADMIN.into()));
    }
    Ok(())
}

/// Writes `after` over `before` (the user as stored now) as its next
/// version at `now`, and refuses the change if it took away the last
/// active administrator.
pub(crate) fn replace_user(
    tx: &mut dyn WriteTx,
    before: &User,
    after: &mut User,
    now: i64,
) -> Result<(), StoreError> {
    after.version = before.version + 1;
    after.updated_at = now;
    tx.write_users(&[UserWrite {
        before: Some(before),
        after: Some(after),
    }])?;
    keep_an_active_admin(
        tx,
        privilege::removes_active_admin(Some(before), Some(after)),
    )
}

pub(crate) fn stored_user(tx: &mut dyn WriteTx, key: &UserKey) -> Result<User, StoreError> {
    tx.user(key.as_str())?
        .ok_or_else(|| no_such_user(key.as_str()))
}

/// Gives `summary` the next batch id and stores it with its touched users.
fn record_batch(
    tx: &mut dyn WriteTx,
    mut summary: BatchSummary,
    touched: Vec<Touched>,
) -> Result<BatchSummary, StoreError> {
    summary.id = tx.next_id(Sequence::Batch)?;
    tx.put_batch(&BatchRecord {
        summary: summary.clone(),
        touched,
    })?;
    Ok(summary)
}

/// Plans a parsed file against the users as the transaction sees them.
fn plan_parsed_in(
    tx: &mut dyn WriteTx,
    parsed: ParsedFile,
    options: &Options,
    actor: Actor,
) -> Result<ImportPlan, StoreError> {
    let keys: Vec<&str> = parsed.keys().into_iter().map(|k| k.as_str()).collect();
    let existing = tx.users(&keys)?;
    let existing: &dyn ExistingUsers = if existing.is_empty() {
        &NoUsers
    } else {
        &existing
    };
    Ok(plan_parsed(parsed, existing, options, actor))
}

/// Plans and writes an import. `parsed` is the file parsed before the
/// transaction began, with the options `parsed_with`: parsing a large file
/// must not hold up other writers. The options are read again here, and a
/// change meanwhile parses again.
pub fn apply_import(
    tx: &mut dyn WriteTx,
    req: &ImportRequest<'_>,
    parsed: ParsedFile,
    parsed_with: &Options,
) -> Done<ImportOutcome> {
    apply_sync_import(tx, req, parsed, parsed_with, None)
}

/// Plans an import inside the transaction, with its sync when asked: the
/// plan the server commits, and the plan a sync's preview shows.
pub fn plan_import_in(
    tx: &mut dyn WriteTx,
    bytes: &[u8],
    parsed: ParsedFile,
    parsed_with: &Options,
    actor: Actor,
    sync: Option<&SyncSettings>,
) -> Result<(ImportPlan, Options), StoreError> {
    let options = tx.options()?;
    let parsed = if options == *parsed_with {
        parsed
    } else {
        parse_file(bytes, &options).map_err(StoreError::File)?
    };
    let in_file: std::collections::HashSet<String> = match sync {
        Some(_) => parsed
            .keys()
            .into_iter()
            .map(|k| k.as_str().to_string())
            .collect(),
        None => Default::default(),
    };
    let mut plan = plan_parsed_in(tx, parsed, &options, actor)?;
    if let Some(settings) = sync {
        let stored = tx.sync_candidates(settings.scope())?;
        add_sync(
            &mut plan,
            &|key| in_file.contains(key),
            stored,
            settings,
            actor,
        );
    }
    Ok((plan, options))
}

/// The sync part of a plan alone, written nothing: the browser's preview
/// of a sync plans the file's rows itself and asks for this (see
/// [`crate::plan::plan_sync`]).
pub fn preview_sync(
    tx: &mut dyn WriteTx,
    in_file: &dyn Fn(&str) -> bool,
    settings: &SyncSettings,
    actor: Actor,
) -> Done<crate::plan::SyncPlan> {
    let stored = tx.sync_candidates(settings.scope())?;
    abort(crate::plan::plan_sync(in_file, stored, settings, actor))
}

/// [`apply_import`], and with `sync` a sync import: the candidates the
/// file does not list are deactivated in the same transaction, unless the
/// safety valve refuses (more than `import.sync_max_deactivate_percent` of
/// the candidates, and no `force` by the machine owner or an
/// administrator).
pub fn apply_sync_import(
    tx: &mut dyn WriteTx,
    req: &ImportRequest<'_>,
    parsed: ParsedFile,
    parsed_with: &Options,
    sync: Option<&SyncRequest>,
) -> Done<ImportOutcome> {
    let (mut plan, options) = plan_import_in(
        tx,
        req.bytes,
        parsed,
        parsed_with,
        req.actor,
        sync.map(|s| &s.settings),
    )?;
    if req
        .expected_fingerprint
        .is_some_and(|fp| fp != plan.fingerprint)
    {
        return abort(ImportOutcome::ChangedSincePreview { plan });
    }
    if plan.counts.invalid > 0 && !req.skip_invalid {
        return abort(ImportOutcome::Blocked { plan });
    }
    if let (Some(sync), Some(part)) = (sync, &plan.sync)
        && let Some(message) = part.refusal(&options)
        && !(sync.force && may_force(req.actor))
    {
        return abort(ImportOutcome::TooManyDeactivations { plan, message });
    }
    if sync.is_some_and(|s| s.dry_run) {
        return abort(ImportOutcome::NothingToWrite { plan });
    }
    if plan.counts.writes() == 0 {
        return abort(ImportOutcome::NothingToWrite { plan });
    }
    // Above the threshold a signed-in operator's import waits for a second
    // person; the machine owner (CLI) is not held. What the operator wrote
    // within the window counts too: splitting a file does not avoid it.
    let already = if options.approval_above > 0 && req.actor != Actor::Owner {
        rows_written_by(tx, req.operator, options.approval_window_start(req.now))?
    } else {
        0
    };
    if options.needs_approval(&plan.counts, already) && req.actor != Actor::Owner {
        if plan.sync.is_some() {
            // A request stores the file, not the sync: approving it would
            // plan an ordinary import.
            return Err(StoreError::Invalid(format!(
                "This sync would write {} users; with the {already} written within the \
                 last {} hours that is above the approval threshold {} \
                 (import.approval_above), and a sync is not sent for approval. Ask an \
                 administrator to run it. Nothing was written.",
                plan.counts.writes(),
                options.approval_window_hours,
                options.approval_above
            )));
        }
        waiting_room(tx, &options, req.operator, req.bytes.len() as u64)?;
        let request = ApprovalRequest {
            id: tx.next_id(Sequence::Approval)?,
            file_name: req.file_name.to_string(),
            sha256: sha256_hex(req.bytes),
            fingerprint: plan.fingerprint.clone(),
            operator: req.operator.to_string(),
            actor: req.actor,
            skip_invalid: req.skip_invalid,
            sent_at: req.now,
            counts: plan.counts,
            state: ApprovalState::Waiting,
        };
        tx.put_approval(&request, Some(req.bytes))?;
        let event = AuditEvent::about(
            req.now,
            req.operator,
            req.operator,
            AuditAction::ApprovalSent,
        )
        .with("outcome", approval_counts(&request));
        tx.append_audit(vec![event], None)?;
        return commit(ImportOutcome::SentForApproval { request, plan });
    }
    let batch = write_plan(
        tx,
        &mut plan,
        Written {
            operator: req.operator,
            file_name: req.file_name,
            sha256: sha256_hex(req.bytes),
            corrected: req.corrected.as_ref(),
            approved_by: None,
            now: req.now,
        },
    )?;
    commit(ImportOutcome::Committed { batch, plan })
}

/// Who may confirm a sync the safety valve refuses: the machine owner and
/// administrators.
pub fn may_force(actor: Actor) -> bool {
    actor.ranks_as_admin()
}

/// How many users `operator` and the accounts related to it created +
/// updated in batches recorded since `since` (see
/// [`crate::approval::rows_in_window`]).
pub fn rows_written_by(
    tx: &mut dyn WriteTx,
    operator: &str,
    since: i64,
) -> Result<u64, StoreError> {
    let batches = tx.batches_since(since)?;
    crate::approval::rows_in_window(&mut Lineage(TxTrail(tx)), &batches, operator, since)
}

/// The audit trail and the users as a write transaction sees them.
struct TxTrail<'t>(&'t mut dyn WriteTx);

impl Trail for TxTrail<'_> {
    type Error = StoreError;
    fn history(&mut self, key: &UserKey) -> Result<Vec<AuditEvent>, StoreError> {
        self.0.user_history(key.as_str())
    }
    fn is_admin(&mut self, key: &UserKey) -> Result<bool, StoreError> {
        Ok(self
            .0
            .user(key.as_str())?
            .is_some_and(|u| u.roles.contains(crate::Role::Admin)))
    }
}

/// Refuses a request for approval that would take `operator` over the
/// options' quota of waiting imports (count and stored bytes).
fn waiting_room(
    tx: &mut dyn WriteTx,
    options: &Options,
    operator: &str,
    bytes: u64,
) -> Result<(), StoreError> {
    let Ok(sender) = crate::Email::parse(operator) else {
        return Ok(());
    };
    let waiting = tx.waiting_files()?;
    let mut lineage = Lineage(TxTrail(tx));
    let (mut count, mut stored) = (0u64, 0u64);
    for (request, size) in waiting {
        // Requests of related accounts share the quota, as they share the
        // approval window.
        let Some(by) = request.sender_key() else {
            continue;
        };
        if lineage.related(sender.key(), &by)?.is_some() {
            count += 1;
            stored = stored.saturating_add(size);
        }
    }
    let max_bytes = u64::from(options.approval_max_waiting_mb) * 1_000_000;
    if count >= u64::from(options.approval_max_waiting) || stored.saturating_add(bytes) > max_bytes
    {
        return Err(StoreError::Invalid(format!(
            "You have {count} imports ({} MB) waiting for approval; at most {} imports and {} MB \
             may wait at once (options import.approval_max_waiting and \
             import.approval_max_waiting_mb). Ask an approver to decide them first. Nothing was \
             written.",
            stored / 1_000_000,
            options.approval_max_waiting,
            options.approval_max_waiting_mb
        )));
    }
    Ok(())
}

fn approval_counts(request: &ApprovalRequest) -> String {
    format!(
        "request {}: {} ({} to create, {} to update)",
        request.id, request.file_name, request.counts.create, request.counts.update
    )
}

/// Who and what a written import is recorded as.
struct Written<'a> {
    operator: &'a str,
    file_name: &'a str,
    sha256: String,
    corrected: Option<&'a Correction>,
    approved_by: Option<&'a str>,
    now: i64,
}

/// Writes a plan's creates and updates (timestamps set in the plan itself,
/// so that the plan the caller gets back is exactly what was written), the
/// batch with its before-images and an audit event per user.
fn write_plan(
    tx: &mut dyn WriteTx,
    plan: &mut ImportPlan,
    w: Written<'_>,
) -> Result<BatchSummary, StoreError> {
    let writing = plan.counts.writes() as usize;
    let mut touched = Vec::with_capacity(writing);
    let mut events = Vec::with_capacity(writing);
    let mut admin_lost = false;
    let mut deactivated = Vec::new();
    // Users whose sessions end and links go (a sync's deactivations, a
    // rank rise).
    let mut ended = Vec::new();
    for row in &mut plan.rows {
        let (user, before): (&mut User, Option<&User>) = match &mut row.action {
            Action::Create(u) => {
                u.created_at = w.now;
                let changes = crate::audit::created(u);
                events.push(AuditEvent::new(
                    w.now,
                    w.operator,
                    u,
                    AuditAction::Import,
                    changes,
                ));
                (u, None)
            }
            Action::Update {
                before,
                after,
                changes,
            } => {
                events.push(AuditEvent::new(
                    w.now,
                    w.operator,
                    after,
                    AuditAction::Import,
                    changes.clone(),
                ));
                admin_lost |= privilege::removes_active_admin(Some(before), Some(after));
                // A link outlives no change of rank: roles given by an
                // import void the user's open links, as a deactivation does;
                // a rank rise also ends the user's sessions (as on the
                // user's page).
                let rank = |u: &User| privilege::Rank::of(u.roles);
                if rank(after) > rank(before) {
                    ended.push(after.key().to_string());
                } else if (before.end_state == EndState::Active
                    && after.end_state == EndState::Inactive)
                    || before.roles != after.roles
                {
                    deactivated.push(after.key().to_string());
                }
                (after, Some(before))
            }
            _ => continue,
        };
        user.updated_at = w.now;
        touched.push(Touched {
            key: user.key().to_string(),
            before: before.cloned(),
            after_version: Some(user.version),
        });
    }
    // A sync's deactivations: sessions end and links are revoked, as for
    // a person's deactivation, but nothing is held against later imports.
    if let Some(sync) = &mut plan.sync {
        for d in &mut sync.deactivations {
            d.after.updated_at = w.now;
            let mut event = AuditEvent::new(
                w.now,
                w.operator,
                &d.after,
                AuditAction::Deactivate,
                crate::plan::diff(&d.before, &d.after),
            );
            event = event.with("reason", "missing from the sync file");
            events.push(event);
            admin_lost |= privilege::removes_active_admin(Some(&d.before), Some(&d.after));
            touched.push(Touched {
                key: d.after.key().to_string(),
                before: Some((*d.before).clone()),
                after_version: Some(d.after.version),
            });
            ended.push(d.after.key().to_string());
        }
    }
    let writes: Vec<UserWrite<'_>> = plan
        .rows
        .iter()
        .filter_map(|row| match &row.action {
            Action::Create(u) => Some(UserWrite {
                before: None,
                after: Some(u),
            }),
            Action::Update { before, after, .. } => Some(UserWrite {
                before: Some(before),
                after: Some(after),
            }),
            _ => None,
        })
        .chain(plan.sync.iter().flat_map(|s| {
            s.deactivations.iter().map(|d| UserWrite {
                before: Some(&d.before),
                after: Some(&d.after),
            })
        }))
        .collect();
    tx.write_users(&writes)?;
    for key in &deactivated {
        tx.revoke_links(key)?;
    }
    for key in &ended {
        tx.revoke_links(key)?;
        tx.end_sessions(key)?;
    }
    keep_an_active_admin(tx, admin_lost)?;
    let summary = record_batch(
        tx,
        BatchSummary {
            id: 0,
            operator: w.operator.to_string(),
            at: w.now,
            file_name: w.file_name.to_string(),
            sha256: w.sha256,
            counts: plan.counts,
            undo_of: None,
            undone_by: None,
            approved_by: w.approved_by.map(str::to_string),
        },
        touched,
    )?;
    tx.append_audit(events, Some(summary.id))?;
    if let Some(c) = w.corrected {
        tx.put_correction(summary.id, c)?;
    }
    Ok(summary)
}

fn approval_error(e: ApprovalError) -> StoreError {
    match e {
        ApprovalError::OwnRequest => StoreError::Forbidden(e.to_string()),
        ApprovalError::NotWaiting(_) => StoreError::Conflict(e.to_string()),
        ApprovalError::ReasonRequired => StoreError::Invalid(e.to_string()),
        ApprovalError::NotIndependent(_) => StoreError::Forbidden(e.to_string()),
    }
}

/// Approves or rejects a request. Approving plans the stored bytes again
/// with the sender's authority and writes them as a batch only if the
/// plan's fingerprint is the one sent, and only if the privilege rule lets
/// the approver act on every user it changes.
pub fn decide_approval(
    tx: &mut dyn WriteTx,
    id: u64,
    decision: Decision,
    by: &str,
    actor: Actor,
    now: i64,
) -> Done<ApprovalOutcome> {
    let (mut request, bytes) = tx
        .approval(id)?
        .ok_or_else(|| StoreError::NotFound(format!("There is no approval request {id}.")))?;
    request.may_decide(by).map_err(approval_error)?;
    // A person (not the machine owner) must be independent of the sender.
    if actor != Actor::Owner
        && let (Some(sender), Ok(approver)) = (request.sender_key(), crate::Email::parse(by))
    {
        let verdict = crate::approval::independent(
            &mut Lineage(TxTrail(tx)),
            &sender,
            approver.key(),
            request.sent_at,
        )?;
        verdict.map_err(|why| approval_error(ApprovalError::NotIndependent(why)))?;
    }
    let outcome = match decision {
        Decision::Reject { reason } => {
            request.reject(by, now, &reason).map_err(approval_error)?;
            let event = AuditEvent::about(now, by, &request.operator, AuditAction::Rejected)
                .with("outcome", approval_counts(&request))
                .with("reason", reason.trim());
            tx.append_audit(vec![event], None)?;
            ApprovalOutcome::Rejected
        }
        Decision::Approve => {
            let sender = sender_authority_now(tx, &request)?;
            let options = tx.options()?;
            let parsed = parse_file(&bytes, &options).map_err(StoreError::File)?;
            let mut plan = plan_parsed_in(tx, parsed, &options, sender)?;
            if plan.fingerprint != request.fingerprint {
                request.mark_stale(by, now).map_err(approval_error)?;
                ApprovalOutcome::Stale
            } else {
                // The approver vouches for every change: the privilege rule
                // applies to them as to the sender.
                for row in &plan.rows {
                    let (before, after) = match &row.action {
                        Action::Create(u) => (None, Some(&**u)),
                        Action::Update { before, after, .. } => (Some(&**before), Some(&**after)),
                        _ => continue,
                    };
                    privilege::check_change(actor, Act::Approve, before, after).map_err(
                        |refusal| {
                            StoreError::Forbidden(format!(
                                "Not approved: {} — {refusal}. Nothing was written.",
                                after.or(before).map(|u| u.email.as_str()).unwrap_or("?")
                            ))
                        },
                    )?;
                }
                let batch = write_plan(
                    tx,
                    &mut plan,
                    Written {
                        operator: &request.operator,
                        file_name: &request.file_name,
                        sha256: request.sha256.clone(),
                        corrected: None,
                        approved_by: Some(by),
                        now,
                    },
                )?;
                request.approve(by, now, batch.id).map_err(approval_error)?;
                let mut event =
                    AuditEvent::about(now, by, &request.operator, AuditAction::Approved)
                        .with("outcome", approval_counts(&request));
                event.batch = Some(batch.id);
                tx.append_audit(vec![event], None)?;
                ApprovalOutcome::Approved { batch }
            }
        }
    };
    // Decided: the stored file is not needed any more (its SHA-256 stays
    // with the request and the batch).
    tx.put_approval(&request, None)?;
    commit(outcome)
}

/// The authority a waiting import is written with: the sender's as it is
/// now, not as it was when the request was sent — a sender deactivated or
/// no longer an operator meanwhile has none left to lend the import.
fn sender_authority_now(
    tx: &mut dyn WriteTx,
    request: &ApprovalRequest,
) -> Result<Actor, StoreError> {
    if request.actor == Actor::Owner {
        return Ok(Actor::Owner);
    }
    let sender = match request.sender_key() {
        Some(key) => tx.user(key.as_str())?,
        None => None,
    };
    match sender {
        // Not a stored user (an address the store does not hold): the
        // authority recorded with the request, which can only be less.
        None => Ok(request.actor),
        Some(u) if u.end_state == EndState::Active && u.roles.can_operate() => {
            Ok(Actor::User(u.roles))
        }
        Some(_) => Err(StoreError::Forbidden(format!(
            "Not approved: the sender {} is no longer an active operator, so the import \
             has no authority to be written with. Reject it. Nothing was written.",
            request.operator
        ))),
    }
}

/// Creates one user (manual input), recorded as a batch so that history
/// shows it and it can be undone.
pub fn create_user(
    tx: &mut dyn WriteTx,
    user: User,
    operator: &str,
    actor: Actor,
    now: i64,
) -> Done<BatchSummary> {
    create_user_by(tx, user, Channel::Manual, operator, actor, now)
}

/// How a single user came to be created: its batch's name in Import
/// history and the action of its audit event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channel {
    Manual,
    Scim,
}

/// [`create_user`] through `channel`.
pub fn create_user_by(
    tx: &mut dyn WriteTx,
    mut user: User,
    channel: Channel,
    operator: &str,
    actor: Actor,
    now: i64,
) -> Done<BatchSummary> {
    privilege::check_change(actor, Act::Change, None, Some(&user)).map_err(forbidden)?;
    if tx.user(user.key().as_str())?.is_some() {
        return Err(StoreError::Conflict(format!(
            "A user with the email {} exists already.",
            user.email
        )));
    }
    user.created_at = now;
    user.updated_at = now;
    user.version = 1;
    tx.write_users(&[UserWrite {
        before: None,
        after: Some(&user),
    }])?;
    let summary = record_batch(
        tx,
        BatchSummary {
            id: 0,
            operator: operator.to_string(),
            at: now,
            file_name: match channel {
                Channel::Manual => "Manual input",
                Channel::Scim => "SCIM",
            }
            .into(),
            // No file: nothing a later upload could match.
            sha256: String::new(),
            counts: Counts {
                create: 1,
                ..Counts::default()
            },
            undo_of: None,
            undone_by: None,
            approved_by: None,
        },
        vec![Touched {
            key: user.key().to_string(),
            before: None,
            after_version: Some(1),
        }],
    )?;
    let event = AuditEvent::new(
        now,
        operator,
        &user,
        match channel {
            Channel::Manual => AuditAction::ManualCreate,
            Channel::Scim => AuditAction::ScimCreate,
        },
        crate::audit::created(&user),
    );
    tx.append_audit(vec![event], Some(summary.id))?;
    commit(summary)
}

/// Replaces a user's profile (self-service edit) if the stored version is
/// still `expected_version`. Roles, end state and source are never touched.
pub fn update_profile(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    profile: Profile,
    expected_version: u64,
    now: i64,
) -> Done<User> {
    let before = stored_user(tx, key)?;
    if before.version != expected_version {
        return Err(StoreError::Conflict(
            "Your record was changed meanwhile (by an import or an operator): \
             nothing was saved. Reload the page to see it."
                .into(),
        ));
    }
    if before.profile == profile {
        return abort(before);
    }
    let mut after = before.clone();
    after.profile = profile;
    replace_user(tx, &before, &mut after, now)?;
    let changes = crate::plan::diff(&before, &after);
    let event = AuditEvent::new(
        now,
        after.email.as_str(),
        &after,
        AuditAction::ProfileEdit,
        changes,
    );
    tx.append_audit(vec![event], None)?;
    commit(after)
}

/// Activates or deactivates a user under the privilege rule and the
/// last-administrator rule. Deactivating ends the user's sessions and
/// revokes their sign-in links.
pub fn set_end_state(
    tx: &mut dyn WriteTx,
    key: &UserKey,
    end_state: EndState,
    operator: &str,
    actor: Actor,
    now: i64,
) -> Done<User> {
    let before = stored_user(tx, key)?;
    privilege::check_change(actor, Act::Change, Some(&before), Some(&before)).map_err(forbidden)?;
    if before.end_state == end_state {
        return abort(before);
    }
    let mut after = before.clone();
    after.end_state = end_state;
    // A person's decision: an import does not re-activate the user.
    after.held.deactivated_by = (end_state == EndState::Inactive).then(|| crate::user::Decided {
        by: operator.to_string(),
        at: now,
    });
    replace_user(tx, &before, &mut after, now)?;
    if end_state == EndState::Inactive {
        tx.revoke_links(key.as_str())?;
        tx.end_sessions(key.as_str())?;
    }
    let action = match end_state {
        EndState::Active => AuditAction::Activate,
        EndState::Inactive => AuditAction::Deactivate,
    };
    let changes = crate::plan::diff(&before, &after);
    tx.append_audit(
        vec![AuditEvent::new(now, operator, &after, action, changes)],
        None,
    )?;
    commit(after)
}

/// An operator's edit of a user's fields (and, for administrators, roles).
pub fn edit_user(tx: &mut dyn WriteTx, edit: &UserEdit<'_>) -> Done<EditOutcome> {
    let before = stored_user(tx, edit.key)?;
    let after = match crate::manual::operator_edit(&before, edit.cells, edit.roles) {
        Ok(after) => after,
        Err(errors) => return abort(EditOutcome::Invalid(errors)),
    };
    if before.version != edit.expected_version {
        let changes = crate::plan::diff(&before, &after);
        return abort(EditOutcome::ChangedMeanwhile {
            current: before,
            changes,
        });
    }
    privilege::check_edit(edit.actor, &before, &after).map_err(forbidden)?;
    if after == before {
        return abort(EditOutcome::Unchanged(before));
    }
    let after = write_edit(tx, &before, after, edit.operator, edit.now)?;
    commit(EditOutcome::Saved(after))
}

/// Writes an edit the caller has authorised (fields and roles, see
/// [`edit_user`]) with what a change of roles brings: roles taken away
/// stay away from imports, a rank rise ends sessions and voids links and
/// a password a lower-ranked maker's link set, each audited. The roles
/// given over SCIM (Groups) go through here too.
pub(crate) fn write_edit(
    tx: &mut dyn WriteTx,
    before: &User,
    mut after: User,
    operator: &str,
    now: i64,
) -> Result<User, StoreError> {
    let key = before.key();
    // Roles an administrator takes away stay away from imports; given
    // back, they are no longer withheld.
    let removed = before.roles.without(after.roles);
    let added = after.roles.without(before.roles);
    after.held.withheld_roles = before.held.withheld_roles.union(removed).without(added);
    replace_user(tx, before, &mut after, now)?;
    if before.roles != after.roles {
        // A link made for the user's old rank is void; a session keeps no
        // power the user lost.
        let about = |action, reason: &str| {
            AuditEvent::new(now, operator, &after, action, Vec::new()).with("reason", reason)
        };
        if tx.revoke_links(key.as_str())? > 0 {
            let event = about(AuditAction::SignInLinksRevoked, "roles changed");
            tx.append_audit(vec![event], None)?;
        }
        let rank = |u: &User| privilege::Rank::of(u.roles);
        if !removed.is_empty() || rank(&after) > rank(before) {
            tx.end_sessions(key.as_str())?;
        }
        // A password set through a link made by someone of lower rank than
        // the user has now may be known to that person: it goes, and an
        // administrator enrols the user again.
        if rank(&after) > rank(before)
            && let Some(maker) = password_link_maker(tx, key)?
            && maker < rank(&after)
        {
            tx.forget_credentials(key.as_str())?;
            let event = about(
                AuditAction::PasswordRemoved,
                "set through a link made by someone who ranks below the user now",
            );
            tx.append_audit(vec![event], None)?;
        }
    }
    let (roles, fields): (Vec<_>, Vec<_>) = crate::plan::diff(before, &after)
        .into_iter()
        .partition(|c| c.field == "roles");
    let mut events = Vec::with_capacity(2);
    for (action, changes) in [
        (AuditAction::OperatorEdit, fields),
        (AuditAction::RoleChange, roles),
    ] {
        if !changes.is_empty() {
            events.push(AuditEvent::new(now, operator, &after, action, changes));
        }
    }
    tx.append_audit(events, None)?;
    Ok(after)
}

/// The rank of whoever made the sign-in link through which the user's
/// current password was set (the machine owner ranks as an
/// administrator); `None` when the password was not set through a link.
fn password_link_maker(
    tx: &mut dyn WriteTx,
    key: &UserKey,
) -> Result<Option<privilege::Rank>, StoreError> {
    let history = tx.user_history(key.as_str())?;
    let mut newest_first = history.iter();
    let Some(set) = newest_first.find(|e| e.action == AuditAction::PasswordSet) else {
        return Ok(None);
    };
    let by_self = crate::Email::parse(&set.actor).is_ok_and(|a| a.key() == key);
    if !by_self {
        return Ok(None);
    }
    let Some(made) = newest_first.find(|e| e.action == AuditAction::SignInLinkMade) else {
        return Ok(None);
    };
    Ok(Some(match crate::Email::parse(&made.actor) {
        Err(_) => privilege::Rank::Admin, // `cli`
        Ok(maker) => tx
            .user(maker.key().as_str())?
            .map_or(privilege::Rank::SelfService, |u| {
                privilege::Rank::of(u.roles)
            }),
    }))
}

/// Undoes a batch, unless a touched user changed since. Undoing a create
/// also removes that user's password, sign-in links and sessions.
pub fn undo_batch(
    tx: &mut dyn WriteTx,
    id: u64,
    operator: &str,
    actor: Actor,
    now: i64,
) -> Done<UndoOutcome> {
    let mut record = tx
        .batch(id)?
        .ok_or_else(|| StoreError::NotFound(format!("there is no batch {id}")))?;
    if let Some(by) = record.summary.undone_by {
        return Err(StoreError::Invalid(format!(
            "batch {id} was already undone by batch {by}"
        )));
    }
    if record.summary.undo_of.is_some() {
        return Err(StoreError::Invalid(format!(
            "batch {id} is itself an undo and cannot be undone"
        )));
    }
    // Check every user first: refuse the whole undo if any changed.
    let keys: Vec<&str> = record.touched.iter().map(|t| t.key.as_str()).collect();
    let mut current = tx.users(&keys)?;
    let mut changed = Vec::new();
    for t in &record.touched {
        let now_user = current.get(&t.key);
        if now_user.map(|u| u.version) != t.after_version {
            changed.push(
                now_user
                    .map(|u| u.email.to_string())
                    .unwrap_or_else(|| t.key.clone()),
            );
        }
    }
    if !changed.is_empty() {
        return abort(UndoOutcome::Refused { changed });
    }
    // The privilege rule, on the user as it is and as it would be.
    let mut admin_lost = false;
    for t in &record.touched {
        let now_user = current.get(&t.key);
        // Removing a user who has set a password since would let the same
        // address be created again and given a fresh link: a password
        // reset, which only an administrator may do.
        if t.before.is_none()
            && now_user.is_some()
            && privilege::check(actor, Act::SignInLink { has_password: true }, None, None).is_err()
            && tx.has_password(&t.key)?
        {
            return Err(StoreError::Forbidden(format!(
                "Not undone: {} has set a password since this batch; removing the user \
                 would reset it, which only an administrator may do. Nothing was written.",
                now_user.map(|u| u.email.as_str()).unwrap_or(&t.key)
            )));
        }
        privilege::check_change(actor, Act::Undo, now_user, t.before.as_ref()).map_err(
            |refusal| {
                StoreError::Forbidden(format!(
                    "Not undone: {} — {refusal}. Nothing was written.",
                    t.key
                ))
            },
        )?;
        admin_lost |= privilege::removes_active_admin(now_user, t.before.as_ref());
    }
    let mut undo_touched = Vec::with_capacity(record.touched.len());
    let mut events = Vec::with_capacity(record.touched.len());
    let mut counts = Counts::default();
    let mut restored_users = Vec::with_capacity(record.touched.len());
    for t in &record.touched {
        let now_user = current.remove(&t.key);
        match &t.before {
            None => {
                counts.create += 1;
                if let Some(gone) = &now_user {
                    events.push(AuditEvent::new(
                        now,
                        operator,
                        gone,
                        AuditAction::Undo,
                        crate::audit::removed(gone),
                    ));
                }
                undo_touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user.clone(),
                    after_version: None,
                });
                restored_users.push((now_user, None));
            }
            Some(before) => {
                // Restore the before-image as a new version, so that anyone
                // who read the imported state sees a change.
                let mut restored = before.clone();
                restored.version = now_user.as_ref().map(|u| u.version + 1).unwrap_or(1);
                // What people decided stands through an undo.
                if let Some(current) = &now_user {
                    restored.held = current.held.clone();
                }
                restored.updated_at = now;
                counts.update += 1;
                if let Some(current) = &now_user {
                    events.push(AuditEvent::new(
                        now,
                        operator,
                        &restored,
                        AuditAction::Undo,
                        crate::plan::diff(current, &restored),
                    ));
                }
                undo_touched.push(Touched {
                    key: t.key.clone(),
                    before: now_user.clone(),
                    after_version: Some(restored.version),
                });
                restored_users.push((now_user, Some(restored)));
            }
        }
    }
    let writes: Vec<UserWrite<'_>> = restored_users
        .iter()
        .filter(|(before, after)| before.is_some() || after.is_some())
        .map(|(before, after)| UserWrite {
            before: before.as_ref(),
            after: after.as_ref(),
        })
        .collect();
    tx.write_users(&writes)?;
    for t in record.touched.iter().filter(|t| t.before.is_none()) {
        // A removed user leaves nothing behind that a later user of the
        // same address could inherit: no password, link or session, and
        // no externalId a provisioning client would find it by.
        tx.forget_credentials(&t.key)?;
        tx.set_external_id(&t.key, None)?;
    }
    keep_an_active_admin(tx, admin_lost)?;
    let summary = record_batch(
        tx,
        BatchSummary {
            id: 0,
            operator: operator.to_string(),
            at: now,
            file_name: record.summary.file_name.clone(),
            sha256: record.summary.sha256.clone(),
            counts,
            undo_of: Some(id),
            undone_by: None,
            approved_by: None,
        },
        undo_touched,
    )?;
    tx.append_audit(events, Some(summary.id))?;
    record.summary.undone_by = Some(summary.id);
    tx.put_batch(&record)?;
    commit(UndoOutcome::Undone { batch: summary })
}

/// Stores a new password hash and epoch, revokes the user's links and
/// records it in the audit trail (never the hash).
pub fn set_password(tx: &mut dyn WriteTx, key: &str, phc: &str, now_ms: i64, by: &str) -> Done<()> {
    if let Some(user) = tx.user(key)? {
        let event = AuditEvent::new(
            now_ms.div_euclid(1000),
            by,
            &user,
            AuditAction::PasswordSet,
            Vec::new(),
        );
        tx.append_audit(vec![event], None)?;
    }
    tx.put_password(key, phc, now_ms)?;
    tx.revoke_links(key)?;
    commit(())
}

/// Makes a sign-in link for each of these users the privilege rule lets
/// `actor` make one for: for each key its token, or why not.
pub fn create_links(
    tx: &mut dyn WriteTx,
    user_keys: &[UserKey],
    now: i64,
    days: u32,
    by: &str,
    actor: Actor,
) -> Done<Vec<Result<String, LinkRefused>>> {
    let expires_at = now + i64::from(days) * 86_400;
    let mut events = Vec::new();
    let mut out = Vec::with_capacity(user_keys.len());
    let keys: Vec<&str> = user_keys.iter().map(|k| k.as_str()).collect();
    let mut users = tx.users(&keys)?;
    for key in user_keys {
        let Some(user) = users.remove(key.as_str()) else {
            out.push(Err(LinkRefused::NoSuchUser));
            continue;
        };
        let act = Act::SignInLink {
            has_password: tx.has_password(key.as_str())?,
        };
        if let Err(refusal) = privilege::check_change(actor, act, Some(&user), None) {
            out.push(Err(LinkRefused::NotAllowed(refusal)));
            continue;
        }
        // One open link per user: a new one voids the earlier ones.
        if tx.revoke_links(key.as_str())? > 0 {
            events.push(
                AuditEvent::new(now, by, &user, AuditAction::SignInLinksRevoked, Vec::new())
                    .with("reason", "a new link was made"),
            );
        }
        let token = tx.new_token();
        tx.put_link(
            &token_id(&token),
            &SignInLink {
                user_key: key.clone(),
                expires_at,
            },
        )?;
        events.push(AuditEvent::new(
            now,
            by,
            &user,
            AuditAction::SignInLinkMade,
            Vec::new(),
        ));
        out.push(Ok(token));
    }
    tx.append_audit(events, None)?;
    commit(out)
}

/// Uses a link up, sets the password (revoking the user's other links) and
/// returns the user; `None`, with nothing written, when the link was not
/// valid or its user is gone.
pub fn redeem_link(
    tx: &mut dyn WriteTx,
    token: &str,
    phc: &str,
    now_ms: i64,
) -> Done<Option<UserKey>> {
    let valid = tx
        .take_link(&token_id(token))?
        .filter(|link| link.expires_at > now_ms.div_euclid(1000));
    let Some(link) = valid else {
        return abort(None);
    };
    if tx.user(link.user_key.as_str())?.is_none() {
        return abort(None);
    }
    // The link's holder sets their own password.
    let key = link.user_key;
    if let Some(user) = tx.user(key.as_str())? {
        tx.append_audit(
            vec![AuditEvent::new(
                now_ms.div_euclid(1000),
                key.as_str(),
                &user,
                AuditAction::SignInLinkUsed,
                Vec::new(),
            )],
            None,
        )?;
    }
    set_password(tx, key.as_str(), phc, now_ms, key.as_str())?;
    commit(Some(key))
}

/// Writes a copied store's records into an empty store, in the caller's
/// one transaction, buffering users and audit events so that engines
/// write them many at a time. Refuses a store that has users or batches.
pub struct Loader<'t> {
    tx: &'t mut dyn WriteTx,
    users: Vec<User>,
    events: Vec<crate::audit::AuditEvent>,
    events_batch: Option<u64>,
    next_event: u64,
    last_batch: u64,
    last_approval: u64,
    pub counts: LoadCounts,
}

/// What a [`Loader`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadCounts {
    pub users: u64,
    pub batches: u64,
    pub audit_events: u64,
    pub approvals: u64,
    pub passwords: u64,
    pub links: u64,
    pub tokens: u64,
    pub external_ids: u64,
}

const LOAD_CHUNK: usize = 10_000;

impl<'t> Loader<'t> {
    pub fn new(tx: &'t mut dyn WriteTx) -> Result<Loader<'t>, StoreError> {
        // Users come from imports and manual input (batches) or the first
        // start (an administrator): a store with neither is empty.
        if tx.first_admin()?.is_some() || tx.batch(1)?.is_some() {
            return Err(StoreError::Conflict(
                "the destination store is not empty: copy into a new database or data folder"
                    .into(),
            ));
        }
        Ok(Loader {
            tx,
            users: Vec::new(),
            events: Vec::new(),
            events_batch: None,
            next_event: 1,
            last_batch: 0,
            last_approval: 0,
            counts: LoadCounts::default(),
        })
    }

    pub fn put(&mut self, item: crate::transaction::Item) -> Result<(), StoreError> {
        use crate::transaction::Item;
        match item {
            Item::Option { key, value } => {
                // Checked as any option is: a bad value is refused.
                let mut options = self.tx.options()?;
                options
                    .set(&key, &value)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                self.tx.put_option(&key, &value)?;
            }
            Item::User(user) => {
                self.users.push(user);
                if self.users.len() >= LOAD_CHUNK {
                    self.flush_users()?;
                }
            }
            Item::Batch(record) => {
                self.last_batch = self.last_batch.max(record.summary.id);
                self.tx.put_batch(&record)?;
                self.counts.batches += 1;
            }
            Item::Correction { batch, correction } => self.tx.put_correction(batch, &correction)?,
            Item::Audit(event) => {
                if event.id != self.next_event {
                    return Err(StoreError::Invalid(format!(
                        "audit events must come in id order from 1: got {} where {} was due",
                        event.id, self.next_event
                    )));
                }
                self.next_event += 1;
                if event.batch != self.events_batch || self.events.len() >= LOAD_CHUNK {
                    self.flush_events()?;
                    self.events_batch = event.batch;
                }
                self.events.push(event);
            }
            Item::Approval { request, file } => {
                self.last_approval = self.last_approval.max(request.id);
                self.tx.put_approval(&request, file.as_deref())?;
                self.counts.approvals += 1;
            }
            Item::Password { key, phc, epoch_ms } => {
                self.tx.put_password(&key, &phc, epoch_ms)?;
                self.counts.passwords += 1;
            }
            Item::Link { token_id, link } => {
                self.tx.put_link(&token_id, &link)?;
                self.counts.links += 1;
            }
            Item::Token(token) => {
                self.tx.put_token(&token)?;
                self.counts.tokens += 1;
            }
            Item::ExternalId { key, external_id } => {
                self.tx.set_external_id(&key, Some(&external_id))?;
                self.counts.external_ids += 1;
            }
        }
        Ok(())
    }

    fn flush_users(&mut self) -> Result<(), StoreError> {
        let writes: Vec<UserWrite<'_>> = self
            .users
            .iter()
            .map(|u| UserWrite {
                before: None,
                after: Some(u),
            })
            .collect();
        self.tx.write_users(&writes)?;
        self.counts.users += self.users.len() as u64;
        self.users.clear();
        Ok(())
    }

    fn flush_events(&mut self) -> Result<(), StoreError> {
        if self.events.is_empty() {
            return Ok(());
        }
        self.counts.audit_events += self.events.len() as u64;
        let events = std::mem::take(&mut self.events);
        self.tx.append_audit(events, self.events_batch)
    }

    /// Writes what is buffered and moves the id counters past the copied
    /// ids; the caller then commits.
    pub fn finish(mut self) -> Result<LoadCounts, StoreError> {
        self.flush_users()?;
        self.flush_events()?;
        for (sequence, last) in [
            (Sequence::Batch, self.last_batch),
            (Sequence::Approval, self.last_approval),
        ] {
            while self.tx.next_id(sequence)? < last {}
        }
        Ok(self.counts)
    }
}
