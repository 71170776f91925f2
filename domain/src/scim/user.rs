//! Roster's `User` as a SCIM User resource, and a SCIM body (POST, PUT,
//! or a PATCH's result) as a validated [`ScimUserInput`].
//!
//! The mapping: `userName` = the email (Roster's key); `name.givenName` /
//! `name.familyName` = first / last name; `displayName`; `title`;
//! `phoneNumbers` of type "work" = phone, "mobile" = mobile; `active` =
//! the end state; the enterprise extension's `employeeNumber`,
//! `department`, `organization`; `emails` = the email, primary, "work".
//!
//! Input follows the CSV's rules: every value goes through its field's
//! validator (`ProfilePatch::set`: trimmed, NFC, length, control and
//! invisible characters, phone syntax; `Email::parse` for the userName),
//! and a missing first or last name is refused as in a file.

use super::doc::{self, Doc, Target};
use super::error::{ScimError, ScimType};
use super::filter::{PatchPath, json_bool};
use super::schema::{self, Resolved, Schema, trim_base};
use super::{CORE_USER_URN, ENTERPRISE_USER_URN};
use crate::email::Email;
use crate::field::Field;
use crate::patch::{Blank, ProfilePatch};
use crate::user::{EndState, Profile, Roles, Source, User};
use serde_json::{Value, json};

/// Longest `externalId` kept, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 256;

/// The ETag of a user's current version, `W/"<version>"` (`meta.version`).
pub fn etag(user: &User) -> String {
    format!("W/\"{}\"", user.version)
}

/// Whether an `If-Match` header lets a write to `user` go ahead: `*`, or
/// a list holding its tag. SCIM's tags are weak (RFC 7644 §3.14), so
/// `W/"3"` and `"3"` name the same version.
pub fn etag_matches(if_match: &str, user: &User) -> bool {
    let current = user.version.to_string();
    if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag).trim_matches('"') == current)
}

/// The User resource: `id` as the wiring gives it (the user's key),
/// `externalId` when the wiring keeps one, `meta.location` under
/// `base_url` (e.g. `https://roster.example/scim/v2`).
pub fn user_resource(user: &User, id: &str, external_id: Option<&str>, base_url: &str) -> Value {
    let mut doc = doc::of_user(user, external_id);
    let mut schemas = vec![CORE_USER_URN];
    if doc.contains_key(ENTERPRISE_USER_URN) {
        schemas.push(ENTERPRISE_USER_URN);
    }
    doc.insert("schemas".into(), json!(schemas));
    doc.insert("id".into(), id.into());
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": crate::time::rfc3339(user.created_at),
            "lastModified": crate::time::rfc3339(user.updated_at),
            "version": etag(user),
            "location": format!("{}/Users/{}", trim_base(base_url), path_segment(id)),
        }),
    );
    Value::Object(doc)
}

/// `id` as one URL path segment: an address may hold `/`, `?`, `#` or
/// `%`, which must not end the segment.
fn path_segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Applies the `attributes` / `excludedAttributes` query parameters
/// (comma-separated attribute paths; RFC 7644 §3.4.2.5) to a resource
/// from [`user_resource`]. `id`, `schemas` and `meta` are always
/// returned. Names Roster does not know select nothing; a malformed one
/// is 400 `invalidValue`.
pub fn project(
    resource: &Value,
    attributes: Option<&str>,
    excluded: Option<&str>,
) -> Result<Value, ScimError> {
    let Value::Object(full) = resource else {
        return Ok(resource.clone());
    };
    let mut out = match attributes.map(targets).transpose()? {
        None => full.clone(),
        Some(wanted) => {
            let mut out = Doc::new();
            for key in ["schemas", "id", "meta"] {
                out.extend(full.get_key_value(key).map(|(k, v)| (k.clone(), v.clone())));
            }
            for t in wanted {
                copy(full, &mut out, t);
            }
            out
        }
    };
    for t in excluded.map(targets).transpose()?.unwrap_or_default() {
        if !t.attr.read_only {
            drop_target(&mut out, t);
        }
    }
    if out
        .get(ENTERPRISE_USER_URN)
        .and_then(Value::as_object)
        .is_some_and(Doc::is_empty)
    {
        out.remove(ENTERPRISE_USER_URN);
    }
    Ok(Value::Object(out))
}

/// The attributes a parameter names (the extension's URN: all of them).
fn targets(list: &str) -> Result<Vec<Target>, ScimError> {
    let mut out = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let path = match PatchPath::parse(item) {
            Ok(PatchPath {
                attr, filter: None, ..
            }) => attr,
            _ => {
                let item = crate::chars::shown(item, 80);
                let why = format!("'{item}' is not an attribute path");
                return Err(ScimError::bad_request(ScimType::InvalidValue, why));
            }
        };
        match schema::resolve(&path) {
            Ok(Resolved::Attr { schema, attr, sub }) => out.push(Target { schema, attr, sub }),
            Ok(Resolved::Extension) => out.extend(schema::ENTERPRISE.iter().map(|attr| Target {
                schema: Schema::Enterprise,
                attr,
                sub: None,
            })),
            _ => {}
        }
    }
    Ok(out)
}

fn part(doc: &Doc, schema: Schema) -> Option<&Doc> {
    match schema {
        Schema::Core => Some(doc),
        Schema::Enterprise => doc.get(ENTERPRISE_USER_URN)?.as_object(),
    }
}

/// Copies a target's value from `full` to `out`, a sub-attribute into
/// what `out` already has of its parent (`emails.value,emails.type`).
fn copy(full: &Doc, out: &mut Doc, t: Target) {
    let Some(value) = part(full, t.schema).and_then(|d| d.get(t.attr.name)) else {
        return;
    };
    let dest = doc::container(out, t.schema);
    let Some(sub) = t.sub else {
        dest.insert(t.attr.name.into(), value.clone());
        return;
    };
    let pick = |from: &Value, into: &mut Value| {
        if let (Some(v), Some(o)) = (from.get(sub.name), into.as_object_mut()) {
            o.insert(sub.name.into(), v.clone());
        }
    };
    match value {
        Value::Array(items) => {
            let slot = dest.entry(t.attr.name).or_insert_with(|| json!([]));
            if let Value::Array(have) = slot {
                have.resize(items.len(), json!({}));
                items
                    .iter()
                    .zip(have.iter_mut())
                    .for_each(|(f, i)| pick(f, i));
            }
        }
        v => pick(v, dest.entry(t.attr.name).or_insert_with(|| json!({}))),
    }
}

fn drop_target(out: &mut Doc, t: Target) {
    let dest = doc::container(out, t.schema);
    let Some(sub) = t.sub else {
        dest.remove(t.attr.name);
        return;
    };
    match dest.get_mut(t.attr.name) {
        Some(Value::Array(items)) => items
            .iter_mut()
            .filter_map(Value::as_object_mut)
            .for_each(|o| drop(o.remove(sub.name))),
        Some(Value::Object(o)) => drop(o.remove(sub.name)),
        _ => {}
    }
}

/// What a body is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write<'a> {
    /// POST /Users: an `id` in the body is ignored (readOnly, §3.3).
    Create,
    /// PUT /Users/{id}: an `id` in the body must be this one
    /// (`mutability` otherwise, as in §3.12's example).
    Replace { id: &'a str },
}

/// A validated SCIM user: what a POST or PUT body (or a PATCH's result)
/// asks Roster to store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScimUserInput {
    /// From `userName`, which must be an email address. `emails` is read
    /// for its shape only: when its primary value differs, userName wins,
    /// since it is the key clients look users up by (`userName eq`).
    pub email: Email,
    /// Every profile field: absent ones empty (PUT replaces the whole
    /// user, §3.5.1), the display name made from the names when absent.
    pub profile: Profile,
    /// `active` when given; true, false, or Entra's "True" / "False".
    pub active: Option<bool>,
    /// `externalId`: validated and carried, but `User` has no field for
    /// it; the wiring stores it if it wants `externalId eq` to work.
    pub external_id: Option<String>,
}

impl ScimUserInput {
    /// Reads a POST or PUT body. The body must list the core schema in
    /// `schemas`. Attribute names are case-insensitive (RFC 7643 §2.1).
    /// Attributes of the core or enterprise schema that Roster does not
    /// keep (`addresses`, `nickName`, `manager`, …), and other schemas'
    /// extensions, are ignored, as §3.3 lets a server ignore what it
    /// does not store and RFC 7643 §3 leaves the receiver to decide
    /// "which attributes may be replaced or ignored"; `meta` is readOnly
    /// and ignored (§3.3, §3.5.1). A name in no schema at all is refused
    /// (`invalidSyntax`: it "did not conform to the request schema",
    /// §3.12), so a misspelt attribute is not dropped in silence.
    pub fn from_json(body: &Value, write: Write<'_>) -> Result<ScimUserInput, ScimError> {
        let syntax = |d: String| ScimError::bad_request(ScimType::InvalidSyntax, d);
        let Value::Object(body) = body else {
            return Err(syntax(
                "The body must be a JSON object: a User resource".into(),
            ));
        };
        if !doc::lists_schema(body, CORE_USER_URN) {
            return Err(syntax(format!("schemas must list {CORE_USER_URN}")));
        }
        let mut doc = Doc::new();
        let mut seen: Vec<(Schema, &str, Option<&str>)> = Vec::new();
        for (path, value) in doc::flatten(body).map_err(syntax)? {
            if path.is_core("schemas") {
                continue;
            }
            let (schema, attr, sub) = match schema::resolve(&path) {
                Ok(Resolved::Attr { schema, attr, sub }) => (schema, attr, sub),
                Ok(_) => continue,
                Err(why) => return Err(syntax(why)),
            };
            if attr.read_only {
                if let (Write::Replace { id }, "id") = (write, attr.name)
                    && value.as_str() != Some(id)
                {
                    return Err(ScimError::bad_request(
                        ScimType::Mutability,
                        format!("id is readOnly: this resource's id is \"{id}\""),
                    ));
                }
                continue;
            }
            let key = (schema, attr.name, sub.map(|s| s.name));
            // `name` and `name.givenName`, or `title` and `TITLE`: which?
            let overlaps = |s: &(Schema, &str, Option<&str>)| {
                (s.0, s.1) == (key.0, key.1) && (s.2.is_none() || key.2.is_none() || s.2 == key.2)
            };
            if seen.iter().any(overlaps) {
                return Err(syntax(format!("'{path}' is given twice")));
            }
            seen.push(key);
            doc::set(&mut doc, Target { schema, attr, sub }, None, value, false)?;
        }
        ScimUserInput::from_doc(&doc)
    }

    /// Validates a document (a body read by `from_json`, or a PATCH's
    /// result), reporting every problem in one `invalidValue` error.
    pub(crate) fn from_doc(doc: &Doc) -> Result<ScimUserInput, ScimError> {
        let mut problems = Vec::new();
        let p = &mut problems;
        let user_name = string(doc.get("userName"), "userName", p).trim();
        let email = if user_name.is_empty() {
            p.push("userName is required: the user's email address".to_string());
            None
        } else {
            match Field::Email.validate(user_name) {
                Ok(_) => Email::parse(user_name).ok(),
                Err(e) => {
                    p.push(format!("userName: {}", e.message));
                    None
                }
            }
        };
        elements(doc.get("emails"), "emails", p);
        let phones = elements(doc.get("phoneNumbers"), "phoneNumbers", p);
        let name = doc.get("name");
        let ext = doc.get(ENTERPRISE_USER_URN);
        let cells = [
            (Field::FirstName, "name.givenName", sub(name, "givenName")),
            (Field::LastName, "name.familyName", sub(name, "familyName")),
            (Field::DisplayName, "displayName", doc.get("displayName")),
            (Field::Title, "title", doc.get("title")),
            (
                Field::Phone,
                "phoneNumbers[type eq \"work\"].value",
                pick(&phones, "work"),
            ),
            (
                Field::Mobile,
                "phoneNumbers[type eq \"mobile\"].value",
                pick(&phones, "mobile"),
            ),
            (
                Field::EmployeeNumber,
                "employeeNumber",
                sub(ext, "employeeNumber"),
            ),
            (Field::Department, "department", sub(ext, "department")),
            (
                Field::Organization,
                "organization",
                sub(ext, "organization"),
            ),
        ];
        let mut patch = ProfilePatch::default();
        for (field, label, value) in cells {
            let raw = string(value, label, p);
            if let Err(e) = patch.set(field, raw, Blank::Clear) {
                p.push(format!("{label}: {}", e.message));
            }
        }
        let active = match doc.get("active") {
            None | Some(Value::Null) => None,
            Some(v) => json_bool(v).or_else(|| {
                p.push("active must be true or false".into());
                None
            }),
        };
        let external_id = external_id(string(doc.get("externalId"), "externalId", p), p);
        match email {
            Some(email) if problems.is_empty() => {
                let mut profile = patch.to_profile();
                profile.derive_display_name();
                Ok(ScimUserInput {
                    email,
                    profile,
                    active,
                    external_id,
                })
            }
            _ => Err(ScimError::bad_request(
                ScimType::InvalidValue,
                problems.join("; "),
            )),
        }
    }

    /// The end state `active` asks for, if it says.
    pub fn end_state(&self) -> Option<EndState> {
        self.active.map(|a| {
            if a {
                EndState::Active
            } else {
                EndState::Inactive
            }
        })
    }

    /// A new user (POST): active unless `active` is false; `roles` and
    /// `source` are the wiring's choice (`Source` has no SCIM variant
    /// yet). Times 0 and version 1, as `manual_user`: the store sets them.
    pub fn new_user(&self, roles: Roles, source: Source) -> User {
        User {
            email: self.email.clone(),
            profile: self.profile.clone(),
            roles,
            end_state: self.end_state().unwrap_or(EndState::Active),
            source,
            created_at: 0,
            updated_at: 0,
            version: 1,
            held: Default::default(),
        }
    }

    /// `current` as PUT (or PATCH) leaves it: the whole profile replaced,
    /// the end state as `active` says (kept when absent). The userName may
    /// change its letter case, not its key: a user's key is its identity
    /// in Roster (and its SCIM id), so a new address is `mutability`. The
    /// version is unchanged: the store increments it. A person's
    /// deactivation (`held`) is the wiring's to weigh, as an import does.
    pub fn replace(&self, current: &User) -> Result<User, ScimError> {
        if self.email.key() != current.key() {
            return Err(ScimError::bad_request(
                ScimType::Mutability,
                format!(
                    "userName cannot change from {} to {}: Roster identifies a user by this address",
                    current.email, self.email
                ),
            ));
        }
        let mut after = current.clone();
        after.email = self.email.clone();
        after.profile = self.profile.clone();
        if let Some(state) = self.end_state() {
            after.end_state = state;
        }
        Ok(after)
    }
}

fn sub<'d>(v: Option<&'d Value>, key: &str) -> Option<&'d Value> {
    v.and_then(|o| o.get(key))
}

/// A string value, "" when absent or null; another type is a problem.
fn string<'d>(value: Option<&'d Value>, label: &str, problems: &mut Vec<String>) -> &'d str {
    match value {
        None | Some(Value::Null) => "",
        Some(Value::String(s)) => s,
        Some(_) => {
            problems.push(format!("{label} must be a string"));
            ""
        }
    }
}

/// The values of a multi-valued attribute, each checked for its shape:
/// `value` and `type` strings, `primary` a boolean.
fn elements<'d>(
    value: Option<&'d Value>,
    label: &str,
    problems: &mut Vec<String>,
) -> Vec<&'d Value> {
    let items = match value {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(items)) => items,
        Some(_) => {
            problems.push(format!("{label} must be an array"));
            return Vec::new();
        }
    };
    for (i, item) in items.iter().enumerate() {
        for key in ["value", "type"] {
            string(item.get(key), &format!("{label}[{i}].{key}"), problems);
        }
        if item
            .get("primary")
            .is_some_and(|v| !v.is_null() && json_bool(v).is_none())
        {
            problems.push(format!("{label}[{i}].primary must be true or false"));
        }
    }
    items.iter().collect()
}

/// The value of the given type: the primary one, else the first.
fn pick<'d>(items: &[&'d Value], ty: &str) -> Option<&'d Value> {
    let of_type: Vec<&Value> = items
        .iter()
        .copied()
        .filter(|v| {
            v.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(ty))
        })
        .collect();
    let primary = of_type
        .iter()
        .find(|v| v.get("primary").and_then(json_bool) == Some(true));
    primary.or(of_type.first()).and_then(|v| v.get("value"))
}

/// Whether `raw` is an externalId Roster would store (a filter for any
/// other matches nobody, and needs no lookup).
pub fn could_be_external_id(raw: &str) -> bool {
    !raw.trim().is_empty()
        && raw.chars().count() <= MAX_EXTERNAL_ID_CHARS
        && !raw.chars().any(char::is_control)
        && crate::chars::first_hidden(raw).is_none()
}

/// `externalId` is the client's identifier: kept exactly as sent, but
/// under the rule every stored text follows (no control or invisible
/// characters) and a length limit.
fn external_id(raw: &str, problems: &mut Vec<String>) -> Option<String> {
    if raw.trim().is_empty() {
        return None;
    }
    if raw.chars().count() > MAX_EXTERNAL_ID_CHARS {
        problems.push(format!(
            "externalId is longer than {MAX_EXTERNAL_ID_CHARS} characters"
        ));
    } else if raw.chars().any(char::is_control) {
        problems.push("externalId contains a control character".into());
    } else if let Some(h) = crate::chars::first_hidden(raw) {
        problems.push(format!("externalId contains {}", h.describe()));
    }
    Some(raw.to_string())
}

#[cfg(test)]
pub(crate) mod tests;
