//! The preview: counts, warnings, the header mapping and the tables of
//! what would be created, updated, left unchanged and refused.

use super::Preview;
use crate::table::{EmptyRow, PagedTable, TableHead};
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
    /// Offers "Fix" on invalid rows: called with the line and its new
    /// cells when the operator presses "Apply".
    #[prop(optional)]
    on_fix: Option<Callback<(u64, Vec<String>)>>,
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
        {match on_fix {
            Some(on_fix) => view! { <InvalidRows preview=preview.clone() on_fix/> }.into_any(),
            None => view! {
                <PagedTable
                    caption="Invalid rows"
                    head=vec!["Line", "Column", "Value", "Message"]
                    rows=error_rows(&preview)
                />
            }
            .into_any(),
        }}
    }
}

/// Rows the Invalid rows table shows at first; "Show more" adds more.
const INVALID_SHOWN: usize = 100;

/// "Invalid rows" with "Fix" on each: the row's record opens as inputs
/// (one per column of the file, labelled by its header), "Apply" hands the
/// new cells to the page, which re-plans the corrected file at once.
#[component]
fn InvalidRows(preview: Arc<Preview>, on_fix: Callback<(u64, Vec<String>)>) -> impl IntoView {
    let rows = error_rows(&preview);
    let total = rows.len();
    let shown = RwSignal::new(INVALID_SHOWN);
    // The record being fixed: its line, the header's cells and its own.
    let fixing = RwSignal::new(None::<(u64, Vec<String>, Vec<RwSignal<String>>)>);
    let open = {
        let preview = preview.clone();
        move |line: u64| {
            let Ok(table) = domain::correct::CsvTable::read(&preview.bytes) else {
                return;
            };
            let header = table
                .records
                .first()
                .map(|r| r.cells.clone())
                .unwrap_or_default();
            let Some(record) = table.record(line) else {
                return;
            };
            let width = header.len().max(record.cells.len());
            let cells = (0..width)
                .map(|i| RwSignal::new(record.cells.get(i).cloned().unwrap_or_default()))
                .collect();
            fixing.set(Some((line, header, cells)));
        }
    };
    let body = rows.clone();
    view! {
        <table class="preview">
            <caption>{format!("Invalid rows ({total})")}</caption>
            <TableHead columns=vec!["Line", "Column", "Value", "Message", ""]/>
            <tbody>
                {move || {
                    if total == 0 {
                        return view! { <EmptyRow width=5 text="None"/> }.into_any();
                    }
                    let open = open.clone();
                    body.iter()
                        .take(shown.get())
                        .map(|r| {
                            let line: u64 = r[0].parse().unwrap_or(0);
                            let open = open.clone();
                            view! {
                                <tr>
                                    {r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}
                                    <td>
                                        <button type="button" class="secondary" on:click=move |_| open(line)>
                                            "Fix"
                                        </button>
                                    </td>
                                </tr>
                            }
                        })
                        .collect_view()
                        .into_any()
                }}
            </tbody>
        </table>
        {move || (shown.get() < total).then(|| view! {
            <p class="more">
                {format!("Showing {} of {total}. ", shown.get())}
                <button type="button" class="secondary" on:click=move |_| shown.update(|n| *n += INVALID_SHOWN * 10)>
                    "Show more invalid rows"
                </button>
            </p>
        })}
        {move || fixing.get().map(|(line, header, cells)| {
            let apply_cells = cells.clone();
            view! {
                <form class="card" aria-label=format!("Fix line {line}") on:submit=move |ev| {
                    ev.prevent_default();
                    let values = apply_cells.iter().map(|c| c.get_untracked()).collect();
                    fixing.set(None);
                    on_fix.run((line, values));
                }>
                    <h2>{format!("Fix line {line}")}</h2>
                    {cells
                        .iter()
                        .enumerate()
                        .map(|(i, cell)| {
                            let cell = *cell;
                            let id = format!("fix-{line}-{i}");
                            let label = header.get(i).cloned().filter(|h| !h.trim().is_empty())
                                .unwrap_or_else(|| format!("Column {}", i + 1));
                            view! {
                                <label for=id.clone()>{label}</label>
                                <input id=id type="text" prop:value=move || cell.get() on:input=move |ev| cell.set(event_target_value(&ev))/>
                            }
                        })
                        .collect_view()}
                    <p class="actions">
                        <button type="submit">"Apply"</button>
                        <button type="button" class="secondary" on:click=move |_| fixing.set(None)>"Cancel"</button>
                    </p>
                </form>
            }
        })}
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
