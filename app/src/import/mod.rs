//! Users › Create › Import by CSV: the file is read and planned in the
//! browser (the same `domain` code the server runs), the operator sees
//! every create, update (field by field), unchanged and invalid row, and
//! only "Next" sends the bytes to the server, which plans them again inside
//! its write transaction and refuses if the plan differs.
//!
//! `api`: the server functions and the upload's types; this file: the page
//! and its stages; `worker`: the Web Worker that reads and plans the file
//! off the page's thread; `summary`: what of a plan the page holds;
//! `preview` and `result`: the two big views; `browser`: the worker handle,
//! the upload, files and downloads in the browser.

mod api;
#[cfg(feature = "hydrate")]
mod blob_client;
mod browser;
pub(crate) mod preview;
mod result;
mod stages;
pub mod summary;
mod sync;
pub mod worker;

pub use api::*;

/// The preview worker's script (in `public/`; the server gives it its own
/// Content-Security-Policy).
pub const WORKER_SCRIPT: &str = "/import-worker.js";
use browser::PreviewWorker;
use domain::store::BatchSummary;
use leptos::prelude::*;
use preview::Fixer;
use result::ResultView;
use stages::{BusyStage, ChooseStage, PreviewStage, SentStage};
use std::sync::Arc;
use summary::PreviewSummary;
use sync::{SYNC_STEP, SyncChoice};
use worker::{FromWorker, ToWorker};

#[derive(Clone)]
enum Stage {
    /// No file yet (or the last one could not be read).
    Choose { error: Option<String> },
    /// Reading, planning or committing: what, how far (0–1) when known,
    /// and whether "Cancel" can stop it.
    Busy {
        message: String,
        done: Option<f64>,
        cancel: bool,
    },
    Preview {
        preview: Arc<PreviewSummary>,
        notice: Option<String>,
    },
    Done {
        preview: Arc<PreviewSummary>,
        batch: BatchSummary,
    },
    /// Waiting for a second person's approval (request id).
    Sent(u64),
}

impl Stage {
    fn busy(message: impl Into<String>, done: Option<f64>, cancel: bool) -> Stage {
        Stage::Busy {
            message: message.into(),
            done,
            cancel,
        }
    }
}

#[component]
pub fn ImportPage() -> impl IntoView {
    let stage = RwSignal::new(Stage::Choose { error: None });
    let skip_invalid = RwSignal::new(false);
    // "Sync": whether it is ticked, and the organization it is limited to
    // (blank: every organization).
    let sync = SyncChoice {
        on: RwSignal::new(false),
        scope: RwSignal::new(String::new()),
    };
    // The worker that holds the file and its plan, and what "Next" sends
    // (the chosen file itself, or the corrected file the worker wrote);
    // leaving the page stops the worker.
    let held = browser::HeldStore::new();
    on_cleanup(move || held.with(|h| *h = browser::Held::default()));
    // The preview shown last (a failed correction returns to it), and the
    // notice the next preview carries.
    let last = StoredValue::new(None::<Arc<PreviewSummary>>);
    let next_notice = StoredValue::new(None::<String>);
    let record = RwSignal::new(None::<preview::OpenRecord>);
    let results = RwSignal::new(None::<(String, String)>);

    let send = move |message: ToWorker| {
        held.with(|h| {
            if let Some(w) = &h.worker {
                w.send(&message, None)
            }
        })
    };
    let on_message = move |message: FromWorker, blob: Option<web_sys::Blob>| match message {
        FromWorker::Progress { step, done } => {
            stage.set(Stage::busy(step.label(), Some(done), true))
        }
        FromWorker::Previewed(summary) => {
            let preview = Arc::new(*summary);
            held.with(|h| h.body = blob);
            last.set_value(Some(preview.clone()));
            if sync.on.get_untracked() {
                // A new plan of the file (after a correction, or "changed
                // since preview") is synced again before it is shown.
                stage.set(Stage::busy(SYNC_STEP, None, true));
                send(ToWorker::Sync {
                    scope: sync.scope.get_untracked(),
                });
            } else {
                let notice = next_notice.try_update_value(Option::take).flatten();
                stage.set(Stage::Preview { preview, notice });
            }
        }
        FromWorker::Synced(answer) => {
            if let Some(before) = last.get_value() {
                let preview = Arc::new(before.with_sync(Some(*answer)));
                last.set_value(Some(preview.clone()));
                let notice = next_notice.try_update_value(Option::take).flatten();
                stage.set(Stage::Preview { preview, notice });
            }
        }
        FromWorker::SyncFailed(error) => {
            sync.on.set(false);
            if let Some(before) = last.get_value() {
                let preview = Arc::new(before.with_sync(None));
                last.set_value(Some(preview.clone()));
                stage.set(Stage::Preview {
                    preview,
                    notice: Some(format!("The sync could not be previewed: {error}")),
                });
            }
        }
        FromWorker::Record {
            line,
            header,
            cells,
        } => record.set(Some((line, header, cells))),
        FromWorker::Failed(error) => {
            held.with(|h| h.worker = None);
            stage.set(Stage::Choose { error: Some(error) });
        }
        FromWorker::FixFailed(error) => match last.get_value() {
            Some(preview) => stage.set(Stage::Preview {
                preview,
                notice: Some(format!("The correction was not applied: {error}")),
            }),
            None => stage.set(Stage::Choose { error: Some(error) }),
        },
        FromWorker::Results { created } => {
            let url = blob.map(|b| browser::blob_url(&b)).unwrap_or_default();
            results.set(Some((url, created)));
        }
    };

    // A worker waits for the file from the moment the page is shown, and
    // again after Cancel (after a failure the next file starts one).
    let start_spare = move || {
        held.with(|h| {
            if h.spare.is_none() {
                h.spare = PreviewWorker::start(on_message).ok();
            }
        })
    };
    Effect::new(move |_| start_spare());
    let take_file = move |file: Option<web_sys::File>| {
        let Some(file) = file else { return };
        let file_name = file.name();
        skip_invalid.set(false);
        results.set(None);
        // A running preview stops here (dropping the worker ends it).
        let spare = held.with(|h| {
            h.worker = None;
            h.spare.take()
        });
        match spare.map_or_else(|| PreviewWorker::start(on_message), Ok) {
            Ok(w) => {
                let blob: web_sys::Blob = file.into();
                w.send(
                    &ToWorker::Plan {
                        file_name: file_name.clone(),
                    },
                    Some(&blob),
                );
                held.with(|h| h.worker = Some(w));
                stage.set(Stage::busy(format!("Reading {file_name}"), Some(0.0), true));
            }
            Err(error) => stage.set(Stage::Choose { error: Some(error) }),
        }
    };
    let cancel = move || {
        held.with(|h| h.worker = None);
        skip_invalid.set(false);
        sync.on.set(false);
        stage.set(Stage::Choose { error: None });
        start_spare();
    };
    // "Sync" ticked or not, or its organization changed: the preview
    // gains or loses its sync part.
    let resync = move |on: bool| {
        sync.on.set(on);
        if on {
            stage.set(Stage::busy(SYNC_STEP, None, true));
            send(ToWorker::Sync {
                scope: sync.scope.get_untracked(),
            });
        } else if let Some(before) = last.get_value() {
            let preview = Arc::new(before.with_sync(None));
            last.set_value(Some(preview.clone()));
            stage.set(Stage::Preview {
                preview,
                notice: None,
            });
        }
    };
    // `force`: "Deactivate anyway" (an administrator confirming a sync the
    // safety valve refuses).
    let commit = move |preview: Arc<PreviewSummary>, force: bool| {
        let Some(file) = held.with(|h| h.body.clone()) else {
            return;
        };
        let name = preview.file.file_name.clone();
        stage.set(Stage::busy(format!("Uploading {name}"), Some(0.0), false));
        let params = CommitParams {
            file_name: name.clone(),
            fingerprint: preview.commit_fingerprint(),
            skip_invalid: skip_invalid.get_untracked(),
            corrected_cells: preview.file.corrected_cells,
            original_sha256: preview.file.original_sha256.clone(),
            sync: preview.sync.is_some(),
            scope: preview
                .sync
                .as_ref()
                .and_then(|s| s.scope.clone())
                .unwrap_or_default(),
            force,
        };
        leptos::task::spawn_local(async move {
            let uploaded = move |done: f64| {
                stage.set(if done < 1.0 {
                    Stage::busy(format!("Uploading {name}"), Some(done), false)
                } else {
                    Stage::busy(
                        "Importing: the server checks the plan again and writes it…",
                        None,
                        false,
                    )
                })
            };
            let answer = browser::upload(&file, &params, uploaded).await;
            let back = |notice: String| Stage::Preview {
                preview: preview.clone(),
                notice: Some(notice),
            };
            match answer {
                Ok(CommitAnswer::Committed { batch }) => {
                    send(ToWorker::Results);
                    stage.set(Stage::Done { preview, batch });
                }
                Ok(CommitAnswer::ChangedSincePreview) => {
                    // Plan again against the users as they are now.
                    next_notice.set_value(Some(
                        "Changed since preview: some of these users were changed by someone \
                         else meanwhile. Nothing was written. This is the fresh preview; check \
                         it and press Next again."
                            .into(),
                    ));
                    stage.set(Stage::busy("Planning again", None, true));
                    send(ToWorker::Replan);
                }
                Ok(CommitAnswer::Blocked { invalid }) => stage.set(back(format!(
                    "Nothing was written: {invalid} rows are invalid. Correct the file, or \
                     tick \"Skip invalid rows\"."
                ))),
                Ok(CommitAnswer::SentForApproval { id }) => stage.set(Stage::Sent(id)),
                Ok(CommitAnswer::NothingToWrite) => stage.set(back(
                    "Nothing was written: no row creates or changes a user.".into(),
                )),
                Ok(CommitAnswer::TooManyDeactivations { message }) => stage.set(back(message)),
                Err(e) => stage.set(back(format!("Nothing was written: {e}"))),
            }
        });
    };

    // "Fix" asks the worker for the record; "Apply" has it write the
    // corrected file and plan it again, as a chosen file would be.
    let fixer = Fixer {
        open: Callback::new(move |line: u64| send(ToWorker::Record { line })),
        apply: Callback::new(move |(line, cells): (u64, Vec<String>)| {
            record.set(None);
            stage.set(Stage::busy("Checking the corrected row", None, true));
            send(ToWorker::Fix { line, cells });
        }),
        record,
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
                    Stage::Choose { error } => view! { <ChooseStage error take_file/> }.into_any(),
                    Stage::Busy { message, done, cancel: can_cancel } => {
                        let cancel = can_cancel.then_some(cancel);
                        view! { <BusyStage message done cancel/> }.into_any()
                    }
                    Stage::Preview { preview, notice } => {
                        // The corrected file, to download, when the preview is of one.
                        let corrected = (preview.file.corrected_cells > 0)
                            .then(|| held.with(|h| h.body.as_ref().map(browser::blob_url)))
                            .flatten();
                        view! { <PreviewStage preview notice corrected skip_invalid fixer sync resync commit cancel/> }
                            .into_any()
                    }
                    Stage::Done { preview, batch } => view! { <ResultView preview batch results/> }.into_any(),
                    Stage::Sent(id) => view! { <SentStage id/> }.into_any(),
                }}
            </section>
        }
    })
}

/// Leaves the import (called from event handlers, where the router's
/// context is not at hand: a full load).
pub(crate) fn go(path: &str) {
    let _ = window().location().set_href(path);
}
