//! The header's "Quick search" (operators): choose "User", type the start
//! of a name or email, see the matching users; and the "Create user"
//! process link.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Most hits a search returns.
#[cfg(feature = "ssr")]
const MAX_HITS: u32 = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserHit {
    pub email: String,
    pub name: String,
    pub active: bool,
}

/// Users found by the start of words of their name or email (the Users
/// page's search, on the same index), at most 20, in email order.
/// Queries shorter than 2 characters find nothing.
#[server(endpoint = "search_users")]
pub async fn search_users(query: String) -> Result<Vec<UserHit>, AppError> {
    use crate::context::*;
    use domain::directory::UserQuery;
    require(is_operator).await?;
    if query.trim().chars().count() < 2 {
        return Ok(Vec::new());
    }
    let query = UserQuery {
        search: query,
        page_size: MAX_HITS,
        ..UserQuery::default()
    }
    .bounded();
    let store = store()?;
    let page = blocking(move || store.list_users(&query)).await?;
    Ok(page
        .users
        .into_iter()
        .map(|u| UserHit {
            email: u.email.to_string(),
            name: u.name(),
            active: u.end_state == domain::EndState::Active,
        })
        .collect())
}

#[component]
pub fn QuickSearch() -> impl IntoView {
    let kind = RwSignal::new(String::new());
    let query = RwSignal::new(String::new());
    // An action, not a resource: the header renders beside every page, and
    // a resource here (even a local one) changed the order in which the
    // page's own resources are numbered between server and browser, which
    // broke their hydration now and then.
    let search = ServerAction::<SearchUsers>::new();
    let on_input = move |ev: leptos::ev::Event| {
        let q = event_target_value(&ev);
        query.set(q.clone());
        if q.trim().chars().count() >= 2 {
            search.dispatch(SearchUsers { query: q });
        }
    };
    let hits = move || {
        if query.with(|q| q.trim().chars().count() < 2) {
            return None;
        }
        search.value().get()
    };
    view! {
        <div class="quick-search">
            <label for="quick-search">"Quick search"</label>
            <select id="quick-search" on:change=move |ev| kind.set(event_target_value(&ev))>
                <option value="">"Choose…"</option>
                <option value="user">"User"</option>
            </select>
            <Show when=move || kind.get() == "user">
                <input
                    type="search"
                    aria-label="Search users"
                    placeholder="Name or email"
                    on:input=on_input
                />
                <a href="/users/create">"Create user"</a>
                {move || {
                    hits()
                        .map(|r| match r {
                            Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                            Ok(list) if list.is_empty() => {
                                view! { <p class="search-results muted">"No user matches."</p> }.into_any()
                            }
                            Ok(list) => view! {
                                <ul class="search-results" aria-label="Users found">
                                    {list
                                        .into_iter()
                                        .map(|h| view! {
                                            <li>
                                                <a href=crate::user_page::user_path(&h.email)>
                                                    <strong>{h.name}</strong>" "{h.email.clone()}
                                                </a>
                                                {(!h.active).then_some(" (inactive)")}
                                            </li>
                                        })
                                        .collect_view()}
                                </ul>
                            }
                            .into_any(),
                        })
                }}
            </Show>
        </div>
    }
}
