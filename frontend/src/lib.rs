//! The wasm entry point. Kept apart from `app` so that the `hydrate` feature
//! only ever reaches `app` through this crate (see README, Architecture).

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
