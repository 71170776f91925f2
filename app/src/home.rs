//! The home page: a round trip through the store.

use leptos::prelude::*;

/// How many users the store holds.
#[server]
pub async fn user_count() -> Result<u64, ServerFnError> {
    let store = crate::context::store()?;
    crate::context::blocking(move || store.user_count()).await
}

#[component]
pub fn HomePage() -> impl IntoView {
    let count = Resource::new(|| (), |_| user_count());
    let (refreshes, set_refreshes) = signal(0u32);
    view! {
        <h1>"Roster"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
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
                    }}
                </span>
            </p>
        </Suspense>
        <button on:click=move |_| {
            set_refreshes.update(|n| *n += 1);
            count.refetch();
        }>"Refresh"</button>
        <p data-testid="refreshes">"Refreshed " {refreshes} " times"</p>
    }
}
