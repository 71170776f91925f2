//! Admin › Audit log: every recorded change to any user, newest first,
//! a batch (import, undo) as one row that opens to its users
//! (`domain::audit::batch`), filtered by actor, target and action, paged,
//! exportable as CSV.

use crate::error::AppError;
use crate::table::{EmptyRow, TableHead};
use domain::audit::{AuditAction, AuditEvent, AuditPage, AuditQuery};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;

/// One page of the audit trail (administrators only).
#[server(endpoint = "audit_log", input = Json)]
pub async fn audit_log(query: AuditQuery) -> Result<AuditPage, AppError> {
    use crate::context::*;
    require(is_admin).await?;
    // The page's own limits, whatever the request says.
    let query = AuditQuery {
        actor: query.actor.chars().take(254).collect(),
        target: query.target.chars().take(254).collect(),
        ..query
    };
    let store = store()?;
    blocking(move || store.audit_page(&query)).await
}

fn audit_path(base: &str, query: &AuditQuery) -> String {
    crate::page::with_params(base, &query.to_params())
}

#[component]
pub fn AuditLogPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| AuditQuery::from_params(|k| p.get_str(k))));
    let events = Resource::new(move || query.get(), audit_log);
    let navigate = crate::page::replace_address();
    let go = StoredValue::new(move |change: &dyn Fn(&mut AuditQuery)| {
        let mut q = query.get_untracked();
        change(&mut q);
        q.page = 0;
        navigate(&audit_path("/admin/audit", &q));
    });
    let on_actor = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        go.with_value(|go| go(&|q: &mut AuditQuery| q.actor = v.trim().to_string()));
    };
    let on_target = move |ev: leptos::ev::Event| {
        let v = event_target_value(&ev);
        go.with_value(|go| go(&|q: &mut AuditQuery| q.target = v.trim().to_string()));
    };
    let on_action = move |ev: leptos::ev::Event| {
        let v = AuditAction::parse(&event_target_value(&ev));
        go.with_value(|go| go(&|q: &mut AuditQuery| q.action = v));
    };
    crate::page::guarded(move || {
        let q = query.get_untracked();
        view! {
            <h1>"Audit log"</h1>

            <div class="filters" role="search">
                <label for="audit-actor">"Actor"</label>
                <input id="audit-actor" type="search" maxlength=254 prop:value=q.actor.clone() on:change=on_actor/>
                <label for="audit-target">"Target"</label>
                <input id="audit-target" type="search" maxlength=254 prop:value=q.target.clone() on:change=on_target/>
                <label for="audit-action">"Action"</label>
                <select id="audit-action" on:change=on_action>
                    <option value="" selected=q.action.is_none()>"All"</option>
                    {AuditAction::ALL
                        .into_iter()
                        .map(|a| view! { <option value=a.key() selected=q.action == Some(a)>{a.label()}</option> })
                        .collect_view()}
                </select>
                <a href=move || audit_path("/admin/audit.csv", &AuditQuery { page: 0, ..query.get() }) download="audit-log.csv">
                    "Export CSV"
                </a>
            </div>
            {crate::page::loaded(events, move |page| view! { <AuditTable page query=query.get_untracked()/> })}
        }
    })
}

#[component]
fn AuditTable(page: AuditPage, query: AuditQuery) -> impl IntoView {
    let previous = (query.page > 0).then(|| {
        audit_path(
            "/admin/audit",
            &AuditQuery {
                page: query.page - 1,
                ..query.clone()
            },
        )
    });
    let next = page.more.then(|| {
        audit_path(
            "/admin/audit",
            &AuditQuery {
                page: query.page + 1,
                ..query.clone()
            },
        )
    });
    // An opened batch says which one it is.
    let within = query.within.map(|_| {
        let batch = page.events.iter().find_map(|e| e.batch);
        let filtered =
            !(query.actor.is_empty() && query.target.is_empty() && query.action.is_none());
        let text = match batch {
            Some(b) => format!("The users of batch {b}. "),
            None if filtered => "No user of this batch matches the filters. ".to_string(),
            None if query.page > 0 => "No more users in this batch. ".to_string(),
            None => "No batch's row has this number. ".to_string(),
        };
        view! {
            <p role="note">{text}<a href="/admin/audit">"The whole Audit log"</a></p>
        }
    });
    view! {
        {within}
        <EventTable caption="Audit log" events=page.events with_target=true/>
        <p class="more">
            {previous.map(|href| view! { <a href=href>"Newer events"</a> " " })}
            {next.map(|href| view! { <a href=href>"Older events"</a> })}
        </p>
    }
}

/// Audit events as a table, newest first: the Audit log (with the changed
/// user) and a user's History (without).
#[component]
pub fn EventTable(
    caption: &'static str,
    events: Vec<AuditEvent>,
    with_target: bool,
) -> impl IntoView {
    let empty = events.is_empty();
    let mut columns = vec!["When (UTC)", "Who"];
    if with_target {
        columns.push("User");
    }
    columns.extend(["What", "Changes"]);
    let width = columns.len();
    view! {
        <table>
            <caption>{caption}</caption>
            <TableHead columns/>
            <tbody>
                {empty.then(|| view! { <EmptyRow width text="No changes recorded."/> })}
                {events
                    .into_iter()
                    .map(|e| {
                        // Sign-ins name the address as typed and option
                        // changes name "options": only a user is a link.
                        let target = with_target.then(|| {
                            if let Some(folded) = e.folded() {
                                // A batch's head: its users on a page of
                                // their own.
                                let n = folded.end - folded.start;
                                let href = audit_path(
                                    "/admin/audit",
                                    &AuditQuery { within: Some(e.id), ..Default::default() },
                                );
                                let label = if n == 1 { "1 user".to_string() } else { format!("{n} users") };
                                view! { <td><a href=href>{label}</a></td> }.into_any()
                            } else if domain::Email::parse(&e.target).is_ok() {
                                let href = crate::user_page::user_path(&e.target);
                                view! { <td><a href=href>{e.target.clone()}</a></td> }.into_any()
                            } else {
                                view! { <td>{e.target.clone()}</td> }.into_any()
                            }
                        });
                        view! {
                            <tr>
                                <td>{domain::time::rfc3339(e.at)}</td>
                                <td>{e.actor.clone()}</td>
                                {target}
                                <td>{e.what()}</td>
                                <td>{domain::plan::Change::describe_all(&e.changes)}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
