//! The import's server functions and the types they exchange, and the
//! HTTP limits the server sets for their routes.

use crate::error::AppError;
use domain::store::BatchSummary;
use domain::{Actor, Options, User};
use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;
use serde::{Deserialize, Serialize};

/// Largest body of the lookup and of the sign-in links request (their own
/// route limit; other requests keep the small default): a chunk of a
/// file's keys, or the addresses of every user an import created (a
/// million addresses fit).
pub const LARGE_BODY_BYTES: usize = 64 * 1024 * 1024;
/// The paths of the server functions whose bodies may be that large.
pub fn large_body_endpoints() -> [&'static str; 4] {
    use leptos::server_fn::ServerFn;
    [
        ImportLookup::PATH,
        ImportSyncPreview::PATH,
        SignInLinksCsv::PATH,
        EmailSignInLinks::PATH,
    ]
}

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
    /// With the first chunk: what counts toward the approval threshold.
    pub approval: Option<super::summary::ApprovalWindow>,
}

/// The client of the server functions with large bodies
/// ([`large_body_endpoints`]): in the browser it sends the body as a
/// `Blob` (`blob_client`); the server's build needs only a name for it.
#[cfg(feature = "hydrate")]
pub type LargeBodyClient = super::blob_client::BlobBodyClient;
#[cfg(not(feature = "hydrate"))]
pub type LargeBodyClient = server_fn::client::browser::BrowserClient;

/// `keys` are the file's keys, one per line: a single string decodes into
/// no more memory than its bytes, where a list of strings could be made to
/// decode into many times that. The browser sends a large file's keys in
/// chunks (`worker::LOOKUP_CHUNK`), each answered from one read
/// transaction; `sha256` (earlier imports of the same bytes) comes with
/// the first chunk only, empty with the others.
#[server(endpoint = "import_lookup", input = Postcard, output = Postcard, client = LargeBodyClient)]
pub async fn import_lookup(keys: String, sha256: String) -> Result<LookupAnswer, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let store = store()?;
    let now = now_s();
    blocking(move || {
        let options = store.options()?;
        let keys = asked_keys(&keys, &options)?;
        Ok(LookupAnswer {
            users: store.users_by_keys(&keys)?,
            // Asked with the first chunk of a file only.
            approval: if sha256.is_empty() || options.approval_above == 0 {
                None
            } else {
                Some(super::summary::ApprovalWindow {
                    already: store.rows_written_by(&me.by(), options.approval_window_start(now))?,
                    above: options.approval_above,
                    hours: options.approval_window_hours,
                })
            },
            earlier: if sha256.is_empty() {
                Vec::new()
            } else {
                store.batches_with_hash(&sha256)?
            },
        })
    })
    .await
}

/// The sync part of a preview: who a sync with these settings would
/// deactivate (the browser plans the file's rows; the candidates are the
/// server's to find).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncAnswer {
    /// The organization the sync is limited to, as the server read it.
    pub scope: Option<String>,
    /// Users a sync may deactivate, listed in the file or not.
    pub candidates: u64,
    /// Those the file does not list.
    pub deactivate: u64,
    /// `deactivate` as a share of `candidates`, in whole percent.
    pub percent: u64,
    /// Email, Name, Last changed: the first [`super::summary::SHOWN_ROWS`].
    pub shown: Vec<Vec<String>>,
    /// What the sync adds to the plan's fingerprint
    /// (`domain::fingerprint::sync_digest`).
    pub digest: String,
    /// The safety valve's refusal, if it refuses.
    pub refusal: Option<String>,
    /// Whether the signed-in operator may confirm a refused sync
    /// ("Deactivate anyway": administrators).
    pub may_force: bool,
}

/// Who a sync limited to `scope` (blank: every organization) would
/// deactivate, for a file holding `keys` (one per line, every key of the
/// file: see `import_lookup`). Nothing is written.
#[server(endpoint = "import_sync_preview", input = Postcard, output = Postcard, client = LargeBodyClient)]
pub async fn import_sync_preview(keys: String, scope: String) -> Result<SyncAnswer, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let store = store()?;
    let actor = actor(&me);
    if scope.chars().count() > domain::Field::Organization.max_chars() {
        return Err(AppError::Invalid(
            "The organization to sync is too long.".into(),
        ));
    }
    let _slot = SyncPreviewSlot::take().ok_or_else(|| {
        AppError::Invalid("Another sync preview is being made; try again in a moment.".into())
    })?;
    blocking(move || {
        let options = store.options()?;
        let in_file: std::collections::HashSet<String> = asked_keys(&keys, &options)?
            .into_iter()
            .map(|k| k.to_string())
            .collect();
        let settings = domain::plan::SyncSettings {
            scope_organization: Some(scope),
        };
        let part = store.preview_sync(&|k| in_file.contains(k), &settings, actor)?;
        Ok(SyncAnswer {
            scope: part.settings.scope().map(str::to_string),
            candidates: part.candidates,
            deactivate: part.deactivations.len() as u64,
            percent: part.percent(),
            shown: part
                .deactivations
                .iter()
                .take(super::summary::SHOWN_ROWS)
                .map(|d| {
                    vec![
                        d.before.email.to_string(),
                        d.before.name(),
                        domain::time::rfc3339(d.before.updated_at),
                    ]
                })
                .collect(),
            digest: domain::fingerprint::sync_digest(&part),
            refusal: part.refusal(&options),
            may_force: domain::usecase::may_force(actor),
        })
    })
    .await
}

/// The keys a request names, one address a line; more lines than an
/// import may have rows are refused. Keys are made the one way keys are
/// made: from a parsed address.
#[cfg(feature = "ssr")]
fn asked_keys(
    keys: &str,
    options: &Options,
) -> Result<Vec<domain::UserKey>, domain::store::StoreError> {
    let max = options.max_rows;
    let count = keys.lines().count() as u64;
    if count > max {
        return Err(domain::store::StoreError::Invalid(format!(
            "{count} users asked for; the largest import is {max} rows."
        )));
    }
    Ok(keys
        .lines()
        .filter_map(|k| domain::Email::parse(k).ok())
        .map(|e| e.key().clone())
        .collect())
}

/// A sync preview reads every candidate inside a write transaction (where
/// the commit reads them), holding up the store's other writers while it
/// runs: at most [`SyncPreviewSlot::MAX`] are made at once on a server,
/// the others are refused, not queued.
#[cfg(feature = "ssr")]
struct SyncPreviewSlot;

#[cfg(feature = "ssr")]
static SYNC_PREVIEWS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(feature = "ssr")]
impl SyncPreviewSlot {
    const MAX: usize = 2;

    fn take() -> Option<SyncPreviewSlot> {
        use std::sync::atomic::Ordering;
        SYNC_PREVIEWS
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < Self::MAX).then_some(n + 1)
            })
            .ok()
            .map(|_| SyncPreviewSlot)
    }
}

#[cfg(feature = "ssr")]
impl Drop for SyncPreviewSlot {
    fn drop(&mut self) {
        SYNC_PREVIEWS.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
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
    /// Above the approval threshold: nothing written; request `id` waits
    /// for a second person with the Approval role.
    SentForApproval {
        id: u64,
    },
    /// A sync the safety valve refuses (and no administrator confirmed
    /// it): nothing written.
    TooManyDeactivations {
        message: String,
    },
}

/// Where "Next" sends the file: the raw bytes as the request body (the
/// browser streams them, with upload progress), what else the commit needs
/// in the query string ([`CommitParams`]), [`CommitAnswer`] as JSON back.
/// Not a server function: those decode their whole body as one value,
/// where this route checks the session before it reads a byte and stops
/// reading at a limit derived from `import.max_rows`.
pub const UPLOAD_PATH: &str = "/api/import/upload";

/// What "Next" sends besides the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitParams {
    pub file_name: String,
    /// The plan the operator saw: the server commits only this plan.
    pub fingerprint: String,
    pub skip_invalid: bool,
    /// Cells corrected in the preview (then the bytes are the corrected
    /// file) and the SHA-256 of the file as it was chosen.
    pub corrected_cells: u32,
    pub original_sha256: String,
    /// A sync import: users of `scope` (blank: all) the file does not list
    /// are deactivated; `force` confirms a sync the safety valve refuses.
    pub sync: bool,
    pub scope: String,
    pub force: bool,
}

impl CommitParams {
    /// The query string (without `?`).
    pub fn query(&self) -> String {
        let enc = |v: &str| {
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        format!(
            "name={}&fingerprint={}&skip_invalid={}&corrected_cells={}&original_sha256={}\
             &sync={}&scope={}&force={}",
            enc(&self.file_name),
            enc(&self.fingerprint),
            self.skip_invalid,
            self.corrected_cells,
            enc(&self.original_sha256),
            self.sync,
            enc(&self.scope),
            self.force,
        )
    }

    /// Read back from decoded query parameters; anything missing or
    /// malformed reads as empty, false or 0 (the fingerprint check then
    /// refuses a commit that was not previewed).
    pub fn from_params<'a>(get: impl Fn(&str) -> Option<&'a str>) -> CommitParams {
        // The name is only shown in history: keep it short and printable.
        let file_name = get("name")
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let original = get("original_sha256").unwrap_or_default();
        CommitParams {
            file_name,
            fingerprint: get("fingerprint")
                .unwrap_or_default()
                .chars()
                .take(200)
                .collect(),
            skip_invalid: get("skip_invalid") == Some("true"),
            corrected_cells: get("corrected_cells")
                .and_then(|n| n.parse().ok())
                .unwrap_or(0),
            // The original SHA-256 must look like one.
            original_sha256: if original.len() == 64
                && original.bytes().all(|b| b.is_ascii_hexdigit())
            {
                original.to_ascii_lowercase()
            } else {
                String::new()
            },
            sync: get("sync") == Some("true"),
            scope: get("scope")
                .unwrap_or_default()
                .chars()
                .take(domain::Field::Organization.max_chars())
                .collect(),
            force: get("force") == Some("true"),
        }
    }
}

/// Plans the bytes again inside one write transaction and writes them if
/// the plan is the one the operator saw (same fingerprint). The caller has
/// checked the operator's session; the role is checked again here.
#[cfg(feature = "ssr")]
pub async fn commit_upload(
    store: crate::context::AppStore,
    operator: User,
    bytes: Vec<u8>,
    params: CommitParams,
    mail: bool,
) -> Result<CommitAnswer, AppError> {
    use crate::context::{actor, blocking, is_operator, now_s};
    use domain::store::{ImportOutcome, ImportRequest};
    if !is_operator(&operator) {
        return Err(AppError::not_allowed());
    }
    let corrected = (params.corrected_cells > 0).then(|| domain::store::Correction {
        cells: params.corrected_cells,
        original_sha256: params.original_sha256.clone(),
    });
    let now = now_s();
    let outcome = blocking(move || {
        let request = ImportRequest {
            bytes: &bytes,
            file_name: &params.file_name,
            operator: operator.by(),
            actor: actor(&operator),
            expected_fingerprint: Some(&params.fingerprint),
            skip_invalid: params.skip_invalid,
            corrected,
            now,
        };
        if params.sync {
            let sync = domain::store::SyncRequest {
                settings: domain::plan::SyncSettings {
                    scope_organization: Some(params.scope.clone()),
                },
                force: params.force,
                dry_run: false,
            };
            store.apply_import_mailing(request, Some(&sync), mail)
        } else {
            store.apply_import_mailing(request, None, mail)
        }
        .map(|(outcome, _)| outcome)
    })
    .await?;
    Ok(match outcome {
        ImportOutcome::Committed { batch, .. } => CommitAnswer::Committed { batch },
        ImportOutcome::ChangedSincePreview { .. } => CommitAnswer::ChangedSincePreview,
        ImportOutcome::Blocked { plan } => CommitAnswer::Blocked {
            invalid: plan.counts.invalid,
        },
        ImportOutcome::NothingToWrite { .. } => CommitAnswer::NothingToWrite,
        ImportOutcome::SentForApproval { request, .. } => {
            CommitAnswer::SentForApproval { id: request.id }
        }
        ImportOutcome::TooManyDeactivations { message, .. } => {
            CommitAnswer::TooManyDeactivations { message }
        }
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
#[server(endpoint = "sign_in_links_csv", input = Postcard, client = LargeBodyClient)]
pub async fn sign_in_links_csv(emails: String) -> Result<LinksAnswer, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let base = public_base();
    let store = store()?;
    let now = now_s();
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
        let keys: Vec<domain::UserKey> = emails.iter().map(|e| e.key().clone()).collect();
        let tokens = store.create_links(&keys, now, days, &me.by(), actor)?;
        let mut links = Vec::with_capacity(emails.len());
        let mut left_out = Vec::new();
        for (email, token) in emails.into_iter().zip(tokens) {
            match token {
                Ok(token) => links.push((
                    email.to_string(),
                    format!("{base}/link/{}", token.expose()),
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

/// "Email sign-in links": queues a mail with a one-time sign-in link for
/// each of these users who is active and has no password (operators only,
/// under the privilege rule, as "Download sign-in links"). `emails`: one
/// per line. Refused when the server sends no mail.
#[server(endpoint = "email_sign_in_links", input = Postcard, client = LargeBodyClient)]
pub async fn email_sign_in_links(
    emails: String,
) -> Result<domain::usecase::mail::Queued, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    if !mail_enabled() {
        return Err(failed(AppError::Invalid(
            "This server sends no mail (no --smtp-url): download the sign-in links instead.".into(),
        )));
    }
    let store = store()?;
    let now = now_s();
    let actor = actor(&me);
    blocking(move || {
        let options = store.options()?;
        if emails.lines().count() as u64 > options.max_rows {
            return Err(domain::store::StoreError::Invalid(format!(
                "More links asked for than the largest import ({} rows).",
                options.max_rows
            )));
        }
        let keys: Vec<domain::UserKey> = emails
            .lines()
            .filter_map(|e| domain::Email::parse(e).ok())
            .map(|e| e.key().clone())
            .collect();
        store.queue_sign_in_links(&keys, now, &me.by(), actor)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "ssr")]
    #[test]
    fn at_most_two_sync_previews_run_at_once() {
        let a = SyncPreviewSlot::take().expect("first");
        let b = SyncPreviewSlot::take().expect("second");
        assert!(SyncPreviewSlot::take().is_none(), "a third is refused");
        drop(a);
        let c = SyncPreviewSlot::take().expect("a finished one frees its slot");
        drop((b, c));
    }

    #[test]
    fn commit_params_survive_the_query_string() {
        let params = CommitParams {
            file_name: "HR export & more.csv".into(),
            fingerprint: "ab12".into(),
            skip_invalid: true,
            corrected_cells: 3,
            original_sha256: "0".repeat(64),
            sync: true,
            scope: "Acme & Söhne = 1".into(),
            force: true,
        };
        let query = params.query();
        let pairs: Vec<(String, String)> = query
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap();
                let v = percent_encoding::percent_decode_str(v)
                    .decode_utf8()
                    .unwrap();
                (k.to_string(), v.into_owned())
            })
            .collect();
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(CommitParams::from_params(get), params);
        // Missing parameters read as an ordinary import.
        let plain = CommitParams::from_params(|_| None);
        assert!(!plain.sync && !plain.force && plain.scope.is_empty());
    }
}
