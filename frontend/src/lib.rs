//! The wasm entry points. Kept apart from `app` so that the `hydrate`
//! feature only ever reaches `app` through this crate (see README,
//! Architecture).

use wasm_bindgen::prelude::wasm_bindgen;

/// The page: hydrates the server-rendered app.
#[wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

/// The import's preview worker (`public/import-worker.js` calls this in a
/// Web Worker once the module is instantiated there): `queued` are the
/// messages that came meanwhile.
#[wasm_bindgen]
pub fn import_worker(queued: js_sys::Array) {
    console_error_panic_hook::set_once();
    app::import::worker::run(queued);
}
