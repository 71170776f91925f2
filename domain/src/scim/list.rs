//! Query results (RFC 7644 §3.4.2): the `startIndex` / `count` parameters
//! and the `ListResponse` body.

use super::error::{ScimError, ScimType};
use serde_json::{Value, json};

/// The ListResponse schema URI.
pub const LIST_RESPONSE_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Most resources in one response: also the `count` when none is asked
/// for, and `filter.maxResults` in the ServiceProviderConfig.
pub const MAX_COUNT: usize = 200;

/// A page of results: the 1-based index of the first and how many at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub start_index: u64,
    pub count: usize,
}

impl Page {
    /// Reads the query parameters as RFC 7644 §3.4.2.4 says: a
    /// `startIndex` below 1 is 1, a negative `count` is 0, and `count` is
    /// at most [`MAX_COUNT`] (its default). Text that is not an integer is
    /// 400 `invalidValue`.
    pub fn parse(start_index: Option<&str>, count: Option<&str>) -> Result<Page, ScimError> {
        let start = match start_index {
            None => 1,
            Some(s) => integer("startIndex", s)?.max(1) as u64,
        };
        let count = match count {
            None => MAX_COUNT,
            Some(s) => integer("count", s)?.clamp(0, MAX_COUNT as i64) as usize,
        };
        Ok(Page {
            start_index: start,
            count,
        })
    }

    /// How many results come before the page.
    pub fn offset(&self) -> u64 {
        self.start_index - 1
    }

    /// The page's part of `items` (all the matching results, in order).
    pub fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let from = usize::try_from(self.offset())
            .unwrap_or(usize::MAX)
            .min(items.len());
        let to = from.saturating_add(self.count).min(items.len());
        &items[from..to]
    }
}

/// An integer; one too large for 64 bits saturates (only its sign and
/// size matter to the clamps above).
fn integer(name: &str, text: &str) -> Result<i64, ScimError> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ScimError::bad_request(
            ScimType::InvalidValue,
            format!(
                "{name} must be an integer, not \"{}\"",
                crate::chars::shown(text, 40)
            ),
        ));
    }
    Ok(t.parse().unwrap_or(if t.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    }))
}

/// A query's response.
#[derive(Clone, Debug, PartialEq)]
pub struct ListResponse {
    /// Every matching resource, not only this page's.
    pub total_results: u64,
    pub start_index: u64,
    pub resources: Vec<Value>,
}

impl ListResponse {
    pub fn to_json(&self) -> Value {
        json!({
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": self.total_results,
            "startIndex": self.start_index,
            "itemsPerPage": self.resources.len(),
            "Resources": self.resources,
        })
    }
}

/// The SearchRequest message schema.
pub const SEARCH_REQUEST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// A SearchRequest body (RFC 7644 §3.4.3) as the query parameters of a
/// list: `filter`, `startIndex`, `count`, and `attributes` /
/// `excludedAttributes` as arrays (joined with commas as in a URL).
/// Sorting is not supported, as the ServiceProviderConfig says.
pub fn search_params(body: &Value) -> Result<std::collections::HashMap<String, String>, ScimError> {
    let syntax = |d: &str| ScimError::bad_request(ScimType::InvalidSyntax, d);
    let Value::Object(obj) = body else {
        return Err(syntax("The body must be a SearchRequest object"));
    };
    if !super::doc::lists_schema(obj, SEARCH_REQUEST_URN) {
        return Err(syntax(&format!("schemas must list {SEARCH_REQUEST_URN}")));
    }
    let mut params = std::collections::HashMap::new();
    for (name, value) in obj {
        let key = match name.to_ascii_lowercase().as_str() {
            "schemas" => continue,
            "filter" => "filter",
            "startindex" => "startIndex",
            "count" => "count",
            "attributes" => "attributes",
            "excludedattributes" => "excludedAttributes",
            "sortby" | "sortorder" => {
                return Err(ScimError::bad_request(
                    ScimType::InvalidValue,
                    "Sorting is not supported",
                ));
            }
            _ => return Err(syntax(&format!("{name} is not a SearchRequest attribute"))),
        };
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) if key.ends_with("ttributes") => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| syntax(&format!("{name} is an array of attribute names")))?
                .join(","),
            _ => return Err(syntax(&format!("{name} has a value of the wrong type"))),
        };
        params.insert(key.to_string(), text);
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_search_request_is_a_lists_parameters() {
        let params = search_params(&json!({
            "schemas": [SEARCH_REQUEST_URN],
            "filter": "userName eq \"a@x.org\"",
            "startIndex": 1,
            "count": 10,
            "attributes": ["userName", "name.givenName"],
        }))
        .unwrap();
        assert_eq!(params["filter"], "userName eq \"a@x.org\"");
        assert_eq!(params["count"], "10");
        assert_eq!(params["attributes"], "userName,name.givenName");
        for (body, expected) in [
            (json!({"filter": "x pr"}), ScimType::InvalidSyntax),
            (
                json!({"schemas": [SEARCH_REQUEST_URN], "sortBy": "userName"}),
                ScimType::InvalidValue,
            ),
            (
                json!({"schemas": [SEARCH_REQUEST_URN], "count": [1]}),
                ScimType::InvalidSyntax,
            ),
            (
                json!({"schemas": [SEARCH_REQUEST_URN], "nope": 1}),
                ScimType::InvalidSyntax,
            ),
            (json!([]), ScimType::InvalidSyntax),
        ] {
            assert_eq!(
                search_params(&body).unwrap_err().scim_type,
                Some(expected),
                "{body}"
            );
        }
    }

    #[test]
    fn parameters_follow_rfc_7644_section_3_4_2_4() {
        let page = |s: Option<&str>, c: Option<&str>| {
            let p = Page::parse(s, c).unwrap();
            (p.start_index, p.count)
        };
        assert_eq!(page(None, None), (1, MAX_COUNT));
        assert_eq!(page(Some("0"), Some("-5")), (1, 0));
        assert_eq!(page(Some("-3"), Some("10")), (1, 10));
        assert_eq!(page(Some("11"), Some("10")), (11, 10));
        assert_eq!(page(Some("+2"), Some("100000")), (2, MAX_COUNT));
        assert_eq!(
            page(
                Some("99999999999999999999999"),
                Some("-99999999999999999999")
            ),
            (i64::MAX as u64, 0)
        );
        for bad in ["", "ten", "1.5", "0x10", "--1"] {
            let e = Page::parse(Some(bad), None).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidValue), "{bad:?}");
            assert!(e.detail.starts_with("startIndex must be an integer"));
        }
    }

    #[test]
    fn a_page_slices_the_results_and_the_response_counts_them() {
        let items: Vec<u32> = (1..=25).collect();
        let p = Page::parse(Some("11"), Some("10")).unwrap();
        assert_eq!(p.slice(&items), &items[10..20]);
        assert_eq!(
            Page::parse(Some("21"), Some("10")).unwrap().slice(&items),
            &items[20..]
        );
        assert!(
            Page::parse(Some("100"), None)
                .unwrap()
                .slice(&items)
                .is_empty()
        );
        assert!(
            Page::parse(None, Some("0"))
                .unwrap()
                .slice(&items)
                .is_empty()
        );

        let body = ListResponse {
            total_results: 25,
            start_index: 11,
            resources: vec![json!({"id": "a"}), json!({"id": "b"})],
        }
        .to_json();
        assert_eq!(
            body,
            json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "totalResults": 25,
                "startIndex": 11,
                "itemsPerPage": 2,
                "Resources": [{"id": "a"}, {"id": "b"}],
            })
        );
    }

    proptest! {
        #[test]
        fn parsing_never_panics_and_stays_in_bounds(s in "\\PC{0,24}", c in "[-+]?[0-9]{0,30}") {
            if let Ok(p) = Page::parse(Some(&s), Some(&c)) {
                prop_assert!(p.start_index >= 1);
                prop_assert!(p.count <= MAX_COUNT);
            }
        }
    }
}
