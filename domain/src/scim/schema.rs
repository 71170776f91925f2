//! The User schema as Roster implements it: one table of attributes that
//! the input mapping, PATCH, the filter evaluator and the `/Schemas`
//! document all read, so what Roster says it supports and what it does
//! cannot drift apart. Also the discovery documents (RFC 7644 §4).

use super::filter::AttrPath;
use super::group::GROUP_URN;
use super::list::MAX_COUNT;
use super::{CORE_USER_URN, ENTERPRISE_USER_URN};
use serde_json::{Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Schema {
    Core,
    Enterprise,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Type {
    String,
    Boolean,
    DateTime,
    Complex,
}

/// One attribute (RFC 7643 §7).
#[derive(Debug)]
pub(crate) struct Attr {
    pub name: &'static str,
    pub ty: Type,
    pub multi: bool,
    /// Required by Roster (userName; first and last name, as in a CSV).
    pub required: bool,
    pub case_exact: bool,
    pub read_only: bool,
    pub unique: bool,
    pub description: &'static str,
    pub subs: &'static [Attr],
}

const fn text(name: &'static str, description: &'static str) -> Attr {
    Attr {
        name,
        ty: Type::String,
        multi: false,
        required: false,
        case_exact: false,
        read_only: false,
        unique: false,
        description,
        subs: &[],
    }
}

const fn complex(name: &'static str, description: &'static str, subs: &'static [Attr]) -> Attr {
    Attr {
        ty: Type::Complex,
        subs,
        ..text(name, description)
    }
}

const fn multi(name: &'static str, description: &'static str) -> Attr {
    Attr {
        multi: true,
        ..complex(name, description, VALUE_SUBS)
    }
}

const fn boolean(name: &'static str, description: &'static str) -> Attr {
    Attr {
        ty: Type::Boolean,
        ..text(name, description)
    }
}

const fn read_only(attr: Attr) -> Attr {
    Attr {
        read_only: true,
        case_exact: true,
        ..attr
    }
}

const fn date(name: &'static str, description: &'static str) -> Attr {
    read_only(Attr {
        ty: Type::DateTime,
        ..text(name, description)
    })
}

/// The sub-attributes of `emails` and `phoneNumbers` that Roster reads.
const VALUE_SUBS: &[Attr] = &[
    text("value", "The address or number."),
    text("type", "\"work\"; for phone numbers also \"mobile\"."),
    boolean("primary", "Whether this is the primary value."),
];

/// Common attributes (RFC 7643 §3.1): in every resource, in no schema's
/// list of attributes.
pub(crate) const COMMON: &[Attr] = &[
    read_only(text("id", "The user's identifier in Roster.")),
    Attr {
        case_exact: true,
        ..text("externalId", "The client's identifier of the user.")
    },
    read_only(complex(
        "meta",
        "Resource metadata.",
        &[
            read_only(text("resourceType", "\"User\".")),
            date("created", "When the user was created."),
            date("lastModified", "When the user last changed."),
            read_only(text("location", "The resource's URI.")),
            read_only(text("version", "The resource's ETag.")),
        ],
    )),
];

pub(crate) const CORE: &[Attr] = &[
    Attr {
        required: true,
        unique: true,
        ..text(
            "userName",
            "The user's email address: Roster's key for the user.",
        )
    },
    // Required: Roster needs a first and a last name for every user.
    Attr {
        required: true,
        ..complex(
            "name",
            "The user's name.",
            &[
                Attr {
                    required: true,
                    ..text("givenName", "First name.")
                },
                Attr {
                    required: true,
                    ..text("familyName", "Last name.")
                },
            ],
        )
    },
    text(
        "displayName",
        "The name shown; \"First Last\" when not given.",
    ),
    text("title", "Job title."),
    boolean("active", "Whether the user may sign in."),
    multi("emails", "The user's email address, the userName."),
    multi(
        "phoneNumbers",
        "Type \"work\": phone; type \"mobile\": mobile.",
    ),
];

pub(crate) const ENTERPRISE: &[Attr] = &[
    text("employeeNumber", "Employee number."),
    text("department", "Department."),
    text("organization", "Organization."),
];

/// The Group schema: a role's name (fixed) and its members (a PATCH adds
/// and removes them).
const GROUP: &[Attr] = &[
    read_only(Attr {
        required: true,
        unique: true,
        ..text("displayName", "The role's name")
    }),
    Attr {
        multi: true,
        ..complex(
            "members",
            "The users who hold the role",
            &[
                Attr {
                    unique: false,
                    ..text("value", "The user's id")
                },
                read_only(text("$ref", "The user's URI")),
                read_only(text("display", "The user's name")),
                read_only(text("type", "User")),
            ],
        )
    },
];

/// In the schemas, but Roster keeps no value of them: accepted and
/// ignored on input, absent in filters.
const IGNORED_CORE: &[&str] = &[
    "nickName",
    "profileUrl",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "password",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
];
const IGNORED_ENTERPRISE: &[&str] = &["costCenter", "division", "manager"];
const IGNORED_SUBS: &[(&str, &str)] = &[
    ("name", "formatted"),
    ("name", "middleName"),
    ("name", "honorificPrefix"),
    ("name", "honorificSuffix"),
    ("emails", "display"),
    ("phoneNumbers", "display"),
];

/// What an attribute path names.
#[derive(Debug)]
pub(crate) enum Resolved {
    Attr {
        schema: Schema,
        attr: &'static Attr,
        sub: Option<&'static Attr>,
    },
    /// The enterprise extension itself (its URN as a path or key).
    Extension,
    /// In the schemas, not kept by Roster.
    Ignored,
    /// Another schema's attribute: an extension Roster does not support.
    OtherSchema,
}

fn find<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
}

fn listed(names: &[&str], name: &str) -> bool {
    names.iter().any(|n| n.eq_ignore_ascii_case(name))
}

/// Resolves a path (case-insensitively; core and enterprise attributes
/// may be written without their URN, RFC 7644 §3.10). `Err` says why the
/// name is not an attribute of a User.
pub(crate) fn resolve(path: &AttrPath) -> Result<Resolved, String> {
    let urn = path.urn.as_deref();
    let full = urn.map(|u| format!("{u}:{}", path.name));
    if full
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case(ENTERPRISE_USER_URN))
    {
        return match &path.sub {
            None => Ok(Resolved::Extension),
            Some(_) => Err(format!("'{path}' is not an attribute of a User")),
        };
    }
    let is = |u: &str| urn.is_none_or(|x| x.eq_ignore_ascii_case(u));
    let (core, enterprise) = (is(CORE_USER_URN), is(ENTERPRISE_USER_URN));
    if !core && !enterprise {
        return Ok(Resolved::OtherSchema);
    }
    let name = path.name.as_str();
    let found = if core {
        find(COMMON, name)
            .or_else(|| find(CORE, name))
            .map(|a| (Schema::Core, a))
    } else {
        None
    };
    let found = found.or_else(|| {
        enterprise
            .then(|| find(ENTERPRISE, name))
            .flatten()
            .map(|a| (Schema::Enterprise, a))
    });
    let Some((schema, attr)) = found else {
        let ignored = (core && listed(IGNORED_CORE, name))
            || (enterprise && listed(IGNORED_ENTERPRISE, name));
        return match ignored {
            true => Ok(Resolved::Ignored),
            false => Err(format!("'{path}' is not an attribute of a User")),
        };
    };
    let sub = match &path.sub {
        None => None,
        Some(s) => match find(attr.subs, s) {
            Some(sub) => Some(sub),
            None if ignored_sub(attr, s) => return Ok(Resolved::Ignored),
            None => return Err(format!("'{path}' is not an attribute of a User")),
        },
    };
    Ok(Resolved::Attr { schema, attr, sub })
}

/// Whether `sub` is a sub-attribute of `parent` that Roster ignores.
pub(crate) fn ignored_sub(parent: &Attr, sub: &str) -> bool {
    IGNORED_SUBS
        .iter()
        .any(|(a, b)| *a == parent.name && b.eq_ignore_ascii_case(sub))
}

fn attribute_json(a: &Attr) -> Value {
    let ty = match a.ty {
        Type::String => "string",
        Type::Boolean => "boolean",
        Type::DateTime => "dateTime",
        Type::Complex => "complex",
    };
    let mut v = json!({
        "name": a.name,
        "type": ty,
        "multiValued": a.multi,
        "description": a.description,
        "required": a.required,
        "mutability": if a.read_only { "readOnly" } else { "readWrite" },
        "returned": "default",
        "uniqueness": if a.unique { "server" } else { "none" },
    });
    if a.ty == Type::String {
        v["caseExact"] = a.case_exact.into();
    }
    if !a.subs.is_empty() {
        v["subAttributes"] = a.subs.iter().map(attribute_json).collect();
    }
    v
}

/// The `/Schemas` resources: the core User schema and the enterprise
/// extension, with the attributes Roster keeps (RFC 7643 §7).
pub fn schemas() -> Value {
    let schema = |id: &str, name: &str, description: &str, attrs: &[Attr]| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attrs.iter().map(attribute_json).collect::<Vec<_>>(),
            "meta": {"resourceType": "Schema"},
        })
    };
    json!([
        schema(CORE_USER_URN, "User", "User Account", CORE),
        schema(
            ENTERPRISE_USER_URN,
            "EnterpriseUser",
            "Enterprise User",
            ENTERPRISE
        ),
        schema(GROUP_URN, "Group", "Roster's roles", GROUP),
    ])
}

/// `base` without a trailing slash.
pub(crate) fn trim_base(base: &str) -> &str {
    base.trim_end_matches('/')
}

/// `/ResourceTypes`: User, with the enterprise extension optional, and
/// Group (Roster's roles).
pub fn resource_types(base: &str) -> Value {
    json!([{
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": CORE_USER_URN,
        "schemaExtensions": [{"schema": ENTERPRISE_USER_URN, "required": false}],
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/User", trim_base(base)),
        },
    }, {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Roster's roles: Self-Service, Operator, Approval, Admin",
        "schema": GROUP_URN,
        "meta": {
            "resourceType": "ResourceType",
            "location": format!("{}/ResourceTypes/Group", trim_base(base)),
        },
    }])
}

/// `/ServiceProviderConfig` (RFC 7643 §5): PATCH, filters (at most
/// [`MAX_COUNT`] results a page) and ETags; no bulk, no password change,
/// no sorting; a bearer token.
pub fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A bearer token issued by Roster, in the Authorization header.",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", trim_base(base)),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(text: &str) -> AttrPath {
        super::super::filter::PatchPath::parse(text).unwrap().attr
    }

    #[test]
    fn paths_resolve_case_insensitively_with_or_without_their_urn() {
        let name = |r: Resolved| match r {
            Resolved::Attr { schema, attr, sub } => {
                format!("{schema:?} {}{}", attr.name, sub.map_or("", |s| s.name))
            }
            other => format!("{other:?}"),
        };
        let cases = [
            ("USERNAME", "Core userName"),
            (
                "urn:ietf:params:scim:schemas:core:2.0:User:name.GivenName",
                "Core namegivenName",
            ),
            ("meta.lastModified", "Core metalastModified"),
            ("department", "Enterprise department"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
                "Enterprise department",
            ),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "Extension",
            ),
            ("addresses", "Ignored"),
            ("name.formatted", "Ignored"),
            (
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "Ignored",
            ),
            (
                "urn:example:params:scim:schemas:extension:acme:2.0:User:badge",
                "OtherSchema",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(name(resolve(&path(text)).unwrap()), expected, "{text}");
        }
        for unknown in [
            "userNmae",
            "name.nick",
            "urn:ietf:params:scim:schemas:core:2.0:User:department",
        ] {
            let why = resolve(&path(unknown)).unwrap_err();
            assert!(why.contains("is not an attribute of a User"), "{why}");
        }
    }

    #[test]
    fn the_discovery_documents_say_what_roster_supports() {
        let config = service_provider_config("https://r.example/scim/v2/");
        assert_eq!(config["patch"]["supported"], true);
        assert_eq!(config["bulk"]["supported"], false);
        assert_eq!(config["filter"]["maxResults"], MAX_COUNT);
        assert_eq!(config["changePassword"]["supported"], false);
        assert_eq!(config["sort"]["supported"], false);
        assert_eq!(config["etag"]["supported"], true);
        assert_eq!(
            config["authenticationSchemes"][0]["type"],
            "oauthbearertoken"
        );
        assert_eq!(
            config["meta"]["location"],
            "https://r.example/scim/v2/ServiceProviderConfig"
        );
        let types = resource_types("https://r.example/scim/v2");
        assert_eq!(types[0]["endpoint"], "/Users");
        assert_eq!(
            types[0]["schemaExtensions"][0]["schema"],
            ENTERPRISE_USER_URN
        );
        let all = schemas();
        assert_eq!(all[0]["id"], CORE_USER_URN);
        let user_name = &all[0]["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["uniqueness"], "server");
        assert_eq!(user_name["required"], true);
        assert_eq!(
            all[0]["attributes"][1]["subAttributes"][0]["name"],
            "givenName"
        );
        assert_eq!(all[1]["attributes"][1]["name"], "department");
        assert_eq!(types[1]["endpoint"], "/Groups");
        assert_eq!(all[2]["id"], GROUP_URN);
        assert_eq!(all[2]["attributes"][0]["mutability"], "readOnly");
        assert_eq!(all[2]["attributes"][1]["name"], "members");
        assert_eq!(all[2]["attributes"][1]["multiValued"], true);
    }
}
