//! Security events (sign-ins, refusals, decisions) go to two places: the
//! audit trail, where an administrator reads them, and the server log as
//! structured `tracing` lines (target `roster::security`; JSON lines with
//! `ROSTER_LOG=json`), where monitoring reads them.

use domain::audit::{AuditAction, AuditEvent};

/// Logs `event` and appends it to the audit trail. A store that cannot
/// take it is logged, not answered: the act it records has already been
/// decided.
pub async fn record(event: AuditEvent) {
    log(&event);
    let Ok(store) = crate::context::store() else {
        return;
    };
    let written = tokio::task::spawn_blocking(move || store.record_events(vec![event])).await;
    if let Ok(Err(e)) | Err(e) =
        written.map_err(|e| domain::store::StoreError::Backend(e.to_string()))
    {
        tracing::error!(target: "roster::security", error = %e, "security event not stored");
    }
}

/// The server-log line of a security event.
pub fn log(event: &AuditEvent) {
    let detail = |field: &str| {
        event
            .changes
            .iter()
            .find(|c| c.field == field)
            .map(|c| c.new.clone())
            .unwrap_or_default()
    };
    tracing::info!(
        target: "roster::security",
        action = event.action.key(),
        actor = %event.actor,
        target_user = %event.target,
        client = %detail("client"),
        outcome = %detail("outcome"),
        "{}",
        event.action.label()
    );
}

/// A sign-in attempt: `typed` is the address as given (the target of a
/// failed attempt, which may name no user), `client` the client address.
pub fn sign_in_event(
    action: AuditAction,
    typed: &str,
    client: Option<std::net::IpAddr>,
) -> AuditEvent {
    let who = domain::Email::parse(typed)
        .map(|e| e.as_str().to_string())
        .unwrap_or_else(|_| typed.trim().chars().take(254).collect());
    AuditEvent::about(crate::context::now_s(), &who, &who, action).with(
        "client",
        client
            .map(|c| c.to_string())
            .unwrap_or_else(|| "unknown".into()),
    )
}

/// The server-log line of a security event that the store recorded in the
/// audit trail with its act (a decision, a link, an option change).
pub fn note(action: AuditAction, actor: &str, target: &str) {
    log(&AuditEvent::about(
        crate::context::now_s(),
        actor,
        target,
        action,
    ));
}
