//! My profile (every signed-in user): see the own record, edit the fields
//! the administrator made editable, change the own password. The user is
//! always the session's, never one named in the request.

use crate::error::AppError;
use domain::{Field, RowError, User};
use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileData {
    pub user: User,
    pub editable: Vec<Field>,
}

#[server(endpoint = "my_profile")]
pub async fn my_profile() -> Result<ProfileData, AppError> {
    use crate::context::*;
    let user = require(|_| true).await?;
    let store = store()?;
    let editable = blocking(move || Ok(store.options()?.editable)).await?;
    Ok(ProfileData { user, editable })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SaveAnswer {
    Saved(Box<User>),
    Invalid(Vec<RowError>),
}

/// Saves the signed-in user's edits made against `version`.
#[server(endpoint = "save_my_profile", input = Json)]
pub async fn save_my_profile(
    edits: Vec<(Field, String)>,
    version: u64,
) -> Result<SaveAnswer, AppError> {
    use crate::context::*;
    let me = require(|_| true).await?;
    let store = store()?;
    let editable = {
        let store = store.clone();
        blocking(move || Ok(store.options()?.editable)).await?
    };
    let cells: Vec<(Field, &str)> = edits.iter().map(|(f, v)| (*f, v.as_str())).collect();
    let after = match domain::manual::self_service_edit(&me, &cells, &editable) {
        Ok(u) => u,
        Err(errors) => return Ok(SaveAnswer::Invalid(errors)),
    };
    let now = now_s();
    let key = me.key().clone();
    let saved = blocking(move || store.update_profile(&key, after.profile, version, now)).await?;
    Ok(SaveAnswer::Saved(Box::new(saved)))
}

/// Changes the signed-in user's password after checking the current one
/// (throttled like sign-in). Other sessions of the user end; this one goes
/// on under a new id.
#[server(endpoint = "change_my_password")]
pub async fn change_my_password(
    current: String,
    password: String,
    repeat: String,
) -> Result<(), AppError> {
    use crate::context::*;
    let me = require(|_| true).await?;
    // Checked again in `new_password_hash`; here so that a typo costs no
    // verification of the current password (nor a throttle count).
    if password != repeat {
        return Err(failed(AppError::Invalid(
            "The two passwords differ.".into(),
        )));
    }
    authenticate(me.email.as_str(), current)
        .await
        .map_err(|e| match e {
            AppError::Throttled(_) => e,
            _ => failed(AppError::Invalid("The current password is wrong.".into())),
        })?;
    let hash = new_password_hash(password, repeat).await?;
    let store = store()?;
    let now = now_ms();
    let (key, by) = (me.key().clone(), me.by());
    blocking(move || store.set_password(&key, &hash, now, &by)).await?;
    start_session(me.key(), now).await
}

#[component]
pub fn ProfilePage() -> impl IntoView {
    let profile = Resource::new(|| (), |_| my_profile());
    crate::page::guarded(move || {
        view! {
            <h1>"My profile"</h1>
            {crate::page::loaded(profile, |p| view! { <ProfileForm profile=p/> })}
            <PasswordForm/>
        }
    })
}

#[component]
fn ProfileForm(profile: ProfileData) -> impl IntoView {
    let save = ServerAction::<SaveMyProfile>::new();
    let version = RwSignal::new(profile.user.version);
    let editable = profile.editable.clone();
    let values: Vec<(Field, RwSignal<String>)> = Field::ALL
        .into_iter()
        .skip(1)
        .map(|f| (f, RwSignal::new(profile.user.field(f).to_string())))
        .collect();
    let field_errors = move || match save.value().get() {
        Some(Ok(SaveAnswer::Invalid(errors))) => errors,
        _ => Vec::new(),
    };
    // A saved record carries the new version for the next save.
    Effect::new(move |_| {
        if let Some(Ok(SaveAnswer::Saved(u))) = save.value().get() {
            version.set(u.version);
        }
    });
    let submit = {
        let values = values.clone();
        let editable = editable.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let edits = values
                .iter()
                .filter(|(f, _)| editable.contains(f))
                .map(|(f, v)| (*f, v.get_untracked()))
                .collect();
            save.dispatch(SaveMyProfile {
                edits,
                version: version.get_untracked(),
            });
        }
    };
    let roles = profile.user.roles.to_string();
    let state = profile.user.end_state.to_string();
    view! {
        {move || {
            save.value()
                .get()
                .map(|r| match r {
                    Ok(SaveAnswer::Saved(_)) => view! { <p role="status" class="ok">"Saved."</p> }.into_any(),
                    Ok(SaveAnswer::Invalid(_)) => view! {
                        <p role="alert" class="error">"Nothing was saved: correct the fields marked below."</p>
                    }
                    .into_any(),
                    Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                })
        }}
        <form class="card" on:submit=submit>
            <p>
                <strong>{profile.user.email.to_string()}</strong>
                {format!(" · {roles} · {state}")}
            </p>
            {values
                .into_iter()
                .map(|(f, value)| {
                    let id = format!("me-{}", f.column());
                    let error_id = format!("{id}-error");
                    let can_edit = editable.contains(&f);
                    view! {
                        <label for=id.clone()>{f.label()}</label>
                        <input
                            id=id
                            type="text"
                            readonly=!can_edit
                            maxlength=f.max_chars()
                            aria-describedby=error_id.clone()
                            // The attribute for the server-rendered page,
                            // the property for later changes.
                            value=value.get_untracked()
                            prop:value=move || value.get()
                            on:input=move |ev| value.set(event_target_value(&ev))
                        />
                        <span id=error_id class="error">
                            {move || {
                                field_errors()
                                    .into_iter()
                                    .find(|e| e.column == f.column())
                                    .map(|e| e.message)
                            }}
                        </span>
                    }
                })
                .collect_view()}
            <p class="help">"Fields you cannot change are read-only; an operator can change them."</p>
            <p class="actions">
                <button type="submit" disabled=move || save.pending().get()>"Save"</button>
            </p>
        </form>
    }
}

#[component]
fn PasswordForm() -> impl IntoView {
    let change = ServerAction::<ChangeMyPassword>::new();
    view! {
        <h2>"Change password"</h2>
        <ActionForm action=change attr:class="card">
            <label for="current-password">"Current password"</label>
            <input id="current-password" type="password" name="current" autocomplete="current-password" required/>
            <crate::auth::NewPasswordFields id_prefix="new-" repeat_label="Repeat new password"/>
            <p class="actions">
                <button type="submit" disabled=move || change.pending().get()>"Change password"</button>
            </p>
            {move || {
                change
                    .value()
                    .get()
                    .map(|r| match r {
                        Ok(()) => view! {
                            <p role="status" class="ok">"Password changed. Your other sessions are signed out."</p>
                        }
                        .into_any(),
                        Err(e) => view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </ActionForm>
    }
}
