//! The browser's side: files and downloads. On the server these are never
//! called (event handlers do not run there).

use leptos::wasm_bindgen::JsCast;

pub fn chosen_file(ev: &leptos::ev::Event) -> Option<web_sys::File> {
    let input: web_sys::HtmlInputElement = ev.target()?.dyn_into().ok()?;
    input.files()?.get(0)
}

pub fn dropped_file(ev: &web_sys::DragEvent) -> Option<web_sys::File> {
    ev.data_transfer()?.files()?.get(0)
}

pub async fn read_file(file: web_sys::File) -> Result<Vec<u8>, String> {
    let blob = gloo_file::Blob::from(file);
    gloo_file::futures::read_as_bytes(&blob)
        .await
        .map_err(|e| format!("The file could not be read: {e}"))
}

/// A URL for a CSV made in the browser.
pub fn object_url(csv: &str) -> String {
    let blob = gloo_file::Blob::new_with_options(csv, Some("text/csv;charset=utf-8"));
    web_sys::Url::create_object_url_with_blob(blob.as_ref()).unwrap_or_default()
}

/// Saves a CSV made in the browser under `name`.
pub fn download(name: &str, csv: &str) {
    let url = object_url(csv);
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(a) = document.create_element("a") {
        let _ = a.set_attribute("href", &url);
        let _ = a.set_attribute("download", name);
        if let Ok(a) = a.dyn_into::<web_sys::HtmlElement>() {
            a.click();
        }
    }
}
