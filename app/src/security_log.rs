//! Security events (sign-ins, refusals, decisions) go to two places: the
//! audit trail, where an administrator reads them, and the server log as
//! structured `tracing` lines (target `roster::security`; JSON lines with
//! `ROSTER_LOG=json`), where monitoring reads them.

use domain::audit::{AuditAction, AuditEvent};

/// Logs `event` and appends it to the audit trail, without making the
/// request wait for the write (a sign-in must not queue behind a large
/// import's transaction). A store that cannot take it is logged, not
/// answered: the act it records has already been decided.
pub fn record(event: AuditEvent) {
    log(&event);
    if !worth_storing(&event) {
        return;
    }
    let Ok(store) = crate::context::store() else {
        return;
    };
    tokio::task::spawn_blocking(move || {
        if let Err(e) = store.record_events(vec![event]) {
            tracing::error!(target: "roster::security", error = %e, "security event not stored");
        }
    });
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

/// Sign-in events one client address may add to the audit trail per
/// minute: each is a write transaction, and refused attempts cost the
/// client nothing else (the rest still go to the server log).
const STORED_PER_CLIENT_MINUTE: u32 = 20;

/// Whether a sign-in event is stored: every success; refusals at most
/// [`STORED_PER_CLIENT_MINUTE`] per client address a minute, a throttled
/// attempt once per client and address a minute.
fn worth_storing(event: &AuditEvent) -> bool {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::{Duration, Instant};
    type Counts = HashMap<String, (Instant, u32)>;
    static COUNTS: LazyLock<Mutex<Counts>> = LazyLock::new(Default::default);
    let client = event
        .changes
        .iter()
        .find(|c| c.field == "client")
        .map(|c| c.new.as_str())
        .unwrap_or_default();
    if event.action == AuditAction::SignIn {
        return true; // a success costs a password: every one is kept
    }
    let mut keys = vec![(format!("client {client}"), STORED_PER_CLIENT_MINUTE)];
    if event.action == AuditAction::SignInThrottled {
        keys.push((format!("throttled {client} {}", event.target), 1));
    }
    let mut counts = COUNTS.lock().unwrap_or_else(|p| p.into_inner());
    if counts.len() > 10_000 {
        counts.clear(); // a spray of addresses: forget, do not grow
    }
    let now = Instant::now();
    let mut store = true;
    for (key, most) in keys {
        let entry = counts.entry(key).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        store &= entry.1 <= most;
    }
    store
}

/// A sign-in attempt: `typed` is what was typed as the address, kept only
/// when it is one (text that is not an address may be a password typed
/// into the wrong box, or made to look like another actor), `client` the
/// client address.
pub fn sign_in_event(
    action: AuditAction,
    typed: &str,
    client: Option<std::net::IpAddr>,
) -> AuditEvent {
    let (actor, target) = match domain::Email::parse(typed) {
        Ok(e) => (e.as_str().to_string(), e.as_str().to_string()),
        Err(_) => ("anonymous".to_string(), "(not an address)".to_string()),
    };
    AuditEvent::about(crate::context::now_s(), &actor, &target, action).with(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_that_is_not_an_address_is_not_kept() {
        let client = Some("192.0.2.1".parse().unwrap());
        let e = sign_in_event(AuditAction::SignInFailed, "my secret password", client);
        assert_eq!(
            (e.actor.as_str(), e.target.as_str()),
            ("anonymous", "(not an address)")
        );
        let e = sign_in_event(AuditAction::SignInFailed, "cli", client);
        assert_eq!(e.actor, "anonymous", "nobody signs in as the machine owner");
        let e = sign_in_event(AuditAction::SignInFailed, " Ada@X.org ", client);
        assert_eq!(
            (e.actor.as_str(), e.target.as_str()),
            ("Ada@X.org", "Ada@X.org")
        );
        assert_eq!(e.changes[0].new, "192.0.2.1");
    }

    #[test]
    fn a_flood_of_sign_ins_stores_a_bounded_number_of_events() {
        let client = Some("198.51.100.7".parse().unwrap());
        let failed = sign_in_event(AuditAction::SignInFailed, "a@x.org", client);
        let stored = (0..50).filter(|_| worth_storing(&failed)).count();
        assert_eq!(stored, STORED_PER_CLIENT_MINUTE as usize);
        let ok = sign_in_event(AuditAction::SignIn, "a@x.org", client);
        assert!(worth_storing(&ok), "a success is always kept");
        // Another client is counted on its own; a throttled attempt is
        // stored once a minute per client and address.
        let other = Some("198.51.100.8".parse().unwrap());
        let throttled = sign_in_event(AuditAction::SignInThrottled, "a@x.org", other);
        assert!(worth_storing(&throttled));
        assert!(!worth_storing(&throttled));
        let elsewhere = sign_in_event(AuditAction::SignInThrottled, "b@x.org", other);
        assert!(worth_storing(&elsewhere));
    }
}
