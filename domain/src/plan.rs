//! The import plan: what a users CSV would do to the store.
//!
//! The stages, one file each: `decode` (bytes → text) → `header` (columns)
//! → `rows` (`parse_file`: cells validated, duplicates marked) → `plan`
//! (`plan_parsed`: each valid row compared with the stored user of the same
//! key, the options and the privilege rule applied) → `fingerprint`. The
//! browser runs them for the preview and the server runs them again inside
//! its write transaction: equal fingerprints mean both saw the same thing.
//!
//! Most of this file is its tests: the whole pipeline, tested through
//! `plan`, with property tests for its invariants.

pub use crate::rows::{
    LISTED_WARNINGS, MAX_COLUMNS, PROGRESS_ROWS, ParsedFile, ParsedRow, parse_file,
    parse_file_with_progress,
};

use crate::chars::shown;
use crate::decode::TextEncoding;
use crate::email::Email;
use crate::error::{ErrorCode, FileError, RowError};
use crate::field::Field;
use crate::fingerprint::Fingerprint;
use crate::options::Options;
use crate::patch::ProfilePatch;
use crate::privilege::{self, Act, Actor};
use crate::user::{Decided, EndState, Profile, Roles, Source, User};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One field (or roles, end state, source) that an update changes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Canonical column name, or `roles`, `end_state`, `source`.
    pub field: String,
    pub old: String,
    pub new: String,
}

impl Change {
    /// The changed field as a form labels it ("Title", "End state").
    pub fn label(&self) -> &str {
        match self.field.as_str() {
            "roles" => "Roles",
            "end_state" => "End state",
            "source" => "Source",
            column => crate::field::Field::from_column(column)
                .map(|f| f.label())
                .unwrap_or(column),
        }
    }

    /// "Title: Engineer → Manager", as a form's confirmation shows it.
    pub fn describe(&self) -> String {
        let show = |v: &str| {
            if v.is_empty() {
                "(blank)".to_string()
            } else {
                v.to_string()
            }
        };
        format!(
            "{}: {} → {}",
            self.label(),
            show(&self.old),
            show(&self.new)
        )
    }

    /// "title: Engineer → Manager; phone: (blank) → +41 1", as previews
    /// and histories show a change.
    pub fn describe_all(changes: &[Change]) -> String {
        let show = |v: &str| {
            if v.is_empty() {
                "(blank)".to_string()
            } else {
                v.to_string()
            }
        };
        changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.field, show(&c.old), show(&c.new)))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// What a row does.
// Users are boxed: rows stay small (a Vec of 100k rows is moved and
// dropped as a whole), which measured faster than inline users.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    Create(Box<User>),
    Update {
        before: Box<User>,
        after: Box<User>,
        changes: Vec<Change>,
    },
    /// The stored user already matches the row: its email, name and the
    /// stored version the plan was made against.
    Unchanged {
        email: Email,
        name: String,
        version: u64,
    },
    Invalid {
        email: String,
        errors: Vec<RowError>,
    },
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Update { .. } => "update",
            Action::Unchanged { .. } => "unchanged",
            Action::Invalid { .. } => "invalid",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRow {
    pub line: u64,
    pub action: Action,
    /// What the import would have changed but a person's decision holds
    /// back (empty for most rows).
    pub held_back: Vec<HeldBack>,
}

/// A change an import does not make because a person decided otherwise.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeldBack {
    /// Deactivated by a person: the import leaves the user inactive.
    StaysInactive(Decided),
    /// Roles an administrator removed: the import does not add them.
    RolesWithheld(Roles),
}

impl HeldBack {
    /// As the preview and the result say it.
    pub fn describe(&self) -> String {
        match self {
            HeldBack::StaysInactive(d) => format!(
                "stays inactive (deactivated by {} on {})",
                d.by,
                crate::time::rfc3339(d.at)
            ),
            HeldBack::RolesWithheld(roles) => format!("role withheld: {roles}"),
        }
    }

    /// What the import holds back for `before`: a person's deactivation
    /// when the import would activate, roles an administrator removed
    /// that the import would add.
    pub fn of(before: &User, options: &Options) -> Vec<HeldBack> {
        let mut out = Vec::new();
        if let Some(d) = &before.held.deactivated_by
            && options.end_state == EndState::Active
        {
            out.push(HeldBack::StaysInactive(d.clone()));
        }
        let withheld = options
            .roles
            .without(before.roles)
            .both(before.held.withheld_roles);
        if !withheld.is_empty() {
            out.push(HeldBack::RolesWithheld(withheld));
        }
        out
    }

    /// Every note of a row, joined ("" when none).
    pub fn describe_all(held: &[HeldBack]) -> String {
        held.iter()
            .map(HeldBack::describe)
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The roles an import leaves `before` with: the options' roles added,
/// but not those an administrator took away.
pub fn roles_after_import(before: &User, options: &Options) -> Roles {
    before
        .roles
        .union(options.roles.without(before.held.withheld_roles))
}

/// The end state an import leaves `before` in: the options' end state,
/// unless a person deactivated the user.
pub fn end_state_after_import(before: &User, options: &Options) -> EndState {
    if before.held.deactivated_by.is_some() {
        before.end_state
    } else {
        options.end_state
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: u64,
    pub update: u64,
    pub unchanged: u64,
    pub invalid: u64,
    /// Users a sync deactivates (not rows of the file). Not serialised:
    /// counts are part of stored batches and approval requests, whose
    /// layout stays as it is; a batch's deactivations are its audit events
    /// and before-images.
    #[serde(skip)]
    pub deactivate: u64,
}

impl Counts {
    /// The file's rows (deactivations are not rows).
    pub fn total(&self) -> u64 {
        self.create + self.update + self.unchanged + self.invalid
    }

    /// Users the plan writes: created, updated and deactivated.
    pub fn writes(&self) -> u64 {
        self.create + self.update + self.deactivate
    }
}

/// The whole plan of an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan {
    pub encoding: TextEncoding,
    /// The delimiter, as a character.
    pub delimiter: char,
    /// (header as found, canonical column) for every used column.
    pub mapped: Vec<(String, String)>,
    pub warnings: Vec<String>,
    pub rows: Vec<PlannedRow>,
    pub counts: Counts,
    /// SHA-256 over what the plan would write and what it was based on
    /// (stored versions): equal fingerprints mean equal plans.
    pub fingerprint: String,
    /// A sync's deactivations (`None` for an ordinary import).
    #[serde(default)]
    pub sync: Option<SyncPlan>,
}

impl ImportPlan {
    pub fn creates(&self) -> impl Iterator<Item = (u64, &User)> {
        self.rows.iter().filter_map(|r| match &r.action {
            Action::Create(u) => Some((r.line, &**u)),
            _ => None,
        })
    }

    pub fn updates(&self) -> impl Iterator<Item = (u64, &User, &User, &[Change])> {
        self.rows.iter().filter_map(|r| match &r.action {
            Action::Update {
                before,
                after,
                changes,
            } => Some((r.line, &**before, &**after, changes.as_slice())),
            _ => None,
        })
    }

    pub fn invalid(&self) -> impl Iterator<Item = (u64, &str, &[RowError])> {
        self.rows.iter().filter_map(|r| match &r.action {
            Action::Invalid { email, errors } => Some((r.line, email.as_str(), errors.as_slice())),
            _ => None,
        })
    }

    /// Every row error, in file order.
    pub fn errors(&self) -> impl Iterator<Item = &RowError> {
        self.invalid().flat_map(|(_, _, e)| e.iter())
    }
}

/// The stored users a plan is compared with.
pub trait ExistingUsers {
    fn get(&self, key: &str) -> Option<&User>;
}

impl<S: std::hash::BuildHasher> ExistingUsers for HashMap<String, User, S> {
    fn get(&self, key: &str) -> Option<&User> {
        HashMap::get(self, key)
    }
}

/// No stored users (a fresh store).
pub struct NoUsers;

impl ExistingUsers for NoUsers {
    fn get(&self, _: &str) -> Option<&User> {
        None
    }
}

/// The differences between two versions of a user, field by field, then
/// roles, end state and source.
pub fn diff(before: &User, after: &User) -> Vec<Change> {
    let mut changes = Vec::new();
    for field in Field::ALL {
        let (old, new) = (before.field(field), after.field(field));
        if old != new {
            changes.push(Change {
                field: field.column().into(),
                old: old.into(),
                new: new.into(),
            });
        }
    }
    if before.roles != after.roles {
        changes.push(Change {
            field: "roles".into(),
            old: before.roles.to_string(),
            new: after.roles.to_string(),
        });
    }
    if before.end_state != after.end_state {
        changes.push(Change {
            field: "end_state".into(),
            old: before.end_state.to_string(),
            new: after.end_state.to_string(),
        });
    }
    if before.source != after.source {
        changes.push(Change {
            field: "source".into(),
            old: before.source.to_string(),
            new: after.source.to_string(),
        });
    }
    changes
}

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
                let mut profile = Profile::default();
                row.patch.apply(&mut profile);
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
            Some(before) => match updated(before, &email, row.patch, options) {
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
    patch: ProfilePatch,
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
    let mut after = Box::new(before.clone());
    after.email = email.clone();
    patch.apply(&mut after.profile);
    after.roles = roles;
    after.end_state = end_state;
    after.source = Source::Csv;
    after.version = before.version + 1;
    Some(after)
}

/// What a sync import is asked to do beyond the file's rows: deactivate
/// the stored users the file no longer lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncSettings {
    /// Only users of this organization are candidates (compared trimmed,
    /// in any letter case); `None`: every organization.
    pub scope_organization: Option<String>,
}

impl SyncSettings {
    /// The scope as stores filter by it: trimmed, `None` when blank.
    pub fn scope(&self) -> Option<&str> {
        self.scope_organization
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// Whether a stored user is a candidate of this sync, whether or not
    /// the file lists it: imported (Source = CSV, never Manual or
    /// Bootstrap), active, in the scope, and one the actor may change
    /// (an operator's sync never touches an administrator).
    pub fn is_candidate(&self, user: &User, actor: Actor) -> bool {
        user.source == Source::Csv
            && user.end_state == EndState::Active
            && self.scope().is_none_or(|scope| {
                user.profile
                    .organization
                    .trim()
                    .to_lowercase()
                    .eq(&scope.to_lowercase())
            })
            && privilege::check(actor, Act::Change, Some(user.roles), Some(user.roles)).is_ok()
    }
}

/// One user a sync deactivates: as stored, and as it will be written
/// (inactive, next version; a sync is not a person's decision, so
/// `held.deactivated_by` stays unset and a later file re-activates the
/// user).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deactivation {
    pub before: Box<User>,
    pub after: Box<User>,
}

/// The sync part of a plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPlan {
    pub settings: SyncSettings,
    /// The candidates, in the file or not: the base of the safety valve's
    /// percentage.
    pub candidates: u64,
    /// The candidates the file does not list, by key.
    pub deactivations: Vec<Deactivation>,
}

impl SyncPlan {
    /// The share of the candidates deactivated, in whole percent
    /// (rounded to nearest).
    pub fn percent(&self) -> u64 {
        let n = self.deactivations.len() as u64;
        if self.candidates == 0 {
            0
        } else {
            (n.saturating_mul(200) + self.candidates) / (2 * self.candidates)
        }
    }

    /// Why the safety valve refuses this sync (more than
    /// `import.sync_max_deactivate_percent` of the candidates), or `None`.
    pub fn refusal(&self, options: &Options) -> Option<String> {
        let n = self.deactivations.len() as u64;
        let max = u64::from(options.sync_max_deactivate_percent);
        if n == 0 || n.saturating_mul(100) <= max.saturating_mul(self.candidates) {
            return None;
        }
        Some(format!(
            "This sync would deactivate {n} of {} users ({}%); at most {max}% may be \
             deactivated at once ({}). Check that the file is complete; an administrator may \
             confirm it anyway. Nothing was written.",
            self.candidates,
            self.percent(),
            crate::options::SYNC_MAX_DEACTIVATE_PERCENT,
        ))
    }
}

/// Adds a sync to a plan: every candidate among `stored` (see
/// [`SyncSettings::is_candidate`]) whose key the file does not hold —
/// valid row or not: a row with a mistake in it never deactivates its
/// user — is deactivated. `stored` may hold more users than the
/// candidates (the store filters by source and end state; the rule is
/// applied here). The fingerprint then covers the deactivations and the
/// stored versions they were planned against.
pub fn add_sync(
    plan: &mut ImportPlan,
    in_file: &dyn Fn(&str) -> bool,
    stored: Vec<User>,
    settings: &SyncSettings,
    actor: Actor,
) {
    let sync = plan_sync(in_file, stored, settings, actor);
    plan.counts.deactivate = sync.deactivations.len() as u64;
    plan.fingerprint = crate::fingerprint::with_sync(&plan.fingerprint, &sync);
    plan.sync = Some(sync);
}

/// The sync part of a plan on its own (see [`add_sync`]): what the
/// preview of a sync asks the server for, the rows being planned in the
/// browser.
pub fn plan_sync(
    in_file: &dyn Fn(&str) -> bool,
    stored: Vec<User>,
    settings: &SyncSettings,
    actor: Actor,
) -> SyncPlan {
    let mut candidates = 0u64;
    let mut deactivations = Vec::new();
    for user in stored {
        if !settings.is_candidate(&user, actor) {
            continue;
        }
        candidates += 1;
        if in_file(user.key().as_str()) {
            continue;
        }
        let mut after = Box::new(user.clone());
        after.end_state = EndState::Inactive;
        after.version = user.version + 1;
        deactivations.push(Deactivation {
            before: Box::new(user),
            after,
        });
    }
    deactivations.sort_by(|a, b| a.before.key().cmp(b.before.key()));
    SyncPlan {
        settings: settings.clone(),
        candidates,
        deactivations,
    }
}

/// Decodes, validates and plans a file in one call.
pub fn plan(
    bytes: &[u8],
    existing: &dyn ExistingUsers,
    options: &Options,
    actor: Actor,
) -> Result<ImportPlan, FileError> {
    Ok(plan_parsed(
        parse_file(bytes, options)?,
        existing,
        options,
        actor,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options;
    use crate::user::{EndState, Role, Roles};
    use proptest::prelude::*;

    const HEAD: &str = "email,first_name,last_name,display_name,phone,mobile,employee_number,title,department,organization\n";

    fn opts() -> Options {
        Options::default()
    }

    fn plan_str(csv: &str, existing: &HashMap<String, User>) -> ImportPlan {
        plan(csv.as_bytes(), existing, &opts(), crate::Actor::Owner).unwrap()
    }

    /// The users a plan would leave in the store.
    fn apply(plan: &ImportPlan, store: &mut HashMap<String, User>) {
        for row in &plan.rows {
            match &row.action {
                Action::Create(u) | Action::Update { after: u, .. } => {
                    store.insert(u.key().to_string(), (**u).clone());
                }
                _ => {}
            }
        }
    }

    fn existing_ada() -> HashMap<String, User> {
        let mut store = HashMap::new();
        apply(
            &plan_str(
                &format!(
                    "{HEAD}ada@example.com,Ada,Lovelace,,+44 1,,E1,Countess,Math,Analytical\n"
                ),
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
        assert_eq!(u.profile.display_name, "Ada Lovelace");
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
        assert_eq!(after.profile.phone, "+44 1");
        assert_eq!(after.profile.department, "Math");
        assert_eq!(after.version, before.version + 1);
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["email", "title"]);
        assert_eq!(changes[1].old, "Countess");
        assert_eq!(changes[1].new, "Engineer");
    }

    #[test]
    fn reimport_is_unchanged() {
        let csv =
            format!("{HEAD}ada@example.com,Ada,Lovelace,,+44 1,,E1,Countess,Math,Analytical\n");
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
        assert_eq!(u.profile.first_name, "Zoë");
        assert_eq!(u.profile.mobile, "+49 170 1");
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
        assert_eq!(p.creates().next().unwrap().1.profile.last_name, "Müller");
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
        assert_eq!(u.profile.first_name, "=A");
        assert_eq!(u.profile.phone, "+41 1");
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

    fn stored(email: &str, org: &str, source: Source, roles: Roles) -> User {
        let mut u = plan_str(&format!("{HEAD}{email},F,L,,,,,,,{org}\n"), &HashMap::new())
            .creates()
            .next()
            .unwrap()
            .1
            .clone();
        u.source = source;
        u.roles = roles;
        u.version = 3;
        u
    }

    fn sync_of(csv: &str, users: &[User], scope: Option<&str>, actor: crate::Actor) -> ImportPlan {
        let store: HashMap<String, User> = users
            .iter()
            .map(|u| (u.key().to_string(), u.clone()))
            .collect();
        let parsed = parse_file(csv.as_bytes(), &opts()).unwrap();
        let in_file: std::collections::HashSet<String> = parsed
            .keys()
            .iter()
            .map(|k| k.as_str().to_string())
            .collect();
        let mut p = plan_parsed(parsed, &store, &opts(), actor);
        add_sync(
            &mut p,
            &|k| in_file.contains(k),
            users.to_vec(),
            &SyncSettings {
                scope_organization: scope.map(str::to_string),
            },
            actor,
        );
        p
    }

    fn gone(p: &ImportPlan) -> Vec<&str> {
        p.sync
            .as_ref()
            .unwrap()
            .deactivations
            .iter()
            .map(|d| d.before.email.as_str())
            .collect()
    }

    #[test]
    fn a_sync_deactivates_imported_users_missing_from_the_file() {
        let staff = Roles::of(&[Role::SelfService]);
        let mut inactive = stored("i@x.org", "Acme", Source::Csv, staff);
        inactive.end_state = EndState::Inactive;
        let users = [
            stored("b@x.org", "Acme", Source::Csv, staff),
            stored("a@x.org", "Acme", Source::Csv, staff),
            stored("c@x.org", "Beta", Source::Csv, staff),
            stored("m@x.org", "Acme", Source::Manual, staff),
            stored(
                "r@x.org",
                "Acme",
                Source::Bootstrap,
                Roles::of(&[Role::Admin]),
            ),
            stored("z@x.org", "Acme", Source::Csv, Roles::of(&[Role::Admin])),
            stored("bad@x.org", "Acme", Source::Csv, staff),
            inactive,
        ];
        // A row with a mistake still names its user: not deactivated.
        let csv = format!("{HEAD}x@x.org,X,X,,,,,,,\nbad@x.org,,,,,,,,,\n");
        let operator = crate::Actor::User(Roles::of(&[Role::Operator]));
        let p = sync_of(&csv, &users, None, operator);
        assert_eq!(gone(&p), ["a@x.org", "b@x.org", "c@x.org"]);
        assert_eq!(p.sync.as_ref().unwrap().candidates, 4);
        assert_eq!(p.counts.deactivate, 3);
        assert_eq!(p.counts.writes(), 4, "x@x.org is created");
        let d = &p.sync.as_ref().unwrap().deactivations[0];
        assert_eq!(d.after.end_state, EndState::Inactive);
        assert_eq!(d.after.version, 4);
        assert!(d.after.held.deactivated_by.is_none());
        // An administrator's sync reaches imported administrators; never
        // manual or bootstrap users.
        let admin = crate::Actor::User(Roles::of(&[Role::Admin]));
        assert_eq!(
            gone(&sync_of(&csv, &users, None, admin)),
            ["a@x.org", "b@x.org", "c@x.org", "z@x.org"]
        );
        // The scope, in any case and spacing.
        assert_eq!(
            gone(&sync_of(&csv, &users, Some(" beta"), operator)),
            ["c@x.org"]
        );
        // The deactivations are part of the fingerprint.
        let plain = plan_str(&csv, &HashMap::new()).fingerprint;
        assert_ne!(p.fingerprint, plan_str(&csv, &HashMap::new()).fingerprint);
        assert_eq!(plain, plan_str(&csv, &HashMap::new()).fingerprint);
        let mut edited = users.clone();
        edited[0].version += 1;
        assert_ne!(
            p.fingerprint,
            sync_of(&csv, &edited, None, operator).fingerprint
        );
        assert_eq!(
            p.fingerprint,
            sync_of(&csv, &users, None, operator).fingerprint
        );
    }

    #[test]
    fn the_browser_makes_a_syncs_fingerprint_as_the_server_does() {
        // The browser plans the rows itself and asks the server for the
        // sync part only (`plan_sync`, its digest); the two together must
        // be the fingerprint the server's whole plan has.
        let staff = Roles::of(&[Role::SelfService]);
        let users = [
            stored("a@x.org", "Acme", Source::Csv, staff),
            stored("b@x.org", "Acme", Source::Csv, staff),
        ];
        let csv = format!("{HEAD}a@x.org,A,A,,,,,,,\nn@x.org,N,N,,,,,,,\n");
        let operator = crate::Actor::User(Roles::of(&[Role::Operator]));
        let server = sync_of(&csv, &users, Some("acme"), operator);
        let store: HashMap<String, User> = users
            .iter()
            .map(|u| (u.key().to_string(), u.clone()))
            .collect();
        let parsed = parse_file(csv.as_bytes(), &opts()).unwrap();
        let keys: Vec<String> = parsed.keys().iter().map(|k| k.to_string()).collect();
        let rows = plan_parsed(parsed, &store, &opts(), operator).fingerprint;
        let part = plan_sync(
            &|k| keys.iter().any(|f| f == k),
            users.to_vec(),
            &SyncSettings {
                scope_organization: Some("acme".into()),
            },
            operator,
        );
        assert_eq!(part.deactivations.len(), 1);
        assert_eq!(
            crate::fingerprint::with_sync_digest(&rows, &crate::fingerprint::sync_digest(&part)),
            server.fingerprint
        );
        assert_ne!(rows, server.fingerprint);
    }

    #[test]
    fn the_valve_passes_its_share_and_refuses_one_more() {
        let staff = Roles::of(&[Role::SelfService]);
        let users: Vec<User> = (0..20)
            .map(|i| stored(&format!("u{i:02}@x.org"), "", Source::Csv, staff))
            .collect();
        let listing = |from: usize| {
            let body: String = users[from..]
                .iter()
                .map(|u| format!("{},F,L,,,,,,,\n", u.email.as_str()))
                .collect();
            format!("{HEAD}{body}")
        };
        let o = opts();
        assert_eq!(o.sync_max_deactivate_percent, 10);
        let two = sync_of(&listing(2), &users, None, crate::Actor::Owner);
        assert_eq!(
            two.sync.as_ref().unwrap().refusal(&o),
            None,
            "2 of 20 = 10%"
        );
        let three = sync_of(&listing(3), &users, None, crate::Actor::Owner);
        assert_eq!(
            three.sync.as_ref().unwrap().refusal(&o).unwrap(),
            "This sync would deactivate 3 of 20 users (15%); at most 10% may be deactivated \
             at once (import.sync_max_deactivate_percent). Check that the file is complete; \
             an administrator may confirm it anyway. Nothing was written."
        );
        let none = sync_of(&listing(0), &users, None, crate::Actor::Owner);
        assert_eq!(none.sync.as_ref().unwrap().refusal(&o), None);
        let mut zero = opts();
        zero.set(options::SYNC_MAX_DEACTIVATE_PERCENT, "0").unwrap();
        assert!(two.sync.as_ref().unwrap().refusal(&zero).is_some());
        assert!(
            zero.set(options::SYNC_MAX_DEACTIVATE_PERCENT, "101")
                .is_err()
        );
        assert!(crate::usecase::may_force(crate::Actor::Owner));
        assert!(crate::usecase::may_force(crate::Actor::User(Roles::of(&[
            Role::Admin
        ]))));
        assert!(!crate::usecase::may_force(crate::Actor::User(Roles::of(
            &[Role::Operator]
        ))));
    }

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
}
