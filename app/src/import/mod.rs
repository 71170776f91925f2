//! Users › Create › Import by CSV: the file is read and planned in the
//! browser (the same `domain` code the server runs), the operator sees
//! every create, update (field by field), unchanged and invalid row, and
//! only "Next" sends the bytes to the server, which plans them again inside
//! its write transaction and refuses if the plan differs.

//!
//! `api`: the server functions; this file: the page and its stages;
//! `preview` and `result`: the two big views; `browser`: files and
//! downloads in the browser.

mod api;
mod browser;
pub(crate) mod preview;
mod result;

pub use api::*;
use domain::User;
use domain::plan::{ImportPlan, parse_file, plan_parsed};
use domain::store::BatchSummary;
use leptos::prelude::*;
use preview::PreviewView;
use result::ResultView;
use std::collections::HashMap;
use std::sync::Arc;

/// A file as the operator chose it, and its plan.
pub(crate) struct Preview {
    file_name: String,
    bytes: Vec<u8>,
    plan: ImportPlan,
    earlier: Vec<BatchSummary>,
    /// Cells corrected in the preview so far (then `bytes` is the
    /// corrected file, written by the domain's CSV writer).
    corrected_cells: u32,
    /// SHA-256 of the file as it was chosen.
    original_sha256: String,
}

impl Preview {
    /// A preview of a file planned elsewhere (an approval request's).
    pub(crate) fn new(file_name: String, bytes: Vec<u8>, plan: ImportPlan) -> Preview {
        Preview {
            original_sha256: domain::store::sha256_hex(&bytes),
            file_name,
            bytes,
            plan,
            earlier: Vec::new(),
            corrected_cells: 0,
        }
    }
}

#[derive(Clone)]
enum Stage {
    /// No file yet (or the last one could not be read).
    Choose { error: Option<String> },
    /// Reading, planning or committing: the progress message.
    Busy(String),
    Preview {
        preview: Arc<Preview>,
        notice: Option<String>,
    },
    Done {
        preview: Arc<Preview>,
        batch: BatchSummary,
    },
    /// Waiting for a second person's approval (request id).
    Sent(u64),
}

/// Reads, plans and looks up a file in the browser.
async fn make_preview(file_name: String, bytes: Vec<u8>) -> Result<Preview, String> {
    let ImportAuthority { options, actor } = import_setup().await.map_err(|e| e.to_string())?;
    let parsed = parse_file(&bytes, &options).map_err(|e| e.to_string())?;
    let sha256 = domain::store::sha256_hex(&bytes);
    let lookup = import_lookup(parsed.keys().join("\n"), sha256.clone())
        .await
        .map_err(|e| e.to_string())?;
    let existing: HashMap<String, User> = lookup
        .users
        .into_iter()
        .map(|u| (u.key().to_string(), u))
        .collect();
    let plan = plan_parsed(parsed, &existing, &options, actor);
    Ok(Preview {
        original_sha256: sha256,
        file_name,
        bytes,
        plan,
        earlier: lookup.earlier,
        corrected_cells: 0,
    })
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let stage = RwSignal::new(Stage::Choose { error: None });
    let skip_invalid = RwSignal::new(false);

    let take_file = move |file: Option<web_sys::File>| {
        let Some(file) = file else { return };
        let file_name = file.name();
        stage.set(Stage::Busy(format!("Reading {file_name}…")));
        skip_invalid.set(false);
        leptos::task::spawn_local(async move {
            let result = match browser::read_file(file).await {
                Ok(bytes) => make_preview(file_name, bytes).await,
                Err(e) => Err(e),
            };
            stage.set(match result {
                Ok(p) => Stage::Preview {
                    preview: Arc::new(p),
                    notice: None,
                },
                Err(error) => Stage::Choose { error: Some(error) },
            });
        });
    };
    let commit = move |preview: Arc<Preview>| {
        stage.set(Stage::Busy("Importing…".into()));
        let skip = skip_invalid.get_untracked();
        leptos::task::spawn_local(async move {
            let answer = import_commit(
                preview.bytes.clone(),
                preview.file_name.clone(),
                preview.plan.fingerprint.clone(),
                skip,
                preview.corrected_cells,
                preview.original_sha256.clone(),
            )
            .await;
            match answer {
                Ok(CommitAnswer::Committed { batch }) => stage.set(Stage::Done { preview, batch }),
                Ok(CommitAnswer::ChangedSincePreview) => {
                    // Plan again against the users as they are now.
                    let fresh =
                        make_preview(preview.file_name.clone(), preview.bytes.clone()).await;
                    stage.set(match fresh {
                        Ok(p) => Stage::Preview {
                            preview: Arc::new(p.corrected_from(&preview, 0)),
                            notice: Some(
                                "Changed since preview: some of these users were changed by \
                                 someone else meanwhile. Nothing was written. This is the \
                                 fresh preview; check it and press Next again."
                                    .into(),
                            ),
                        },
                        Err(error) => Stage::Choose { error: Some(error) },
                    });
                }
                Ok(CommitAnswer::Blocked { invalid }) => stage.set(Stage::Preview {
                    preview,
                    notice: Some(format!(
                        "Nothing was written: {invalid} rows are invalid. Correct the file, \
                         or tick \"Skip invalid rows\"."
                    )),
                }),
                Ok(CommitAnswer::SentForApproval { id }) => stage.set(Stage::Sent(id)),
                Ok(CommitAnswer::NothingToWrite) => stage.set(Stage::Preview {
                    preview,
                    notice: Some("Nothing was written: no row creates or changes a user.".into()),
                }),
                Err(e) => stage.set(Stage::Preview {
                    preview,
                    notice: Some(format!("Nothing was written: {e}")),
                }),
            }
        });
    };

    // "Apply" on a fixed row: the corrected file is written by the domain
    // and planned again, as a chosen file would be.
    let fix = move |preview: Arc<Preview>, line: u64, cells: Vec<String>| {
        let Ok(mut table) = domain::correct::CsvTable::read(&preview.bytes) else {
            return;
        };
        let Some(changed) = table.correct(line, &cells) else {
            return;
        };
        if changed == 0 {
            return;
        }
        stage.set(Stage::Busy("Checking the corrected row…".into()));
        leptos::task::spawn_local(async move {
            let fresh = make_preview(preview.file_name.clone(), table.write()).await;
            stage.set(match fresh {
                Ok(p) => Stage::Preview {
                    preview: Arc::new(p.corrected_from(&preview, changed)),
                    notice: None,
                },
                Err(error) => Stage::Preview {
                    preview,
                    notice: Some(format!("The correction was not applied: {error}")),
                },
            });
        });
    };

    crate::page::guarded(move || {
        view! {
            <section
                class="import"
                on:dragover=|ev| ev.prevent_default()
                on:drop=move |ev| {
                    ev.prevent_default();
                    take_file(browser::dropped_file(&ev));
                }
            >
                <h1>"Import users from CSV"</h1>
                {move || match stage.get() {
                    Stage::Choose { error } => {
                        view! {
                            <div class="card">
                                <label for="csv-file">"CSV file"</label>
                                <input
                                    id="csv-file"
                                    type="file"
                                    accept=".csv,.txt,.tsv,text/csv,text/plain"
                                    on:change=move |ev| take_file(browser::chosen_file(&ev))
                                />
                                <p class="help">
                                    "Choose a file or drop it onto this page. Headers are matched \
                                     loosely (\"First Name [Required]\", \"givenName\", \"E-mail\" …); \
                                     exports of Google Workspace, Entra, Okta and Smart ID import as \
                                     they are. Nothing is written before you press Next."
                                </p>
                                <p><a href="/template.csv" download="roster-users.csv">"Download CSV template"</a></p>
                                {error.map(|e| view! { <p class="error" role="alert">{e}</p> })}
                            </div>
                            <p>
                                <button type="button" class="secondary" on:click=move |_| go("/users/create")>
                                    "Cancel"
                                </button>
                            </p>
                        }
                            .into_any()
                    }
                    Stage::Busy(message) => {
                        view! {
                            <p role="status" class="busy">
                                <span class="spinner" aria-hidden="true"></span>
                                {message}
                            </p>
                        }
                            .into_any()
                    }
                    Stage::Preview { preview, notice } => {
                        let p = preview.clone();
                        let on_fix = {
                            let p = p.clone();
                            Callback::new(move |(line, cells): (u64, Vec<String>)| fix(p.clone(), line, cells))
                        };
                        let corrected = (p.corrected_cells > 0).then(|| {
                            let href = browser::object_url(&String::from_utf8_lossy(&p.bytes));
                            let name = corrected_name(&p.file_name);
                            view! {
                                <p class="actions">
                                    {format!("{} cells corrected in this preview. ", p.corrected_cells)}
                                    <a href=href download=name>"Download corrected file"</a>
                                </p>
                            }
                        });
                        view! {
                            {corrected}
                            <PreviewView preview=preview notice=notice skip_invalid on_fix/>
                            <p class="actions">
                                <button
                                    type="button"
                                    disabled={
                                        let c = p.plan.counts;
                                        move || c.create + c.update == 0 || (c.invalid > 0 && !skip_invalid.get())
                                    }
                                    on:click={
                                        let p = p.clone();
                                        move |_| commit(p.clone())
                                    }
                                >
                                    "Next"
                                </button>
                                <button
                                    type="button"
                                    class="secondary"
                                    on:click=move |_| {
                                        skip_invalid.set(false);
                                        stage.set(Stage::Choose { error: None })
                                    }
                                >
                                    "Cancel"
                                </button>
                            </p>
                        }
                            .into_any()
                    }
                    Stage::Done { preview, batch } => view! { <ResultView preview batch/> }.into_any(),
                    Stage::Sent(id) => view! {
                        <p role="status" class="done">
                            {format!(
                                "Sent for approval (request {id}): this import changes more users \
                                 than the administrator allows without a second person. Nothing \
                                 was written; a user with the Approval role approves or rejects it \
                                 on the Approvals page."
                            )}
                        </p>
                        <p class="actions">
                            <a href="/users/history">"Import history"</a>
                            <button type="button" on:click=move |_| go("/users")>"OK"</button>
                        </p>
                    }
                    .into_any(),
                }}
            </section>
        }
    })
}

impl Preview {
    /// This preview as the corrected continuation of `earlier`: the cells
    /// corrected so far (plus `more`) and the original file's SHA-256.
    fn corrected_from(mut self, earlier: &Preview, more: u32) -> Preview {
        self.corrected_cells = earlier.corrected_cells + more;
        self.original_sha256 = earlier.original_sha256.clone();
        self
    }
}

/// "users.csv" → "users-corrected.csv".
fn corrected_name(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-corrected.{ext}"),
        None => format!("{file_name}-corrected.csv"),
    }
}

/// Leaves the import (called from event handlers, where the router's
/// context is not at hand: a full load).
pub(crate) fn go(path: &str) {
    let _ = window().location().set_href(path);
}
