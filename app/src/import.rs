//! Users › Create › Import by CSV: the file is read and planned in the
//! browser (the same `domain` code the server runs), the operator sees
//! every create, update (field by field), unchanged and invalid row, and
//! only "Next" sends the bytes to the server, which plans them again inside
//! its write transaction and refuses if the plan differs.

use crate::error::AppError;
use domain::plan::{Action, ImportPlan, PlannedRow, parse_file, plan_parsed};
use domain::store::BatchSummary;
use domain::{Actor, Options, User};
use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Arc;

/// Largest file the import accepts over HTTP (its own route limit; other
/// requests keep the small default). Postcard adds a few bytes to it.
pub const MAX_UPLOAD_BYTES: usize = 64 * 1024 * 1024;
/// The server functions whose bodies may be that large.
pub const LARGE_BODY_ENDPOINTS: [&str; 2] = ["/api/import_lookup", "/api/import_commit"];
/// Rows a preview table shows at first and adds per "Show more".
const PAGE_ROWS: usize = 100;

/// The import options (operators only): the browser needs them to plan.
#[server(endpoint = "import_options")]
pub async fn import_options() -> Result<Options, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let store = store()?;
    blocking(move || store.options()).await
}

/// What the browser needs to plan a file: the options, and the authority
/// the signed-in operator imports with (the privilege rule marks rows for
/// users above it Invalid in the preview, as the server will).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportAuthority {
    pub options: Options,
    pub actor: Actor,
}

#[server(endpoint = "import_setup")]
pub async fn import_setup() -> Result<ImportAuthority, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let store = store()?;
    let options = blocking(move || store.options()).await?;
    Ok(ImportAuthority {
        options,
        actor: actor(&me),
    })
}

/// What the browser needs to plan a file: the stored users with the file's
/// keys, and earlier imports of the same bytes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LookupAnswer {
    pub users: Vec<User>,
    pub earlier: Vec<BatchSummary>,
}

/// `keys` are the file's keys, one per line: a single string decodes into
/// no more memory than its bytes, where a list of strings could be made to
/// decode into many times that.
#[server(endpoint = "import_lookup", input = Postcard, output = Postcard)]
pub async fn import_lookup(keys: String, sha256: String) -> Result<LookupAnswer, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let store = store()?;
    blocking(move || {
        let max = store.options()?.max_rows;
        let count = keys.lines().count() as u64;
        if count > max {
            return Err(domain::store::StoreError::Invalid(format!(
                "{count} users asked for; the largest import is {max} rows."
            )));
        }
        let keys: Vec<String> = keys
            .lines()
            .filter(|k| !k.is_empty())
            .map(str::to_string)
            .collect();
        Ok(LookupAnswer {
            users: store.users_by_keys(&keys)?,
            earlier: store.batches_with_hash(&sha256)?,
        })
    })
    .await
}

/// The server's answer to "Next".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommitAnswer {
    Committed {
        batch: BatchSummary,
    },
    /// Someone changed one of these users since the preview: nothing was
    /// written.
    ChangedSincePreview,
    /// Invalid rows and "Skip invalid rows" not ticked: nothing written.
    Blocked {
        invalid: u64,
    },
    /// No row creates or changes a user: nothing written.
    NothingToWrite,
}

/// Plans the bytes again inside one write transaction and writes them if
/// the plan is the one the operator saw (same fingerprint).
#[server(endpoint = "import_commit", input = Postcard)]
pub async fn import_commit(
    bytes: Vec<u8>,
    file_name: String,
    fingerprint: String,
    skip_invalid: bool,
) -> Result<CommitAnswer, AppError> {
    use crate::context::*;
    use domain::store::{ImportOutcome, ImportRequest};
    let operator = require(is_operator).await?;
    // The name is only shown in history: keep it short and printable.
    let file_name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let store = store()?;
    let now = now_ms() / 1000;
    let outcome = blocking(move || {
        store.apply_import(ImportRequest {
            bytes: &bytes,
            file_name: &file_name,
            operator: operator.email.as_str(),
            actor: actor(&operator),
            expected_fingerprint: Some(&fingerprint),
            skip_invalid,
            now,
        })
    })
    .await?;
    Ok(match outcome {
        ImportOutcome::Committed { batch, .. } => CommitAnswer::Committed { batch },
        ImportOutcome::ChangedSincePreview { .. } => CommitAnswer::ChangedSincePreview,
        ImportOutcome::Blocked { plan } => CommitAnswer::Blocked {
            invalid: plan.counts.invalid,
        },
        ImportOutcome::NothingToWrite { .. } => CommitAnswer::NothingToWrite,
    })
}

/// Sign-in links for an import's users: the CSV, and the users left out
/// with the reason (no such user, or the privilege rule: e.g. a user who
/// set a password meanwhile needs an administrator's reset).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinksAnswer {
    pub csv: String,
    pub left_out: Vec<(String, String)>,
}

/// One-time sign-in links for the given users (operators only, under the
/// privilege rule), as CSV. `emails`: one per line (see `import_lookup`).
#[server(endpoint = "sign_in_links_csv", input = Postcard)]
pub async fn sign_in_links_csv(emails: String) -> Result<LinksAnswer, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let base = public_base();
    let store = store()?;
    let now = now_ms() / 1000;
    let actor = actor(&me);
    blocking(move || {
        let options = store.options()?;
        if emails.lines().count() as u64 > options.max_rows {
            return Err(domain::store::StoreError::Invalid(format!(
                "More links asked for than the largest import ({} rows).",
                options.max_rows
            )));
        }
        let days = options.link_days;
        let expires = domain::time::rfc3339(now + i64::from(days) * 86_400);
        let emails: Vec<domain::Email> = emails
            .lines()
            .filter_map(|e| domain::Email::parse(e).ok())
            .collect();
        let keys: Vec<String> = emails.iter().map(|e| e.key().to_string()).collect();
        let tokens = store.create_links(&keys, now, days, actor)?;
        let mut links = Vec::with_capacity(emails.len());
        let mut left_out = Vec::new();
        for (email, token) in emails.into_iter().zip(tokens) {
            match token {
                Ok(token) => links.push((
                    email.to_string(),
                    format!("{base}/link/{token}"),
                    expires.clone(),
                )),
                Err(why) => left_out.push((email.to_string(), why.to_string())),
            }
        }
        Ok(LinksAnswer {
            csv: domain::csv_out::links_csv(&links),
            left_out,
        })
    })
    .await
}

/// A file as the operator chose it, and its plan.
struct Preview {
    file_name: String,
    bytes: Vec<u8>,
    plan: ImportPlan,
    earlier: Vec<BatchSummary>,
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
}

/// Reads, plans and looks up a file in the browser.
async fn make_preview(file_name: String, bytes: Vec<u8>) -> Result<Preview, String> {
    let ImportAuthority { options, actor } = import_setup().await.map_err(|e| e.to_string())?;
    let parsed = parse_file(&bytes, &options).map_err(|e| e.to_string())?;
    let sha256 = domain::store::sha256_hex(&bytes);
    let lookup = import_lookup(parsed.keys().join("\n"), sha256)
        .await
        .map_err(|e| e.to_string())?;
    let existing: HashMap<String, User> = lookup
        .users
        .into_iter()
        .map(|u| (u.key().to_string(), u))
        .collect();
    let plan = plan_parsed(parsed, &existing, &options, actor);
    Ok(Preview {
        file_name,
        bytes,
        plan,
        earlier: lookup.earlier,
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
                            preview: Arc::new(p),
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
                        view! {
                            <PreviewView preview=preview notice=notice skip_invalid/>
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
                }}
            </section>
        }
    })
}

#[component]
fn PreviewView(
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

#[component]
fn ResultView(preview: Arc<Preview>, batch: BatchSummary) -> impl IntoView {
    let results = browser::object_url(&domain::csv_out::results_csv(&preview.plan, true));
    let created: String = preview
        .plan
        .creates()
        .map(|(_, u)| u.email.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let links_error = RwSignal::new(None::<String>);
    let download_links = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        let created = created.clone();
        leptos::task::spawn_local(async move {
            match sign_in_links_csv(created).await {
                Ok(LinksAnswer { csv, left_out }) => {
                    links_error.set((!left_out.is_empty()).then(|| {
                        let shown: Vec<String> = left_out
                            .iter()
                            .take(20)
                            .map(|(email, why)| format!("{email} ({why})"))
                            .collect();
                        format!(
                            "No link for {} users: {}{}",
                            left_out.len(),
                            shown.join("; "),
                            if left_out.len() > 20 { " …" } else { "" }
                        )
                    }));
                    browser::download("sign-in-links.csv", &csv);
                }
                Err(e) => links_error.set(Some(e.to_string())),
            }
        });
    };
    let skipped = preview.plan.counts.invalid;
    view! {
        <p role="status" class="done">
            {format!(
                "Import done (batch {}): {} created, {} updated, {} unchanged{}.",
                batch.id,
                batch.counts.create,
                batch.counts.update,
                batch.counts.unchanged,
                if skipped > 0 { format!(", {skipped} invalid rows skipped") } else { String::new() },
            )}
        </p>
        <p class="actions">
            <a href=results download="import-results.csv">"Download results"</a>
            " "
            <a href="#" on:click=download_links>"Download sign-in links"</a>
        </p>
        {move || links_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <PagedTable
            caption="Created users"
            head=vec!["Line", "Email", "Name"]
            rows=rows_of(&preview, |r| match &r.action {
                Action::Create(u) => Some(vec![r.line.to_string(), u.email.to_string(), u.name()]),
                _ => None,
            })
        />
        <PagedTable
            caption="Updated users"
            head=vec!["Line", "Email", "Changes"]
            rows=update_rows(&preview)
        />
        {(skipped > 0)
            .then(|| {
                view! {
                    <PagedTable
                        caption="Skipped rows"
                        head=vec!["Line", "Column", "Value", "Message"]
                        rows=error_rows(&preview)
                    />
                }
            })}
        <p class="actions">
            <button type="button" on:click=move |_| go("/users")>"OK"</button>
        </p>
    }
}

/// Leaves the import (called from event handlers, where the router's
/// context is not at hand: a full load).
fn go(path: &str) {
    let _ = window().location().set_href(path);
}

fn rows_of(
    preview: &Preview,
    cells: impl Fn(&PlannedRow) -> Option<Vec<String>>,
) -> Arc<Vec<Vec<String>>> {
    Arc::new(preview.plan.rows.iter().filter_map(cells).collect())
}

fn update_rows(preview: &Preview) -> Arc<Vec<Vec<String>>> {
    rows_of(preview, |r| match &r.action {
        Action::Update { after, changes, .. } => Some(vec![
            r.line.to_string(),
            after.email.to_string(),
            changes_text(changes),
        ]),
        _ => None,
    })
}

fn error_rows(preview: &Preview) -> Arc<Vec<Vec<String>>> {
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

fn changes_text(changes: &[domain::plan::Change]) -> String {
    changes
        .iter()
        .map(|c| {
            let show = |v: &str| {
                if v.is_empty() {
                    "(blank)".to_string()
                } else {
                    v.to_string()
                }
            };
            format!("{}: {} → {}", c.field, show(&c.old), show(&c.new))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A table that renders its first rows and more on request, so that a
/// preview of 100k rows stays responsive. Empty tables say so.
#[component]
fn PagedTable(
    caption: &'static str,
    head: Vec<&'static str>,
    rows: Arc<Vec<Vec<String>>>,
) -> impl IntoView {
    let shown = RwSignal::new(PAGE_ROWS);
    let total = rows.len();
    let width = head.len();
    let body_rows = rows.clone();
    view! {
        <table class="preview">
            <caption>{format!("{caption} ({total})")}</caption>
            <thead>
                <tr>{head.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr>
            </thead>
            <tbody>
                {move || {
                    if total == 0 {
                        return view! { <tr><td colspan=width class="empty">"None"</td></tr> }.into_any();
                    }
                    body_rows
                        .iter()
                        .take(shown.get())
                        .map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> })
                        .collect_view()
                        .into_any()
                }}
            </tbody>
        </table>
        {move || {
            (shown.get() < total)
                .then(|| {
                    view! {
                        <p class="more">
                            {format!("Showing {} of {total}. ", shown.get())}
                            <button type="button" class="secondary" on:click=move |_| shown.update(|n| *n += PAGE_ROWS * 10)>
                                {format!("Show more {}", caption.to_lowercase())}
                            </button>
                        </p>
                    }
                })
        }}
    }
}

/// The browser's side: files and downloads. On the server these are never
/// called (event handlers do not run there).
mod browser {
    use leptos::wasm_bindgen::JsCast;

    pub fn chosen_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
        let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
        input.files()?.get(0)
    }

    pub fn dropped_file(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
        ev.data_transfer()?.files()?.get(0)
    }

    pub async fn read_file(file: web_sys::File) -> Result<Vec<u8>, String> {
        let blob = gloo_file::Blob::from(file);
        gloo_file::futures::read_as_bytes(&blob)
            .await
            .map_err(|e| format!("The file could not be read: {e}"))
    }

    /// A URL for a CSV made in the browser.
    pub fn object_url(csv: &str) -> String {
        let blob = gloo_file::Blob::new_with_options(csv, Some("text/csv;charset=utf-8"));
        web_sys::Url::create_object_url_with_blob(blob.as_ref()).unwrap_or_default()
    }

    /// Saves a CSV made in the browser under `name`.
    pub fn download(name: &str, csv: &str) {
        let url = object_url(csv);
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if let Ok(a) = document.create_element("a") {
            let _ = a.set_attribute("href", &url);
            let _ = a.set_attribute("download", name);
            if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
                a.click();
            }
        }
    }
}
