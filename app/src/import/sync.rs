//! "Sync" on the preview: tick it and the users the file no longer lists
//! (imported, active, of the chosen organization) are shown under "Users
//! to deactivate", and Next deactivates them with the import.

use leptos::prelude::*;

/// The busy message while the server finds who a sync deactivates.
pub(super) const SYNC_STEP: &str = "Finding the users missing from this file";

/// Whether "Sync" is ticked, and the organization it is limited to
/// (blank: every organization).
#[derive(Clone, Copy)]
pub(super) struct SyncChoice {
    pub on: RwSignal<bool>,
    pub scope: RwSignal<String>,
}

/// The checkbox and the organization field; `resync` is called with the
/// checkbox's state when either changes (the preview then gains or loses
/// its sync part).
#[component]
pub(super) fn SyncControls(
    sync: SyncChoice,
    resync: impl Fn(bool) + Copy + 'static,
) -> impl IntoView {
    let SyncChoice { on, scope } = sync;
    view! {
        <div class="card sync">
            <p>
                <input
                    type="checkbox"
                    id="sync"
                    prop:checked=move || on.get()
                    on:change=move |ev| resync(event_target_checked(&ev))
                />
                <label for="sync">"Sync: deactivate users missing from this file"</label>
            </p>
            <p>
                <label for="sync-scope">"Only users of the organization"</label>
                <input
                    id="sync-scope"
                    type="text"
                    placeholder="every organization"
                    prop:value=move || scope.get()
                    on:change=move |ev| {
                        scope.set(event_target_value(&ev));
                        if on.get_untracked() {
                            resync(true);
                        }
                    }
                />
            </p>
            <p class="help">
                "The file then decides who is active: imported users (Source CSV) who are active \
                 and not in it are deactivated when you press Next; their sessions end and their \
                 sign-in links are revoked. Nothing is deleted, and undoing the import activates \
                 them again. Users that a sync deactivated are activated again by a later file \
                 that lists them; users a person deactivated stay inactive. Limit the sync to \
                 an organization when each organization's HR system sends its own file."
            </p>
        </div>
    }
}
