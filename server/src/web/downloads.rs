//! The CSV downloads: the import template, Users › "Export users" and the
//! audit log's "Export CSV".

use super::middleware::{operator_session, refusal, session_with};
use app::context::AppStore;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use domain::audit::AuditQuery;
use domain::directory::UserQuery;
use std::collections::HashMap;

/// A CSV download.
fn csv_file(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

/// Users › "Export users": every user the Users page's filters and search
/// match (not only the page shown), as the export CSV (formula-safe).
pub(super) async fn users_export(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = operator_session(&session, &store).await {
        return refusal(e);
    }
    let query = UserQuery::from_params(|k| params.get(k).map(String::as_str));
    let answer = tokio::task::spawn_blocking(move || {
        let users = store.matching_users(&query)?;
        Ok(domain::csv_out::users_csv(&users))
    })
    .await;
    match answer {
        Ok(Ok(csv)) => csv_file("users.csv", csv),
        Ok(Err(e)) => refusal(app::context::store_error(e)),
        Err(e) => refusal(app::context::internal(e)),
    }
}

/// Admin › Audit log › "Export CSV": every event the filters match.
pub(super) async fn audit_export(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
    axum::extract::Query(params): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    if let Err(e) = session_with(&session, &store, app::context::is_admin).await {
        return refusal(e);
    }
    let query = AuditQuery::from_params(|k| params.get(k).map(String::as_str));
    let answer = tokio::task::spawn_blocking(move || store.audit_matching(&query)).await;
    match answer {
        Ok(Ok(events)) => csv_file("audit-log.csv", domain::csv_out::audit_csv(&events)),
        Ok(Err(e)) => refusal(app::context::store_error(e)),
        Err(e) => refusal(app::context::internal(e)),
    }
}

/// The downloadable template: the canonical header row, made from the same
/// field list the import reads.
pub(super) async fn template_csv(
    axum::extract::State(store): axum::extract::State<AppStore>,
    session: tower_sessions::Session,
) -> Response {
    // Only sign-in and its pages answer without a session.
    if let Err(e) = operator_session(&session, &store).await {
        return refusal(e);
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"roster-users.csv\"",
            ),
        ],
        domain::csv_out::template(),
    )
        .into_response()
}
