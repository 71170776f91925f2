//! A table for long lists: the first rows at once, more on request.

use leptos::prelude::*;
use std::sync::Arc;

/// A table's head row, and the row a table shows when it has no rows.
#[component]
pub fn TableHead(columns: Vec<&'static str>) -> impl IntoView {
    view! {
        <thead>
            <tr>{columns.into_iter().map(|h| view! { <th scope="col">{h}</th> }).collect_view()}</tr>
        </thead>
    }
}

/// The one row of an empty table, across `width` columns.
#[component]
pub fn EmptyRow(width: usize, text: &'static str) -> impl IntoView {
    view! { <tr><td colspan=width class="empty">{text}</td></tr> }
}

/// Rows a table shows at first; "Show more" adds ten times as many.
const PAGE_ROWS: usize = 100;

/// A table that renders its first rows and more on request, so that a
/// preview of 100k rows stays responsive. Empty tables say so.
#[component]
pub fn PagedTable(
    caption: &'static str,
    head: Vec<&'static str>,
    rows: Arc<Vec<Vec<String>>>,
    /// How many rows there are when `rows` holds only the first of them.
    #[prop(optional)]
    total: Option<u64>,
) -> impl IntoView {
    let shown = RwSignal::new(PAGE_ROWS);
    let listed = rows.len();
    let total = total.map_or(listed, |t| t as usize).max(listed);
    let width = head.len();
    let body_rows = rows.clone();
    view! {
        <table class="preview">
            <caption>{format!("{caption} ({total})")}</caption>
            <TableHead columns=head/>
            <tbody>
                {move || {
                    if total == 0 {
                        return view! { <EmptyRow width text="None"/> }.into_any();
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
            let showing = shown.get().min(listed);
            (showing < total)
                .then(|| {
                    view! {
                        <p class="more">
                            {format!("Showing {showing} of {total}. ")}
                            {if showing < listed {
                                view! {
                                    <button type="button" class="secondary" on:click=move |_| shown.update(|n| *n += PAGE_ROWS * 10)>
                                        {format!("Show more {}", caption.to_lowercase())}
                                    </button>
                                }
                                .into_any()
                            } else {
                                format!("Only the first {listed} are listed here.").into_any()
                            }}
                        </p>
                    }
                })
        }}
    }
}
