//! The preview: counts, warnings, the header mapping and the tables of
//! what would be created, updated, left unchanged and refused.

use super::Preview;
use crate::table::PagedTable;
use domain::User;
use domain::plan::{Action, PlannedRow};
use domain::store::BatchSummary;
use leptos::prelude::*;
use std::sync::Arc;

#[component]
pub(crate) fn PreviewView(
    preview: Arc<Preview>,
    notice: Option<String>,
    skip_invalid: RwSignal<bool>,
) -> impl IntoView {
    let plan = &preview.plan;
    let c = plan.counts;
    let mapped = plan
        .mapped
        .iter()
        .map(|(header, column)| format!("{header} → {column}"))
        .collect::<Vec<_>>()
        .join(", ");
    let earlier = preview.earlier.first().map(BatchSummary::reimport_warning);
    let nothing = c.create + c.update == 0;
    view! {
        <p class="file">
            {format!(
                "{} ({} bytes, {}, delimiter “{}”)",
                preview.file_name,
                preview.bytes.len(),
                plan.encoding.label(),
                match plan.delimiter {
                    '\t' => "TAB".to_string(),
                    d => d.to_string(),
                },
            )}
        </p>
        {notice.map(|n| view! { <p class="error" role="alert">{n}</p> })}
        {earlier.map(|e| view! { <p class="warning" role="alert">{e}</p> })}
        <ul class="counts" data-testid="counts">
            <li class="create">{format!("Create {}", c.create)}</li>
            <li class="update">{format!("Update {}", c.update)}</li>
            <li class="unchanged">{format!("Unchanged {}", c.unchanged)}</li>
            <li class="invalid">{format!("Invalid {}", c.invalid)}</li>
        </ul>
        <p class="help">
            "Columns: " {mapped} ". A blank cell keeps the stored value of an existing user. \
             Created and updated users get the roles and end state of the import options and \
             Source = CSV."
        </p>
        {(!plan.warnings.is_empty())
            .then(|| {
                view! {
                    <ul class="warnings">
                        {plan.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                    </ul>
                }
            })}
        {nothing.then(|| view! { <p class="warning">"Nothing to import: no row creates or changes a user."</p> })}
        {(c.invalid > 0)
            .then(|| {
                view! {
                    <p class="skip">
                        <input
                            type="checkbox"
                            id="skip-invalid"
                            prop:checked=move || skip_invalid.get()
                            on:change=move |ev| skip_invalid.set(event_target_checked(&ev))
                        />
                        <label for="skip-invalid">"Skip invalid rows"</label>
                        " (otherwise Next stays disabled until the file has no invalid row)"
                    </p>
                }
            })}
        <PagedTable
            caption="Users to create"
            head=vec!["Line", "Email", "Name", "Details"]
            rows=rows_of(&preview, |r| match &r.action {
                Action::Create(u) => Some(vec![r.line.to_string(), u.email.to_string(), u.name(), details(u)]),
                _ => None,
            })
        />
        <PagedTable
            caption="Users to update"
            head=vec!["Line", "Email", "Changes"]
            rows=update_rows(&preview)
        />
        <PagedTable
            caption="Unchanged users"
            head=vec!["Line", "Email", "Name"]
            rows=rows_of(&preview, |r| match &r.action {
                Action::Unchanged { email, name, .. } => Some(vec![r.line.to_string(), email.to_string(), name.clone()]),
                _ => None,
            })
        />
        <PagedTable
            caption="Invalid rows"
            head=vec!["Line", "Column", "Value", "Message"]
            rows=error_rows(&preview)
        />
    }
}

pub(super) fn rows_of(
    preview: &Preview,
    cells: impl Fn(&PlannedRow) -> Option<Vec<String>>,
) -> Arc<Vec<Vec<String>>> {
    Arc::new(preview.plan.rows.iter().filter_map(cells).collect())
}

pub(super) fn update_rows(preview: &Preview) -> Arc<Vec<Vec<String>>> {
    rows_of(preview, |r| match &r.action {
        Action::Update { after, changes, .. } => Some(vec![
            r.line.to_string(),
            after.email.to_string(),
            domain::plan::Change::describe_all(changes),
        ]),
        _ => None,
    })
}

pub(super) fn error_rows(preview: &Preview) -> Arc<Vec<Vec<String>>> {
    Arc::new(
        preview
            .plan
            .errors()
            .map(|e| {
                vec![
                    e.line.to_string(),
                    e.column.clone(),
                    e.value.clone(),
                    e.message.clone(),
                ]
            })
            .collect(),
    )
}

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
