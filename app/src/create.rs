//! Users › Create: choose how to create users (CSV import or manual input).

use leptos::prelude::*;

#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Csv,
    Manual,
}

impl How {
    fn id(self) -> &'static str {
        match self {
            How::Csv => "how-csv",
            How::Manual => "how-manual",
        }
    }

    fn label(self) -> &'static str {
        match self {
            How::Csv => "Import by CSV",
            How::Manual => "Manual input",
        }
    }

    fn path(self) -> &'static str {
        match self {
            How::Csv => "/users/import",
            How::Manual => "/users/new",
        }
    }
}

#[component]
pub fn CreateUserPage() -> impl IntoView {
    let how = RwSignal::new(How::Csv);
    crate::page::guarded(move || {
        let navigate = leptos_router::hooks::use_navigate();
        let back = leptos_router::hooks::use_navigate();
        view! {
            <h1>"Create user"</h1>
            <form
                class="card"
                on:submit=move |ev| {
                    ev.prevent_default();
                    navigate(how.get_untracked().path(), Default::default());
                }
            >
                <fieldset>
                    <legend>"How?"</legend>
                    {[How::Csv, How::Manual]
                        .into_iter()
                        .map(|choice| view! {
                            <p>
                                <input
                                    type="radio"
                                    id=choice.id()
                                    name="how"
                                    prop:checked=move || how.get() == choice
                                    on:change=move |_| how.set(choice)
                                />
                                <label for=choice.id()>{choice.label()}</label>
                            </p>
                        })
                        .collect_view()}
                </fieldset>
                <p class="actions">
                    <button type="submit">"Next"</button>
                    <button type="button" class="secondary" on:click=move |_| back("/users", Default::default())>
                        "Cancel"
                    </button>
                </p>
            </form>
            <p><a href="/template.csv" download="roster-users.csv">"Download CSV template"</a></p>
        }
    })
}
