//! The import page's stages as views: choosing a file, busy (reading,
//! planning, uploading, committing), the preview with its actions, and
//! "sent for approval". The result is `result::ResultView`. The page
//! (`super::ImportPage`) holds the state and moves between them.

use super::preview::{Fixer, PreviewView};
use super::summary::PreviewSummary;
use super::sync::{SyncChoice, SyncControls};
use super::{browser, go};
use leptos::prelude::*;
use std::sync::Arc;

/// No file yet (or the last one could not be read, `error`).
#[component]
pub(super) fn ChooseStage(
    error: Option<String>,
    take_file: impl Fn(Option<web_sys::File>) + Copy + 'static,
) -> impl IntoView {
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
}

/// Work under way: what, how far (0–1) when known, and "Cancel" when it
/// can be stopped.
#[component]
pub(super) fn BusyStage(
    message: String,
    done: Option<f64>,
    cancel: Option<impl Fn() + Copy + Send + Sync + 'static>,
) -> impl IntoView {
    let percent = done.map(|d| (d.clamp(0.0, 1.0) * 100.0).round());
    view! {
        <div role="status" class="busy">
            <p>
                <span class="spinner" aria-hidden="true"></span>
                <label for="import-progress">{message}</label>
                {percent.map(|p| format!(" {p}%"))}
            </p>
            <progress id="import-progress" max="100" value=percent></progress>
            {cancel.map(|cancel| view! {
                <p>
                    <button type="button" class="secondary" on:click=move |_| cancel()>
                        "Cancel"
                    </button>
                </p>
            })}
        </div>
    }
}

/// The preview and its actions: Next (`commit(preview, false)`), for an
/// administrator "Deactivate anyway" when the sync's safety valve refuses
/// (`commit(preview, true)`), Cancel. `corrected`: the URL of the
/// corrected file when cells were corrected in the preview.
#[component]
pub(super) fn PreviewStage(
    preview: Arc<PreviewSummary>,
    notice: Option<String>,
    corrected: Option<String>,
    skip_invalid: RwSignal<bool>,
    fixer: Fixer,
    sync: SyncChoice,
    resync: impl Fn(bool) + Copy + 'static,
    commit: impl Fn(Arc<PreviewSummary>, bool) + Copy + 'static,
    cancel: impl Fn() + Copy + 'static,
) -> impl IntoView {
    let p = preview.clone();
    let corrected = corrected.map(|href| {
        let name = corrected_name(&p.file.file_name);
        view! {
            <p class="actions">
                {format!("{} cells corrected in this preview. ", p.file.corrected_cells)}
                <a href=href download=name>"Download corrected file"</a>
            </p>
        }
    });
    let refusal = p.sync.as_ref().and_then(|s| s.refusal.clone());
    let may_force = p.sync.as_ref().is_some_and(|s| s.may_force);
    let anyway = (refusal.is_some() && may_force).then(|| {
        let p = p.clone();
        view! {
            <button type="button" class="danger" on:click=move |_| commit(p.clone(), true)>
                "Deactivate anyway"
            </button>
        }
    });
    let refused = refusal.is_some();
    let c = p.counts;
    view! {
        {corrected}
        <SyncControls sync resync/>
        <PreviewView preview=preview notice=notice skip_invalid fixer=fixer/>
        {refusal.map(|r| view! { <p class="error" role="alert" data-testid="sync-refusal">{r}</p> })}
        <p class="actions">
            <button
                type="button"
                disabled=move || refused || c.writes() == 0 || (c.invalid > 0 && !skip_invalid.get())
                on:click=move |_| commit(p.clone(), false)
            >
                "Next"
            </button>
            {anyway}
            <button type="button" class="secondary" on:click=move |_| cancel()>
                "Cancel"
            </button>
        </p>
    }
}

/// Waiting for a second person's approval (request `id`).
#[component]
pub(super) fn SentStage(id: u64) -> impl IntoView {
    view! {
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
}

/// "users.csv" → "users-corrected.csv".
fn corrected_name(file_name: &str) -> String {
    match file_name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-corrected.{ext}"),
        None => format!("{file_name}-corrected.csv"),
    }
}
