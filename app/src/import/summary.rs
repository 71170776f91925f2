//! What the import page keeps of a plan: the counts, the mapping, the
//! fingerprint and the first rows of each table, as plain data. A plan of
//! a million rows stays where it was made (the browser's worker, or the
//! server for an approval request); only this crosses over, so the page
//! never holds, copies or renders every row.

use domain::User;
use domain::plan::{Action, Change, Counts, HeldBack, ImportPlan, PlanHead, PlannedRow};
use domain::store::BatchSummary;
use serde::{Deserialize, Serialize};

/// Rows of each table a summary carries; the full list is in the
/// downloadable preview or results CSV.
pub const SHOWN_ROWS: usize = 1_000;

/// A file's facts that are not in its plan.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    pub file_name: String,
    pub size: u64,
    /// Earlier imports of the same bytes.
    pub earlier: Vec<BatchSummary>,
    /// Cells corrected in the preview so far (then the file is the
    /// corrected one, written by the domain's CSV writer).
    pub corrected_cells: u32,
    /// SHA-256 of the file as it was chosen.
    pub original_sha256: String,
    /// The approval threshold and what the operator wrote within its
    /// window (`None` when no import needs approval).
    pub approval: Option<ApprovalWindow>,
}

/// What counts toward the approval threshold before this import.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalWindow {
    /// Users the operator created + updated within the window.
    pub already: u64,
    /// `import.approval_above`.
    pub above: u64,
    /// `import.approval_window_hours`.
    pub hours: u32,
}

impl ApprovalWindow {
    /// What the preview says about approval for an import that writes
    /// (creates, updates, deactivates) `writing` users; `sync`: it is a
    /// sync, which is never sent for approval.
    pub fn describe(&self, writing: u64, sync: bool) -> String {
        let total = self.already.saturating_add(writing);
        let verdict = match (total > self.above, sync) {
            (false, _) => "not above it: Next writes the import",
            (true, false) => "above it: Next sends the import for approval by a second person",
            (true, true) => {
                "above it: a sync is not sent for approval, so Next will refuse it (the machine's \
                 owner can run it with roster import --sync)"
            }
        };
        format!(
            "Approval threshold {}: you (and accounts made or enrolled by you or by whoever \
             made yours) wrote {} users in the last {} hours; with this import's \
             {} that makes {}, {verdict}.",
            self.above, self.already, self.hours, writing, total
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewSummary {
    pub file: FileFacts,
    /// "UTF-8", "Windows-1252" …
    pub encoding: String,
    /// The delimiter as shown: "," or "TAB".
    pub delimiter: String,
    /// "First Name → first_name, …"
    pub mapped: String,
    pub warnings: Vec<String>,
    pub counts: Counts,
    pub fingerprint: String,
    /// Line, Email, Name, Details.
    pub creates: Vec<Vec<String>>,
    /// Line, Email, Changes, Held back.
    pub updates: Vec<Vec<String>>,
    /// Line, Email, Name, Held back.
    pub unchanged: Vec<Vec<String>>,
    /// Line, Column, Value, Message: one per error (a row can have several).
    pub errors: Vec<Vec<String>>,
    pub error_count: u64,
    /// With "Sync" ticked: who the sync deactivates (the server's answer,
    /// added by the page; the worker plans the rows only).
    #[serde(default)]
    pub sync: Option<super::SyncAnswer>,
}

impl PreviewSummary {
    /// The fingerprint "Next" sends: the rows' plan's, extended by the
    /// sync's part when there is one (as the server makes it).
    pub fn commit_fingerprint(&self) -> String {
        match &self.sync {
            Some(sync) => domain::fingerprint::with_sync_digest(&self.fingerprint, &sync.digest),
            None => self.fingerprint.clone(),
        }
    }

    /// This preview with `sync` as its sync part (`None`: an ordinary
    /// import).
    pub fn with_sync(&self, sync: Option<super::SyncAnswer>) -> PreviewSummary {
        let mut preview = self.clone();
        preview.counts.deactivate = sync.as_ref().map_or(0, |s| s.deactivate);
        preview.sync = sync;
        preview
    }

    pub fn of(plan: &ImportPlan, file: FileFacts) -> PreviewSummary {
        let mut summary = SummaryBuilder::default();
        for row in &plan.rows {
            summary.add(row);
        }
        summary.finish(
            PlanHead {
                encoding: plan.encoding,
                delimiter: plan.delimiter,
                mapped: plan.mapped.clone(),
                warnings: plan.warnings.clone(),
                counts: plan.counts,
                fingerprint: plan.fingerprint.clone(),
            },
            file,
        )
    }
}

/// A summary made row by row, as [`domain::plan::plan_each`] hands the
/// rows out: the worker never holds the whole plan.
#[derive(Default)]
pub struct SummaryBuilder {
    creates: Vec<Vec<String>>,
    updates: Vec<Vec<String>>,
    unchanged: Vec<Vec<String>>,
    errors: Vec<Vec<String>>,
    error_count: u64,
}

impl SummaryBuilder {
    pub fn add(&mut self, r: &PlannedRow) {
        let keep = |table: &mut Vec<Vec<String>>, cells: &dyn Fn() -> Vec<String>| {
            if table.len() < SHOWN_ROWS {
                table.push(cells());
            }
        };
        match &r.action {
            Action::Create(u) => keep(&mut self.creates, &|| {
                vec![
                    r.line.to_string(),
                    u.email.to_string(),
                    u.name(),
                    details(u),
                ]
            }),
            Action::Update { after, changes, .. } => keep(&mut self.updates, &|| {
                vec![
                    r.line.to_string(),
                    after.email.to_string(),
                    Change::describe_all(changes),
                    HeldBack::describe_all(&r.held_back),
                ]
            }),
            Action::Unchanged { email, name, .. } => keep(&mut self.unchanged, &|| {
                vec![
                    r.line.to_string(),
                    email.to_string(),
                    name.clone(),
                    HeldBack::describe_all(&r.held_back),
                ]
            }),
            Action::Invalid { errors, .. } => {
                self.error_count += errors.len() as u64;
                for e in errors {
                    keep(&mut self.errors, &|| {
                        vec![
                            e.line.to_string(),
                            e.column.clone(),
                            e.value.clone(),
                            e.message.clone(),
                        ]
                    });
                }
            }
        }
    }

    pub fn finish(self, head: PlanHead, file: FileFacts) -> PreviewSummary {
        PreviewSummary {
            file,
            encoding: head.encoding.label().to_string(),
            delimiter: match head.delimiter {
                '\t' => "TAB".to_string(),
                d => d.to_string(),
            },
            mapped: head
                .mapped
                .iter()
                .map(|(header, column)| format!("{header} → {column}"))
                .collect::<Vec<_>>()
                .join(", "),
            warnings: head.warnings,
            counts: head.counts,
            fingerprint: head.fingerprint,
            creates: self.creates,
            updates: self.updates,
            unchanged: self.unchanged,
            errors: self.errors,
            error_count: self.error_count,
            sync: None,
        }
    }
}

/// The optional fields a created user gets, "Title: Engineer; …".
fn details(u: &User) -> String {
    domain::Field::ALL
        .into_iter()
        .skip(3)
        .filter_map(|f| {
            let v = u.field(f);
            (!v.is_empty()).then(|| format!("{}: {v}", f.label()))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Actor;
    use domain::plan::{NoUsers, parse_file, plan_parsed};

    fn plan(csv: &str) -> ImportPlan {
        let options = domain::Options::default();
        plan_parsed(
            parse_file(csv.as_bytes(), &options).unwrap(),
            &NoUsers,
            &options,
            Actor::Owner,
        )
    }

    #[test]
    fn a_summary_keeps_the_counts_and_the_first_rows_of_each_table() {
        let mut csv = String::from("email;first_name;last_name;title\n");
        for i in 0..(SHOWN_ROWS + 7) {
            csv.push_str(&format!("u{i}@x.org;U;{i};Eng\n"));
        }
        csv.push_str("not-an-address;A;B;\n");
        let plan = plan(&csv);
        let s = PreviewSummary::of(&plan, FileFacts::default());
        assert_eq!(s.counts.create, SHOWN_ROWS as u64 + 7);
        assert_eq!(s.creates.len(), SHOWN_ROWS);
        assert_eq!(
            s.creates[0],
            vec!["2", "u0@x.org", "U 0", "Display name: U 0; Title: Eng"]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        );
        assert_eq!(s.error_count, 1);
        assert_eq!(s.errors[0][0], (SHOWN_ROWS + 9).to_string());
        assert_eq!(s.delimiter, ";");
        assert_eq!(s.fingerprint, plan.fingerprint);
        assert!(s.mapped.contains("title → title"), "{}", s.mapped);
    }
}
