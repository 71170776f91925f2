//! The start page: a greeting, and for operators a round trip through the
//! store (the number of users).

use crate::auth::{Guard, Need, auth};
use leptos::prelude::*;

/// How many users the store holds (operators only).
#[server(endpoint = "user_count")]
pub async fn user_count() -> Result<u64, ServerFnError> {
    use crate::context::*;
    require(is_operator).await?;
    let store = store()?;
    blocking(move || store.user_count()).await
}

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Guard need=Need::SignedIn>
            <Welcome/>
        </Guard>
    }
}

#[component]
fn Welcome() -> impl IntoView {
    let me = auth().me;
    let name = move || {
        me.get()
            .and_then(|r| r.ok().flatten())
            .map(|m| m.name)
            .unwrap_or_default()
    };
    let operator = move || {
        me.get()
            .and_then(|r| r.ok().flatten())
            .is_some_and(|m| m.is_operator())
    };
    view! {
        <h1>"Welcome, " {name}</h1>
        <Show when=operator>
            <UserCount/>
        </Show>
    }
}

#[component]
pub fn UserCount() -> impl IntoView {
    // Loaded in the browser (see `crate::auth::Guard`).
    let count = LocalResource::new(user_count);
    let (refreshes, set_refreshes) = signal(0u32);
    view! {
        // No Suspense: the count is local (see `crate::auth::Guard`), so
        // server and browser both start with "…".
        <p>
            "Users in the store: "
            <span data-testid="user-count">
                {move || {
                    count
                        .get()
                        .map(|r| match r {
                            Ok(n) => n.to_string(),
                            Err(e) => format!("unavailable ({e})"),
                        })
                        .unwrap_or_else(|| "…".into())
                }}
            </span>
        </p>
        <button on:click=move |_| {
            set_refreshes.update(|n| *n += 1);
            count.refetch();
        }>"Refresh"</button>
        <p data-testid="refreshes">"Refreshed " {refreshes} " times"</p>
    }
}
