//! Roster's four roles as SCIM Groups (RFC 7643 §4.2): a provider grants
//! and takes away a role by adding a user to or removing it from the
//! group of that name. The groups are fixed: they cannot be created,
//! renamed or deleted, and a PATCH of `members` (add, remove) is the one
//! write. Each membership change is a role change of the user, under the
//! privilege rule (only an administrator's token changes roles) and with
//! what a role change brings (see `provision::set_members`).

use super::error::{ScimError, ScimType};
use super::patch::{Op, PatchRequest};
use super::schema::trim_base;
use crate::{Role, User, UserKey};
use serde_json::{Value, json};
use std::collections::HashMap;

/// The core Group schema.
pub const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Most members one PATCH may add or remove (each is a role change in
/// the same write transaction).
pub const MAX_MEMBERS: usize = 1000;

/// The group of `id` (the role's key, as in options and exports:
/// `self-service`, `operator`, `approval`, `admin`).
pub fn role_of(id: &str) -> Option<Role> {
    Role::ALL.into_iter().find(|r| r.key() == id)
}

/// The group resource of `role`; its members when the caller read them
/// (`None` when the client left `members` out).
pub fn group_resource(role: Role, members: Option<&[User]>, base: &str) -> Value {
    let base = trim_base(base);
    let mut group = json!({
        "schemas": [GROUP_URN],
        "id": role.key(),
        "displayName": role.label(),
        "meta": {
            "resourceType": "Group",
            "location": format!("{base}/Groups/{}", role.key()),
        },
    });
    if let Some(members) = members {
        group["members"] = members
            .iter()
            .map(|u| {
                let key = u.key().as_str();
                json!({
                    "value": key,
                    "$ref": format!("{base}/Users/{key}"),
                    "display": u.name(),
                    "type": "User",
                })
            })
            .collect();
    }
    group
}

/// Whether a list's `attributes` / `excludedAttributes` ask for members.
pub fn wants_members(attributes: Option<&str>, excluded: Option<&str>) -> bool {
    let names = |list: Option<&str>| -> Vec<String> {
        list.unwrap_or("")
            .split(',')
            .map(|a| {
                let a = a.trim();
                let a = a
                    .strip_prefix(GROUP_URN)
                    .map_or(a, |rest| rest.trim_start_matches(':'));
                a.to_ascii_lowercase()
            })
            .filter(|a| !a.is_empty())
            .collect()
    };
    let mentions = |list: &[String]| {
        list.iter()
            .any(|a| a == "members" || a.starts_with("members."))
    };
    let (asked, left_out) = (names(attributes), names(excluded));
    !mentions(&left_out) && (asked.is_empty() || mentions(&asked))
}

/// The groups a list's `filter` selects: none given, every role; else
/// `displayName eq "…"` or `id eq "…"` (what Entra and Okta send before
/// they link a group). Anything else is refused: there are four groups.
pub fn select(filter: Option<&str>) -> Result<Vec<Role>, ScimError> {
    let Some(text) = filter else {
        return Ok(Role::ALL.to_vec());
    };
    let parsed = super::Filter::parse(text)?;
    let refused = || {
        ScimError::bad_request(
            ScimType::InvalidFilter,
            "Groups can be filtered by displayName eq \"…\" or id eq \"…\" only",
        )
    };
    match parsed {
        super::Filter::Compare {
            path,
            op: super::CompareOp::Eq,
            value: super::CompValue::Str(wanted),
        } if path.sub.is_none() => {
            let name = path.name.to_ascii_lowercase();
            let urn_ok = path
                .urn
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(GROUP_URN));
            if !urn_ok {
                return Err(refused());
            }
            let pick = |f: fn(Role) -> &'static str, case_exact: bool| -> Vec<Role> {
                Role::ALL
                    .into_iter()
                    .filter(|r| {
                        if case_exact {
                            f(*r) == wanted
                        } else {
                            f(*r).eq_ignore_ascii_case(&wanted)
                        }
                    })
                    .collect()
            };
            match name.as_str() {
                "displayname" => Ok(pick(Role::label, false)),
                "id" => Ok(pick(Role::key, true)),
                _ => Err(refused()),
            }
        }
        _ => Err(refused()),
    }
}

/// What a PATCH of a group asks, in the order given: each user id made a
/// member (`true`) or not (`false`); the last word on an id wins.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Membership {
    pub changes: Vec<(String, bool)>,
}

impl Membership {
    /// Reads a PATCH of `role`'s group: `add` of `members` (with a path, or
    /// without one and `{"members": […]}`), `remove` of `members` with a
    /// list of values (Entra) or of `members[value eq "…"]` (Okta).
    /// `replace` of the whole member list is refused (it would rewrite
    /// every holder of the role); a `displayName` equal to the group's
    /// (Okta repeats it) is accepted and changes nothing.
    pub fn from_patch(request: &PatchRequest, role: Role) -> Result<Membership, ScimError> {
        let mut changes = Vec::new();
        for (i, op) in request.operations.iter().enumerate() {
            let at = |e: ScimError| ScimError {
                detail: format!("Operations[{i}]: {}", e.detail),
                ..e
            };
            let value = op.value.as_ref().unwrap_or(&Value::Null);
            match &op.path {
                Some(path)
                    if is_members(&path.attr) && path.attr.sub.is_none() && path.sub.is_none() =>
                {
                    match (op.op, &path.filter) {
                        (Op::Add, None) => {
                            add_ids(&mut changes, value, true).map_err(at)?;
                        }
                        (Op::Remove, None) if value.is_null() => {
                            return Err(at(replace_refused()));
                        }
                        (Op::Remove, None) => add_ids(&mut changes, value, false).map_err(at)?,
                        (Op::Remove, Some(filter)) => {
                            let id = member_value_eq(filter).ok_or_else(|| {
                                at(ScimError::bad_request(
                                    ScimType::InvalidFilter,
                                    "a member is named by members[value eq \"…\"]",
                                ))
                            })?;
                            changes.push((id.to_string(), false));
                        }
                        (Op::Replace, _) | (Op::Add, Some(_)) => return Err(at(replace_refused())),
                    }
                }
                Some(path) if is_display_name(&path.attr) => {
                    same_name(op.op, value, role).map_err(at)?;
                }
                Some(path) => {
                    return Err(at(ScimError::bad_request(
                        ScimType::InvalidPath,
                        format!(
                            "{path} is not what a group's PATCH may change (members are \
                             added or removed whole)"
                        ),
                    )));
                }
                None => {
                    let Value::Object(obj) = value else {
                        return Err(at(ScimError::bad_request(
                            ScimType::InvalidValue,
                            "without a path, value is an object of attributes",
                        )));
                    };
                    for (name, v) in obj {
                        match name.to_ascii_lowercase().as_str() {
                            "members" if op.op == Op::Add => {
                                add_ids(&mut changes, v, true).map_err(at)?
                            }
                            "members" => return Err(at(replace_refused())),
                            "displayname" => same_name(op.op, v, role).map_err(at)?,
                            // Okta repeats the id and the schemas.
                            "id" if v.as_str() == Some(role.key()) => {}
                            "schemas" => {}
                            other => {
                                return Err(at(ScimError::bad_request(
                                    ScimType::InvalidPath,
                                    format!(
                                        "{other} is not an attribute a group's PATCH may change"
                                    ),
                                )));
                            }
                        }
                    }
                }
            }
        }
        if changes.len() > MAX_MEMBERS {
            return Err(ScimError::bad_request(
                ScimType::InvalidValue,
                format!(
                    "A PATCH changes at most {MAX_MEMBERS} members; this one names {}",
                    changes.len()
                ),
            ));
        }
        Ok(Membership { changes })
    }

    /// Each user once, by key (ids in any letter case name the same
    /// user), with its last word, in the order first named. An id that is
    /// not an address names no user: 400, as for an unknown one.
    pub fn decided(&self) -> Result<Vec<(UserKey, bool)>, ScimError> {
        let mut out: Vec<(UserKey, bool)> = Vec::with_capacity(self.changes.len());
        let mut at: HashMap<UserKey, usize> = HashMap::with_capacity(self.changes.len());
        for (id, member) in &self.changes {
            let key = crate::Email::parse(id)
                .map_err(|_| no_user(id))?
                .key()
                .clone();
            match at.get(&key) {
                Some(&i) => out[i].1 = *member,
                None => {
                    at.insert(key.clone(), out.len());
                    out.push((key, *member));
                }
            }
        }
        Ok(out)
    }
}

/// The refusal for an id that names no user.
pub fn no_user(id: &str) -> ScimError {
    ScimError::bad_request(ScimType::InvalidValue, format!("No user has the id {id}."))
}

fn is_members(attr: &super::AttrPath) -> bool {
    attr.name.eq_ignore_ascii_case("members")
        && attr
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(GROUP_URN))
}

fn is_display_name(attr: &super::AttrPath) -> bool {
    attr.sub.is_none()
        && attr.name.eq_ignore_ascii_case("displayName")
        && attr
            .urn
            .as_deref()
            .is_none_or(|u| u.eq_ignore_ascii_case(GROUP_URN))
}

fn replace_refused() -> ScimError {
    ScimError::bad_request(
        ScimType::InvalidValue,
        "A group's member list is not replaced whole (that would rewrite every holder of \
         the role): add and remove members one by one",
    )
}

/// A `displayName` a PATCH names: only the group's own is accepted.
fn same_name(op: Op, value: &Value, role: Role) -> Result<(), ScimError> {
    match (op, value.as_str()) {
        (Op::Add | Op::Replace, Some(name)) if name.eq_ignore_ascii_case(role.label()) => Ok(()),
        _ => Err(ScimError::bad_request(
            ScimType::Mutability,
            "Roster's groups are its roles: they cannot be renamed",
        )),
    }
}

/// The ids of `[{"value": "…"}, …]` (or one such object).
fn add_ids(
    changes: &mut Vec<(String, bool)>,
    value: &Value,
    member: bool,
) -> Result<(), ScimError> {
    let one = |v: &Value| -> Result<String, ScimError> {
        v.get("value")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| {
                ScimError::bad_request(
                    ScimType::InvalidValue,
                    "a member is an object with a string value (the user's id)",
                )
            })
    };
    match value {
        Value::Array(items) => {
            for item in items {
                changes.push((one(item)?, member));
            }
            Ok(())
        }
        Value::Object(_) => {
            changes.push((one(value)?, member));
            Ok(())
        }
        _ => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "members is a list of {\"value\": id} objects",
        )),
    }
}

/// `value eq "…"`: the member a remove's filter names.
fn member_value_eq(filter: &super::Filter) -> Option<&str> {
    match filter {
        super::Filter::Compare {
            path,
            op: super::CompareOp::Eq,
            value: super::CompValue::Str(id),
        } if path.urn.is_none()
            && path.sub.is_none()
            && path.name.eq_ignore_ascii_case("value") =>
        {
            Some(id)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patch(ops: Value) -> PatchRequest {
        PatchRequest::parse(&json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": ops,
        }))
        .unwrap()
    }

    #[test]
    fn every_role_is_a_group_named_by_its_key() {
        for role in Role::ALL {
            assert_eq!(role_of(role.key()), Some(role));
            let g = group_resource(role, Some(&[]), "https://r.example/scim/v2/");
            assert_eq!(g["displayName"], role.label());
            assert_eq!(
                g["meta"]["location"],
                format!("https://r.example/scim/v2/Groups/{}", role.key())
            );
            assert_eq!(g["members"], json!([]));
        }
        assert_eq!(role_of("Admin"), None);
        assert_eq!(role_of("nobody"), None);
        let ada = crate::scim::ada();
        let g = group_resource(
            Role::Operator,
            Some(std::slice::from_ref(&ada)),
            "https://r",
        );
        assert_eq!(g["members"][0]["value"], "ada@example.org");
        assert_eq!(g["members"][0]["$ref"], "https://r/Users/ada@example.org");
        assert!(
            group_resource(Role::Admin, None, "https://r")
                .get("members")
                .is_none()
        );
    }

    #[test]
    fn entra_and_okta_find_a_group_by_its_name() {
        assert_eq!(
            select(Some("displayName eq \"operator\"")).unwrap(),
            vec![Role::Operator]
        );
        assert_eq!(select(Some("id eq \"admin\"")).unwrap(), vec![Role::Admin]);
        assert!(
            select(Some("displayName eq \"Finance\""))
                .unwrap()
                .is_empty()
        );
        assert_eq!(select(None).unwrap().len(), 4);
        for refused in ["displayName co \"op\"", "members pr", "title eq \"x\""] {
            let e = select(Some(refused)).unwrap_err();
            assert_eq!(e.scim_type, Some(ScimType::InvalidFilter), "{refused}");
        }
        assert!(wants_members(None, None));
        assert!(!wants_members(None, Some("members")));
        assert!(!wants_members(Some("displayName"), None));
        assert!(wants_members(Some("displayName,members.value"), None));
    }

    #[test]
    fn members_are_added_and_removed_as_entra_and_okta_send_them() {
        let m = Membership::from_patch(
            &patch(json!([
                {"op": "Add", "path": "members", "value": [{"value": "a@x.org"}, {"value": "b@x.org"}]},
                {"op": "Remove", "path": "members", "value": [{"value": "a@x.org"}]},
                {"op": "remove", "path": "members[value eq \"c@x.org\"]"},
                {"op": "add", "value": {"members": [{"value": "d@x.org"}]}},
                {"op": "replace", "value": {"id": "operator", "displayName": "Operator"}},
            ])),
            Role::Operator,
        )
        .unwrap();
        let key = |a: &str| crate::Email::parse(a).unwrap().key().clone();
        assert_eq!(
            m.decided().unwrap(),
            vec![
                (key("a@x.org"), false),
                (key("b@x.org"), true),
                (key("c@x.org"), false),
                (key("d@x.org"), true),
            ]
        );
        // One user in any letter case: the last word wins.
        let m = Membership::from_patch(
            &patch(json!([
                {"op": "remove", "path": "members", "value": [{"value": "a@x.org"}]},
                {"op": "add", "path": "members", "value": [{"value": "A@X.org"}]},
                {"op": "remove", "path": "members", "value": [{"value": "a@x.org"}]},
            ])),
            Role::Operator,
        )
        .unwrap();
        assert_eq!(m.decided().unwrap(), vec![(key("a@x.org"), false)]);
        let bad = Membership::from_patch(
            &patch(json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}])),
            Role::Operator,
        )
        .unwrap();
        assert_eq!(
            bad.decided().unwrap_err().scim_type,
            Some(ScimType::InvalidValue)
        );
        // Bounded: one request changes at most MAX_MEMBERS members.
        let many: Vec<Value> = (0..=MAX_MEMBERS)
            .map(|i| json!({"value": format!("u{i}@x.org")}))
            .collect();
        let e = Membership::from_patch(
            &patch(json!([{"op": "add", "path": "members", "value": many}])),
            Role::Operator,
        )
        .unwrap_err();
        assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    }

    #[test]
    fn what_a_group_patch_may_not_do_is_refused_with_its_type() {
        let cases = [
            (
                json!([{"op": "replace", "path": "members", "value": []}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "remove", "path": "members"}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "replace", "path": "displayName", "value": "Finance"}]),
                ScimType::Mutability,
            ),
            (
                json!([{"op": "add", "path": "members", "value": "a@x.org"}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "add", "path": "members", "value": [{"display": "A"}]}]),
                ScimType::InvalidValue,
            ),
            (
                json!([{"op": "remove", "path": "members[display eq \"A\"]"}]),
                ScimType::InvalidFilter,
            ),
            (
                json!([{"op": "remove", "path": "members[value eq \"a@x.org\"].display"}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "add", "path": "title", "value": "x"}]),
                ScimType::InvalidPath,
            ),
            (
                json!([{"op": "add", "value": {"owner": "x"}}]),
                ScimType::InvalidPath,
            ),
        ];
        for (ops, expected) in cases {
            let e = Membership::from_patch(&patch(ops.clone()), Role::Approval).unwrap_err();
            assert_eq!(e.scim_type, Some(expected), "{ops}: {}", e.detail);
            assert!(e.detail.starts_with("Operations[0]"), "{}", e.detail);
        }
    }
}
