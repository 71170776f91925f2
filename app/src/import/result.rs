//! The result of a committed import: what was created and updated, the
//! results and sign-in links downloads.

use super::preview::{error_rows, rows_of, update_rows};
use super::{LinksAnswer, Preview, browser, go, sign_in_links_csv};
use crate::table::PagedTable;
use domain::plan::Action;
use domain::store::BatchSummary;
use leptos::prelude::*;
use std::sync::Arc;

#[component]
pub(super) fn ResultView(preview: Arc<Preview>, batch: BatchSummary) -> impl IntoView {
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
