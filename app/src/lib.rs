//! Roster's user interface: the shell, the routes, one page per module, and
//! the server functions the pages call.

pub mod approvals;
pub mod audit_log;
pub mod auth;
#[cfg(feature = "ssr")]
pub mod context;
pub mod create;
#[cfg(feature = "ssr")]
pub mod device;
pub mod error;
pub mod header;
pub mod history;
pub mod home;
pub mod import;
pub mod mail;
pub mod manual;
pub mod options;
pub mod options_mail;
pub mod page;
pub mod profile;
pub mod search;
#[cfg(feature = "ssr")]
pub mod security;
#[cfg(feature = "ssr")]
pub mod security_log;
pub mod table;
pub mod tokens;
pub mod user_edit;
pub mod user_page;
pub mod users;

use auth::{Need, RequireRole};
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{ParentRoute, Route, Router, Routes},
    path,
};

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    context::provide_csp_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    auth::AuthActions::provide();
    // Effects only run in the browser, after hydration: tests wait for this
    // marker before they click.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/roster.css"/>
        <Title text="Roster"/>
        <Router>
            <header::Header/>
            <main>
                // Async SSR: the session is checked before the first byte is
                // sent, so a redirect to the sign-in page is a real 302.
                // Route groups by who may see them; their layout
                // (`auth::RequireRole`) checks the session and the role.
                // Async SSR: the session is checked and the page's data
                // loaded before the first byte is sent, so a redirect to
                // the sign-in page is a real 302 and the data is in the HTML.
                <Routes fallback=|| view! { <h1>"Page not found"</h1> }>
                    <Route path=path!("/signin") view=auth::SignInPage/>
                    <Route path=path!("/link/:token") view=auth::SetPasswordPage ssr=SsrMode::Async/>
                    <Route path=path!("/forgot-password") view=mail::ForgotPasswordPage/>
                    <ParentRoute path=path!("") view=|| view! { <RequireRole need=Need::SignedIn/> } ssr=SsrMode::Async>
                        <Route path=path!("") view=home::HomePage ssr=SsrMode::Async/>
                        <Route path=path!("profile") view=profile::ProfilePage ssr=SsrMode::Async/>
                    </ParentRoute>
                    <ParentRoute path=path!("/users") view=|| view! { <RequireRole need=Need::Operator/> } ssr=SsrMode::Async>
                        <Route path=path!("") view=users::UsersPage ssr=SsrMode::Async/>
                        <Route path=path!("create") view=create::CreateUserPage ssr=SsrMode::Async/>
                        <Route path=path!("import") view=import::ImportPage ssr=SsrMode::Async/>
                        <Route path=path!("new") view=manual::ManualPage ssr=SsrMode::Async/>
                        <Route path=path!("u/:email") view=user_page::UserPage ssr=SsrMode::Async/>
                        <Route path=path!("history") view=history::HistoryPage ssr=SsrMode::Async/>
                    </ParentRoute>
                    <ParentRoute path=path!("/approvals") view=|| view! { <RequireRole need=Need::Approval/> } ssr=SsrMode::Async>
                        <Route path=path!("") view=approvals::ApprovalsPage ssr=SsrMode::Async/>
                        <Route path=path!(":id") view=approvals::ApprovalPage ssr=SsrMode::Async/>
                    </ParentRoute>
                    <ParentRoute path=path!("/admin") view=|| view! { <RequireRole need=Need::Admin/> } ssr=SsrMode::Async>
                        <Route path=path!("options") view=options::OptionsPage ssr=SsrMode::Async/>
                        <Route path=path!("audit") view=audit_log::AuditLogPage ssr=SsrMode::Async/>
                        <Route path=path!("tokens") view=tokens::TokensPage ssr=SsrMode::Async/>
                        <Route path=path!("outbox") view=mail::OutboxPage ssr=SsrMode::Async/>
                    </ParentRoute>
                </Routes>
            </main>
        </Router>
    }
}
