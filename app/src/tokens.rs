//! Admin › API tokens: the credentials other systems (SCIM provisioning
//! clients) call Roster with. An administrator makes one (name, role,
//! validity), sees it once, and revokes it; the page lists each with its
//! last use. Never the secret or its hash: the store keeps only the hash.

use crate::error::AppError;
use domain::token::TokenRole;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// A token as the page shows it (no secret, no hash).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: TokenRole,
    pub created_at: i64,
    pub created_by: String,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

#[cfg(feature = "ssr")]
impl From<domain::token::ApiToken> for TokenRow {
    fn from(t: domain::token::ApiToken) -> TokenRow {
        TokenRow {
            id: t.id,
            name: t.name.as_str().to_string(),
            role: t.role,
            created_at: t.created_at,
            created_by: t.created_by,
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked.map(|r| r.at),
        }
    }
}

/// Every token, oldest first (administrators only).
#[server(endpoint = "api_tokens")]
pub async fn api_tokens() -> Result<Vec<TokenRow>, AppError> {
    use crate::context::*;
    require(is_admin).await?;
    let store = store()?;
    let tokens = blocking(move || store.list_tokens()).await?;
    Ok(tokens.into_iter().map(TokenRow::from).collect())
}

/// A token just made: its id and the token itself, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTokenShown {
    pub id: String,
    pub text: String,
}

/// Makes a token (administrators only). `role`: `operator` or `admin`;
/// `days`: blank for a token valid until revoked.
#[server(endpoint = "create_api_token")]
pub async fn create_api_token(
    name: String,
    role: String,
    days: String,
) -> Result<NewTokenShown, AppError> {
    use crate::context::*;
    let admin = require(is_admin).await?;
    let role = TokenRole::parse(&role)
        .ok_or_else(|| AppError::Invalid("The role is operator or admin.".into()))?;
    let days = match days.trim() {
        "" => None,
        d => Some(d.parse::<u32>().map_err(|_| {
            AppError::Invalid("Valid for: a number of days, or blank for no end.".into())
        })?),
    };
    let store = store()?;
    let now = now_s();
    let actor = actor(&admin);
    let made = blocking(move || {
        store.create_token(domain::usecase::tokens::NewToken {
            name: &name,
            role,
            days,
            by: &admin.by(),
            actor,
            now,
        })
    })
    .await?;
    Ok(NewTokenShown {
        id: made.token.id,
        text: made.text,
    })
}

/// Revokes a token (administrators only); revoking it again changes
/// nothing.
#[server(endpoint = "revoke_api_token")]
pub async fn revoke_api_token(id: String) -> Result<(), AppError> {
    use crate::context::*;
    let admin = require(is_admin).await?;
    let store = store()?;
    let now = now_s();
    let actor = actor(&admin);
    blocking(move || store.revoke_token(&id, &admin.by(), actor, now)).await?;
    Ok(())
}

#[component]
pub fn TokensPage() -> impl IntoView {
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| api_tokens(),
    );
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("operator".to_string());
    let days = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateApiToken {
            name: name.get_untracked(),
            role: role.get_untracked(),
            days: days.get_untracked(),
        });
    };
    crate::page::guarded(move || {
        view! {
            <h1>"API tokens"</h1>
            <p class="help">
                "Other systems (SCIM provisioning from Entra ID, Okta …) call Roster at /scim/v2 \
                 with a token, sent as \"Authorization: Bearer …\". An Operator token acts as an \
                 operator under the privilege rule (never on an administrator); an Admin token as \
                 an administrator. A token opens no page."
            </p>
            {move || {
                create.value().get().map(|r| match r {
                    Ok(made) => view! {
                        <div class="card" role="status">
                            <p>
                                {format!("Token {} made. Copy it now: it is not shown again.", made.id)}
                            </p>
                            <p><code data-testid="new-token">{made.text}</code></p>
                        </div>
                    }
                    .into_any(),
                    Err(e) => view! { <p role="alert" class="error">{format!("No token was made: {e}")}</p> }
                        .into_any(),
                })
            }}
            {move || {
                revoke.value().get().and_then(Result::err).map(|e| {
                    view! { <p role="alert" class="error">{format!("Not revoked: {e}")}</p> }
                })
            }}
            <form class="card" aria-label="New API token" on:submit=submit>
                <label for="token-name">"Name"</label>
                <input id="token-name" type="text" maxlength="100" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="token-role">"Role"</label>
                <select id="token-role" prop:value=move || role.get() on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="operator">"Operator"</option>
                    <option value="admin">"Admin"</option>
                </select>
                <label for="token-days">"Valid for (days, blank: until revoked)"</label>
                <input id="token-days" type="number" min="1" prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
                <p class="actions">
                    <button type="submit" disabled=move || create.pending().get()>"Make token"</button>
                </p>
            </form>
            {crate::page::loaded(tokens, move |rows| view! { <TokenTable rows revoke/> })}
        }
    })
}

#[component]
fn TokenTable(rows: Vec<TokenRow>, revoke: ServerAction<RevokeApiToken>) -> impl IntoView {
    let when =
        |t: Option<i64>, none: &'static str| t.map_or(none.to_string(), domain::time::rfc3339);
    view! {
        <table>
            <caption>"API tokens"</caption>
            <crate::table::TableHead columns=vec!["Id", "Name", "Role", "Created", "Expires", "Last used", "State", ""]/>
            <tbody>
                {rows.is_empty().then(|| view! { <crate::table::EmptyRow width=8 text="No tokens yet."/> })}
                {rows
                    .into_iter()
                    .map(|t| {
                        let id = t.id.clone();
                        let open = t.revoked_at.is_none();
                        view! {
                            <tr data-testid=format!("token-{}", t.id)>
                                <td><code>{t.id.clone()}</code></td>
                                <td>{t.name.clone()}</td>
                                <td>{t.role.to_string()}</td>
                                <td>{format!("{} by {}", domain::time::rfc3339(t.created_at), t.created_by)}</td>
                                <td>{when(t.expires_at, "never")}</td>
                                <td>{when(t.last_used_at, "never")}</td>
                                <td>{if open { "Active".to_string() } else { format!("Revoked {}", when(t.revoked_at, "")) }}</td>
                                <td>
                                    {open.then(|| view! {
                                        <button type="button" class="secondary" on:click=move |_| {
                                            revoke.dispatch(RevokeApiToken { id: id.clone() });
                                        }>"Revoke"</button>
                                    })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
