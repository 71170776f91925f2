//! Users › Import history: every committed import (and undo), newest first,
//! with "Undo" for a batch whose users nobody changed since.

use crate::error::AppError;
use crate::table::{EmptyRow, TableHead};
use domain::store::{BatchSummary, Correction, UndoOutcome};
use leptos::prelude::*;

/// Every batch, newest first, with the cells corrected in its preview
/// when there were any (operators only).
#[server(endpoint = "import_history")]
pub async fn import_history() -> Result<Vec<(BatchSummary, Option<Correction>)>, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let store = store()?;
    blocking(move || {
        let mut corrections: std::collections::HashMap<u64, Correction> =
            store.corrections()?.into_iter().collect();
        Ok(store
            .batches()?
            .into_iter()
            .map(|b| {
                let c = corrections.remove(&b.id);
                (b, c)
            })
            .collect())
    })
    .await
}

/// Undoes a batch in one transaction (operators only): created users are
/// removed, updated ones get their before-image back. Refused, writing
/// nothing, when any of its users changed since.
#[server(endpoint = "undo_import")]
pub async fn undo_import(id: u64) -> Result<UndoOutcome, AppError> {
    use crate::context::*;
    let operator = require(is_operator).await?;
    let store = store()?;
    let now = now_s();
    let actor = actor(&operator);
    let by = operator.email.to_string();
    let outcome = blocking(move || store.undo_batch(id, &operator.by(), actor, now)).await?;
    if matches!(outcome, UndoOutcome::Undone { .. }) {
        crate::security_log::note(
            domain::audit::AuditAction::Undo,
            &by,
            &format!("batch {id}"),
        );
    }
    Ok(outcome)
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let undo = ServerAction::<UndoImport>::new();
    // Loaded again after each undo.
    let batches = Resource::new(move || undo.version().get(), |_| import_history());
    let requests = Resource::new(|| (), |_| crate::approvals::approval_list());
    let answer = undo.value();
    let message = move || {
        answer.try_get().flatten().map(|answer| match answer {
            Ok(UndoOutcome::Undone { batch }) => view! {
                <p role="status" class="ok">
                    {format!(
                        "Undone (batch {}): {} created users removed, {} updated users restored.",
                        batch.id,
                        batch.counts.create,
                        batch.counts.update,
                    )}
                </p>
            }
            .into_any(),
            Ok(UndoOutcome::Refused { changed }) => view! {
                <p role="alert" class="error">
                    {format!(
                        "Not undone: these users changed after the import, and undoing it would \
                         lose those changes: {}. Nothing was written.",
                        changed.join(", ")
                    )}
                </p>
            }
            .into_any(),
            Err(error) => view! { <crate::error::ErrorAlert error/> }.into_any(),
        })
    };
    crate::page::guarded(move || {
        view! {
            <h1>"Import history"</h1>
            {message}
            {crate::page::loaded(batches, move |list| view! { <BatchTable list undo/> })}
            <h2>"Sent for approval"</h2>
            {crate::page::loaded(requests, |requests| view! {
                <crate::approvals::RequestTables requests links=false/>
            })}
        }
    })
}

#[component]
fn BatchTable(
    list: Vec<(BatchSummary, Option<Correction>)>,
    undo: ServerAction<UndoImport>,
) -> impl IntoView {
    let empty = list.is_empty();
    view! {
        <table>
            <caption>"Imports"</caption>
            <TableHead columns=vec![
                "Batch", "When (UTC)", "Operator", "File", "Created", "Updated", "Unchanged", "Skipped",
                "State",
            ]/>
            <tbody>
                {empty.then(|| view! { <EmptyRow width=9 text="No imports yet."/> })}
                {list
                    .into_iter()
                    .map(|(b, correction)| {
                        let id = b.id;
                        let file = match correction {
                            Some(c) => format!(
                                "{} ({} cells corrected in the preview; original file SHA-256 {})",
                                b.file_name, c.cells, c.original_sha256
                            ),
                            None => b.file_name.clone(),
                        };
                        let state = match (b.undo_of, b.undone_by) {
                            (Some(of), _) => Some(format!("Undo of batch {of}")),
                            (_, Some(by)) => Some(format!("Undone by batch {by}")),
                            _ => None,
                        };
                        view! {
                            <tr data-testid=format!("batch-{id}")>
                                <td>{id}</td>
                                <td>{domain::time::rfc3339(b.at)}</td>
                                <td>
                                    {match &b.approved_by {
                                        Some(approver) => format!("sent by {}, approved by {approver}", b.operator),
                                        None => b.operator.clone(),
                                    }}
                                </td>
                                <td>{file}</td>
                                <td>{b.counts.create}</td>
                                <td>{b.counts.update}</td>
                                <td>{b.counts.unchanged}</td>
                                <td>{b.counts.invalid}</td>
                                <td>
                                    {match state {
                                        Some(s) => s.into_any(),
                                        None => view! {
                                            <button
                                                type="button"
                                                class="secondary"
                                                disabled=move || undo.pending().get()
                                                on:click=move |_| {
                                                    let sure = window()
                                                        .confirm_with_message(&format!(
                                                            "Undo batch {id}? Its created users are removed and \
                                                             its updated users get their earlier values back."
                                                        ))
                                                        .unwrap_or(false);
                                                    if sure {
                                                        undo.dispatch(UndoImport { id });
                                                    }
                                                }
                                            >
                                                "Undo"
                                            </button>
                                        }
                                        .into_any(),
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
