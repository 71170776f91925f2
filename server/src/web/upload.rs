//! "Next" on the import page: the file arrives as a raw request body,
//! streamed by the browser, and is committed once it is whole.
//!
//! The operator's session is checked before a byte of the body is read;
//! the body may be no larger than `import.max_rows` allows
//! ([`domain::Options::max_upload_bytes`]): a declared length above it is
//! refused at once, an undeclared one as soon as it passes it. The write
//! transaction opens only when the whole file is here. Each operator has
//! at most one upload running, and the server [`MAX_UPLOADS`] in all (each
//! is held in memory whole): beyond that the answer is 429, in words.

use app::context::AppStore;
use app::error::AppError;
use app::import::{CommitParams, commit_upload};
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::UserKey;
use futures_util::StreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// At most this many uploads are received (and held in memory, up to the
/// options' limit each) at once by one server.
pub const MAX_UPLOADS: usize = 4;

/// What the upload route needs: the store, the uploads in flight and how
/// long a body may pause.
#[derive(Clone)]
pub struct UploadState {
    store: AppStore,
    running: Arc<Running>,
    idle_timeout: Duration,
    /// A mail server is configured: a commit queues the options' mails.
    mail: bool,
}

impl UploadState {
    pub fn new(store: AppStore, idle_timeout: Duration) -> UploadState {
        UploadState {
            store,
            running: Arc::default(),
            idle_timeout,
            mail: false,
        }
    }

    /// With a mail server (`--smtp-url`): commits queue the sign-in link
    /// mails when `enrolment.email_on_import` is on.
    pub fn with_mail(mut self, mail: bool) -> UploadState {
        self.mail = mail;
        self
    }
}

/// The operators whose upload is being received or committed.
#[derive(Default)]
struct Running(Mutex<HashSet<UserKey>>);

/// An upload's place among the running ones, given back when dropped
/// (the upload finished, failed, or its client went away).
struct Slot {
    running: Arc<Running>,
    operator: UserKey,
}

impl Running {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<UserKey>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A place for `operator`'s upload: one per operator, [`MAX_UPLOADS`]
    /// in all.
    fn take(self: &Arc<Self>, operator: &UserKey) -> Result<Slot, AppError> {
        let mut running = self.lock();
        if running.contains(operator) {
            return Err(AppError::Throttled(
                "Another upload of yours is still running: wait until it has finished, then \
                 send this file again. Nothing was written."
                    .into(),
            ));
        }
        if running.len() >= MAX_UPLOADS {
            return Err(AppError::Throttled(format!(
                "{MAX_UPLOADS} uploads are being received just now, as many as Roster takes at \
                 once: try again in a minute. Nothing was written."
            )));
        }
        running.insert(operator.clone());
        Ok(Slot {
            running: self.clone(),
            operator: operator.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.running.lock().remove(&self.operator);
    }
}

pub async fn import_upload(
    State(state): State<UploadState>,
    session: tower_sessions::Session,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    match receive_and_commit(state, session, params, request).await {
        Ok(answer) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&answer).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => super::middleware::refusal(e),
    }
}

async fn receive_and_commit(
    state: UploadState,
    session: tower_sessions::Session,
    params: HashMap<String, String>,
    request: Request,
) -> Result<app::import::CommitAnswer, AppError> {
    let UploadState {
        store,
        running,
        idle_timeout,
        mail,
    } = state;
    let operator = super::middleware::operator_session(&session, &store).await?;
    // Held until the commit is done (or the client is gone).
    let _slot = running.take(operator.key())?;
    let options = {
        let store = store.clone();
        app::context::blocking(move || store.options()).await?
    };
    let limit = options.max_upload_bytes();
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(AppError::TooLarge(options.upload_too_large()));
    }
    let bytes = read_at_most(request.into_body(), limit, declared, idle_timeout)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge => AppError::TooLarge(options.upload_too_large()),
            ReadError::Broken(why) => AppError::Invalid(format!(
                "The upload broke off ({why}). Nothing was written."
            )),
        })?;
    let params = CommitParams::from_params(|k| params.get(k).map(String::as_str));
    commit_upload(store, operator, bytes, params, mail).await
}

#[derive(Debug)]
enum ReadError {
    TooLarge,
    Broken(String),
}

/// The whole body, or an error as soon as it passes `limit` bytes, or
/// when nothing arrives for `idle` (a total limit would cut off a large
/// file on a slow line; a pause this long means the client is gone).
async fn read_at_most(
    body: Body,
    limit: u64,
    declared: Option<u64>,
    idle: Duration,
) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut stream = body.into_data_stream();
    loop {
        let next = tokio::time::timeout(idle, stream.next())
            .await
            .map_err(|_| {
                ReadError::Broken(format!("nothing arrived for {} seconds", idle.as_secs()))
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| ReadError::Broken(e.to_string()))?;
        if (bytes.len() + chunk.len()) as u64 > limit {
            return Err(ReadError::TooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(60);

    fn chunked(parts: Vec<&'static [u8]>) -> Body {
        Body::from_stream(futures_util::stream::iter(
            parts
                .into_iter()
                .map(|p| Ok::<_, std::io::Error>(axum::body::Bytes::from_static(p))),
        ))
    }

    #[tokio::test]
    async fn chunks_are_reassembled_in_order() {
        let body = chunked(vec![b"email,first", b"_name\n", b"a@x.org,A\n"]);
        let bytes = read_at_most(body, 100, None, IDLE).await.unwrap();
        assert_eq!(bytes, b"email,first_name\na@x.org,A\n");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_at_the_chunk_that_passes_it() {
        let body = chunked(vec![b"12345", b"67890", b"x"]);
        assert!(matches!(
            read_at_most(body, 10, None, IDLE).await,
            Err(ReadError::TooLarge)
        ));
        let body = chunked(vec![b"12345", b"67890"]);
        assert_eq!(read_at_most(body, 10, None, IDLE).await.unwrap().len(), 10);
    }

    #[tokio::test]
    async fn a_body_that_stops_arriving_is_given_up() {
        let stalled = futures_util::stream::iter([Ok::<_, std::io::Error>(
            axum::body::Bytes::from_static(b"email\n"),
        )])
        .chain(futures_util::stream::pending());
        let r = read_at_most(
            Body::from_stream(stalled),
            100,
            None,
            Duration::from_millis(50),
        )
        .await;
        assert!(matches!(r, Err(ReadError::Broken(ref why)) if why.contains("nothing arrived")));
    }

    fn key(n: usize) -> UserKey {
        domain::Email::parse(&format!("op{n}@x.org"))
            .unwrap()
            .key()
            .clone()
    }

    #[test]
    fn one_upload_per_operator_and_a_few_in_all() {
        let running = Arc::new(Running::default());
        let first = running.take(&key(0)).unwrap();
        let again = running.take(&key(0)).err().unwrap();
        assert!(
            again.to_string().contains("Another upload of yours"),
            "{again}"
        );
        let others: Vec<Slot> = (1..MAX_UPLOADS)
            .map(|n| running.take(&key(n)).unwrap())
            .collect();
        let full = running.take(&key(99)).err().unwrap();
        assert!(
            full.to_string().contains("uploads are being received"),
            "{full}"
        );
        drop(first);
        running.take(&key(0)).unwrap();
        drop(others);
        assert!(running.lock().is_empty());
    }
}
