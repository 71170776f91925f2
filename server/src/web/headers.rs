//! Security headers on every response.
//!
//! The constant ones come from tower-http's `SetResponseHeaderLayer`; the
//! Content-Security-Policy and Cache-Control depend on the request, so one
//! middleware sets them:
//! - every request gets a fresh nonce, handed to the app through the
//!   request's extensions ([`app::context::CspNonce`]); Leptos puts it on
//!   its inline scripts, and an HTML answer's policy allows scripts from
//!   this origin and with that nonce only (`'wasm-unsafe-eval'` lets the
//!   wasm bundle compile). Any other answer gets a policy that allows
//!   nothing at all.
//! - everything but the built assets under `/pkg/` and the favicon is
//!   `Cache-Control: no-store`: pages, server-function answers and
//!   downloads carry personal data or tokens.

use app::context::CspNonce;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use rand::RngCore;
use tower_http::set_header::SetResponseHeaderLayer;

/// The policy of an HTML page rendered with `nonce`.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// The policy of the import's preview worker: a worker's script is its own
/// document for CSP, and it imports the app's module, instantiates the
/// wasm and calls the lookup server function.
pub const WORKER_POLICY: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; \
     connect-src 'self'";

/// The policy of everything that is not a page (JSON, CSV, assets).
pub const OTHER_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; sandbox";

fn new_nonce() -> String {
    let mut bytes = [0u8; 18];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether a path is a built asset that may be cached.
fn cacheable(path: &str) -> bool {
    path.starts_with("/pkg/") || path == "/favicon.svg"
}

async fn per_request(mut request: Request, next: Next) -> Response {
    let nonce = new_nonce();
    let path = request.uri().path().to_string();
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    let mut response = next.run(request).await;
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let policy = if html {
        page_policy(&nonce)
    } else if path == app::import::WORKER_SCRIPT {
        WORKER_POLICY.to_string()
    } else {
        OTHER_POLICY.to_string()
    };
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    if !cacheable(&path) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Adds the security headers to every answer of `router`. `hsts`: the
/// server is reached over HTTPS (secure cookies are on).
pub fn secure<S: Clone + Send + Sync + 'static>(router: Router<S>, hsts: bool) -> Router<S> {
    let router = router
        .layer(middleware::from_fn(per_request))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if hsts {
        router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ))
    } else {
        router
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_policy_allows_only_this_origin_and_the_nonce() {
        let p = page_policy("abc");
        assert!(p.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(p.contains("frame-ancestors 'none'"));
        assert!(!p.contains("unsafe-inline"));
        assert_ne!(new_nonce(), new_nonce());
        assert!(cacheable("/pkg/roster.wasm"));
        assert!(!cacheable("/api/who_am_i"));
        assert!(!cacheable("/template.csv"));
    }
}
