//! Users (operators): the Users table (search, filters, sort, pages,
//! export), and one-time sign-in links for users.

use crate::error::AppError;
use crate::home::UserCount;
use crate::table::{EmptyRow, TableHead};
use domain::directory::{UserPage, UserQuery, UserSort};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use leptos_router::hooks::use_query_map;

/// A one-time sign-in link for an existing user (operators only), under
/// the privilege rule: operators make links only for users below or at
/// their rank who have no password yet (enrolment); a link for a user with
/// a password is a reset, for administrators. The URL starts with the
/// configured public address.
#[server(endpoint = "make_sign_in_link")]
pub async fn make_sign_in_link(email: String) -> Result<String, AppError> {
    use crate::context::*;
    let me = require(is_operator).await?;
    let email =
        domain::Email::parse(&email).map_err(|e| failed(AppError::Invalid(e.to_string())))?;
    let store = store()?;
    let key = email.key().clone();
    let (actor, by) = (actor(&me), me.by());
    let token = blocking(move || {
        let days = store.options()?.link_days;
        store.create_link(&key, now_s(), days, &by, actor)
    })
    .await?;
    crate::security_log::note(
        domain::audit::AuditAction::SignInLinkMade,
        me.email.as_str(),
        email.as_str(),
    );
    Ok(format!("{}/link/{}", public_base(), token.expose()))
}

/// One page of the Users table (operators only): searched by word starts
/// of name and email, filtered by end state and source, sorted, paged on
/// the server from the store's indexes.
#[server(endpoint = "list_users", input = Json)]
pub async fn list_users(query: UserQuery) -> Result<UserPage, AppError> {
    use crate::context::*;
    require(is_operator).await?;
    let query = query.bounded();
    let store = store()?;
    blocking(move || store.list_users(&query)).await
}

/// The Users page's address for a query (the export's too, under another
/// path).
pub fn query_path(base: &str, query: &UserQuery) -> String {
    crate::page::with_params(base, &query.to_params())
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| UserQuery::from_params(|k| p.get_str(k))));
    let users = Resource::new(move || query.get(), list_users);
    let navigate = crate::page::replace_address();
    // Every control starts again at the first page.
    let go = move |change: &dyn Fn(&mut UserQuery)| {
        let mut q = query.get_untracked();
        change(&mut q);
        q.page = 0;
        navigate(&query_path("/users", &q));
    };
    let go = StoredValue::new(go);
    let on_search = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        go.with_value(|go| go(&|q: &mut UserQuery| q.search = text.clone()));
    };
    let on_state = move |ev: leptos::ev::Event| {
        let v = domain::EndState::parse(&event_target_value(&ev));
        go.with_value(|go| go(&|q: &mut UserQuery| q.end_state = v));
    };
    let on_source = move |ev: leptos::ev::Event| {
        let v = domain::Source::parse(&event_target_value(&ev));
        go.with_value(|go| go(&|q: &mut UserQuery| q.source = v));
    };
    let on_sort = move |ev: leptos::ev::Event| {
        let v = UserSort::parse(&event_target_value(&ev)).unwrap_or_default();
        go.with_value(|go| go(&|q: &mut UserQuery| q.sort = v));
    };
    crate::page::guarded(move || {
        let q = query.get_untracked();
        view! {
            <h1>"Users"</h1>
            <p class="actions">
                <a class="button" href="/users/create">"Create user"</a>
                " "
                <a href="/users/history">"Import history"</a>
            </p>
            <UserCount/>
            <div class="filters" role="search">
                <label for="users-search">"Search users"</label>
                <input
                    id="users-search"
                    type="search"
                    placeholder="Start of a name or email"
                    maxlength=domain::directory::MAX_QUERY_CHARS
                    prop:value=q.search.clone()
                    on:input=on_search
                />
                <label for="users-state">"End state"</label>
                <select id="users-state" on:change=on_state>
                    <option value="" selected=q.end_state.is_none()>"All"</option>
                    {[domain::EndState::Active, domain::EndState::Inactive]
                        .into_iter()
                        .map(|e| view! { <option value=e.key() selected=q.end_state == Some(e)>{e.to_string()}</option> })
                        .collect_view()}
                </select>
                <label for="users-source">"Source"</label>
                <select id="users-source" on:change=on_source>
                    <option value="" selected=q.source.is_none()>"All"</option>
                    {domain::Source::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.key() selected=q.source == Some(s)>{s.key()}</option> })
                        .collect_view()}
                </select>
                <label for="users-sort">"Sort by"</label>
                <select id="users-sort" on:change=on_sort>
                    {UserSort::ALL
                        .into_iter()
                        .map(|s| view! { <option value=s.key() selected=q.sort == s>{s.label()}</option> })
                        .collect_view()}
                </select>
                <a href=move || query_path("/users/export.csv", &UserQuery { page: 0, ..query.get() }) download="users.csv">
                    "Export users"
                </a>
            </div>
            {crate::page::loaded(users, move |page| view! { <UserTable page query=query.get_untracked()/> })}
            <SignInLinkForm/>
        }
    })
}

/// The Users table, what it shows of how many, and the page links.
#[component]
fn UserTable(page: UserPage, query: UserQuery) -> impl IntoView {
    let first = query.offset() + 1;
    let shown = page.users.len() as u64;
    let total = page.total;
    let summary = if shown == 0 {
        String::new()
    } else {
        // A capped search counted the matches among the users it read
        // only: there are more.
        format!(
            "Showing {}–{} of {}{}{}.",
            domain::chars::group_thousands(first),
            domain::chars::group_thousands(first + shown - 1),
            if page.capped { "more than " } else { "" },
            domain::chars::group_thousands(total),
            if page.capped {
                " (type more to narrow the search)"
            } else {
                ""
            }
        )
    };
    let previous = (query.page > 0).then(|| {
        query_path(
            "/users",
            &UserQuery {
                page: query.page - 1,
                ..query.clone()
            },
        )
    });
    let next = (query.offset() + shown < total).then(|| {
        query_path(
            "/users",
            &UserQuery {
                page: query.page + 1,
                ..query.clone()
            },
        )
    });
    let empty = page.users.is_empty();
    view! {
        <table>
            <caption>"Users"</caption>
            <TableHead columns=vec!["Email", "Name", "Title", "End state", "Source", "Roles", "Updated (UTC)"]/>
            <tbody>
                {empty.then(|| view! { <EmptyRow width=7 text="No user matches."/> })}
                {page
                    .users
                    .into_iter()
                    .map(|u| view! {
                        <tr>
                            <td><a href=crate::user_page::user_path(u.email.as_str())>{u.email.to_string()}</a></td>
                            <td>{u.name()}</td>
                            <td>{u.field(domain::Field::Title).to_string()}</td>
                            <td>{u.end_state.to_string()}</td>
                            <td>{u.source.key()}</td>
                            <td>{u.roles.to_string()}</td>
                            <td>{domain::time::rfc3339(u.updated_at)}</td>
                        </tr>
                    })
                    .collect_view()}
            </tbody>
        </table>
        <p class="more" role="status">
            {summary}
            {previous.map(|href| view! { " " <a href=href>"Previous page"</a> })}
            {next.map(|href| view! { " " <a href=href>"Next page"</a> })}
        </p>
    }
}

#[component]
fn SignInLinkForm() -> impl IntoView {
    let action = ServerAction::<MakeSignInLink>::new();
    view! {
        <h2>"Sign-in link"</h2>
        <ActionForm action=action attr:class="card">
            <label for="link-email">"User email"</label>
            <input id="link-email" type="email" name="email" required/>
            <p>
                <button type="submit">"Make sign-in link"</button>
            </p>
        </ActionForm>
        <LinkAnswer answer=action.value()/>
    }
}

/// The answer to "Make sign-in link": the link, or why not.
///
/// The answer signal is taken when the form is made and read with
/// `try_get`: the page's guard may rebuild its children while the server
/// is still rendering the earlier ones, and reading through the disposed
/// action there panicked ("reactive value … already been disposed").
#[component]
pub fn LinkAnswer(answer: MappedSignal<Option<Result<String, AppError>>>) -> impl IntoView {
    move || {
        answer.try_get().flatten().map(|r| match r {
            Ok(url) => view! {
                <p>"One-time sign-in link: " <a data-testid="sign-in-link" href=url.clone()>{url.clone()}</a></p>
            }
            .into_any(),
            Err(e) => {
                view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()
            }
        })
    }
}
