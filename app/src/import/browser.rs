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

/// A CSV made in the browser (or the worker), as a blob.
pub fn csv_blob(bytes: &[u8]) -> web_sys::Blob {
    gloo_file::Blob::new_with_options(bytes, Some("text/csv;charset=utf-8")).into()
}

/// A URL for a blob, to link or download it.
pub fn blob_url(blob: &web_sys::Blob) -> String {
    web_sys::Url::create_object_url_with_blob(blob).unwrap_or_default()
}

/// A URL for a CSV made in the browser.
pub fn object_url(csv: &str) -> String {
    blob_url(&csv_blob(csv.as_bytes()))
}

/// A message between the page and the preview worker: `{ json, blob? }`,
/// the message as JSON and a file or blob beside it (structured clone
/// passes blobs by reference).
pub fn envelope(message: &impl serde::Serialize, blob: Option<&web_sys::Blob>) -> js_sys::Object {
    let object = js_sys::Object::new();
    let json = serde_json::to_string(message).unwrap_or_default();
    let _ = js_sys::Reflect::set(&object, &"json".into(), &json.into());
    if let Some(blob) = blob {
        let _ = js_sys::Reflect::set(&object, &"blob".into(), blob);
    }
    object
}

/// The message and blob of an [`envelope`]; `None` when it is not one.
pub fn open_envelope<T: serde::de::DeserializeOwned>(
    data: &leptos::wasm_bindgen::JsValue,
) -> Option<(T, Option<web_sys::Blob>)> {
    let json = js_sys::Reflect::get(data, &"json".into())
        .ok()?
        .as_string()?;
    let message = serde_json::from_str(&json).ok()?;
    let blob = js_sys::Reflect::get(data, &"blob".into())
        .ok()
        .and_then(|b| b.dyn_into::<web_sys::Blob>().ok());
    Some((message, blob))
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

/// The page's handle on the preview worker (see `worker`): started for a
/// chosen file, stopped by "Cancel" or the next file.
pub struct PreviewWorker {
    worker: web_sys::Worker,
    _on_message: leptos::wasm_bindgen::closure::Closure<dyn FnMut(web_sys::MessageEvent)>,
    _on_error: leptos::wasm_bindgen::closure::Closure<dyn FnMut(web_sys::Event)>,
}

impl PreviewWorker {
    /// Starts a worker on the page's own wasm module; `on_message` gets
    /// each of its answers with the blob beside it.
    pub fn start(
        on_message: impl FnMut(super::worker::FromWorker, Option<web_sys::Blob>) + 'static,
    ) -> Result<PreviewWorker, String> {
        use super::worker::FromWorker;
        use leptos::wasm_bindgen::prelude::*;
        let options = web_sys::WorkerOptions::new();
        options.set_type(web_sys::WorkerType::Module);
        let worker = web_sys::Worker::new_with_options(super::WORKER_SCRIPT, &options)
            .map_err(|_| "The browser could not start the preview worker.".to_string())?;
        let on_message = std::rc::Rc::new(std::cell::RefCell::new(on_message));
        // A worker that dies (a wasm trap, no memory left) says so instead
        // of leaving the page waiting.
        let on_error = {
            let on_message = on_message.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                e.prevent_default();
                if let Ok(mut on_message) = on_message.try_borrow_mut() {
                    on_message(
                        FromWorker::Failed(
                            "The preview stopped: the browser could not finish reading this \
                             file (is it too large for this browser's memory?). Nothing was \
                             sent."
                                .into(),
                        ),
                        None,
                    );
                }
            })
        };
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                if let (Some((message, blob)), Ok(mut on_message)) =
                    (open_envelope(&e.data()), on_message.try_borrow_mut())
                {
                    on_message(message, blob);
                }
            });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // The module the page compiled: the worker instantiates it again
        // instead of fetching and compiling the wasm a second time.
        let init = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&init, &"module".into(), &leptos::wasm_bindgen::module());
        worker
            .post_message(&init)
            .map_err(|_| "The browser could not start the preview worker.".to_string())?;
        Ok(PreviewWorker {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    pub fn send(&self, message: &super::worker::ToWorker, blob: Option<&web_sys::Blob>) {
        let _ = self.worker.post_message(&envelope(message, blob));
    }
}

impl Drop for PreviewWorker {
    /// Stops the work at once, wherever it is.
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Sends `body` to the import's upload route with `params`, reporting the
/// share uploaded (0–1) to `progress`, and decodes the server's answer.
/// XMLHttpRequest, not fetch: only it reports upload progress.
pub async fn upload(
    body: &web_sys::Blob,
    params: &super::CommitParams,
    progress: impl Fn(f64) + 'static,
) -> Result<super::CommitAnswer, crate::error::AppError> {
    use crate::error::AppError;
    use leptos::server_fn::error::FromServerFnError;
    use leptos::wasm_bindgen::prelude::*;
    let url = format!("{}?{}", super::UPLOAD_PATH, params.query());
    let xhr = web_sys::XmlHttpRequest::new().map_err(|_| AppError::Network)?;
    xhr.open("POST", &url).map_err(|_| AppError::Network)?;
    let _ = xhr.set_request_header("Content-Type", "application/octet-stream");
    let on_progress =
        Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
            if e.length_computable() && e.total() > 0.0 {
                progress(e.loaded() / e.total());
            }
        });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    let finished = js_sys::Promise::new(&mut |resolve, _| {
        let done = Closure::once_into_js(move || {
            let _ = resolve.call0(&JsValue::NULL);
        });
        xhr.set_onloadend(Some(done.unchecked_ref()));
    });
    xhr.send_with_opt_blob(Some(body))
        .map_err(|_| AppError::Network)?;
    let _ = wasm_bindgen_futures::JsFuture::from(finished).await;
    drop(on_progress);
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    match status {
        0 => Err(AppError::Network),
        200 => serde_json::from_str(&text).map_err(|_| AppError::Unavailable),
        _ => Err(AppError::de(text.into())),
    }
}

/// What the import page holds in the browser and cannot keep in signals
/// (JS objects are bound to the page's thread): the preview worker, the
/// file its last preview is of, which "Next" sends (the chosen file, or
/// the corrected one), and a spare worker. Never touched on the server.
#[derive(Default)]
pub struct Held {
    pub worker: Option<PreviewWorker>,
    pub body: Option<web_sys::Blob>,
    /// A worker started before it is needed (while the operator picks a
    /// file), so that a preview does not wait for a worker to start and
    /// instantiate the wasm.
    pub spare: Option<PreviewWorker>,
}

/// [`Held`] in the page's local (this thread's) reactive storage: it lives
/// and goes with the page, and dropping it ends the workers. The server
/// holds nothing: it renders the page on any thread of its pool (local
/// storage must not be touched from another thread) and never runs the
/// handlers that use it.
#[derive(Clone, Copy)]
pub struct HeldStore(
    #[cfg(feature = "hydrate")] leptos::prelude::StoredValue<Held, leptos::prelude::LocalStorage>,
);

impl HeldStore {
    pub fn new() -> HeldStore {
        #[cfg(feature = "hydrate")]
        return HeldStore(leptos::prelude::StoredValue::new_local(Held::default()));
        #[cfg(not(feature = "hydrate"))]
        HeldStore()
    }

    /// Runs `f` on what the page holds; once the page is gone, on nothing
    /// (a worker's late message then changes nothing).
    pub fn with<T: Default>(self, f: impl FnOnce(&mut Held) -> T) -> T {
        #[cfg(feature = "hydrate")]
        {
            use leptos::prelude::UpdateValue;
            self.0.try_update_value(f).unwrap_or_default()
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = f;
            T::default()
        }
    }
}
