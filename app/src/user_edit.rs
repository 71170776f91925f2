//! The user page's "Edit": a controller ([`EditForm`]: the record the
//! edit is against, "Save" computing the changes in the browser with the
//! domain's rules, "Confirm" sending them) and one component per part of
//! the form: the fields, the roles, the changes to confirm.

use crate::user_page::EditUser;
use domain::store::EditOutcome;
use domain::{Change, Field, Role, Roles, RowError, User};
use leptos::prelude::*;

/// "Edit": the Manual input fields (email fixed) and, for administrators,
/// the roles; "Save" shows the changes old → new, computed in the browser
/// by the same domain rules the server applies, and "Confirm" writes them
/// if nobody changed the user meanwhile.
#[component]
pub fn EditForm(
    user: User,
    can_edit_roles: bool,
    editing: RwSignal<bool>,
    saved: RwSignal<u32>,
) -> impl IntoView {
    // The record the edit is against: the page's, or the fresh one after a
    // "changed meanwhile".
    let base = RwSignal::new(user.clone());
    let values: Vec<(Field, RwSignal<String>)> = Field::ALL
        .into_iter()
        .skip(1)
        .map(|f| (f, RwSignal::new(user.field(f).to_string())))
        .collect();
    let roles = RwSignal::new(user.roles);
    let errors = RwSignal::new(Vec::<RowError>::new());
    // The changes "Save" found, shown until "Confirm" or "Cancel".
    let review = RwSignal::new(None::<Vec<Change>>);
    let notice = RwSignal::new(None::<&'static str>);
    let confirm = ServerAction::<EditUser>::new();
    let cells = {
        let values = values.clone();
        move || -> Vec<(Field, String)> {
            values
                .iter()
                .map(|(f, v)| (*f, v.get_untracked()))
                .collect()
        }
    };
    let wanted_roles = move || can_edit_roles.then(|| roles.get_untracked());
    let save = {
        let cells = cells.clone();
        move |_| {
            let cells = cells();
            let borrowed: Vec<(Field, &str)> =
                cells.iter().map(|(f, v)| (*f, v.as_str())).collect();
            let before = base.get_untracked();
            notice.set(None);
            match domain::manual::operator_edit(&before, &borrowed, wanted_roles()) {
                Ok(after) => {
                    errors.set(Vec::new());
                    review.set(Some(domain::plan::diff(&before, &after)));
                }
                Err(found) => {
                    errors.set(found);
                    review.set(None);
                }
            }
        }
    };
    let on_confirm = Callback::new(move |_: ()| {
        let before = base.get_untracked();
        confirm.dispatch(EditUser {
            email: before.email.to_string(),
            version: before.version,
            cells: cells(),
            roles: wanted_roles().map(|r| r.iter().collect()),
        });
    });
    Effect::new(move |_| {
        let Some(answer) = confirm.value().get() else {
            return;
        };
        match answer {
            Ok(EditOutcome::Saved(_)) | Ok(EditOutcome::Unchanged(_)) => {
                review.set(None);
                editing.set(false);
                saved.update(|n| *n += 1);
            }
            Ok(EditOutcome::ChangedMeanwhile { current, changes }) => {
                base.set(current);
                review.set(Some(changes));
                notice.set(Some(
                    "This user was changed meanwhile: nothing was saved. Here is what your edit \
                     changes on the record as it is now; confirm again or cancel.",
                ));
            }
            Ok(EditOutcome::Invalid(found)) => {
                errors.set(found);
                review.set(None);
            }
            Err(_) => {}
        }
    });
    view! {
        <form class="card" on:submit=|ev| ev.prevent_default() aria-label="Edit user">
            <h2>"Edit"</h2>
            <FieldInputs values errors/>
            {can_edit_roles.then(|| view! { <RoleChecks roles/> })}
            <p class="help">"A blank optional field is cleared. The email is the user's key and cannot be changed."</p>
            <p class="actions">
                <button type="button" on:click=save>"Save"</button>
                " "
                <button type="button" class="secondary" on:click=move |_| {
                    review.set(None);
                    editing.set(false);
                }>"Cancel"</button>
            </p>
        </form>
        {move || notice.get().map(|text| view! { <p role="alert" class="error">{text}</p> })}
        <ChangesToConfirm review pending=confirm.pending() on_confirm/>
        {move || {
            confirm
                .value()
                .try_get()
                .flatten()
                .and_then(|r| r.err())
                .map(|error| view! { <crate::error::ErrorAlert error/> })
        }}
    }
    // Erased here: the page's view type would otherwise nest deeper than
    // the compiler's query limit in the wasm build.
    .into_any()
}

/// One input a field, each with the error "Save" or the server found.
#[component]
fn FieldInputs(
    values: Vec<(Field, RwSignal<String>)>,
    errors: RwSignal<Vec<RowError>>,
) -> impl IntoView {
    let error_of = move |f: Field| {
        errors.with(|e| {
            e.iter()
                .find(|e| e.column == f.column())
                .map(|e| e.message.clone())
        })
    };
    values
        .into_iter()
        .map(|(f, value)| {
            let id = format!("edit-{}", f.column());
            let error_id = format!("{id}-error");
            view! {
                <label for=id.clone()>{f.label()}{f.required().then_some(" (required)")}</label>
                <input
                    id=id
                    type="text"
                    maxlength=f.max_chars()
                    aria-describedby=error_id.clone()
                    prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev))
                />
                <span id=error_id class="error">{move || error_of(f)}</span>
            }
        })
        .collect_view()
        .into_any()
}

/// The role checkboxes (administrators only).
#[component]
fn RoleChecks(roles: RwSignal<Roles>) -> impl IntoView {
    view! {
        <fieldset>
            <legend>"Roles"</legend>
            {Role::ALL
                .into_iter()
                .map(|role| view! {
                    <label class="check">
                        <input
                            type="checkbox"
                            prop:checked=move || roles.get().contains(role)
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                roles.update(|r| {
                                    *r = Roles::of(&r.iter().filter(|x| *x != role).chain(on.then_some(role)).collect::<Vec<_>>());
                                });
                            }
                        />
                        {role.label()}
                    </label>
                })
                .collect_view()}
        </fieldset>
    }
    .into_any()
}

/// The changes "Save" found, old → new, with "Confirm" and "Cancel";
/// "Nothing changed." when there are none.
#[component]
fn ChangesToConfirm(
    review: RwSignal<Option<Vec<Change>>>,
    pending: Memo<bool>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    move || {
        review.get().map(|changes| {
            if changes.is_empty() {
                return view! { <p role="status">"Nothing changed."</p> }.into_any();
            }
            view! {
                <div class="card">
                    <h2>"Changes"</h2>
                    <ul aria-label="Changes">
                        {changes.iter().map(|c| view! { <li>{c.describe()}</li> }).collect_view()}
                    </ul>
                    <p class="actions">
                        <button type="button" on:click=move |_| on_confirm.run(()) disabled=move || pending.get()>"Confirm"</button>
                        " "
                        <button type="button" class="secondary" on:click=move |_| review.set(None)>"Cancel"</button>
                    </p>
                </div>
            }
            .into_any()
        })
    }
}
