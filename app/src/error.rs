//! The one error type of the web boundary: what a server function can
//! answer instead of its result, as data the browser can act on (redirect
//! to sign-in, show "Not allowed", show a message). Store and domain
//! errors are mapped to it once (`context::store_error`); internal error
//! text goes to the server's log, never to the browser.

use leptos::prelude::*;
use leptos::server_fn::codec::JsonEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AppError {
    /// No valid session (401).
    NotSignedIn,
    /// Signed in, but the role or the privilege rule refuses (403).
    NotAllowed(String),
    /// What was asked for does not exist (404).
    NotFound(String),
    /// Someone changed the data meanwhile, or it exists already (409).
    Conflict(String),
    /// The input is wrong; the message says how (400).
    Invalid(String),
    /// Too many failed attempts; the message says how long to wait (429).
    Throttled(String),
    /// A body larger than the server takes; the message gives the limit
    /// (413).
    TooLarge(String),
    /// The server could not be reached.
    Network,
    /// Something failed on the server; the details are in its log.
    Unavailable,
    /// The server is up but its database cannot be reached (503): nothing
    /// was changed.
    DatabaseDown,
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::NotSignedIn => f.write_str("Sign in first."),
            AppError::NotAllowed(m)
            | AppError::NotFound(m)
            | AppError::Conflict(m)
            | AppError::Invalid(m)
            | AppError::Throttled(m)
            | AppError::TooLarge(m) => f.write_str(m),
            AppError::Network => {
                f.write_str("The server cannot be reached. Check the connection and try again.")
            }
            AppError::Unavailable => f.write_str(
                "Something went wrong on the server. Try again; if it keeps failing, the \
                 administrator finds the reason in the server's log.",
            ),
            AppError::DatabaseDown => f.write_str(
                "The database cannot be reached just now: nothing was changed. Try again in a \
                 moment.",
            ),
        }
    }
}

impl std::error::Error for AppError {}

impl AppError {
    /// The refusal of a role check.
    pub fn not_allowed() -> AppError {
        AppError::NotAllowed("You are not allowed to do this.".into())
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            AppError::NotSignedIn => 401,
            AppError::NotAllowed(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::Conflict(_) => 409,
            AppError::Invalid(_) => 400,
            AppError::Throttled(_) => 429,
            AppError::TooLarge(_) => 413,
            AppError::Network | AppError::Unavailable => 500,
            AppError::DatabaseDown => 503,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => AppError::Network,
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                AppError::Invalid("The request was not understood.".into())
            }
            other => {
                leptos::logging::error!("server function failed: {other}");
                AppError::Unavailable
            }
        }
    }
}

/// An error as a message, for forms and actions.
#[component]
pub fn ErrorAlert(error: AppError) -> impl IntoView {
    view! { <p class="error" role="alert">{error.to_string()}</p> }
}

/// An error in place of a page: not signed in → the sign-in page; not
/// allowed → "Not allowed" (status 403); else the message.
#[component]
pub fn PageError(error: AppError) -> impl IntoView {
    use leptos::either::EitherOf3;
    match error {
        AppError::NotSignedIn => {
            EitherOf3::A(view! { <leptos_router::components::Redirect path="/signin"/> })
        }
        AppError::NotAllowed(message) => {
            #[cfg(feature = "ssr")]
            crate::context::set_status(axum::http::StatusCode::FORBIDDEN);
            EitherOf3::B(view! {
                <h1>"Not allowed"</h1>
                <p>{message} " This page needs a role you do not have."</p>
                <p><a href="/">"Back to the start page"</a></p>
            })
        }
        other => EitherOf3::C(view! { <ErrorAlert error=other/> }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_round_trip_through_their_encoding() {
        for e in [
            AppError::NotSignedIn,
            AppError::not_allowed(),
            AppError::Conflict("changed".into()),
            AppError::Unavailable,
            AppError::DatabaseDown,
        ] {
            assert_eq!(AppError::de(e.ser()), e);
        }
        assert_eq!(
            AppError::from_server_fn_error(ServerFnErrorErr::Request("down".into())),
            AppError::Network
        );
        assert!(!AppError::Unavailable.to_string().contains("storage"));
    }
}
