//! Server-side access to what the server provides through Leptos context.

use domain::store::{Store, StoreError};
use leptos::prelude::*;
use std::sync::Arc;

/// The store, as the server provides it to every request.
pub type AppStore = Arc<dyn Store>;

pub fn store() -> Result<AppStore, ServerFnError> {
    use_context::<AppStore>().ok_or_else(|| ServerFnError::new("the store is not available"))
}

/// Maps a store error to what the browser sees.
pub fn store_error(e: StoreError) -> ServerFnError {
    ServerFnError::new(e.to_string())
}

/// Runs blocking store work off the async executor.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ServerFnError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServerFnError::new(format!("internal error: {e}")))?
        .map_err(store_error)
}
