//! Imports: planned again inside the transaction, checked against the
//! preview, sent for approval or written as a batch.

use super::approvals::{TxTrail, approval_counts, waiting_room};
use super::{Done, abort, commit, keep_an_active_admin, record_batch};
use crate::approval::{ApprovalRequest, ApprovalState, Lineage};
use crate::audit::{AuditAction, AuditEvent};
use crate::by::By;
use crate::options::Options;
use crate::plan::{
    ExistingUsers, NoUsers, ParsedFile, SyncSettings, add_sync, parse_file, plan_parsed,
};
use crate::privilege::{self, Actor};
use crate::store::{
    BatchSummary, Correction, ImportOutcome, ImportRequest, StoreError, SyncRequest, sha256_hex,
};
use crate::transaction::{Sequence, Touched, UserWrite, WriteTx};
use crate::user::EndState;
use crate::{Action, ImportPlan, User};

/// Plans a parsed file against the users as the transaction sees them.
pub(super) fn plan_parsed_in(
    tx: &mut dyn WriteTx,
    parsed: ParsedFile,
    options: &Options,
    actor: Actor,
) -> Result<ImportPlan, StoreError> {
    let existing = tx.users(&parsed.keys())?;
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
        rows_written_by(tx, &req.operator, options.approval_window_start(req.now))?
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
        waiting_room(tx, &options, &req.operator, req.bytes.len() as u64)?;
        let request = ApprovalRequest {
            id: tx.next_id(Sequence::Approval)?,
            file_name: req.file_name.to_string(),
            sha256: sha256_hex(req.bytes),
            fingerprint: plan.fingerprint.clone(),
            operator: req.operator.clone(),
            actor: req.actor,
            skip_invalid: req.skip_invalid,
            sent_at: req.now,
            counts: plan.counts,
            state: ApprovalState::Waiting,
        };
        tx.put_approval(&request, Some(req.bytes))?;
        let event = AuditEvent::about(
            req.now,
            &req.operator,
            &req.operator.to_string(),
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
            operator: &req.operator,
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
pub fn rows_written_by(tx: &mut dyn WriteTx, operator: &By, since: i64) -> Result<u64, StoreError> {
    let batches = tx.batches_since(since)?;
    crate::approval::rows_in_window(&mut Lineage(TxTrail(tx)), &batches, operator, since)
}

/// Who and what a written import is recorded as.
pub(super) struct Written<'a> {
    pub(super) operator: &'a By,
    pub(super) file_name: &'a str,
    pub(super) sha256: String,
    pub(super) corrected: Option<&'a Correction>,
    pub(super) approved_by: Option<&'a By>,
    pub(super) now: i64,
}

/// Writes a plan's creates and updates (timestamps set in the plan itself,
/// so that the plan the caller gets back is exactly what was written), the
/// batch with its before-images, an audit event per user and the batch's
/// head event after them.
pub(super) fn write_plan(
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
                // Its values are the record's: derived when shown, not
                // stored twice (see `crate::audit::derived`).
                events.push(AuditEvent::created_by_import(w.now, w.operator, u));
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
                    ended.push(after.key().clone());
                } else if (before.end_state == EndState::Active
                    && after.end_state == EndState::Inactive)
                    || before.roles != after.roles
                {
                    deactivated.push(after.key().clone());
                }
                (after, Some(before))
            }
            _ => continue,
        };
        user.updated_at = w.now;
        touched.push(Touched {
            key: user.key().clone(),
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
                key: d.after.key().clone(),
                before: Some((*d.before).clone()),
                after_version: Some(d.after.version),
            });
            ended.push(d.after.key().clone());
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
            approved_by: w.approved_by.map(By::to_string),
        },
        touched,
    )?;
    let events = crate::audit::batch::with_head(events, &summary, AuditAction::Import);
    tx.append_audit(events, Some(summary.id))?;
    if let Some(c) = w.corrected {
        tx.put_correction(summary.id, c)?;
    }
    Ok(summary)
}
