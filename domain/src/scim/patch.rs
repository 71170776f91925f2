//! PATCH (RFC 7644 §3.5.2): the request, and its operations applied in
//! order to the document of the stored user (see `doc`). The result is
//! validated as a PUT body is, so a PATCH cannot store what a PUT would
//! refuse; an error anywhere leaves nothing applied (§3.5.2: atomic).
//!
//! Paths: `title`, `name.givenName`, `urn:…:enterprise:2.0:User:department`,
//! `phoneNumbers[type eq "work"].value`, `emails[type eq "work"]`. Without
//! a path, `value` is an object whose keys are such paths (Entra sends
//! `"name.givenName"` and `"urn:…:User:employeeNumber"` keys) or the
//! extension's URN with an object of its attributes.

use super::ENTERPRISE_USER_URN;
use super::doc::{self, Doc, Target};
use super::error::{ScimError, ScimType};
use super::filter::{PatchPath, check_element_filter};
use super::schema::{self, Resolved};
use super::user::ScimUserInput;
use crate::user::User;
use serde_json::Value;

/// The PatchOp message schema.
pub const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Most operations in one request.
pub const MAX_OPERATIONS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Replace,
    Remove,
}

/// One operation: a path (required for `remove`) and a value (required
/// for `add` and `replace`).
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub op: Op,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// A parsed PATCH body.
#[derive(Clone, Debug, PartialEq)]
pub struct PatchRequest {
    pub operations: Vec<Operation>,
}

fn bad(t: ScimType, detail: impl Into<String>) -> ScimError {
    ScimError::bad_request(t, detail)
}

impl PatchRequest {
    /// Reads a PATCH body: `schemas` must list [`PATCH_OP_URN`], and
    /// `Operations` hold 1 to [`MAX_OPERATIONS`] operations, `op` in any
    /// letter case (Entra writes `Replace`).
    pub fn parse(body: &Value) -> Result<PatchRequest, ScimError> {
        let syntax = |d: String| bad(ScimType::InvalidSyntax, d);
        let Value::Object(body) = body else {
            return Err(syntax(
                "The body must be a JSON object: a PatchOp message".into(),
            ));
        };
        if !doc::lists_schema(body, PATCH_OP_URN) {
            return Err(syntax(format!("schemas must list {PATCH_OP_URN}")));
        }
        let Some(Value::Array(ops)) = doc::get(body, "Operations") else {
            return Err(syntax("Operations must be an array of operations".into()));
        };
        if ops.is_empty() || ops.len() > MAX_OPERATIONS {
            let why = format!(
                "Operations holds 1 to {MAX_OPERATIONS} operations, not {}",
                ops.len()
            );
            return Err(bad(ScimType::InvalidValue, why));
        }
        let operations = ops
            .iter()
            .enumerate()
            .map(|(i, op)| Operation::parse(op).map_err(|e| at(i, e)))
            .collect::<Result<_, _>>()?;
        Ok(PatchRequest { operations })
    }

    /// Applies the operations, in order, to `user` (whose resource has
    /// this `id` and `external_id`) and validates the result as a PUT
    /// body. The wiring then calls [`ScimUserInput::replace`] on it.
    pub fn apply(
        &self,
        user: &User,
        id: &str,
        external_id: Option<&str>,
    ) -> Result<ScimUserInput, ScimError> {
        let mut doc = doc::of_user(user, external_id);
        for (i, op) in self.operations.iter().enumerate() {
            op.apply(&mut doc, id).map_err(|e| at(i, e))?;
        }
        ScimUserInput::from_doc(&doc)
    }
}

/// Says which operation an error is about.
fn at(i: usize, mut e: ScimError) -> ScimError {
    e.detail = format!("Operations[{i}]: {}", e.detail);
    e
}

impl Operation {
    fn parse(value: &Value) -> Result<Operation, ScimError> {
        let Value::Object(obj) = value else {
            return Err(bad(ScimType::InvalidSyntax, "an operation is an object"));
        };
        let op = match doc::get(obj, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            _ => {
                return Err(bad(
                    ScimType::InvalidSyntax,
                    "op must be add, remove or replace",
                ));
            }
        };
        let path = match doc::get(obj, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(PatchPath::parse(p)?),
            Some(_) => return Err(bad(ScimType::InvalidPath, "path must be a string")),
        };
        let value = doc::get(obj, "value").cloned();
        match (op, &path, &value) {
            (Op::Remove, None, _) => Err(bad(ScimType::NoTarget, "remove needs a path")),
            (Op::Add | Op::Replace, _, None) => {
                Err(bad(ScimType::InvalidValue, "add and replace need a value"))
            }
            _ => Ok(Operation { op, path, value }),
        }
    }

    fn apply(&self, doc: &mut Doc, id: &str) -> Result<(), ScimError> {
        let value = self.value.as_ref().unwrap_or(&Value::Null);
        if let Some(path) = &self.path {
            return at_path(doc, self.op, path, value, id);
        }
        let Value::Object(obj) = value else {
            return Err(bad(
                ScimType::InvalidValue,
                "without a path, value is an object of attributes",
            ));
        };
        each(doc, self.op, obj, id)
    }
}

/// An object's keys as the paths of one operation each (see
/// `doc::flatten`).
fn each(doc: &mut Doc, op: Op, obj: &Doc, id: &str) -> Result<(), ScimError> {
    for (attr, v) in doc::flatten(obj).map_err(|why| bad(ScimType::InvalidPath, why))? {
        let path = PatchPath {
            attr,
            filter: None,
            sub: None,
        };
        at_path(doc, op, &path, v, id)?;
    }
    Ok(())
}

/// One operation at one path.
fn at_path(
    doc: &mut Doc,
    op: Op,
    path: &PatchPath,
    value: &Value,
    id: &str,
) -> Result<(), ScimError> {
    // `schemas` follows from the attributes: nothing to write (also
    // when a client repeats it inside the extension's object).
    if path.attr.sub.is_none() && path.attr.name.eq_ignore_ascii_case("schemas") {
        return Ok(());
    }
    let resolved = schema::resolve(&path.attr).map_err(|why| bad(ScimType::NoTarget, why))?;
    let (schema, attr, sub) = match resolved {
        Resolved::Attr { schema, attr, sub } => (schema, attr, sub),
        Resolved::Extension if path.filter.is_none() && path.sub.is_none() => {
            return extension(doc, op, value, id);
        }
        Resolved::Extension => {
            return Err(bad(
                ScimType::InvalidPath,
                format!("{path}: the extension has one value"),
            ));
        }
        // Not kept by Roster: nothing to change (as a PUT ignores them).
        Resolved::Ignored | Resolved::OtherSchema => return Ok(()),
    };
    if attr.read_only {
        // Echoing the resource's own id changes nothing.
        if attr.name == "id" && op != Op::Remove && value.as_str() == Some(id) {
            return Ok(());
        }
        return Err(bad(
            ScimType::Mutability,
            format!("{} is readOnly", path.attr),
        ));
    }
    let (sub, filter) = match &path.filter {
        None => (sub, None),
        Some(_) if !attr.multi => return Err(doc::not_multi(attr)),
        Some(filter) => {
            check_element_filter(filter, attr)?;
            let sub = match &path.sub {
                None => None,
                Some(s) => match attr.subs.iter().find(|a| a.name.eq_ignore_ascii_case(s)) {
                    Some(a) => Some(a),
                    None if schema::ignored_sub(attr, s) => return Ok(()),
                    None => {
                        return Err(bad(
                            ScimType::NoTarget,
                            format!("'{s}' is not a sub-attribute of {}", attr.name),
                        ));
                    }
                },
            };
            (sub, Some(filter))
        }
    };
    let target = Target { schema, attr, sub };
    match op {
        Op::Remove => doc::remove(doc, target, filter),
        Op::Add => doc::set(doc, target, filter, value, true),
        Op::Replace => doc::set(doc, target, filter, value, false),
    }
}

/// The extension's URN as the path: its attributes one by one.
fn extension(doc: &mut Doc, op: Op, value: &Value, id: &str) -> Result<(), ScimError> {
    if op == Op::Remove {
        doc.remove(ENTERPRISE_USER_URN);
        return Ok(());
    }
    if !value.is_object() {
        return Err(bad(
            ScimType::InvalidValue,
            "the extension's value is an object of its attributes",
        ));
    }
    let wrapped = Doc::from_iter([(ENTERPRISE_USER_URN.to_string(), value.clone())]);
    each(doc, op, &wrapped, id)
}

#[cfg(test)]
mod tests;
