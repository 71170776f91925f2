//! The header's "Quick search" (operators): choose "User", type part of a
//! name or email, see the matching users; and the "Create user" process link.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Most hits a search returns.
const MAX_HITS: usize = 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserHit {
    pub email: String,
    pub name: String,
    pub active: bool,
}

/// Users whose email or name contains `query` (case-insensitive), at most
/// 20, in email order. Queries shorter than 2 characters find nothing.
pub fn matching_users<'a>(
    users: impl IntoIterator<Item = &'a domain::User>,
    query: &str,
) -> Vec<UserHit> {
    let query = query.trim().to_lowercase();
    if query.chars().count() < 2 {
        return Vec::new();
    }
    users
        .into_iter()
        .filter(|u| u.key().contains(&query) || u.name().to_lowercase().contains(&query))
        .take(MAX_HITS)
        .map(|u| UserHit {
            email: u.email.to_string(),
            name: u.name(),
            active: u.end_state == domain::EndState::Active,
        })
        .collect()
}

#[server(endpoint = "search_users")]
pub async fn search_users(query: String) -> Result<Vec<UserHit>, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    if query.len() > 200 {
        return Ok(Vec::new());
    }
    let store = store()?;
    blocking(move || Ok(matching_users(&store.all_users()?, &query))).await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_email_or_name_case_insensitively_and_needs_two_characters() {
        let plan = domain::plan(
            "email,first_name,last_name\nada@x.org,Ada,Lovelace\ngrace@y.org,Grace,Hopper\n"
                .as_bytes(),
            &domain::plan::NoUsers,
            &domain::Options::default(),
            domain::Actor::Owner,
        )
        .unwrap();
        let users: Vec<domain::User> = plan.creates().map(|(_, u)| u.clone()).collect();
        let emails = |q: &str| -> Vec<String> {
            matching_users(&users, q)
                .into_iter()
                .map(|h| h.email)
                .collect()
        };
        assert_eq!(emails("LOVE"), ["ada@x.org"]);
        assert_eq!(emails("y.org"), ["grace@y.org"]);
        assert_eq!(emails(".org"), ["ada@x.org", "grace@y.org"]);
        assert!(emails("a").is_empty());
        assert!(emails("nobody").is_empty());
    }
}
