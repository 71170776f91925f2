//! Header matching: which column of the file feeds which field.
//!
//! Headers are compared after lower-casing and dropping spaces, `_`, `-` and
//! bracketed annotations, so "First Name [Required]", "first_name",
//! "FirstName" and "First name [givenName]" all mean `first_name`. The text
//! inside brackets is tried as an alias too: Entra's
//! "Name [displayName] Required" is the display name.

use crate::error::FileError;
use crate::field::Field;
use serde::{Deserialize, Serialize};

/// Normalises a header for alias comparison: lower-case, no white space, no
/// `_` or `-`, no bracketed annotation.
pub fn normalize(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    let mut depth = 0u32;
    for c in header.chars() {
        match c {
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            c if c.is_whitespace() || c == '_' || c == '-' || c == '\u{feff}' => {}
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// The normalised texts found inside brackets, e.g. `givenname` in
/// "First name [givenName]".
fn bracketed(header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = header;
    while let Some(start) = rest.find(['[', '(']) {
        let close = if rest[start..].starts_with('[') {
            ']'
        } else {
            ')'
        };
        let Some(len) = rest[start + 1..].find(close) else {
            break;
        };
        out.push(normalize(&rest[start + 1..start + 1 + len]));
        rest = &rest[start + 1 + len + 1..];
    }
    out
}

/// The field a header names and the rank of the alias that matched (0 =
/// best), or `None` when no field has that alias.
pub fn match_header(header: &str) -> Option<(Field, usize)> {
    let lookup = |n: &str| {
        Field::ALL.into_iter().find_map(|f| {
            f.aliases()
                .iter()
                .position(|a| *a == n)
                .map(|rank| (f, rank))
        })
    };
    let outer = normalize(header);
    if let Some(m) = lookup(&outer) {
        return Some(m);
    }
    bracketed(header).iter().find_map(|inner| lookup(inner))
}

/// A column that is not used, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IgnoredColumn {
    /// 1-based position in the header row.
    pub position: u32,
    pub header: String,
    /// When another column already feeds the same field.
    pub duplicate_of: Option<Field>,
}

/// Which record index feeds each field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnMap {
    /// Indexed by [`Field::index`].
    pub source: [Option<usize>; 10],
    pub headers: Vec<String>,
    pub ignored: Vec<IgnoredColumn>,
}

impl ColumnMap {
    pub fn column_of(&self, field: Field) -> Option<usize> {
        self.source[field.index()]
    }

    /// Maps a header row. A missing required field is a file-level error
    /// naming it, the headers that were found and the accepted names.
    pub fn from_headers<S: AsRef<str>>(headers: &[S]) -> Result<ColumnMap, FileError> {
        let mut source: [Option<(usize, usize)>; 10] = [None; 10];
        let mut ignored = Vec::new();
        let headers: Vec<String> = headers
            .iter()
            .map(|h| h.as_ref().trim().to_string())
            .collect();
        for (i, h) in headers.iter().enumerate() {
            let Some((field, rank)) = match_header(h) else {
                if !h.is_empty() {
                    ignored.push(IgnoredColumn {
                        position: i as u32 + 1,
                        header: h.clone(),
                        duplicate_of: None,
                    });
                }
                continue;
            };
            match source[field.index()] {
                Some((_, prev_rank)) if prev_rank <= rank => ignored.push(IgnoredColumn {
                    position: i as u32 + 1,
                    header: h.clone(),
                    duplicate_of: Some(field),
                }),
                prev => {
                    if let Some((p, _)) = prev {
                        ignored.push(IgnoredColumn {
                            position: p as u32 + 1,
                            header: headers[p].clone(),
                            duplicate_of: Some(field),
                        });
                    }
                    source[field.index()] = Some((i, rank));
                }
            }
        }
        ignored.sort_by_key(|c| c.position);
        for field in Field::ALL.into_iter().filter(|f| f.required()) {
            if source[field.index()].is_none() {
                return Err(FileError::MissingColumn {
                    column: field.column().to_string(),
                    found: headers.iter().filter(|h| !h.is_empty()).cloned().collect(),
                    accepted: accepted_names(field),
                });
            }
        }
        Ok(ColumnMap {
            source: source.map(|s| s.map(|(i, _)| i)),
            headers,
            ignored,
        })
    }
}

/// Human-readable accepted header names for a field, for error messages.
pub fn accepted_names(field: Field) -> Vec<String> {
    let mut names = vec![field.column().to_string()];
    names.extend(
        field
            .aliases()
            .iter()
            .filter(|a| **a != field.column())
            .map(|a| a.to_string()),
    );
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn map(h: &[&str]) -> ColumnMap {
        ColumnMap::from_headers(h).unwrap()
    }

    #[test]
    fn canonical_headers() {
        let m = map(&["email", "first_name", "last_name", "display_name", "phone"]);
        assert_eq!(m.column_of(Field::Email), Some(0));
        assert_eq!(m.column_of(Field::Phone), Some(4));
        assert_eq!(m.column_of(Field::Mobile), None);
        assert!(m.ignored.is_empty());
    }

    #[test]
    fn google_workspace_export() {
        let m = map(&[
            "First Name [Required]",
            "Last Name [Required]",
            "Email Address [Required]",
            "Password [Required]",
            "Org Unit Path [Required]",
            "Recovery Email",
            "Work Phone",
            "Mobile Phone",
            "Employee ID",
            "Employee Title",
            "Department",
        ]);
        assert_eq!(m.column_of(Field::FirstName), Some(0));
        assert_eq!(m.column_of(Field::LastName), Some(1));
        assert_eq!(m.column_of(Field::Email), Some(2));
        assert_eq!(m.column_of(Field::Phone), Some(6));
        assert_eq!(m.column_of(Field::Mobile), Some(7));
        assert_eq!(m.column_of(Field::EmployeeNumber), Some(8));
        assert_eq!(m.column_of(Field::Title), Some(9));
        assert_eq!(m.column_of(Field::Department), Some(10));
        let ignored: Vec<_> = m.ignored.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            ignored,
            [
                "Password [Required]",
                "Org Unit Path [Required]",
                "Recovery Email"
            ]
        );
    }

    #[test]
    fn entra_bulk_template() {
        let m = map(&[
            "Name [displayName] Required",
            "User name [userPrincipalName] Required",
            "Initial password [passwordProfile] Required",
            "Block sign in (Yes/No) [accountEnabled] Required",
            "First name [givenName]",
            "Last name [surname]",
            "Job title [jobTitle]",
            "Department [department]",
            "Office phone [telephoneNumber]",
            "Mobile phone [mobile]",
        ]);
        assert_eq!(m.column_of(Field::DisplayName), Some(0));
        assert_eq!(m.column_of(Field::Email), Some(1));
        assert_eq!(m.column_of(Field::FirstName), Some(4));
        assert_eq!(m.column_of(Field::LastName), Some(5));
        assert_eq!(m.column_of(Field::Title), Some(6));
        assert_eq!(m.column_of(Field::Department), Some(7));
        assert_eq!(m.column_of(Field::Phone), Some(8));
        assert_eq!(m.column_of(Field::Mobile), Some(9));
    }

    #[test]
    fn okta_and_smart_id() {
        let m = map(&[
            "login",
            "firstName",
            "lastName",
            "email",
            "mobilePhone",
            "employeeNumber",
            "organization",
        ]);
        // `email` beats `login` for the email field.
        assert_eq!(m.column_of(Field::Email), Some(3));
        assert_eq!(m.ignored[0].header, "login");
        assert_eq!(m.ignored[0].duplicate_of, Some(Field::Email));
        assert_eq!(m.column_of(Field::Mobile), Some(4));
        let m = map(&[
            "FirstName",
            "LastName",
            "Email",
            "UserNumber",
            "Organizational unit",
            "Organization",
        ]);
        assert_eq!(m.column_of(Field::EmployeeNumber), Some(3));
        assert_eq!(m.column_of(Field::Department), Some(4));
        assert_eq!(m.column_of(Field::Organization), Some(5));
    }

    #[test]
    fn missing_required_column_names_it_and_lists_found() {
        let err = ColumnMap::from_headers(&["First Name", "Surname", "Phone"]).unwrap_err();
        match err {
            FileError::MissingColumn {
                column,
                found,
                accepted,
            } => {
                assert_eq!(column, "email");
                assert_eq!(found, ["First Name", "Surname", "Phone"]);
                assert!(accepted.contains(&"emailaddress".to_string()));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn e_mail_and_spacing_variants() {
        for h in [
            "E-mail",
            "e_mail",
            " EMAIL ",
            "Email Address",
            "mail",
            "E-Mail-Address",
        ] {
            assert_eq!(match_header(h).map(|m| m.0), Some(Field::Email), "{h}");
        }
        assert_eq!(match_header("Recovery Email"), None);
    }

    proptest! {
        #[test]
        fn headers_survive_case_and_space_shuffles(
            field_idx in 0usize..10,
            flips in proptest::collection::vec(any::<bool>(), 0..40),
            seps in proptest::collection::vec(prop_oneof![Just(""), Just(" "), Just("_"), Just("-")], 0..40),
        ) {
            let field = Field::ALL[field_idx];
            let canonical = field.column();
            let mut shuffled = String::new();
            for (i, c) in canonical.chars().enumerate() {
                let c = if flips.get(i).copied().unwrap_or(false) { c.to_ascii_uppercase() } else { c };
                if c == '_' {
                    shuffled.push_str(seps.get(i).copied().unwrap_or(""));
                } else {
                    shuffled.push(c);
                    shuffled.push_str(seps.get(i + 20).copied().unwrap_or(""));
                }
            }
            prop_assert_eq!(match_header(&shuffled).map(|m| m.0), Some(field));
            let annotated = format!("  {shuffled} [Required] ");
            prop_assert_eq!(match_header(&annotated).map(|m| m.0), Some(field));
        }

        #[test]
        fn header_mapping_never_panics(headers in proptest::collection::vec("\\PC{0,20}", 0..12)) {
            let _ = ColumnMap::from_headers(&headers);
        }
    }
}
