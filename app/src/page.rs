//! A page's server-rendered data.

use crate::error::{AppError, PageError};
use leptos::either::Either;
use leptos::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Shows what `resource` loaded, through `show`, or the page's error (a
/// redirect to sign-in, "Not allowed", or the message). The resource must
/// be created at the top of the page component (see
/// `crate::auth::RequireRole`); its data is then in the server-rendered
/// HTML. A refetch keeps the old view until the new data is there.
pub fn loaded<T, V>(
    resource: Resource<Result<T, AppError>>,
    show: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static,
    V: IntoView + 'static,
{
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let show = show.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => Either::Left(show(value)),
                        Err(error) => Either::Right(view! { <PageError error/> }),
                    }
                })
            }}
        </Transition>
    }
}

/// The page's content once the route group's access check said yes (see
/// `crate::auth::RequireRole`), else the sign-in redirect or "Not
/// allowed". Resources the content shows must be created by the page
/// before it calls this.
pub fn guarded<V>(content: impl Fn() -> V + Clone + Send + Sync + 'static) -> impl IntoView
where
    V: IntoView + 'static,
{
    let access = expect_context::<crate::auth::Access>().0;
    loaded(access, move |()| content())
}

/// Goes to another address of the same page in place (history entry
/// replaced, scroll kept): how a page whose state is its address's query
/// (the Users page, the Audit log) applies a changed filter. Call it when
/// the page is set up (it takes the router's navigator).
pub fn replace_address() -> impl Fn(&str) + Clone + Send + Sync + 'static {
    let navigate = leptos_router::hooks::use_navigate();
    move |path: &str| {
        navigate(
            path,
            leptos_router::NavigateOptions {
                replace: true,
                scroll: false,
                ..Default::default()
            },
        )
    }
}

/// `base` with these address parameters, percent-encoded.
pub fn with_params(base: &str, params: &[(&'static str, String)]) -> String {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    let mut out = String::from(base);
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.extend(utf8_percent_encode(v, NON_ALPHANUMERIC));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_percent_encoded_in_order() {
        assert_eq!(with_params("/users", &[]), "/users");
        let params = [
            ("q", "ada lov&x=1".to_string()),
            ("state", "inactive".to_string()),
        ];
        assert_eq!(
            with_params("/users", &params),
            "/users?q=ada%20lov%26x%3D1&state=inactive"
        );
    }
}
