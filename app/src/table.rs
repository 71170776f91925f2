//! A table for long lists: the first rows at once, more on request.

use leptos::prelude::*;
use std::sync::Arc;

/// Rows a table shows at first; "Show more" adds ten times as many.
const PAGE_ROWS: usize = 100;

/// A table that renders its first rows and more on request, so that a
/// preview of 100k rows stays responsive. Empty tables say so.
#[component]
pub fn PagedTable(
    caption: &'static str,
    head: Vec<&'static str>,
    rows: Arc<Vec<Vec<String>>>,
) -> impl IntoView {
    let shown = RwSignal::new(PAGE_ROWS);
    let total = rows.len();
    let width = head.len();
    let body_rows = rows.clone();
    view! {
        <table class="preview">
            <caption>{format!("{caption} ({total})")}</caption>
            <thead>
                <tr>{head.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr>
            </thead>
            <tbody>
                {move || {
                    if total == 0 {
                        return view! { <tr><td colspan=width class="empty">"None"</td></tr> }.into_any();
                    }
                    body_rows
                        .iter()
                        .take(shown.get())
                        .map(|r| view! { <tr>{r.iter().map(|c| view! { <td>{c.clone()}</td> }).collect_view()}</tr> })
                        .collect_view()
                        .into_any()
                }}
            </tbody>
        </table>
        {move || {
            (shown.get() < total)
                .then(|| {
                    view! {
                        <p class="more">
                            {format!("Showing {} of {total}. ", shown.get())}
                            <button type="button" class="secondary" on:click=move |_| shown.update(|n| *n += PAGE_ROWS * 10)>
                                {format!("Show more {}", caption.to_lowercase())}
                            </button>
                        </p>
                    }
                })
        }}
    }
}
