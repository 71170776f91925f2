//! The start page: what the signed-in person can do next. Operators see
//! the users by end state and source, the latest imports and "Create
//! user"; everyone else sees their own record and a way to edit it.

use crate::error::AppError;
use domain::User;
use domain::store::{BatchSummary, UserStats};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// How many users the store holds (operators only).
#[server(endpoint = "user_count")]
pub async fn user_count() -> Result<u64, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let store = store()?;
    blocking(move || store.user_count()).await
}

/// What the start page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartPage {
    pub me: User,
    /// For operators: the users by end state and source, and the latest
    /// imports.
    pub operator: Option<(UserStats, Vec<BatchSummary>)>,
}

#[server(endpoint = "home_summary")]
pub async fn home_summary() -> Result<StartPage, AppError> {
    use crate::context::*;
    /// Imports the start page lists.
    const RECENT_IMPORTS: usize = 5;
    let me = require(|_| true).await?;
    let operator = if is_operator(&me) {
        let store = store()?;
        Some(
            blocking(move || Ok((store.user_stats()?, store.recent_batches(RECENT_IMPORTS)?)))
                .await?,
        )
    } else {
        None
    };
    Ok(StartPage { me, operator })
}

#[component]
pub fn HomePage() -> impl IntoView {
    let summary = Resource::new(|| (), |_| home_summary());
    crate::page::guarded(move || {
        view! {
            {crate::page::loaded(summary, |s| {
                let StartPage { me, operator } = s;
                view! {
                    <h1>"Welcome, " {me.name()}</h1>
                    {match operator {
                        Some((stats, recent)) => view! { <OperatorStart stats recent/> }.into_any(),
                        None => view! { <SelfServiceStart me/> }.into_any(),
                    }}
                }
            })}
        }
    })
}

#[component]
fn OperatorStart(stats: UserStats, recent: Vec<BatchSummary>) -> impl IntoView {
    let empty = recent.is_empty();
    view! {
        <p class="actions">
            <a class="button" href="/users/create">"Create user"</a>
            " "
            <a href="/users/history">"Import history"</a>
        </p>
        <table>
            <caption>"Users in the store"</caption>
            <tbody>
                <tr><th scope="row">"All"</th><td data-testid="user-count">{stats.total}</td></tr>
                <tr><th scope="row">"Active"</th><td data-testid="active-count">{stats.active}</td></tr>
                <tr><th scope="row">"Inactive"</th><td data-testid="inactive-count">{stats.inactive}</td></tr>
                <tr><th scope="row">"Source CSV"</th><td>{stats.csv}</td></tr>
                <tr><th scope="row">"Source Manual"</th><td>{stats.manual}</td></tr>
                <tr><th scope="row">"Source Bootstrap"</th><td>{stats.bootstrap}</td></tr>
                <tr><th scope="row">"Source SCIM"</th><td>{stats.scim}</td></tr>
            </tbody>
        </table>
        <h2>"Latest imports"</h2>
        <ul class="imports" aria-label="Latest imports">
            {empty.then(|| view! { <li class="empty">"No imports yet."</li> })}
            {recent
                .into_iter()
                .map(|b| view! {
                    <li>
                        {format!(
                            "Batch {}: {} by {} at {} — {} created, {} updated",
                            b.id,
                            b.file_name,
                            b.operator,
                            domain::time::rfc3339(b.at),
                            b.counts.create,
                            b.counts.update,
                        )}
                    </li>
                })
                .collect_view()}
        </ul>
    }
}

#[component]
fn SelfServiceStart(me: User) -> impl IntoView {
    view! {
        <p>"You are signed in as " {me.email.to_string()} "."</p>
        <p class="actions"><a class="button" href="/profile">"My profile"</a></p>
    }
}

/// The number of users, loaded with the page that shows it.
#[component]
pub fn UserCount() -> impl IntoView {
    let count = Resource::new(|| (), |_| user_count());
    view! {
        <p>
            "Users in the store: "
            {crate::page::loaded(count, |n| view! { <span data-testid="user-count">{n}</span> })}
        </p>
    }
}
