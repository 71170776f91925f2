//! CSV writers: the template, the users export and the import results.
//! Every cell is formula-safe (OWASP: a cell starting with `= + - @` TAB or
//! CR gets a leading `'`) and quoted per RFC 4180 when needed.

use crate::field::Field;
use crate::plan::{Action, ImportPlan, PlannedRow};
use crate::time::rfc3339;
use crate::user::User;
use std::borrow::Cow;

/// Neutralises a cell that a spreadsheet would run as a formula.
pub fn formula_safe(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// The one CSV writer of the exports: CRLF, every cell formula-safe.
struct SafeCsv(csv::Writer<Vec<u8>>);

impl SafeCsv {
    fn new() -> SafeCsv {
        SafeCsv(
            csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new()),
        )
    }

    fn row(&mut self, cells: &[Cow<'_, str>]) {
        // Writing to a Vec cannot fail.
        for cell in cells {
            let _ = self.0.write_field(formula_safe(cell).as_bytes());
        }
        let _ = self.0.write_record(None::<&[u8]>);
    }

    fn finish(self) -> String {
        String::from_utf8(self.0.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

fn write_rows<'a>(rows: impl IntoIterator<Item = Vec<Cow<'a, str>>>) -> String {
    let mut csv = SafeCsv::new();
    for row in rows {
        csv.row(&row);
    }
    csv.finish()
}

/// The downloadable template: the canonical header row.
pub fn template() -> String {
    write_rows([Field::ALL
        .iter()
        .map(|f| Cow::Borrowed(f.column()))
        .collect()])
}

/// Extra columns of the users export, after the canonical ones.
pub const EXPORT_EXTRA: [&str; 5] = ["end_state", "roles", "source", "created_at", "updated_at"];

/// All users as CSV: the canonical columns, then end state, roles, source,
/// created and updated times (RFC 3339 UTC). Re-importable as it is.
pub fn users_csv<'a>(users: impl IntoIterator<Item = &'a User>) -> String {
    let header: Vec<Cow<str>> = Field::ALL
        .iter()
        .map(|f| f.column())
        .chain(EXPORT_EXTRA)
        .map(Cow::Borrowed)
        .collect();
    let rows = users.into_iter().map(|u| {
        let mut row: Vec<Cow<str>> = Field::ALL
            .iter()
            .map(|f| Cow::Borrowed(u.field(*f)))
            .collect();
        row.push(Cow::Borrowed(u.end_state.key()));
        row.push(Cow::Owned(u.roles.to_keys()));
        row.push(Cow::Borrowed(u.source.key()));
        row.push(Cow::Owned(rfc3339(u.created_at)));
        row.push(Cow::Owned(rfc3339(u.updated_at)));
        row
    });
    write_rows(std::iter::once(header).chain(rows))
}

/// Audit events as CSV (formula-safe): id, time (RFC 3339 UTC), actor,
/// target, action, batch and the changes ("field: old → new; …").
pub fn audit_csv<'a>(events: impl IntoIterator<Item = &'a crate::audit::AuditEvent>) -> String {
    let header = ["id", "at", "actor", "target", "action", "batch", "changes"]
        .map(Cow::Borrowed)
        .to_vec();
    let rows = events.into_iter().map(|e| {
        vec![
            Cow::Owned(e.id.to_string()),
            Cow::Owned(rfc3339(e.at)),
            Cow::Borrowed(e.actor.as_str()),
            Cow::Borrowed(e.target.as_str()),
            Cow::Borrowed(e.action.label()),
            Cow::Owned(e.batch.map(|b| b.to_string()).unwrap_or_default()),
            Cow::Owned(crate::plan::Change::describe_all(&e.changes)),
        ]
    });
    write_rows(std::iter::once(header).chain(rows))
}

/// The results of an import, one row per data row: line, email, action
/// (created, updated, unchanged, invalid or skipped), changed fields and
/// messages. `committed` says whether the plan was written.
pub fn results_csv(plan: &ImportPlan, committed: bool) -> String {
    let mut csv = ResultsCsv::new(committed);
    for row in &plan.rows {
        csv.add(row);
    }
    csv.finish()
}

/// [`results_csv`] written row by row, for a caller that does not keep the
/// plan (the browser's worker).
pub struct ResultsCsv {
    csv: SafeCsv,
    committed: bool,
}

impl ResultsCsv {
    pub fn new(committed: bool) -> ResultsCsv {
        let mut csv = SafeCsv::new();
        csv.row(&["line", "email", "action", "changed_fields", "message"].map(Cow::Borrowed));
        ResultsCsv { csv, committed }
    }

    pub fn add(&mut self, r: &PlannedRow) {
        let committed = self.committed;
        let (email, action, changed, message): (&str, &str, String, String) = match &r.action {
            Action::Create(u) => (
                u.email.as_str(),
                if committed { "created" } else { "create" },
                String::new(),
                String::new(),
            ),
            Action::Update { after, changes, .. } => (
                after.email.as_str(),
                if committed { "updated" } else { "update" },
                changes
                    .iter()
                    .map(|c| format!("{}: {} → {}", c.field, c.old, c.new))
                    .collect::<Vec<_>>()
                    .join("; "),
                String::new(),
            ),
            Action::Unchanged { email, .. } => {
                (email.as_str(), "unchanged", String::new(), String::new())
            }
            Action::Invalid { email, errors } => (
                email.as_str(),
                if committed { "skipped" } else { "invalid" },
                String::new(),
                errors
                    .iter()
                    .map(|e| {
                        if e.column.is_empty() {
                            e.message.clone()
                        } else {
                            format!("{}: {}", e.column, e.message)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        };
        self.csv.row(&[
            Cow::Owned(r.line.to_string()),
            Cow::Borrowed(email),
            Cow::Borrowed(action),
            Cow::Owned(changed),
            Cow::Owned(message),
        ]);
    }

    pub fn finish(self) -> String {
        self.csv.finish()
    }
}

/// One-time sign-in links for a list of users: email, link, expiry.
pub fn links_csv(links: &[(String, String, String)]) -> String {
    let header = ["email", "sign_in_link", "expires"]
        .map(Cow::Borrowed)
        .to_vec();
    let rows = links.iter().map(|(email, link, expires)| {
        vec![
            Cow::Borrowed(email.as_str()),
            Cow::Borrowed(link.as_str()),
            Cow::Borrowed(expires.as_str()),
        ]
    });
    write_rows(std::iter::once(header).chain(rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Options;
    use crate::plan::{NoUsers, plan};
    use std::collections::HashMap;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+41", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert!(formula_safe(bad).starts_with('\''), "{bad:?}");
        }
        assert_eq!(formula_safe("Ada"), "Ada");
    }

    #[test]
    fn template_is_the_canonical_header_and_imports() {
        let t = template();
        assert_eq!(
            t,
            "email,first_name,last_name,display_name,phone,mobile,employee_number,title,department,organization\r\n"
        );
        let p = plan(
            t.as_bytes(),
            &NoUsers,
            &Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        assert_eq!(p.counts.total(), 0);
    }

    #[test]
    fn export_is_quoted_formula_safe_and_reimports_unchanged() {
        let csv = "email,first_name,last_name,phone,title\na@x.org,\"=HYPERLINK(\"\"x\"\")\",\"Smith, Jr\",+41 1,\"multi\"\n";
        let first = plan(
            csv.as_bytes(),
            &NoUsers,
            &Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        let mut store: HashMap<crate::UserKey, User> = HashMap::new();
        for (_, u) in first.creates() {
            store.insert(u.key().clone(), u.clone());
        }
        let out = users_csv(store.values());
        assert!(out.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{out}");
        assert!(out.contains("\"Smith, Jr\""));
        assert!(out.contains("'+41 1"));
        let again = plan(
            out.as_bytes(),
            &store,
            &Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        assert_eq!(again.counts.unchanged, 1, "{:?}", again);
    }

    #[test]
    fn results_list_every_row() {
        let csv = "email,first_name,last_name\na@x.org,A,B\nbad,C,D\n=HYPERLINK(1),E,F\n";
        let p = plan(
            csv.as_bytes(),
            &NoUsers,
            &Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        let out = results_csv(&p, true);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines[0], "line,email,action,changed_fields,message");
        assert_eq!(lines[1], "2,a@x.org,created,,");
        assert!(lines[2].starts_with("3,bad,skipped,,email: not a valid email address"));
        assert!(
            lines[3].starts_with("4,'=HYPERLINK(1),skipped"),
            "{}",
            lines[3]
        );
    }

    #[test]
    fn links_csv_is_formula_safe() {
        let out = links_csv(&[(
            "a@x.org".into(),
            "http://h/link/t".into(),
            "2026-12-04T00:00:00Z".into(),
        )]);
        assert_eq!(
            out,
            "email,sign_in_link,expires\r\na@x.org,http://h/link/t,2026-12-04T00:00:00Z\r\n"
        );
        let hostile = links_csv(&[("=cmd@x.org".into(), "l".into(), "e".into())]);
        assert!(hostile.contains("'=cmd@x.org"), "{hostile}");
    }
}
