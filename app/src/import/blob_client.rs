//! The server-function client of the import's large requests (the key
//! lookup, the sign-in links of the created users): `fetch` as the default
//! browser client does, but with the body handed over as a `Blob`.
//! Chromium sends an `ArrayBuffer` body (what the default client makes)
//! at about 30 MB/s to the server and a `Blob` at several times that:
//! 50 000 keys (1.25 MB) took ~70 ms as an `ArrayBuffer` and ~30 ms as a
//! `Blob`, the server's own part being ~20 ms (measured with curl), and a
//! million-row file asks twenty such questions.

use leptos::server_fn::Bytes;
use leptos::server_fn::client::Client;
use leptos::server_fn::client::browser::BrowserClient;
use leptos::server_fn::error::{FromServerFnError, IntoAppError, ServerFnErrorErr};
use leptos::server_fn::request::browser::BrowserRequest;
use leptos::server_fn::response::ClientRes;
use leptos::wasm_bindgen::{JsCast, JsValue};
use send_wrapper::SendWrapper;
use std::future::Future;
use wasm_bindgen_futures::JsFuture;

pub struct BlobBodyClient;

/// The answer, as `fetch` gave it.
pub struct BlobBodyResponse(SendWrapper<web_sys::Response>);

fn request_error<E: FromServerFnError>(what: &str, e: JsValue) -> E {
    ServerFnErrorErr::Request(format!("{what}: {e:?}")).into_app_error()
}

/// Sends `request` again with its body as a `Blob`, by the global `fetch`
/// (the page's or the worker's).
async fn send_as_blob(request: web_sys::Request) -> Result<web_sys::Response, JsValue> {
    let body = JsFuture::from(request.blob()?).await?;
    let init = web_sys::RequestInit::new();
    init.set_method(&request.method());
    init.set_headers(&request.headers());
    init.set_body(&body);
    init.set_credentials(web_sys::RequestCredentials::SameOrigin);
    let again = web_sys::Request::new_with_str_and_init(&request.url(), &init)?;
    let fetch: js_sys::Function =
        js_sys::Reflect::get(&js_sys::global(), &"fetch".into())?.dyn_into()?;
    let answer = JsFuture::from(js_sys::Promise::from(
        fetch.call1(&js_sys::global(), &again)?,
    ))
    .await?;
    answer.dyn_into()
}

impl<E, I, O> Client<E, I, O> for BlobBodyClient
where
    E: FromServerFnError,
    I: FromServerFnError,
    O: FromServerFnError,
{
    type Request = BrowserRequest;
    type Response = BlobBodyResponse;

    fn send(request: BrowserRequest) -> impl Future<Output = Result<BlobBodyResponse, E>> + Send {
        SendWrapper::new(async move {
            let request: web_sys::Request = request.into();
            send_as_blob(request)
                .await
                .map(|r| BlobBodyResponse(SendWrapper::new(r)))
                .map_err(|e| request_error("the request failed", e))
        })
    }

    #[allow(clippy::type_complexity)]
    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <BrowserClient as Client<E, I, O>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <BrowserClient as Client<E, I, O>>::spawn(future)
    }
}

impl<E: FromServerFnError> ClientRes<E> for BlobBodyResponse {
    fn try_into_string(self) -> impl Future<Output = Result<String, E>> + Send {
        SendWrapper::new(async move {
            let text = self
                .0
                .text()
                .map_err(|e| request_error::<E>("no text", e))?;
            JsFuture::from(text)
                .await
                .ok()
                .and_then(|t| t.as_string())
                .ok_or_else(|| {
                    ServerFnErrorErr::Deserialization("the answer is not text".into())
                        .into_app_error()
                })
        })
    }

    fn try_into_bytes(self) -> impl Future<Output = Result<Bytes, E>> + Send {
        SendWrapper::new(async move {
            let buffer = self
                .0
                .array_buffer()
                .map_err(|e| request_error::<E>("no body", e))?;
            let buffer = JsFuture::from(buffer).await.map_err(|e| {
                ServerFnErrorErr::Deserialization(format!("{e:?}")).into_app_error()
            })?;
            Ok(Bytes::from(js_sys::Uint8Array::new(&buffer).to_vec()))
        })
    }

    fn try_into_stream(
        self,
    ) -> Result<impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + Sync + 'static, E> {
        // The lookup answers in one body; nothing streams.
        Err::<futures::stream::Empty<Result<Bytes, Bytes>>, E>(
            ServerFnErrorErr::Response("this client does not stream".into()).into_app_error(),
        )
    }

    fn status(&self) -> u16 {
        self.0.status()
    }

    fn status_text(&self) -> String {
        self.0.status_text()
    }

    fn location(&self) -> String {
        self.0
            .headers()
            .get("Location")
            .ok()
            .flatten()
            .unwrap_or_else(|| self.0.url())
    }

    fn has_redirect(&self) -> bool {
        self.0
            .headers()
            .get(leptos::server_fn::redirect::REDIRECT_HEADER)
            .ok()
            .flatten()
            .is_some()
    }
}
