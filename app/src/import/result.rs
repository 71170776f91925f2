//! The result of a committed import: what was created and updated, the
//! results and sign-in links downloads.

use super::summary::PreviewSummary;
use super::{LinksAnswer, browser, email_sign_in_links, go, sign_in_links_csv};
use crate::table::PagedTable;
use domain::store::BatchSummary;
use leptos::prelude::*;
use std::sync::Arc;

/// `results`: the results CSV's URL and the created users' addresses,
/// once the worker that holds the plan has made them.
#[component]
pub(super) fn ResultView(
    preview: Arc<PreviewSummary>,
    batch: BatchSummary,
    results: RwSignal<Option<(String, String)>>,
) -> impl IntoView {
    let mail = Resource::new(|| (), |_| crate::mail::mail_settings());
    let links_error = RwSignal::new(None::<String>);
    let mailed = RwSignal::new(None::<Result<String, String>>);
    let mailing = RwSignal::new(false);
    let email_links = move |_| {
        let Some((_, created)) = results.get_untracked() else {
            return;
        };
        mailing.set(true);
        leptos::task::spawn_local(async move {
            let answer = email_sign_in_links(created).await;
            mailing.set(false);
            mailed.set(Some(match answer {
                Ok(q) => Ok(format!(
                    "{} sign-in links queued for mail.{}",
                    q.queued,
                    if q.left_out.is_empty() {
                        String::new()
                    } else {
                        format!(
                            " Not mailed: {}.",
                            q.left_out
                                .iter()
                                .take(20)
                                .map(|(email, why)| format!("{email} ({why})"))
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    }
                )),
                Err(e) => Err(e.to_string()),
            }));
        });
    };
    let created_count = preview.counts.create;
    let download_links = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        let Some((_, created)) = results.get_untracked() else {
            return;
        };
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
    let skipped = preview.counts.invalid;
    // The batch's counts say nothing of a sync's deactivations (they are
    // the batch's before-images); the preview that was committed does.
    let sync = preview.sync.clone();
    let created: Arc<Vec<Vec<String>>> =
        Arc::new(preview.creates.iter().map(|r| r[..3].to_vec()).collect());
    view! {
        <p role="status" class="done">
            {format!(
                "Import done (batch {}): {} created, {} updated, {} unchanged{}{}.",
                batch.id,
                batch.counts.create,
                batch.counts.update,
                batch.counts.unchanged,
                sync.as_ref().map(|s| format!(", {} deactivated", s.deactivate)).unwrap_or_default(),
                if skipped > 0 { format!(", {skipped} invalid rows skipped") } else { String::new() },
            )}
        </p>
        <p class="actions">
            {move || match results.get() {
                Some((url, _)) => view! {
                    <a href=url download="import-results.csv">"Download results"</a>
                    " "
                    <a href="#" on:click=download_links>"Download sign-in links"</a>
                }
                .into_any(),
                None => view! { <span class="muted">"Preparing the results file…"</span> }.into_any(),
            }}
        </p>
        {move || links_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        <Suspense>
            {move || mail.get().map(|settings| match settings {
                Ok(s) if !s.enabled => view! {
                    <p class="help">
                        "No mail server is configured (--smtp-url): download the sign-in links \
                         and send them to the users yourself."
                    </p>
                }
                .into_any(),
                Ok(s) if s.on_import => view! {
                    <p class="help" role="status">
                        "Sign-in links are being emailed to the created users who have no \
                         password (enrolment.email_on_import)."
                    </p>
                }
                .into_any(),
                Ok(_) if created_count > 0 => view! {
                    <p class="actions">
                        <button
                            type="button"
                            disabled=move || mailing.get() || results.get().is_none() || mailed.get().is_some()
                            on:click=email_links
                        >
                            "Email sign-in links"
                        </button>
                        " "
                        <span data-testid="email-links-count">
                            {format!("to {created_count} created users without a password")}
                        </span>
                    </p>
                }
                .into_any(),
                _ => ().into_any(),
            })}
        </Suspense>
        {move || mailed.get().map(|r| match r {
            Ok(m) => view! { <p role="status" class="ok">{m}</p> }.into_any(),
            Err(e) => view! { <p role="alert" class="error">{e}</p> }.into_any(),
        })}
        <PagedTable
            caption="Created users"
            head=vec!["Line", "Email", "Name"]
            rows=created
            total=preview.counts.create
        />
        <PagedTable
            caption="Updated users"
            head=vec!["Line", "Email", "Changes", "Held back"]
            rows=Arc::new(preview.updates.clone())
            total=preview.counts.update
        />
        {sync.map(|s| view! {
            <PagedTable
                caption="Deactivated users"
                head=vec!["Email", "Name", "Last changed"]
                rows=Arc::new(s.shown)
                total=s.deactivate
            />
        })}
        {(skipped > 0)
            .then(|| {
                view! {
                    <PagedTable
                        caption="Skipped rows"
                        head=vec!["Line", "Column", "Value", "Message"]
                        rows=Arc::new(preview.errors.clone())
                        total=preview.error_count
                    />
                }
            })}
        <p class="actions">
            <button type="button" on:click=move |_| go("/users")>"OK"</button>
        </p>
    }
}
