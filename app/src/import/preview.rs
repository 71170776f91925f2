//! The preview: counts, warnings, the header mapping and the tables of
//! what would be created, updated, left unchanged and refused.

use super::summary::PreviewSummary;
use crate::table::{EmptyRow, PagedTable, TableHead};
use leptos::prelude::*;
use std::sync::Arc;

/// A record opened for fixing: its line, the header's cells, its cells.
pub(crate) type OpenRecord = (u64, Vec<String>, Vec<String>);

/// What "Fix" on an invalid row needs: `open` asks for the record at a
/// line, which arrives in `record` (line, header cells, the record's
/// cells); `apply` takes the new cells.
#[derive(Clone, Copy)]
pub(crate) struct Fixer {
    pub open: Callback<u64>,
    pub apply: Callback<(u64, Vec<String>)>,
    pub record: RwSignal<Option<OpenRecord>>,
}

#[component]
pub(crate) fn PreviewView(
    preview: Arc<PreviewSummary>,
    notice: Option<String>,
    skip_invalid: RwSignal<bool>,
    /// Offers "Fix" on invalid rows.
    #[prop(optional)]
    fixer: Option<Fixer>,
) -> impl IntoView {
    let c = preview.counts;
    let earlier = preview
        .file
        .earlier
        .first()
        .map(domain::store::BatchSummary::reimport_warning);
    let nothing = c.writes() == 0;
    let sync = preview.sync.clone();
    let rows = |r: &Vec<Vec<String>>| Arc::new(r.clone());
    view! {
        <p class="file">
            {format!(
                "{} ({} bytes, {}, delimiter “{}”)",
                preview.file.file_name,
                preview.file.size,
                preview.encoding,
                preview.delimiter,
            )}
        </p>
        {notice.map(|n| view! { <p class="error" role="alert">{n}</p> })}
        {earlier.map(|e| view! { <p class="warning" role="alert">{e}</p> })}
        {preview
            .file
            .approval
            .map(|w| view! { <p class="help" data-testid="approval-window">{w.describe(c.writes(), sync.is_some())}</p> })}
        <ul class="counts" data-testid="counts">
            <li class="create">{format!("Create {}", c.create)}</li>
            <li class="update">{format!("Update {}", c.update)}</li>
            <li class="unchanged">{format!("Unchanged {}", c.unchanged)}</li>
            <li class="invalid">{format!("Invalid {}", c.invalid)}</li>
            {sync.is_some().then(|| view! { <li class="deactivate">{format!("Deactivate {}", c.deactivate)}</li> })}
        </ul>
        {sync.as_ref().map(|s| view! {
            <p class="help" data-testid="sync-summary">
                {format!(
                    "Sync{}: {} of the {} active imported users{} are not in this file ({}%).",
                    s.scope.as_ref().map(|o| format!(" of organization “{o}”")).unwrap_or_default(),
                    s.deactivate,
                    s.candidates,
                    if s.may_force { "" } else { " you may change" },
                    s.percent,
                )}
            </p>
        })}
        <p class="help">
            "Columns: " {preview.mapped.clone()} ". A blank cell keeps the stored value of an existing user. \
             Created and updated users get the roles and end state of the import options and \
             Source = CSV."
        </p>
        {(!preview.warnings.is_empty())
            .then(|| {
                view! {
                    <ul class="warnings">
                        {preview.warnings.iter().map(|w| view! { <li>{w.clone()}</li> }).collect_view()}
                    </ul>
                }
            })}
        {nothing.then(|| view! { <p class="warning">"Nothing to import: no row creates or changes a user."</p> })}
        {sync.map(|s| view! {
            <PagedTable
                caption="Users to deactivate"
                head=vec!["Email", "Name", "Last changed"]
                rows=Arc::new(s.shown.clone())
                total=s.deactivate
            />
        })}
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
            rows=rows(&preview.creates)
            total=c.create
        />
        <PagedTable
            caption="Users to update"
            head=vec!["Line", "Email", "Changes", "Held back"]
            rows=rows(&preview.updates)
            total=c.update
        />
        <PagedTable
            caption="Unchanged users"
            head=vec!["Line", "Email", "Name", "Held back"]
            rows=rows(&preview.unchanged)
            total=c.unchanged
        />
        {match fixer {
            Some(fixer) => view! { <InvalidRows preview=preview.clone() fixer/> }.into_any(),
            None => view! {
                <PagedTable
                    caption="Invalid rows"
                    head=vec!["Line", "Column", "Value", "Message"]
                    rows=rows(&preview.errors)
                    total=preview.error_count
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
fn InvalidRows(preview: Arc<PreviewSummary>, fixer: Fixer) -> impl IntoView {
    let rows = Arc::new(preview.errors.clone());
    let total = preview.error_count as usize;
    let listed = rows.len();
    let shown = RwSignal::new(INVALID_SHOWN);
    let Fixer {
        open,
        apply: on_fix,
        record: fixing,
    } = fixer;
    let open = move |line: u64| open.run(line);
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
                    body.iter()
                        .take(shown.get())
                        .map(|r| {
                            let line: u64 = r[0].parse().unwrap_or(0);
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
        {move || (shown.get() < listed).then(|| view! {
            <p class="more">
                {format!("Showing {} of {total}. ", shown.get())}
                <button type="button" class="secondary" on:click=move |_| shown.update(|n| *n += INVALID_SHOWN * 10)>
                    "Show more invalid rows"
                </button>
            </p>
        })}
        {move || fixing.get().map(|(line, header, record)| {
            let width = header.len().max(record.len());
            let cells: Vec<RwSignal<String>> = (0..width)
                .map(|i| RwSignal::new(record.get(i).cloned().unwrap_or_default()))
                .collect();
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
