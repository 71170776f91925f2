//! Evaluating a filter against a user, or against one value of a
//! multi-valued attribute (a PATCH path's `[ ]`).
//!
//! A filter is checked as a whole before any value is read (every
//! attribute known, every operator allowed on its type), so a bad filter
//! is refused the same way whatever the users are, and evaluation itself
//! cannot fail.

use super::{AttrPath, CompValue, CompareOp, Filter};
use crate::scim::error::{ScimError, ScimType};
use crate::scim::schema::{self, Attr, Resolved, Schema, Type};
use crate::scim::{CORE_USER_URN, ENTERPRISE_USER_URN};
use crate::user::{EndState, User};
use serde_json::Value;
use std::borrow::Cow;

/// One value of an attribute. Date-times are (Unix seconds, nanoseconds).
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    Str(Cow<'a, str>),
    Bool(bool),
    Time(i64, u32),
}

/// One value of `emails` or `phoneNumbers`: its sub-attributes.
#[derive(Debug)]
pub(crate) struct Element<'a> {
    parent: &'static Attr,
    fields: Vec<(&'static str, Scalar<'a>)>,
}

impl<'a> Element<'a> {
    /// An element of a PATCH document (`{"value": …, "type": …}`): string
    /// sub-attributes as they are, `primary` as a boolean (or the strings
    /// "true"/"false", as some clients send it).
    pub(crate) fn from_json(parent: &'static Attr, value: &'a Value) -> Element<'a> {
        let mut fields = Vec::new();
        for sub in parent.subs {
            let v = value.get(sub.name);
            let scalar = match (sub.ty, v) {
                (Type::Boolean, Some(v)) => json_bool(v).map(Scalar::Bool),
                (_, Some(Value::String(s))) => Some(Scalar::Str(Cow::Borrowed(s.as_str()))),
                _ => None,
            };
            fields.extend(scalar.map(|s| (sub.name, s)));
        }
        Element { parent, fields }
    }
}

/// `true`, `false`, or those words as strings in any case (Entra sends
/// `"True"`).
pub(crate) fn json_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => word_bool(s),
        _ => None,
    }
}

fn word_bool(s: &str) -> Option<bool> {
    match s {
        _ if s.eq_ignore_ascii_case("true") => Some(true),
        _ if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Whether `user`, whose client keeps `external_id` for it, matches
/// `filter`; an unknown attribute, or an operator its type does not
/// allow, is 400 `invalidFilter`. `id` is the user's key (the id the
/// wiring gives).
pub fn matches(filter: &Filter, user: &User, external_id: Option<&str>) -> Result<bool, ScimError> {
    filter.validate()?;
    Ok(eval(filter, &UserSubject(user, external_id)))
}

/// Checks a `[ ]` filter on the values of `parent` (a PATCH path's).
pub(crate) fn check_element_filter(
    filter: &Filter,
    parent: &'static Attr,
) -> Result<(), ScimError> {
    check(filter, Some(parent))
}

/// Whether one value of `parent` matches a `[ ]` filter (checked here).
pub(crate) fn matches_element(filter: &Filter, element: &Element<'_>) -> Result<bool, ScimError> {
    check(filter, Some(element.parent))?;
    Ok(eval(filter, element))
}

fn invalid(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidFilter, detail)
}

/// What a path's values are: `None` when it has none by definition (an
/// attribute Roster does not keep, another schema's).
fn kind(path: &AttrPath, parent: Option<&'static Attr>) -> Result<Option<(Type, bool)>, ScimError> {
    if let Some(parent) = parent {
        if path.urn.is_some() || path.sub.is_some() {
            return Err(invalid(format!(
                "inside {}[ ], name a sub-attribute of {0}, not '{path}'",
                parent.name
            )));
        }
        return match parent
            .subs
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&path.name))
        {
            Some(sub) => Ok(Some((sub.ty, sub.case_exact))),
            None if schema::ignored_sub(parent, &path.name) => Ok(None),
            None => Err(invalid(format!(
                "'{}' is not a sub-attribute of {}",
                path.name, parent.name
            ))),
        };
    }
    if path.is_core("schemas") {
        return Ok(Some((Type::String, false)));
    }
    match schema::resolve(path).map_err(invalid)? {
        Resolved::Attr { attr, sub, .. } => {
            let a = sub.unwrap_or(attr);
            // `emails co "x"` compares the values' `value` (RFC 7644
            // §3.4.2.2 filters `emails` so in its examples).
            Ok(Some(match (a.ty, a.multi) {
                (Type::Complex, true) => (Type::String, false),
                (ty, _) => (ty, a.case_exact),
            }))
        }
        Resolved::Extension => Ok(Some((Type::Complex, false))),
        Resolved::Ignored | Resolved::OtherSchema => Ok(None),
    }
}

pub(super) fn check(filter: &Filter, parent: Option<&'static Attr>) -> Result<(), ScimError> {
    match filter {
        Filter::And(items) | Filter::Or(items) => items.iter().try_for_each(|f| check(f, parent)),
        Filter::Not(inner) => check(inner, parent),
        Filter::Present(path) => kind(path, parent).map(drop),
        Filter::ValuePath { path, filter } => {
            if parent.is_some() {
                return Err(invalid("a [ ] filter cannot hold another".into()));
            }
            match schema::resolve(path).map_err(invalid)? {
                Resolved::Attr {
                    attr, sub: None, ..
                } if attr.multi => check(filter, Some(attr)),
                // Values Roster does not keep: nothing to match, but the
                // filter must still parse (it did).
                Resolved::Ignored | Resolved::OtherSchema => Ok(()),
                _ => Err(invalid(format!("'{path}' is not a multi-valued attribute"))),
            }
        }
        Filter::Compare { path, op, value } => {
            let Some((ty, _)) = kind(path, parent)? else {
                return Ok(());
            };
            let ok = match (ty, value) {
                (_, CompValue::Null) => matches!(op, CompareOp::Eq | CompareOp::Ne),
                (Type::Complex, _) => false,
                (Type::Boolean, v) => {
                    matches!(op, CompareOp::Eq | CompareOp::Ne) && comp_bool(v).is_some()
                }
                (Type::String, CompValue::Str(_)) => true,
                (Type::DateTime, CompValue::Str(s)) => {
                    !matches!(op, CompareOp::Co | CompareOp::Sw | CompareOp::Ew)
                        && parse_datetime(s).is_some()
                }
                _ => false,
            };
            if ok {
                return Ok(());
            }
            let ty = match ty {
                Type::String => "a string: compare it with a string in double quotes",
                Type::Boolean => "a boolean: only eq and ne with true or false apply",
                Type::DateTime => {
                    "a date-time: compare it (eq ne gt ge lt le) with an RFC 3339 date-time string"
                }
                Type::Complex => "complex: name one of its sub-attributes",
            };
            Err(invalid(format!(
                "'{path} {} {value}': {path} is {ty}",
                op.as_str()
            )))
        }
    }
}

fn comp_bool(v: &CompValue) -> Option<bool> {
    match v {
        CompValue::Bool(b) => Some(*b),
        CompValue::Str(s) => word_bool(s),
        _ => None,
    }
}

/// What a checked filter reads: values by path, and the elements of a
/// multi-valued attribute.
trait Subject {
    fn kind(&self, path: &AttrPath) -> Option<(Type, bool)>;
    fn values(&self, path: &AttrPath) -> Vec<Scalar<'_>>;
    fn elements(&self, path: &AttrPath) -> Vec<Element<'_>>;
}

fn eval(filter: &Filter, s: &dyn Subject) -> bool {
    match filter {
        Filter::And(items) => items.iter().all(|f| eval(f, s)),
        Filter::Or(items) => items.iter().any(|f| eval(f, s)),
        Filter::Not(inner) => !eval(inner, s),
        Filter::Present(path) => !s.values(path).is_empty(),
        Filter::ValuePath { path, filter } => s.elements(path).iter().any(|e| eval(filter, e)),
        Filter::Compare { path, op, value } => {
            let values = s.values(path);
            let case_exact = s.kind(path).is_some_and(|(_, exact)| exact);
            match (op, value) {
                (CompareOp::Eq, CompValue::Null) => values.is_empty(),
                (CompareOp::Ne, CompValue::Null) => !values.is_empty(),
                // `ne` is "not eq": true for an absent attribute.
                (CompareOp::Ne, _) => !values
                    .iter()
                    .any(|v| compare(v, CompareOp::Eq, value, case_exact)),
                _ => values.iter().any(|v| compare(v, *op, value, case_exact)),
            }
        }
    }
}

fn fold(s: &str, case_exact: bool) -> Cow<'_, str> {
    if case_exact || !s.chars().any(char::is_uppercase) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.to_lowercase())
    }
}

fn compare(v: &Scalar<'_>, op: CompareOp, value: &CompValue, case_exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering: Ordering = match (v, value) {
        (Scalar::Str(a), CompValue::Str(b)) => {
            let (a, b) = (fold(a, case_exact), fold(b, case_exact));
            match op {
                CompareOp::Co => return a.contains(&*b),
                CompareOp::Sw => return a.starts_with(&*b),
                CompareOp::Ew => return a.ends_with(&*b),
                _ => a.cmp(&b),
            }
        }
        (Scalar::Bool(a), v) => match comp_bool(v) {
            Some(b) => a.cmp(&b),
            None => return false,
        },
        (Scalar::Time(s, n), CompValue::Str(b)) => match parse_datetime(b) {
            Some(t) => (*s, *n).cmp(&t),
            None => return false,
        },
        _ => return false,
    };
    match op {
        CompareOp::Eq => ordering.is_eq(),
        CompareOp::Ne => ordering.is_ne(),
        CompareOp::Gt => ordering.is_gt(),
        CompareOp::Ge => ordering.is_ge(),
        CompareOp::Lt => ordering.is_lt(),
        CompareOp::Le => ordering.is_le(),
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

impl Subject for Element<'_> {
    fn kind(&self, path: &AttrPath) -> Option<(Type, bool)> {
        kind(path, Some(self.parent)).ok().flatten()
    }

    fn values(&self, path: &AttrPath) -> Vec<Scalar<'_>> {
        self.fields
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(&path.name))
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn elements(&self, _: &AttrPath) -> Vec<Element<'_>> {
        Vec::new()
    }
}

struct UserSubject<'u>(&'u User, Option<&'u str>);

impl UserSubject<'_> {
    fn text(s: &str) -> Vec<Scalar<'_>> {
        match s.is_empty() {
            true => Vec::new(),
            false => vec![Scalar::Str(Cow::Borrowed(s))],
        }
    }

    fn enterprise(&self, name: &str) -> &str {
        let p = &self.0.profile;
        match name {
            "employeeNumber" => p.employee_number(),
            "department" => p.department(),
            "organization" => p.organization(),
            _ => "",
        }
    }
}

impl Subject for UserSubject<'_> {
    fn kind(&self, path: &AttrPath) -> Option<(Type, bool)> {
        kind(path, None).ok().flatten()
    }

    fn values(&self, path: &AttrPath) -> Vec<Scalar<'_>> {
        let u = self.0;
        let p = &u.profile;
        if path.is_core("schemas") {
            let mut urns = vec![Scalar::Str(Cow::Borrowed(CORE_USER_URN))];
            if schema::ENTERPRISE
                .iter()
                .any(|a| !self.enterprise(a.name).is_empty())
            {
                urns.push(Scalar::Str(Cow::Borrowed(ENTERPRISE_USER_URN)));
            }
            return urns;
        }
        let (schema, attr, sub) = match schema::resolve(path) {
            Ok(Resolved::Attr { schema, attr, sub }) => (schema, attr, sub.map(|s| s.name)),
            Ok(Resolved::Extension) => {
                let any = schema::ENTERPRISE
                    .iter()
                    .any(|a| !self.enterprise(a.name).is_empty());
                return if any {
                    vec![Scalar::Bool(true)]
                } else {
                    Vec::new()
                };
            }
            _ => return Vec::new(),
        };
        if schema == Schema::Enterprise {
            return Self::text(self.enterprise(attr.name));
        }
        match (attr.name, sub) {
            ("id", _) => Self::text(u.key().as_str()),
            ("userName", _) => Self::text(u.email.as_str()),
            ("displayName", _) => Self::text(p.display_name()),
            ("title", _) => Self::text(p.title()),
            ("active", _) => vec![Scalar::Bool(u.end_state == EndState::Active)],
            ("name", Some("givenName")) => Self::text(p.first_name()),
            ("name", Some("familyName")) => Self::text(p.last_name()),
            ("name", None) => match p.first_name().is_empty() && p.last_name().is_empty() {
                true => Vec::new(),
                false => vec![Scalar::Bool(true)],
            },
            ("meta", Some("created")) => vec![Scalar::Time(u.created_at, 0)],
            ("meta", Some("lastModified")) => vec![Scalar::Time(u.updated_at, 0)],
            ("meta", Some("resourceType")) => Self::text("User"),
            ("meta", Some("version")) => vec![Scalar::Str(Cow::Owned(crate::scim::etag(u)))],
            ("meta", None) => vec![Scalar::Bool(true)],
            ("emails" | "phoneNumbers", sub) => self
                .elements(path)
                .into_iter()
                .flat_map(|e| e.fields)
                .filter(|(name, _)| *name == sub.unwrap_or("value"))
                .map(|(_, v)| v)
                .collect(),
            ("externalId", _) => Self::text(self.1.unwrap_or("")),
            // meta.location: not known here.
            _ => Vec::new(),
        }
    }

    fn elements(&self, path: &AttrPath) -> Vec<Element<'_>> {
        let Ok(Resolved::Attr { attr, .. }) = schema::resolve(path) else {
            return Vec::new();
        };
        let p = &self.0.profile;
        let element = |value, ty, primary| value_element(attr, value, ty, primary);
        match attr.name {
            "emails" => vec![element(self.0.email.as_str(), "work", true)],
            "phoneNumbers" => [(p.phone(), "work"), (p.mobile(), "mobile")]
                .into_iter()
                .filter(|(v, _)| !v.is_empty())
                .map(|(v, ty)| element(v, ty, false))
                .collect(),
            _ => Vec::new(),
        }
    }
}

/// `{value, type[, primary: true]}`, borrowing the value.
fn value_element<'a>(
    parent: &'static Attr,
    value: &'a str,
    ty: &'static str,
    primary: bool,
) -> Element<'a> {
    let mut fields = vec![
        ("value", Scalar::Str(Cow::Borrowed(value))),
        ("type", Scalar::Str(Cow::Borrowed(ty))),
    ];
    if primary {
        fields.push(("primary", Scalar::Bool(true)));
    }
    Element { parent, fields }
}

/// An RFC 3339 / xsd:dateTime value as (Unix seconds, nanoseconds):
/// `2011-05-13T04:42:34Z`, with optional fractions and an offset
/// (`+02:00`); without an offset it is taken as UTC.
pub(crate) fn parse_datetime(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = s.get(from..from + len)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt") && sep(13, b":") && sep(16, b":")) {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] {
        return None;
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u32;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        nanos *= 10u32.pow(9u32.saturating_sub((i - start) as u32));
    }
    let offset = match b.get(i) {
        None => 0,
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            let o = oh * 3600 + om * 60;
            if *c == b'+' { o } else { -o }
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo, d);
    Some((days * 86_400 + h * 3600 + mi * 60 + sec - offset, nanos))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
/// algorithm, the inverse of `crate::time`'s).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
