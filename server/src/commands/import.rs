//! `roster import` (and `--sync`, `--dry-run`): the file planned and, if
//! nothing stops it, written in one transaction; the plan printed as text
//! or JSON; the exit code says how it went.

use super::{EXIT_BAD_FILE, EXIT_INVALID_ROWS, EXIT_OK, EXIT_TOO_MANY_DEACTIVATIONS, fail, now};
use crate::cli::ImportArgs;
use crate::engine::Engine;
use domain::store::AppStore;
use domain::store::{BatchSummary, ImportOutcome, ImportRequest, StoreError};
use domain::usecase::mail::Queued;
use domain::{Actor, ImportPlan};
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;

fn plan_json(plan: &ImportPlan) -> serde_json::Value {
    let mut v = rows_json(plan);
    if let Some(sync) = &plan.sync {
        v["deactivated"] = json!(sync.deactivations.len());
        v["deactivated_users"] = json!(
            sync.deactivations
                .iter()
                .map(|d| d.before.email.as_str())
                .collect::<Vec<_>>()
        );
        v["sync_candidates"] = json!(sync.candidates);
    }
    v
}

fn rows_json(plan: &ImportPlan) -> serde_json::Value {
    json!({
        "encoding": plan.encoding.label(),
        "created": plan.counts.create,
        "updated": plan.counts.update,
        "unchanged": plan.counts.unchanged,
        "invalid": plan.counts.invalid,
        "warnings": plan.warnings,
        "errors": plan.errors().map(|e| json!({
            "line": e.line, "column": e.column, "value": e.value, "message": e.message,
        })).collect::<Vec<_>>(),
    })
}

/// A plan that was not written: JSON with `"committed": false`, or the
/// text report and why nothing was written.
fn print_uncommitted(plan: &ImportPlan, json: bool, why: &str) {
    if json {
        let mut v = plan_json(plan);
        v["committed"] = json!(false);
        println!("{v}");
    } else {
        print_plan_text(plan);
        println!("{why}");
    }
}

fn print_plan_text(plan: &ImportPlan) {
    let c = plan.counts;
    println!(
        "Create {}, Update {}, Unchanged {}, Invalid {}",
        c.create, c.update, c.unchanged, c.invalid
    );
    if let Some(sync) = &plan.sync {
        println!(
            "Deactivate {} (of {} imported users)",
            sync.deactivations.len(),
            sync.candidates
        );
        for d in &sync.deactivations {
            println!("deactivate: {}", d.before.email.as_str());
        }
    }
    for w in &plan.warnings {
        println!("warning: {w}");
    }
    for e in plan.errors() {
        println!(
            "line {}: {}: {} ({:?})",
            e.line, e.column, e.message, e.value
        );
    }
}

/// `mail`: a mail server is configured (`--smtp-url`), so with
/// `enrolment.email_on_import` on the created users' sign-in link mails are
/// queued with the commit, for a server to send.
pub fn import(
    store: Result<Arc<dyn Engine>, StoreError>,
    args: &ImportArgs,
    mail: bool,
) -> ExitCode {
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => {
            let message = format!("cannot read {}: {e}", args.file.display());
            return file_error_exit(args.json, &message);
        }
    };
    let store = match store {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let earlier = reimport_warnings(&*store, &bytes);
    if args.sync {
        return sync_import(&*store, args, &bytes, &file_name, earlier, mail);
    }
    if args.dry_run {
        return match store.preview(&bytes, Actor::Owner) {
            Ok(mut plan) => {
                plan.warnings.extend(earlier);
                if args.json {
                    println!("{}", plan_json(&plan));
                } else {
                    print_plan_text(&plan);
                    println!("Dry run: nothing was written.");
                }
                ExitCode::from(if plan.counts.invalid > 0 {
                    EXIT_INVALID_ROWS
                } else {
                    EXIT_OK
                })
            }
            Err(StoreError::File(e)) => file_error_exit(args.json, &e),
            Err(e) => fail(e),
        };
    }
    let outcome = store.apply_import_mailing(
        ImportRequest {
            bytes: &bytes,
            file_name: &file_name,
            operator: args.operator.clone(),
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: args.skip_invalid,
            corrected: None,
            now: now(),
        },
        None,
        mail,
    );
    let (outcome, mailed) = split_mailed(outcome);
    match outcome {
        Ok(ImportOutcome::Committed { batch, mut plan }) => {
            plan.warnings.extend(earlier);
            print_committed(&plan, batch.id, args.json, mailed.as_ref());
            ExitCode::from(EXIT_OK)
        }
        Ok(ImportOutcome::NothingToWrite { mut plan }) => {
            plan.warnings.extend(earlier);
            print_uncommitted(
                &plan,
                args.json,
                "Nothing to write: no row creates or changes a user.",
            );
            ExitCode::from(EXIT_OK)
        }
        // The command line imports with the owner's authority, which the
        // store does not hold for approval; kept for completeness.
        Ok(ImportOutcome::SentForApproval { request, plan }) => {
            let message = format!(
                "Sent for approval as request {}: nothing was written.",
                request.id
            );
            print_uncommitted(&plan, args.json, &message);
            ExitCode::from(EXIT_OK)
        }
        Ok(ImportOutcome::Blocked { mut plan })
        | Ok(ImportOutcome::ChangedSincePreview { mut plan }) => {
            plan.warnings.extend(earlier);
            print_uncommitted(
                &plan,
                args.json,
                "Nothing was written: fix the invalid rows or use --skip-invalid.",
            );
            ExitCode::from(EXIT_INVALID_ROWS)
        }
        Ok(ImportOutcome::TooManyDeactivations { plan, message }) => {
            too_many_deactivations(&plan, args.json, &message)
        }
        Err(StoreError::File(e)) => file_error_exit(args.json, &e),
        Err(e) => fail(e),
    }
}

fn too_many_deactivations(plan: &ImportPlan, json: bool, message: &str) -> ExitCode {
    if json {
        let mut v = plan_json(plan);
        v["committed"] = json!(false);
        v["refused"] = json!(message);
        println!("{v}");
    } else {
        print_plan_text(plan);
        eprintln!("roster: {message} (--force-deactivate confirms it)");
    }
    ExitCode::from(EXIT_TOO_MANY_DEACTIVATIONS)
}

/// `roster import --sync`: planned (and, unless a dry run, written) in
/// one transaction, with the users the file no longer lists deactivated.
fn sync_import(
    store: &dyn Engine,
    args: &ImportArgs,
    bytes: &[u8],
    file_name: &str,
    earlier: Vec<String>,
    mail: bool,
) -> ExitCode {
    use domain::plan::SyncSettings;
    use domain::store::SyncRequest;
    let sync = SyncRequest {
        settings: SyncSettings {
            scope_organization: args.scope_organization.clone(),
        },
        force: args.force_deactivate,
        dry_run: args.dry_run,
    };
    let outcome = store.apply_import_mailing(
        ImportRequest {
            bytes,
            file_name,
            operator: args.operator.clone(),
            actor: Actor::Owner,
            expected_fingerprint: None,
            skip_invalid: args.skip_invalid || args.dry_run,
            corrected: None,
            now: now(),
        },
        Some(&sync),
        mail,
    );
    let (outcome, mailed) = split_mailed(outcome);
    let invalid_exit = |plan: &ImportPlan| {
        ExitCode::from(if plan.counts.invalid > 0 {
            EXIT_INVALID_ROWS
        } else {
            EXIT_OK
        })
    };
    match outcome {
        Ok(ImportOutcome::NothingToWrite { mut plan }) if args.dry_run => {
            plan.warnings.extend(earlier);
            if args.json {
                println!("{}", plan_json(&plan));
            } else {
                print_plan_text(&plan);
                println!("Dry run: nothing was written.");
            }
            invalid_exit(&plan)
        }
        Ok(ImportOutcome::NothingToWrite { mut plan }) => {
            plan.warnings.extend(earlier);
            print_uncommitted(
                &plan,
                args.json,
                "Nothing to write: no row creates or changes a user and no one is deactivated.",
            );
            ExitCode::from(EXIT_OK)
        }
        Ok(ImportOutcome::Committed { batch, mut plan }) => {
            plan.warnings.extend(earlier);
            print_committed(&plan, batch.id, args.json, mailed.as_ref());
            ExitCode::from(EXIT_OK)
        }
        Ok(ImportOutcome::TooManyDeactivations { mut plan, message }) => {
            plan.warnings.extend(earlier);
            too_many_deactivations(&plan, args.json, &message)
        }
        Ok(ImportOutcome::SentForApproval { plan, .. })
        | Ok(ImportOutcome::Blocked { plan })
        | Ok(ImportOutcome::ChangedSincePreview { plan }) => {
            print_uncommitted(
                &plan,
                args.json,
                "Nothing was written: fix the invalid rows or use --skip-invalid.",
            );
            ExitCode::from(EXIT_INVALID_ROWS)
        }
        Err(StoreError::File(e)) => file_error_exit(args.json, &e),
        Err(e) => fail(e),
    }
}

/// "Already imported" warnings: earlier batches of a file with the same
/// SHA-256.
fn reimport_warnings(store: &dyn AppStore, bytes: &[u8]) -> Vec<String> {
    let sha = domain::store::sha256_hex(bytes);
    store
        .batches_with_hash(&sha)
        .unwrap_or_default()
        .iter()
        .map(BatchSummary::reimport_warning)
        .collect()
}

fn file_error_exit(json: bool, e: &dyn std::fmt::Display) -> ExitCode {
    if json {
        println!("{}", json!({ "error": e.to_string() }));
    } else {
        eprintln!("roster: {e}");
    }
    ExitCode::from(EXIT_BAD_FILE)
}

/// What `roster import` prints for a committed import.
/// The outcome, and the sign-in link mails its commit queued.
fn split_mailed(
    outcome: Result<(ImportOutcome, Option<Queued>), StoreError>,
) -> (Result<ImportOutcome, StoreError>, Option<Queued>) {
    match outcome {
        Ok((outcome, mailed)) => (Ok(outcome), mailed),
        Err(e) => (Err(e), None),
    }
}

/// A committed import; with the mails it queued (`enrolment.email_on_import`
/// and a mail server set), their count and the users left out.
fn print_committed(plan: &domain::ImportPlan, batch: u64, json: bool, mailed: Option<&Queued>) {
    if json {
        let mut v = plan_json(plan);
        v["batch"] = json!(batch);
        v["committed"] = json!(true);
        if let Some(q) = mailed {
            v["mails_queued"] = json!(q.queued);
            v["mails_left_out"] = json!(
                q.left_out
                    .iter()
                    .map(|(who, why)| json!({"email": who, "reason": why}))
                    .collect::<Vec<_>>()
            );
        }
        println!("{v}");
    } else {
        print_plan_text(plan);
        if plan.counts.invalid > 0 {
            println!("Skipped {} invalid rows.", plan.counts.invalid);
        }
        let mailed = mailed.map(|q| q.sentence()).unwrap_or_default();
        println!("Committed as batch {batch}.{mailed}");
    }
}
