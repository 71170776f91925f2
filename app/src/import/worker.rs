//! The preview's Web Worker: reads the chosen file in slices, parses,
//! looks up and plans it off the page's thread, reporting progress, and
//! keeps what the page asks for later (the file as a blob, to open a
//! record, correct it or plan it again; the results of the plan). The
//! page can stop it at any moment (`Worker.terminate`), which is what
//! "Cancel" does.
//!
//! It runs the app's own wasm: `public/import-worker.js` instantiates the
//! module the page already compiled and calls `import_worker`. Messages
//! are [`ToWorker`] / [`FromWorker`] in `browser::envelope`s.

use super::summary::{FileFacts, PreviewSummary, SummaryBuilder};
use super::{ImportAuthority, SyncAnswer, import_lookup, import_setup, import_sync_preview};
use domain::csv_out::ResultsCsv;
use domain::plan::{Action, parse_file_with_progress, plan_each};
use serde::{Deserialize, Serialize};

/// What the page asks of the worker.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ToWorker {
    /// Plan the file sent beside this message.
    Plan { file_name: String },
    /// Plan the held file again, against the users as they are now.
    Replan,
    /// The header's cells and those of the record starting at `line`.
    Record { line: u64 },
    /// Replace the cells of the record at `line` and plan the corrected
    /// file.
    Fix { line: u64, cells: Vec<String> },
    /// The results CSV (as a blob) and the created users' addresses.
    Results,
    /// Who a sync limited to the organization `scope` (blank: all) would
    /// deactivate, for the planned file.
    Sync { scope: String },
}

/// What the steps of a preview are called on the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Reading,
    Checking,
    LookingUp,
    Comparing,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Reading => "Reading the file",
            Step::Checking => "Checking rows",
            Step::LookingUp => "Looking up existing users",
            Step::Comparing => "Comparing with the stored users",
        }
    }
}

/// What the worker tells the page.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FromWorker {
    /// `done` of the step, from 0 to 1.
    Progress { step: Step, done: f64 },
    /// The preview; the file it is of (the chosen or the corrected one,
    /// what "Next" sends) comes beside it as a blob.
    Previewed(Box<PreviewSummary>),
    Record {
        line: u64,
        header: Vec<String>,
        cells: Vec<String>,
    },
    /// The file could not be planned (nothing was sent to be written).
    Failed(String),
    /// A correction could not be applied; the preview before it stands.
    FixFailed(String),
    /// The results CSV comes beside it as a blob.
    Results { created: String },
    /// The sync part of the preview (the preview itself stands).
    Synced(Box<SyncAnswer>),
    /// The sync part could not be made; the preview stands without it.
    SyncFailed(String),
}

/// Keys per lookup request: each is answered from one read transaction,
/// and a million keys never travel in one body.
pub const LOOKUP_CHUNK: usize = 50_000;

/// Lookup requests in flight at once: the server answers each from its
/// own read transaction on its own thread while the next is sent.
const LOOKUPS_AT_ONCE: usize = 3;

/// What the worker keeps of a plan: the results file as it would be
/// after the commit, and the created users' addresses (for sign-in
/// links). Not the plan: a million planned users would take the tab's
/// memory for nothing the page shows.
#[derive(Clone, Default)]
pub struct Results {
    pub csv: String,
    pub created: String,
}

/// What the worker holds between messages: the file's facts and the
/// results of its plan. The bytes themselves stay in a blob outside the
/// wasm memory (the chosen file, or the corrected file) and are read back
/// when needed, so that the memory of the parse is free for the plan.
#[derive(Default)]
pub struct Job {
    facts: FileFacts,
    results: Option<Results>,
    /// The file's keys as the lookup sent them (chunks of lines), kept
    /// for a sync's preview, which needs them all at once.
    keys: Vec<String>,
}

impl Job {
    /// Plans `bytes` (dropped once parsed) with the options and authority
    /// of the signed-in operator ([`Job::authority`]): the file's keys
    /// looked up in chunks, the domain's plan folded into the summary and
    /// the results. `sha256` is the bytes' hash if the browser made it
    /// (awaited after the parse: it is made meanwhile), else it is made
    /// here.
    pub async fn plan(
        &mut self,
        bytes: Vec<u8>,
        sha256: impl std::future::Future<Output = Option<String>>,
        authority: ImportAuthority,
        progress: &dyn Fn(Step, f64),
    ) -> Result<PreviewSummary, String> {
        self.results = None;
        self.keys.clear();
        let ImportAuthority { options, actor } = authority;
        let parsed =
            parse_file_with_progress(&bytes, &options, &mut |done| progress(Step::Checking, done))
                .map_err(|e| e.to_string())?;
        let sha256 = match sha256.await {
            Some(hash) => hash,
            None => domain::store::sha256_hex(&bytes),
        };
        let keys = parsed.keys();
        self.facts.size = bytes.len() as u64;
        drop(bytes);
        if self.facts.corrected_cells == 0 {
            self.facts.original_sha256 = sha256.clone();
        }
        let mut existing = domain::UsersByKey::default();
        let chunks = keys.chunks(LOOKUP_CHUNK);
        let total = chunks.len().max(1);
        // A chunk's text is made when its request is sent, not all at once
        // (a million keys make ~30 MB of text).
        let kept = &mut self.keys;
        let mut requests = chunks.enumerate().map(|(i, chunk)| {
            let text = chunk
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            kept.push(text.clone());
            // Earlier imports of these bytes are asked for once.
            let hash = if i == 0 {
                sha256.clone()
            } else {
                String::new()
            };
            import_lookup(text, hash)
        });
        self.facts.earlier.clear();
        self.facts.approval = None;
        let mut answered = 0;
        loop {
            progress(Step::LookingUp, answered as f64 / total as f64);
            let wave: Vec<_> = requests.by_ref().take(LOOKUPS_AT_ONCE).collect();
            if wave.is_empty() {
                break;
            }
            for answer in futures::future::join_all(wave).await {
                let answer = answer.map_err(|e| e.to_string())?;
                existing.extend(answer.users.into_iter().map(|u| (u.key().clone(), u)));
                if !answer.earlier.is_empty() {
                    self.facts.earlier = answer.earlier;
                }
                if answer.approval.is_some() {
                    self.facts.approval = answer.approval;
                }
                answered += 1;
            }
        }
        drop(requests);
        drop(keys);
        progress(Step::Comparing, 0.0);
        let total = parsed.rows.len().max(1);
        let mut summary = SummaryBuilder::default();
        let mut results = ResultsCsv::new(true);
        let mut created = String::new();
        let mut done = 0usize;
        let head = plan_each(parsed, &existing, &options, actor, &mut |row| {
            summary.add(&row);
            results.add(&row);
            if let Action::Create(u) = &row.action {
                created.push_str(u.email.as_str());
                created.push('\n');
            }
            done += 1;
            if done.is_multiple_of(domain::plan::PROGRESS_ROWS) {
                progress(Step::Comparing, done as f64 / total as f64);
            }
        });
        self.results = Some(Results {
            csv: results.finish(),
            created,
        });
        Ok(summary.finish(head, self.facts.clone()))
    }

    /// Who a sync limited to `scope` would deactivate, for the file
    /// planned last. The keys go in one body (the server needs them all
    /// to know who is missing): a million keys are about 30 MB, under
    /// [`super::LARGE_BODY_BYTES`].
    pub async fn sync(&self, scope: String) -> Result<SyncAnswer, String> {
        if self.results.is_none() {
            return Err("Nothing was planned.".into());
        }
        import_sync_preview(self.keys.join("\n"), scope)
            .await
            .map_err(|e| e.to_string())
    }

    /// The import options and the operator's authority; refuses a file of
    /// `size` bytes over the limit of the options before it is read (the
    /// server would refuse it, and the worker's memory could not hold it).
    pub async fn authority(size: u64) -> Result<ImportAuthority, String> {
        let authority = import_setup().await.map_err(|e| e.to_string())?;
        if size > authority.options.max_upload_bytes() {
            return Err(authority.options.upload_too_large());
        }
        Ok(authority)
    }

    /// The header's cells and those of the record at `line` of `bytes`.
    pub fn record(bytes: &[u8], line: u64) -> Option<(Vec<String>, Vec<String>)> {
        let table = domain::correct::CsvTable::read(bytes).ok()?;
        let header = table.records.first()?.cells.clone();
        let cells = table.record(line)?.cells.clone();
        Some((header, cells))
    }

    /// `bytes` with the record at `line` corrected, and the number of
    /// cells changed.
    pub fn correct(bytes: &[u8], line: u64, cells: &[String]) -> Result<(Vec<u8>, u32), String> {
        let mut table = domain::correct::CsvTable::read(bytes).map_err(|e| e.to_string())?;
        let changed = table
            .correct(line, cells)
            .ok_or_else(|| format!("There is no record at line {line}."))?;
        Ok((table.write(), changed))
    }
}

#[cfg(feature = "hydrate")]
pub use running::run;

#[cfg(feature = "hydrate")]
mod running {
    use super::*;
    use crate::import::browser::{csv_blob, envelope, open_envelope};
    use leptos::wasm_bindgen::JsCast;
    use leptos::wasm_bindgen::prelude::*;
    use std::cell::RefCell;
    use std::rc::Rc;
    use web_sys::{Blob, DedicatedWorkerGlobalScope, MessageEvent};

    /// Bytes read from the file at a time.
    const SLICE: f64 = 8.0 * 1024.0 * 1024.0;

    fn scope() -> DedicatedWorkerGlobalScope {
        js_sys::global().unchecked_into()
    }

    fn post(message: &FromWorker, blob: Option<&Blob>) {
        let _ = scope().post_message(&envelope(message, blob));
    }

    fn progress(step: Step, done: f64) {
        post(&FromWorker::Progress { step, done }, None);
    }

    /// Grows the worker's heap once to about what a plan of `size` bytes
    /// will use. The allocator otherwise grows the wasm memory a few pages
    /// at a time, thousands of times for a large file (measured: checking
    /// a million rows took 2.6 s without this, 2.3 s with it, in Chromium;
    /// in Node's V8 the difference was 4.6 s against 1.8 s). The block is
    /// freed at once, so the allocator hands it out again; pages never
    /// written take no memory. If the memory cannot grow that far, nothing
    /// is reserved and the plan grows as it goes.
    fn reserve_heap(size: f64) {
        let mut block: Vec<u8> = Vec::new();
        let _ = block.try_reserve_exact((size * HEAP_PER_BYTE) as usize);
        std::hint::black_box(&block);
    }

    /// The heap a plan uses per byte of its file (measured: the bytes,
    /// their parse and the plan's results take about 3.5 times the file).
    const HEAP_PER_BYTE: f64 = 3.5;

    /// The file's bytes, read in slices; `report`: with progress. Each
    /// slice is asked for before the one before it is copied.
    async fn read(file: &Blob, report: bool) -> Result<Vec<u8>, String> {
        let failed = |_| "The file could not be read.".to_string();
        let total = file.size();
        reserve_heap(total);
        let mut bytes = Vec::with_capacity(total as usize);
        let slice = |at: f64| -> Result<wasm_bindgen_futures::JsFuture, String> {
            let end = (at + SLICE).min(total);
            let blob = file.slice_with_f64_and_f64(at, end).map_err(failed)?;
            Ok(wasm_bindgen_futures::JsFuture::from(blob.array_buffer()))
        };
        let mut at = 0.0;
        let mut next = (total > 0.0).then(|| slice(0.0)).transpose()?;
        while let Some(reading) = next {
            let buffer = reading.await.map_err(failed)?;
            at = (at + SLICE).min(total);
            next = (at < total).then(|| slice(at)).transpose()?;
            let array = js_sys::Uint8Array::new(&buffer);
            let start = bytes.len();
            bytes.resize(start + array.length() as usize, 0);
            array.copy_to(&mut bytes[start..]);
            if report {
                progress(Step::Reading, at / total);
            }
        }
        Ok(bytes)
    }

    /// The SHA-256 of `bytes` by WebCrypto, where the browser has it (a
    /// secure context): it copies the bytes now and hashes them on a
    /// thread of its own while the worker parses (in wasm it took 0.47 s
    /// of a million-row preview). `None` without WebCrypto or if it fails;
    /// then [`Job::plan`] hashes with the domain's code.
    fn sha256_of(bytes: &[u8]) -> impl std::future::Future<Output = Option<String>> + use<> {
        let digest = scope().crypto().ok().and_then(|c| {
            c.subtle()
                .digest_with_str_and_u8_array("SHA-256", bytes)
                .ok()
        });
        async move {
            let buffer = wasm_bindgen_futures::JsFuture::from(digest?).await.ok()?;
            Some(hex::encode(js_sys::Uint8Array::new(&buffer).to_vec()))
        }
    }

    /// The worker's state: the job, and the file it is about (the chosen
    /// file, or the corrected file).
    #[derive(Default)]
    struct State {
        job: Job,
        file: Option<Blob>,
    }

    /// A preview as a message, with its file beside it.
    fn post_preview(state: &State, summary: PreviewSummary) {
        post(
            &FromWorker::Previewed(Box::new(summary)),
            state.file.as_ref(),
        );
    }

    /// Reads the file again (the bytes are not kept between messages);
    /// `report`: with progress (not while the preview stays shown).
    async fn bytes(state: &State, report: bool) -> Result<Vec<u8>, String> {
        match &state.file {
            Some(file) => read(file, report).await,
            None => Err("No file was given.".into()),
        }
    }

    async fn plan(state: &mut State) {
        let size = state.file.as_ref().map_or(0.0, |f| f.size()) as u64;
        let outcome = match Job::authority(size).await {
            Ok(authority) => match bytes(state, true).await {
                Ok(bytes) => {
                    let sha256 = sha256_of(&bytes);
                    state.job.plan(bytes, sha256, authority, &progress).await
                }
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(summary) => post_preview(state, summary),
            Err(e) => post(&FromWorker::Failed(e), None),
        }
    }

    // The state stays borrowed across the awaits of its reads and lookups
    // on purpose: one message at a time (the page sends the next only
    // after the answer); one arriving meanwhile is answered "busy", not
    // queued.
    #[allow(clippy::await_holding_refcell_ref)]
    async fn handle(state: Rc<RefCell<State>>, message: ToWorker, blob: Option<Blob>) {
        let Ok(mut state) = state.try_borrow_mut() else {
            post(&FromWorker::Failed("The preview is busy.".into()), None);
            return;
        };
        match message {
            ToWorker::Plan { file_name } => {
                let Some(file) = blob else {
                    post(&FromWorker::Failed("No file was given.".into()), None);
                    return;
                };
                *state = State {
                    job: Job {
                        facts: FileFacts {
                            file_name,
                            ..FileFacts::default()
                        },
                        ..Job::default()
                    },
                    file: Some(file),
                };
                plan(&mut state).await;
            }
            ToWorker::Replan => plan(&mut state).await,
            ToWorker::Record { line } => {
                let record = bytes(&state, false)
                    .await
                    .ok()
                    .and_then(|b| Job::record(&b, line));
                match record {
                    Some((header, cells)) => post(
                        &FromWorker::Record {
                            line,
                            header,
                            cells,
                        },
                        None,
                    ),
                    None => post(
                        &FromWorker::FixFailed(format!("There is no record at line {line}.")),
                        None,
                    ),
                }
            }
            ToWorker::Fix { line, cells } => {
                let corrected = match bytes(&state, true).await {
                    Ok(b) => Job::correct(&b, line, &cells),
                    Err(e) => Err(e),
                };
                let (bytes, changed) = match corrected {
                    Ok((_, 0)) => {
                        return post(&FromWorker::FixFailed("Nothing was changed.".into()), None);
                    }
                    Ok(c) => c,
                    Err(e) => return post(&FromWorker::FixFailed(e), None),
                };
                let file = csv_blob(&bytes);
                let before = (state.job.facts.clone(), state.job.results.take());
                state.job.facts.corrected_cells += changed;
                let planned = match Job::authority(bytes.len() as u64).await {
                    Ok(authority) => {
                        let sha256 = sha256_of(&bytes);
                        state.job.plan(bytes, sha256, authority, &progress).await
                    }
                    Err(e) => Err(e),
                };
                match planned {
                    Ok(summary) => {
                        state.file = Some(file);
                        post_preview(&state, summary);
                    }
                    Err(e) => {
                        // The preview before the correction stands.
                        (state.job.facts, state.job.results) = before;
                        post(&FromWorker::FixFailed(e), None);
                    }
                }
            }
            ToWorker::Sync { scope } => match state.job.sync(scope).await {
                Ok(answer) => post(&FromWorker::Synced(Box::new(answer)), None),
                Err(e) => post(&FromWorker::SyncFailed(e), None),
            },
            ToWorker::Results => {
                let Some(results) = &state.job.results else {
                    return post(&FromWorker::Failed("Nothing was planned.".into()), None);
                };
                post(
                    &FromWorker::Results {
                        created: results.created.trim_end().to_string(),
                    },
                    Some(&csv_blob(results.csv.as_bytes())),
                );
            }
        }
    }

    /// Takes over the worker's messages (`queued`: those that came while
    /// the wasm was being instantiated).
    pub fn run(queued: js_sys::Array) {
        let state = Rc::new(RefCell::new(State::default()));
        let dispatch = {
            let state = state.clone();
            move |data: JsValue| match open_envelope::<ToWorker>(&data) {
                Some((message, blob)) => {
                    wasm_bindgen_futures::spawn_local(handle(state.clone(), message, blob))
                }
                None => post(
                    &FromWorker::Failed("A message was not understood.".into()),
                    None,
                ),
            }
        };
        for data in queued.iter() {
            dispatch(data);
        }
        let on_message =
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| dispatch(e.data()));
        scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }
}
