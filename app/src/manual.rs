//! Users › Create › Manual input: the Create user form. The same field
//! rules as the CSV import (domain), Source = Manual, the import options'
//! roles and end state; recorded as a batch, so history can undo it.

// The server function takes the form's ten fields as its arguments (the
// form posts them by name); the macro's generated code trips this lint.
#![allow(clippy::too_many_arguments)]

use crate::error::AppError;
use domain::{Field, RowError};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManualAnswer {
    Created {
        email: String,
        batch: u64,
    },
    /// Nothing written: what is wrong, field by field.
    Invalid(Vec<RowError>),
}

#[server(endpoint = "create_user_manual")]
pub async fn create_user_manual(
    email: String,
    first_name: String,
    last_name: String,
    display_name: String,
    phone: String,
    mobile: String,
    employee_number: String,
    title: String,
    department: String,
    organization: String,
) -> Result<ManualAnswer, AppError> {
    use crate::context::*;
    let operator = require(is_operator).await?;
    let cells = [
        (Field::Email, email.as_str()),
        (Field::FirstName, first_name.as_str()),
        (Field::LastName, last_name.as_str()),
        (Field::DisplayName, display_name.as_str()),
        (Field::Phone, phone.as_str()),
        (Field::Mobile, mobile.as_str()),
        (Field::EmployeeNumber, employee_number.as_str()),
        (Field::Title, title.as_str()),
        (Field::Department, department.as_str()),
        (Field::Organization, organization.as_str()),
    ];
    let store = store()?;
    let options = {
        let store = store.clone();
        blocking(move || store.options()).await?
    };
    let user = match domain::manual::manual_user(&cells, &options) {
        Ok(u) => u,
        Err(errors) => return Ok(ManualAnswer::Invalid(errors)),
    };
    let email = user.email.to_string();
    let now = now_s();
    let actor = actor(&operator);
    let batch = blocking(move || store.create_user(user, &operator.by(), actor, now)).await?;
    Ok(ManualAnswer::Created {
        email,
        batch: batch.id,
    })
}

#[component]
pub fn ManualPage() -> impl IntoView {
    let action = ServerAction::<CreateUserManual>::new();
    let errors = move || match action.value().get() {
        Some(Ok(ManualAnswer::Invalid(errors))) => errors,
        _ => Vec::new(),
    };
    let error_of = move |f: Field| {
        errors()
            .into_iter()
            .find(|e| e.column == f.column())
            .map(|e| e.message)
    };
    crate::page::guarded(move || {
        view! {
            <h1>"Create user"</h1>
            {move || match action.value().get() {
                Some(Ok(ManualAnswer::Created { email, batch })) => Some(view! {
                    <p role="status" class="ok">
                        {format!("Created {email} (batch {batch}). ")}
                        <a href="/users/history">"Import history"</a>
                    </p>
                }.into_any()),
                Some(Err(e)) => Some(view! { <p role="alert" class="error">{e.to_string()}</p> }.into_any()),
                Some(Ok(ManualAnswer::Invalid(_))) => Some(view! {
                    <p role="alert" class="error">"Nothing was created: correct the fields marked below."</p>
                }.into_any()),
                None => None,
            }}
            <ActionForm action=action attr:class="card">
                {Field::ALL
                    .into_iter()
                    .map(|f| {
                        let id = format!("user-{}", f.column());
                        let error_id = format!("{id}-error");
                        view! {
                            <label for=id.clone()>{f.label()}{f.required().then_some(" (required)")}</label>
                            <input
                                id=id
                                name=f.column()
                                type=if f == Field::Email { "email" } else { "text" }
                                required=f.required()
                                maxlength=f.max_chars()
                                aria-describedby=error_id.clone()
                            />
                            <span id=error_id class="error">{move || error_of(f)}</span>
                        }
                    })
                    .collect_view()}
                <p class="help">"Display name, when blank, is made of first and last name."</p>
                <p class="actions">
                    <button type="submit" disabled=move || action.pending().get()>"Next"</button>
                    <button type="button" class="secondary" on:click=move |_| {
                        let _ = window().location().set_href("/users/create");
                    }>"Cancel"</button>
                </p>
            </ActionForm>
        }
    })
}
