//! Approvals (users with the Approval role): imports that changed more
//! users than `import.approval_above` wait here for a second person, who
//! sees the same preview the sender saw and approves or rejects it. The
//! sender never decides on their own request (no button, and the store
//! refuses).

use crate::error::AppError;
use crate::import::preview::PreviewView;
use crate::import::summary::PreviewSummary;
use crate::table::{EmptyRow, TableHead};
use domain::approval::{ApprovalRequest, ApprovalState};
use domain::store::ApprovalOutcome;
#[cfg(feature = "ssr")]
use domain::store::Decision;
use leptos::prelude::*;
use leptos::server_fn::codec::Postcard;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Every request, newest first (approvers, and operators for their
/// history).
#[server(endpoint = "approval_list")]
pub async fn approval_list() -> Result<Vec<ApprovalRequest>, AppError> {
    use crate::context::*;
    require(|u| is_approver(u) || is_operator(u)).await?;
    let store = store()?;
    blocking(move || store.approvals()).await
}

/// A request as its page shows it: while it waits, its file planned now
/// against the stored users with the sender's authority (the preview the
/// approver checks); whether the viewer sent it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ApprovalView {
    pub request: ApprovalRequest,
    pub file: Option<PreviewSummary>,
    pub own: bool,
}

#[server(endpoint = "approval_details", output = Postcard)]
pub async fn approval_details(id: u64) -> Result<Option<ApprovalView>, AppError> {
    use crate::context::*;
    let me = require(is_approver).await?;
    let store = store()?;
    blocking(move || {
        let Some((request, bytes)) = store.approval(id)? else {
            return Ok(None);
        };
        let file = if request.state == ApprovalState::Waiting {
            Some((*planned_now(&*store, &request, &bytes)?).clone())
        } else {
            None
        };
        let own = request
            .sender_key()
            .is_some_and(|sender| &sender == me.key());
        Ok(Some(ApprovalView { own, request, file }))
    })
    .await
}

/// A waiting request's file planned against the stored users, kept for a
/// short while: planning a large file is seconds of work, and every view of
/// the page (or a reload by someone holding F5) would repeat it. The
/// decision plans again inside its transaction, so a summary a little
/// old can only be refused as "Changed since preview", never written.
#[cfg(feature = "ssr")]
fn planned_now(
    store: &dyn domain::store::AppStore,
    request: &ApprovalRequest,
    bytes: &[u8],
) -> Result<Arc<PreviewSummary>, domain::store::StoreError> {
    use std::collections::HashMap;
    use std::sync::{LazyLock, Mutex};
    use std::time::{Duration, Instant};
    const KEPT: Duration = Duration::from_secs(30);
    const MOST: usize = 8;
    type Kept = HashMap<u64, (Instant, Arc<PreviewSummary>)>;
    static SUMMARIES: LazyLock<Mutex<Kept>> = LazyLock::new(Default::default);
    let fresh = |kept: &Kept| {
        kept.get(&request.id)
            .filter(|(at, _)| at.elapsed() < KEPT)
            .map(|(_, s)| s.clone())
    };
    if let Some(summary) = fresh(&SUMMARIES.lock().unwrap_or_else(|p| p.into_inner())) {
        return Ok(summary);
    }
    let plan = store.preview(bytes, request.actor)?;
    let summary = Arc::new(PreviewSummary::of(
        &plan,
        crate::import::summary::FileFacts {
            file_name: request.file_name.clone(),
            size: bytes.len() as u64,
            original_sha256: domain::store::sha256_hex(bytes),
            ..Default::default()
        },
    ));
    let mut kept = SUMMARIES.lock().unwrap_or_else(|p| p.into_inner());
    kept.retain(|_, (at, _)| at.elapsed() < KEPT);
    if kept.len() >= MOST
        && let Some(oldest) = kept
            .iter()
            .min_by_key(|(_, (at, _))| *at)
            .map(|(id, _)| *id)
    {
        kept.remove(&oldest);
    }
    kept.insert(request.id, (Instant::now(), summary.clone()));
    Ok(summary)
}

/// Approves (`reason` empty) or rejects (`reason` given) a waiting
/// request, as the signed-in approver.
#[server(endpoint = "decide_approval")]
pub async fn decide_approval(
    id: u64,
    approve: bool,
    reason: String,
) -> Result<ApprovalOutcome, AppError> {
    use crate::context::*;
    let me = require(is_approver).await?;
    let decision = if approve {
        Decision::Approve
    } else {
        Decision::Reject { reason }
    };
    let (store, actor, now, mail) = (store()?, actor(&me), now_s(), mail_enabled());
    let by = me.email.to_string();
    let outcome =
        blocking(move || store.decide_approval_mailing(id, decision, &me.by(), actor, now, mail))
            .await?;
    let action = match outcome {
        ApprovalOutcome::Approved { .. } => Some(domain::audit::AuditAction::Approved),
        ApprovalOutcome::Rejected => Some(domain::audit::AuditAction::Rejected),
        ApprovalOutcome::Stale => None, // nothing was decided: changed since preview
    };
    if let Some(action) = action {
        crate::security_log::note(action, &by, &format!("approval request {id}"));
    }
    Ok(outcome)
}

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let list = Resource::new(|| (), |_| approval_list());
    crate::page::guarded(move || {
        view! {
            <h1>"Approvals"</h1>
            <p class="help">
                "Imports that change more users than the administrator allows without a second \
                 person wait here. Open one to see its preview, then approve or reject it. You \
                 cannot decide on an import you sent."
            </p>
            {crate::page::loaded(list, |requests| view! { <RequestTables requests links=true/> })}
        }
    })
}

/// "Waiting for approval" and the decided requests; `links`: the waiting
/// ones open their page (for approvers).
#[component]
pub fn RequestTables(requests: Vec<ApprovalRequest>, links: bool) -> impl IntoView {
    let (waiting, decided): (Vec<_>, Vec<_>) = requests
        .into_iter()
        .partition(|r| r.state == ApprovalState::Waiting);
    let row = |r: ApprovalRequest, open: bool| {
        let href = format!("/approvals/{}", r.id);
        view! {
            <tr>
                <td>{r.id}</td>
                <td>{if open {
                    view! { <a href=href>{r.file_name.clone()}</a> }.into_any()
                } else {
                    view! { <span>{r.file_name.clone()}</span> }.into_any()
                }}</td>
                <td>{r.operator.to_string()}</td>
                <td>{domain::time::rfc3339(r.sent_at)}</td>
                <td>{r.counts.create}</td>
                <td>{r.counts.update}</td>
                <td>{r.state.label()}</td>
            </tr>
        }
    };
    let head = || {
        vec![
            "Request",
            "File",
            "Operator",
            "Sent (UTC)",
            "Create",
            "Update",
            "State",
        ]
    };
    let no_waiting = waiting.is_empty();
    let no_decided = decided.is_empty();
    view! {
        <table>
            <caption>"Waiting for approval"</caption>
            <TableHead columns=head()/>
            <tbody>
                {no_waiting.then(|| view! { <EmptyRow width=7 text="Nothing is waiting."/> })}
                {waiting.into_iter().map(|r| row(r, links)).collect_view()}
            </tbody>
        </table>
        <table>
            <caption>"Decided requests"</caption>
            <TableHead columns=head()/>
            <tbody>
                {no_decided.then(|| view! { <EmptyRow width=7 text="None yet."/> })}
                {decided.into_iter().map(|r| row(r, false)).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn ApprovalPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || {
        params
            .read()
            .get("id")
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let decide = ServerAction::<DecideApproval>::new();
    let view_of = Resource::new(
        move || (id(), decide.version().get()),
        |(id, _)| approval_details(id),
    );
    let show = move |found: Option<ApprovalView>| match found {
        None => view! {
            <h1>"No such request"</h1>
            <p>{format!("There is no approval request {}.", id())}</p>
        }
        .into_any(),
        Some(v) => view! { <RequestView view=v decide/> }.into_any(),
    };
    crate::page::guarded(move || {
        view! {
            {crate::page::loaded(view_of, show)}
            {move || {
                decide
                    .value()
                    .try_get()
                    .flatten()
                    .map(|answer| match answer {
                        Ok(ApprovalOutcome::Approved { batch, mailed }) => view! {
                            <p role="status" class="ok">
                                {format!(
                                    "Approved: written as batch {} ({} created, {} updated).{}",
                                    batch.id,
                                    batch.counts.create,
                                    batch.counts.update,
                                    mailed.map(|q| q.sentence()).unwrap_or_default()
                                )}
                            </p>
                        }
                        .into_any(),
                        Ok(ApprovalOutcome::Rejected) => {
                            view! { <p role="status" class="ok">"Rejected: nothing was written."</p> }
                                .into_any()
                        }
                        Ok(ApprovalOutcome::Stale) => view! {
                            <p role="alert" class="error">
                                "Changed since preview: users of this import were changed after it \
                                 was sent. Nothing was written; the sender must import the file again."
                            </p>
                        }
                        .into_any(),
                        Err(error) => view! { <crate::error::ErrorAlert error/> }.into_any(),
                    })
            }}
        }
    })
}

#[component]
fn RequestView(view: ApprovalView, decide: ServerAction<DecideApproval>) -> impl IntoView {
    let ApprovalView { request, file, own } = view;
    let id = request.id;
    let reason = RwSignal::new(String::new());
    let skip_invalid = RwSignal::new(request.skip_invalid);
    let summary = format!(
        "Sent by {} at {} (UTC): {}",
        request.operator,
        domain::time::rfc3339(request.sent_at),
        request.state.label()
    );
    let preview = file.map(Arc::new);
    let waiting = preview.is_some();
    view! {
        <h1>{format!("Approval request {id}")}</h1>
        <p data-testid="request-state">{summary}</p>
        {preview.map(|preview| view! { <PreviewView preview notice=None skip_invalid/> })}
        {(waiting && own).then(|| view! {
            <p class="muted">"You sent this import: another person must approve or reject it."</p>
        })}
        {(waiting && !own).then(|| view! {
            <div class="card">
                <p class="actions">
                    <button
                        type="button"
                        disabled=move || decide.pending().get()
                        on:click=move |_| {
                            decide.dispatch(DecideApproval { id, approve: true, reason: String::new() });
                        }
                    >
                        "Approve"
                    </button>
                </p>
                <label for="reject-reason">"Reason"</label>
                <input
                    id="reject-reason"
                    type="text"
                    maxlength=domain::approval::MAX_REASON_CHARS
                    prop:value=move || reason.get()
                    on:input=move |ev| reason.set(event_target_value(&ev))
                />
                <p class="actions">
                    <button
                        type="button"
                        class="secondary"
                        disabled=move || decide.pending().get() || reason.with(|r| r.trim().is_empty())
                        on:click=move |_| {
                            decide.dispatch(DecideApproval { id, approve: false, reason: reason.get_untracked() });
                        }
                    >
                        "Reject"
                    </button>
                </p>
            </div>
        })}
        <p><a href="/approvals">"All approvals"</a></p>
    }
}
