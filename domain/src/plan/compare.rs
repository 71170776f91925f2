//! A parsed file compared with the stored users: each row planned, the
//! update rule, the fingerprint.

use super::{
    Action, Counts, ExistingUsers, HeldBack, ImportPlan, ParsedFile, PlannedRow, diff,
    end_state_after_import, roles_after_import,
};
use crate::chars::shown;
use crate::decode::TextEncoding;
use crate::email::Email;
use crate::error::{ErrorCode, RowError};
use crate::field::Field;
use crate::fingerprint::Fingerprint;
use crate::options::Options;
use crate::patch::ProfilePatch;
use crate::privilege::{self, Act, Actor};
use crate::user::{Source, User};

/// Compares validated rows with the stored users and applies the options:
/// created and updated users get the option roles (added, never removed),
/// the option end state and Source = CSV. A blank optional cell keeps the
/// stored value. Timestamps are left for the store to set.
///
/// A row the `actor` may not apply (the privilege rule: e.g. an operator's
/// row for an administrator) is Invalid, shown like any other invalid row.
pub fn plan_parsed(
    parsed: ParsedFile,
    existing: &dyn ExistingUsers,
    options: &Options,
    actor: Actor,
) -> ImportPlan {
    let mut rows = Vec::with_capacity(parsed.rows.len());
    let head = plan_each(parsed, existing, options, actor, &mut |row| rows.push(row));
    ImportPlan {
        encoding: head.encoding,
        delimiter: head.delimiter,
        mapped: head.mapped,
        warnings: head.warnings,
        rows,
        counts: head.counts,
        fingerprint: head.fingerprint,
        sync: None,
    }
}

/// Everything of a plan but its rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanHead {
    pub encoding: TextEncoding,
    pub delimiter: char,
    pub mapped: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub counts: Counts,
    pub fingerprint: String,
}

/// [`plan_parsed`], handing each planned row to `each` instead of
/// collecting them: a caller that keeps only part of every row (the
/// browser's worker, for a million rows) never holds the whole plan. The
/// rows come in file order; the fingerprint is the same.
pub fn plan_each(
    parsed: ParsedFile,
    existing: &dyn ExistingUsers,
    options: &Options,
    actor: Actor,
    each: &mut dyn FnMut(PlannedRow),
) -> PlanHead {
    let mut counts = Counts::default();
    let mut fingerprint = Fingerprint::default();
    let mut emit = |row: PlannedRow| {
        fingerprint.add(&row);
        each(row);
    };
    for row in parsed.rows {
        let line = row.line;
        let email = match row.email {
            Some(e) if row.errors.is_empty() => e,
            email => {
                counts.invalid += 1;
                emit(PlannedRow {
                    line,
                    action: Action::Invalid {
                        email: email
                            .map(|e| e.as_str().to_string())
                            .unwrap_or(row.raw_email),
                        errors: row.errors,
                    },
                    held_back: Vec::new(),
                });
                continue;
            }
        };
        let stored = existing.get(email.key());
        let roles_after = stored.map_or(options.roles, |u| roles_after_import(u, options));
        if let Err(refusal) = privilege::check(
            actor,
            Act::Change,
            stored.map(|u| u.roles),
            Some(roles_after),
        ) {
            counts.invalid += 1;
            emit(PlannedRow {
                line,
                action: Action::Invalid {
                    email: email.as_str().to_string(),
                    errors: vec![RowError {
                        line,
                        column: Field::Email.column().into(),
                        value: email.as_str().to_string(),
                        code: ErrorCode::NotAllowed,
                        message: refusal.to_string(),
                    }],
                },
                held_back: Vec::new(),
            });
            continue;
        }
        let action = match stored {
            None => {
                let mut profile = row.patch.into_profile();
                profile.derive_display_name();
                counts.create += 1;
                Action::Create(Box::new(User {
                    email,
                    profile,
                    roles: options.roles,
                    end_state: options.end_state,
                    source: Source::Csv,
                    created_at: 0,
                    updated_at: 0,
                    version: 1,
                    held: Default::default(),
                }))
            }
            Some(before) => match updated(before, &email, &row.patch, options) {
                None => {
                    counts.unchanged += 1;
                    Action::Unchanged {
                        email,
                        name: before.name(),
                        version: before.version,
                    }
                }
                Some(after) => {
                    counts.update += 1;
                    Action::Update {
                        changes: diff(before, &after),
                        before: Box::new(before.clone()),
                        after,
                    }
                }
            },
        };
        let held_back = stored.map_or_else(Vec::new, |u| HeldBack::of(u, options));
        emit(PlannedRow {
            line,
            action,
            held_back,
        });
    }
    let mapped = Field::ALL
        .into_iter()
        .filter_map(|f| {
            parsed.columns.column_of(f).map(|i| {
                let header = shown(&parsed.columns.headers[i], 80).into_owned();
                (header, f.column().to_string())
            })
        })
        .collect();
    PlanHead {
        encoding: parsed.encoding,
        delimiter: parsed.delimiter as char,
        mapped,
        warnings: parsed.warnings,
        counts,
        fingerprint: fingerprint.finish(),
    }
}

/// The update rule, in one place: what a row makes of the stored user —
/// the row's values (a blank cell keeps the stored one), the email as the
/// file spells it, the options' roles added (never removed), their end
/// state, Source = CSV, the next version — or `None` when that changes
/// nothing. Most re-imported rows change nothing: that is found out
/// without copying the stored user.
fn updated(
    before: &User,
    email: &Email,
    patch: &ProfilePatch,
    options: &Options,
) -> Option<Box<User>> {
    let roles = roles_after_import(before, options);
    let end_state = end_state_after_import(before, options);
    let differs = before.email.as_str() != email.as_str()
        || roles != before.roles
        || before.end_state != end_state
        || before.source != Source::Csv
        || patch.changes(&before.profile);
    if !differs {
        return None;
    }
    // Built field by field: cloning `before` would copy a profile only to
    // replace it.
    Some(Box::new(User {
        email: email.clone(),
        profile: patch.applied_to(&before.profile),
        roles,
        end_state,
        source: Source::Csv,
        created_at: before.created_at,
        updated_at: before.updated_at,
        version: before.version + 1,
        held: before.held.clone(),
    }))
}
