//! "Next" on the import page: the file arrives as a raw request body,
//! streamed by the browser, and is committed once it is whole.
//!
//! The operator's session is checked before a byte of the body is read;
//! the body may be no larger than `import.max_rows` allows
//! ([`domain::Options::max_upload_bytes`]): a declared length above it is
//! refused at once, an undeclared one as soon as it passes it. The write
//! transaction opens only when the whole file is here.

use app::context::AppStore;
use app::error::AppError;
use app::import::{CommitParams, commit_upload};
use axum::body::Body;
use axum::extract::{Query, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::collections::HashMap;

pub async fn import_upload(
    State(store): State<AppStore>,
    session: tower_sessions::Session,
    Query(params): Query<HashMap<String, String>>,
    request: Request,
) -> Response {
    match receive_and_commit(store, session, params, request).await {
        Ok(answer) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&answer).unwrap_or_default(),
        )
            .into_response(),
        Err(e) => crate::web::refusal(e),
    }
}

async fn receive_and_commit(
    store: AppStore,
    session: tower_sessions::Session,
    params: HashMap<String, String>,
    request: Request,
) -> Result<app::import::CommitAnswer, AppError> {
    let operator = crate::web::operator_session(&session, &store).await?;
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
    let bytes = read_at_most(request.into_body(), limit, declared)
        .await
        .map_err(|e| match e {
            ReadError::TooLarge => AppError::TooLarge(options.upload_too_large()),
            ReadError::Broken(why) => AppError::Invalid(format!(
                "The upload broke off ({why}). Nothing was written."
            )),
        })?;
    let params = CommitParams::from_params(|k| params.get(k).map(String::as_str));
    commit_upload(store, operator, bytes, params).await
}

#[derive(Debug)]
enum ReadError {
    TooLarge,
    Broken(String),
}

/// The whole body, or an error as soon as it passes `limit` bytes.
async fn read_at_most(body: Body, limit: u64, declared: Option<u64>) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::with_capacity(declared.unwrap_or(0).min(limit) as usize);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
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
        let bytes = read_at_most(body, 100, None).await.unwrap();
        assert_eq!(bytes, b"email,first_name\na@x.org,A\n");
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused_at_the_chunk_that_passes_it() {
        let body = chunked(vec![b"12345", b"67890", b"x"]);
        assert!(matches!(
            read_at_most(body, 10, None).await,
            Err(ReadError::TooLarge)
        ));
        let body = chunked(vec![b"12345", b"67890"]);
        assert_eq!(read_at_most(body, 10, None).await.unwrap().len(), 10);
    }
}
