//! The user as a SCIM document: a JSON object with the attributes Roster
//! reads, spelled as the schema spells them, the enterprise extension's
//! under its URN. A PUT body is read into one (unknown names refused,
//! ignored ones dropped), a PATCH is applied to one made from the stored
//! user; either way `user::ScimUserInput` validates the document, so a
//! PATCH passes exactly the checks a PUT does.

use super::ENTERPRISE_USER_URN;
use super::error::{ScimError, ScimType};
use super::filter::json_bool;
use super::filter::{AttrPath, CompValue, CompareOp, Element, Filter, PatchPath, matches_element};
use super::schema::{self, Attr, Resolved, Schema, Type};
use crate::user::{EndState, User};
use serde_json::{Map, Value};

pub(crate) type Doc = Map<String, Value>;

/// Most values of one multi-valued attribute (a PATCH `add` appends).
pub const MAX_VALUES: usize = 100;

/// The document of a stored user (no `id`, `meta` or `schemas`: those
/// are not the client's to write).
pub(crate) fn of_user(user: &User, external_id: Option<&str>) -> Doc {
    let p = &user.profile;
    let mut doc = Doc::new();
    fn put(obj: &mut Doc, key: &str, text: &str) {
        if !text.is_empty() {
            obj.insert(key.into(), text.into());
        }
    }
    put(&mut doc, "externalId", external_id.unwrap_or(""));
    put(&mut doc, "userName", user.email.as_str());
    let mut name = Doc::new();
    put(&mut name, "givenName", p.first_name());
    put(&mut name, "familyName", p.last_name());
    if !name.is_empty() {
        doc.insert("name".into(), name.into());
    }
    put(&mut doc, "displayName", p.display_name());
    put(&mut doc, "title", p.title());
    doc.insert("active".into(), (user.end_state == EndState::Active).into());
    let email = serde_json::json!({"value": user.email.as_str(), "type": "work", "primary": true});
    doc.insert("emails".into(), Value::Array(vec![email]));
    let phones: Vec<Value> = [(p.phone(), "work"), (p.mobile(), "mobile")]
        .into_iter()
        .filter(|(v, _)| !v.is_empty())
        .map(|(v, ty)| serde_json::json!({"value": v, "type": ty}))
        .collect();
    if !phones.is_empty() {
        doc.insert("phoneNumbers".into(), phones.into());
    }
    let mut ext = Doc::new();
    put(&mut ext, "employeeNumber", p.employee_number());
    put(&mut ext, "department", p.department());
    put(&mut ext, "organization", p.organization());
    if !ext.is_empty() {
        doc.insert(ENTERPRISE_USER_URN.into(), ext.into());
    }
    doc
}

/// The value of `key` in any letter case (member names of SCIM
/// messages are case-insensitive, RFC 7643 §2.1).
pub(crate) fn get<'a>(obj: &'a Doc, key: &str) -> Option<&'a Value> {
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Whether a message's `schemas` lists `urn`.
pub(crate) fn lists_schema(obj: &Doc, urn: &str) -> bool {
    get(obj, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|s| s.as_str().is_some_and(|s| s.eq_ignore_ascii_case(urn)))
        })
}

/// The object an attribute of `schema` lives in (the extension's made
/// when missing).
pub(crate) fn container(doc: &mut Doc, schema: Schema) -> &mut Doc {
    if schema == Schema::Core {
        return doc;
    }
    let ext = doc
        .entry(ENTERPRISE_USER_URN)
        .or_insert_with(|| Value::Object(Doc::new()));
    if !ext.is_object() {
        *ext = Value::Object(Doc::new());
    }
    ext.as_object_mut().expect("made an object above")
}

/// The keys of a body (or of a PATCH value without a path) as paths:
/// `title`, `name.givenName`, `urn:…:User:department`, and the keys of
/// the extension's object qualified with its URN. `Err` says which key
/// is not a path.
pub(crate) fn flatten(obj: &Doc) -> Result<Vec<(AttrPath, &Value)>, String> {
    let mut out = Vec::with_capacity(obj.len());
    for (key, value) in obj {
        let path = match key_path(key) {
            Ok(path) => path,
            // Another schema's URN that is no attribute path of ours
            // (`urn:acme:scim:1.0`): an extension Roster does not support.
            Err(_) if is_other_urn(key) => continue,
            Err(why) => return Err(why),
        };
        if matches!(schema::resolve(&path), Ok(Resolved::Extension)) {
            match value {
                Value::Null => {}
                Value::Object(inner) => {
                    for (k, v) in inner {
                        let mut p = key_path(k)?;
                        if p.urn.is_some() {
                            return Err(format!(
                                "'{k}' in the extension's object has a schema prefix"
                            ));
                        }
                        p.urn = Some(ENTERPRISE_USER_URN.into());
                        out.push((p, v));
                    }
                }
                _ => return Err(format!("'{key}' must be an object of its attributes")),
            }
        } else {
            out.push((path, value));
        }
    }
    Ok(out)
}

fn is_other_urn(key: &str) -> bool {
    let starts = |prefix: &str| {
        key.get(..prefix.len())
            .is_some_and(|k| k.eq_ignore_ascii_case(prefix))
    };
    starts("urn:") && !starts("urn:ietf:params:scim:schemas:core:") && !starts(ENTERPRISE_USER_URN)
}

fn key_path(key: &str) -> Result<AttrPath, String> {
    match PatchPath::parse(key) {
        Ok(PatchPath {
            attr, filter: None, ..
        }) => Ok(attr),
        _ => Err(format!(
            "'{}' is not an attribute name",
            crate::chars::shown(key, 80)
        )),
    }
}

/// A resolved attribute that Roster keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target {
    pub schema: Schema,
    pub attr: &'static Attr,
    pub sub: Option<&'static Attr>,
}

fn value_error(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, detail)
}

/// A complex value in the document's spelling: sub-attribute names as
/// the schema writes them (ignored ones dropped, unknown ones refused).
/// Simple values are kept as they are: validation reads them.
fn normalize_object(attr: &'static Attr, value: &Value) -> Result<Doc, ScimError> {
    let Value::Object(obj) = value else {
        return Err(value_error(format!(
            "{} takes an object of sub-attributes",
            attr.name
        )));
    };
    let mut out = Doc::new();
    for (k, v) in obj {
        match attr.subs.iter().find(|s| s.name.eq_ignore_ascii_case(k)) {
            Some(sub) => {
                if out.insert(sub.name.into(), v.clone()).is_some() {
                    return Err(syntax(format!("{}.{} is given twice", attr.name, sub.name)));
                }
            }
            None if schema::ignored_sub(attr, k) => {}
            None => {
                let k = crate::chars::shown(k, 80);
                return Err(syntax(format!(
                    "'{}.{k}' is not an attribute of a User",
                    attr.name
                )));
            }
        }
    }
    Ok(out)
}

/// A multi-valued attribute's values: an array of complex values (one
/// object alone, as some clients send, is a one-value array; `null` is
/// none).
fn normalize_list(attr: &'static Attr, value: &Value) -> Result<Vec<Value>, ScimError> {
    let items = match value {
        Value::Null => &[][..],
        Value::Array(items) => items.as_slice(),
        one => std::slice::from_ref(one),
    };
    if items.len() > MAX_VALUES {
        return Err(value_error(format!(
            "{} has more than {MAX_VALUES} values",
            attr.name
        )));
    }
    items
        .iter()
        .map(|v| normalize_object(attr, v).map(Value::Object))
        .collect()
}

fn syntax(detail: String) -> ScimError {
    ScimError::bad_request(ScimType::InvalidSyntax, detail)
}

/// `add` or `replace` (RFC 7644 §3.5.2.1, §3.5.2.3) of `value` at
/// `target`, the values of a multi-valued attribute selected by `filter`.
pub(crate) fn set(
    doc: &mut Doc,
    t: Target,
    filter: Option<&Filter>,
    value: &Value,
    add: bool,
) -> Result<(), ScimError> {
    let obj = container(doc, t.schema);
    let name = t.attr.name;
    if !t.attr.multi {
        match t.sub {
            // A complex value's sub-attributes are merged, "left unchanged"
            // where not given (§3.5.2.3); a simple one is replaced.
            None if t.attr.ty == Type::Complex && !value.is_null() => {
                let new = normalize_object(t.attr, value)?;
                let old = obj.entry(name).or_insert_with(|| Value::Object(Doc::new()));
                match old.as_object_mut() {
                    Some(old) => old.extend(new),
                    None => *old = Value::Object(new),
                }
            }
            None if value.is_null() => {
                obj.remove(name);
            }
            None => {
                obj.insert(name.into(), value.clone());
            }
            Some(sub) => {
                let old = obj.entry(name).or_insert_with(|| Value::Object(Doc::new()));
                if !old.is_object() {
                    *old = Value::Object(Doc::new());
                }
                old[sub.name] = value.clone();
            }
        }
        return Ok(());
    }
    let mut list = match obj.get(name) {
        Some(Value::Array(items)) => items.clone(),
        _ => Vec::new(),
    };
    let chosen = select(t.attr, &list, filter)?;
    let mut touched = Vec::new();
    match (filter, t.sub) {
        (None, None) => {
            let new = normalize_list(t.attr, value)?;
            if !add {
                list.clear();
            }
            for v in new {
                if !list.contains(&v) {
                    touched.push(list.len());
                    list.push(v);
                }
            }
        }
        (_, sub) if chosen.is_empty() => {
            // Nothing matched: `add` makes the value the filter describes
            // (`emails[type eq "work"].value` on a user with no work
            // email); `replace` has no target (§3.5.2.3).
            let seed = filter.map(|f| equalities(t.attr, f)).unwrap_or_default();
            if filter.is_some() && (!add || seed.is_empty()) {
                return Err(no_target(t, filter));
            }
            let mut new = Value::Object(seed);
            merge(t.attr, &mut new, sub, value)?;
            touched.push(list.len());
            list.push(new);
        }
        (_, sub) => {
            for &i in &chosen {
                if filter.is_some() && sub.is_none() && !add {
                    list[i] = Value::Object(Doc::new());
                }
                merge(t.attr, &mut list[i], sub, value)?;
            }
            touched = chosen;
        }
    }
    one_primary(&mut list, &touched);
    if list.len() > MAX_VALUES {
        return Err(value_error(format!(
            "{name} has more than {MAX_VALUES} values"
        )));
    }
    obj.insert(name.into(), Value::Array(list));
    Ok(())
}

/// Writes `value` into one value of a multi-valued attribute: its `sub`,
/// or the sub-attributes of an object.
fn merge(
    attr: &'static Attr,
    element: &mut Value,
    sub: Option<&'static Attr>,
    value: &Value,
) -> Result<(), ScimError> {
    if !element.is_object() {
        *element = Value::Object(Doc::new());
    }
    let obj = element.as_object_mut().expect("an object");
    match sub {
        Some(sub) => {
            obj.insert(sub.name.into(), value.clone());
        }
        None => obj.extend(normalize_object(attr, value)?),
    }
    Ok(())
}

/// `remove` (RFC 7644 §3.5.2.2). Removing what Roster requires is
/// `mutability`; a filter that matches nothing removes nothing.
pub(crate) fn remove(doc: &mut Doc, t: Target, filter: Option<&Filter>) -> Result<(), ScimError> {
    let required = match t.sub {
        Some(sub) => sub.required,
        None => t.attr.required || t.attr.subs.iter().any(|s| s.required),
    };
    if required && filter.is_none() {
        let path = match t.sub {
            Some(s) => format!("{}.{}", t.attr.name, s.name),
            None => t.attr.name.to_string(),
        };
        return Err(ScimError::bad_request(
            ScimType::Mutability,
            format!("{path} is required: it cannot be removed"),
        ));
    }
    let obj = container(doc, t.schema);
    let name = t.attr.name;
    match (t.attr.multi, filter, t.sub) {
        (false, None, Some(sub)) => {
            if let Some(Value::Object(o)) = obj.get_mut(name) {
                o.remove(sub.name);
            }
        }
        (_, None, None) => {
            obj.remove(name);
        }
        (true, filter, sub) => {
            let Some(Value::Array(list)) = obj.get_mut(name) else {
                return Ok(());
            };
            let chosen = select(t.attr, list, filter)?;
            if let Some(sub) = sub {
                for &i in &chosen {
                    if let Some(o) = list[i].as_object_mut() {
                        o.remove(sub.name);
                    }
                }
            } else {
                let kept = std::mem::take(list).into_iter().enumerate();
                *list = kept
                    .filter(|(i, _)| !chosen.contains(i))
                    .map(|(_, v)| v)
                    .collect();
            }
            if list.is_empty() {
                obj.remove(name);
            }
        }
        (false, Some(_), _) => return Err(not_multi(t.attr)),
    }
    Ok(())
}

/// A `[ ]` filter on an attribute with one value.
pub(crate) fn not_multi(attr: &Attr) -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidPath,
        format!(
            "{} has one value: a [ ] filter does not apply to it",
            attr.name
        ),
    )
}

/// The indexes of the values a filter selects (all without one).
fn select(
    attr: &'static Attr,
    list: &[Value],
    filter: Option<&Filter>,
) -> Result<Vec<usize>, ScimError> {
    let mut chosen = Vec::new();
    for (i, v) in list.iter().enumerate() {
        if filter.map_or(Ok(true), |f| {
            matches_element(f, &Element::from_json(attr, v))
        })? {
            chosen.push(i);
        }
    }
    Ok(chosen)
}

fn no_target(t: Target, filter: Option<&Filter>) -> ScimError {
    let which = filter.map_or(String::new(), |f| format!("[{f}]"));
    ScimError::bad_request(
        ScimType::NoTarget,
        format!("no value of {}{which} to change", t.attr.name),
    )
}

/// The sub-attribute values a filter pins down with `eq`
/// (`type eq "work" and primary eq true`), to make the value it selects.
fn equalities(attr: &'static Attr, filter: &Filter) -> Doc {
    let mut out = Doc::new();
    let mut add = |f: &Filter| {
        let Filter::Compare {
            path,
            op: CompareOp::Eq,
            value,
        } = f
        else {
            return;
        };
        let Some(sub) = attr
            .subs
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(&path.name))
        else {
            return;
        };
        match value {
            CompValue::Str(s) => out.insert(sub.name.into(), s.as_str().into()),
            CompValue::Bool(b) => out.insert(sub.name.into(), (*b).into()),
            _ => None,
        };
    };
    match filter {
        Filter::And(items) => items.iter().for_each(&mut add),
        f => add(f),
    }
    out
}

/// One primary value at most (RFC 7644 §3.5.2): a value just made
/// primary wins over the others.
fn one_primary(list: &mut [Value], touched: &[usize]) {
    let is_primary = |v: &Value| v.get("primary").and_then(json_bool) == Some(true);
    let Some(&winner) = touched.iter().rev().find(|&&i| is_primary(&list[i])) else {
        return;
    };
    for (i, v) in list.iter_mut().enumerate() {
        if i != winner && is_primary(v) {
            v["primary"] = Value::Bool(false);
        }
    }
}
