//! The header: who is signed in, navigation, "Sign out".

use crate::auth::auth;
use leptos::prelude::*;

#[component]
pub fn Header() -> impl IntoView {
    let auth = auth();
    crate::auth::navigate_on_success(auth.sign_out, "/signin");
    view! {
        <header class="site-header">
            <a class="brand" href="/">"Roster"</a>
            <Transition fallback=|| ()>
                {move || {
                    auth.me
                        .get()
                        .and_then(|r| r.ok().flatten())
                        .map(|me| {
                            let operator = me.is_operator();
                            let admin = me.is_admin();
                            let approver = me.is_approver();
                            view! {
                                <nav>
                                    <Show when=move || operator>
                                        <a href="/users">"Users"</a>
                                        <crate::search::QuickSearch/>
                                    </Show>
                                    <Show when=move || approver>
                                        <a href="/approvals">"Approvals"</a>
                                    </Show>
                                    <Show when=move || admin>
                                        <a href="/admin/options">"Options"</a>
                                        <a href="/admin/audit">"Audit log"</a>
                                        <a href="/admin/tokens">"API tokens"</a>
                                        <a href="/admin/outbox">"Outbox"</a>
                                    </Show>
                                    <a href="/profile">"My profile"</a>
                                </nav>
                                <span class="who" data-testid="signed-in-as">{me.email}</span>
                                <ActionForm action=auth.sign_out attr:class="inline">
                                    <button type="submit" class="secondary">"Sign out"</button>
                                </ActionForm>
                            }
                        })
                }}
            </Transition>
        </header>
    }
}
