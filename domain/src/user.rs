//! The user record and its roles, end state and source.

use crate::email::Email;
use crate::field::{Field, FieldError};
use crate::text::{
    Department, DisplayName, EmployeeNumber, FirstName, LastName, Mobile, Organization, Phone,
    Title,
};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    SelfService,
    Operator,
    Approval,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::SelfService,
        Role::Operator,
        Role::Approval,
        Role::Admin,
    ];

    fn bit(self) -> u8 {
        1 << (self as u8)
    }

    /// Name used in options and CSV exports.
    pub fn key(self) -> &'static str {
        match self {
            Role::SelfService => "self-service",
            Role::Operator => "operator",
            Role::Approval => "approval",
            Role::Admin => "admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::SelfService => "Self-Service",
            Role::Operator => "Operator",
            Role::Approval => "Approval",
            Role::Admin => "Admin",
        }
    }

    /// Accepts "self-service", "Self Service", "self_service", "selfservice"…
    pub fn parse(s: &str) -> Option<Role> {
        let n: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '_'))
            .flat_map(char::to_lowercase)
            .collect();
        match n.as_str() {
            "selfservice" => Some(Role::SelfService),
            "operator" => Some(Role::Operator),
            "approval" => Some(Role::Approval),
            "admin" | "administrator" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A set of roles.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Roles(u8);

impl Roles {
    pub const EMPTY: Roles = Roles(0);

    pub fn of(roles: &[Role]) -> Roles {
        roles.iter().fold(Roles::EMPTY, |acc, r| acc.with(*r))
    }

    pub fn with(self, role: Role) -> Roles {
        Roles(self.0 | role.bit())
    }

    pub fn union(self, other: Roles) -> Roles {
        Roles(self.0 | other.0)
    }

    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// May act as an operator: Operator, or Admin (which implies every
    /// Operator right).
    pub fn can_operate(self) -> bool {
        self.contains(Role::Operator) || self.contains(Role::Admin)
    }

    /// The set as a bit mask (stable: one bit per [`Role`] in declaration
    /// order).
    pub fn bits(self) -> u8 {
        self.0
    }

    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL.into_iter().filter(move |r| self.contains(*r))
    }

    /// Comma-separated role keys, e.g. `self-service,operator`.
    pub fn to_keys(self) -> String {
        self.iter().map(Role::key).collect::<Vec<_>>().join(",")
    }

    /// Parses a comma-separated list of role names; empty is the empty set.
    pub fn parse_list(s: &str) -> Result<Roles, String> {
        s.split([',', ';'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .try_fold(Roles::EMPTY, |acc, p| {
                Role::parse(p).map(|r| acc.with(r)).ok_or_else(|| {
                    format!("unknown role \"{p}\" (known: self-service, operator, approval, admin)")
                })
            })
    }
}

impl fmt::Display for Roles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("(none)");
        }
        let labels: Vec<_> = self.iter().map(Role::label).collect();
        f.write_str(&labels.join(", "))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EndState {
    Active,
    Inactive,
}

impl EndState {
    pub fn key(self) -> &'static str {
        match self {
            EndState::Active => "active",
            EndState::Inactive => "inactive",
        }
    }

    pub fn parse(s: &str) -> Option<EndState> {
        match s.trim().to_ascii_lowercase().as_str() {
            "active" => Some(EndState::Active),
            "inactive" => Some(EndState::Inactive),
            _ => None,
        }
    }
}

impl fmt::Display for EndState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndState::Active => "Active",
            EndState::Inactive => "Inactive",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Source {
    Csv,
    Manual,
    Bootstrap,
    /// Provisioned over SCIM 2.0 by another system (stored records name
    /// sources by position: new ones are appended).
    Scim,
}

impl Source {
    pub fn key(self) -> &'static str {
        match self {
            Source::Csv => "CSV",
            Source::Manual => "Manual",
            Source::Bootstrap => "Bootstrap",
            Source::Scim => "SCIM",
        }
    }

    pub const ALL: [Source; 4] = [Source::Csv, Source::Manual, Source::Bootstrap, Source::Scim];

    /// A source by its key, in any case (`csv`, `Manual`, …).
    pub fn parse(s: &str) -> Option<Source> {
        Source::ALL
            .into_iter()
            .find(|v| v.key().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The profile fields other than email, each of a validated type; the
/// empty value = absent (optional fields only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Profile {
    pub first_name: FirstName,
    pub last_name: LastName,
    pub display_name: DisplayName,
    pub phone: Phone,
    pub mobile: Mobile,
    pub employee_number: EmployeeNumber,
    pub title: Title,
    pub department: Department,
    pub organization: Organization,
}

impl Profile {
    /// The value of a non-email field (`None` for [`Field::Email`]).
    pub fn get(&self, field: Field) -> Option<&str> {
        Some(match field {
            Field::Email => return None,
            Field::FirstName => &self.first_name,
            Field::LastName => &self.last_name,
            Field::DisplayName => &self.display_name,
            Field::Phone => &self.phone,
            Field::Mobile => &self.mobile,
            Field::EmployeeNumber => &self.employee_number,
            Field::Title => &self.title,
            Field::Department => &self.department,
            Field::Organization => &self.organization,
        })
    }

    /// Validates `raw` under `field`'s rule and stores it (blank clears an
    /// optional value). Email is not a profile field: refused.
    pub fn set(&mut self, field: Field, raw: &str) -> Result<(), FieldError> {
        match field {
            Field::Email => return Err(FieldError::wrong_type(field, "Profile")),
            Field::FirstName => self.first_name = FirstName::parse(raw)?,
            Field::LastName => self.last_name = LastName::parse(raw)?,
            Field::DisplayName => self.display_name = DisplayName::parse(raw)?,
            Field::Phone => self.phone = Phone::parse(raw)?,
            Field::Mobile => self.mobile = Mobile::parse(raw)?,
            Field::EmployeeNumber => self.employee_number = EmployeeNumber::parse(raw)?,
            Field::Title => self.title = Title::parse(raw)?,
            Field::Department => self.department = Department::parse(raw)?,
            Field::Organization => self.organization = Organization::parse(raw)?,
        }
        Ok(())
    }

    /// Stores text that `Field::validate` already accepted for `field`.
    pub(crate) fn set_validated(&mut self, field: Field, text: String) {
        match field {
            Field::Email => {}
            Field::FirstName => self.first_name = FirstName::validated(text),
            Field::LastName => self.last_name = LastName::validated(text),
            Field::DisplayName => self.display_name = DisplayName::validated(text),
            Field::Phone => self.phone = Phone::validated(text),
            Field::Mobile => self.mobile = Mobile::validated(text),
            Field::EmployeeNumber => self.employee_number = EmployeeNumber::validated(text),
            Field::Title => self.title = Title::validated(text),
            Field::Department => self.department = Department::validated(text),
            Field::Organization => self.organization = Organization::validated(text),
        }
    }

    /// "First Last", the display name made when none is given; cut to the
    /// display name's own limit (two 100-character names make 201).
    pub(crate) fn derive_display_name(&mut self) {
        if self.display_name.is_empty() {
            let full = format!("{} {}", self.first_name, self.last_name);
            let max = Field::DisplayName.max_chars();
            let text = match full.char_indices().nth(max) {
                Some((cut, _)) => full[..cut].trim_end().to_string(),
                None => full,
            };
            self.display_name = DisplayName::validated(text);
        }
    }
}

/// A user as stored. The password hash lives in a separate credentials
/// table so that this type can be sent to the browser as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub email: Email,
    pub profile: Profile,
    pub roles: Roles,
    pub end_state: EndState,
    pub source: Source,
    /// Unix seconds (UTC).
    pub created_at: i64,
    pub updated_at: i64,
    /// Starts at 1; incremented on every change.
    pub version: u64,
    /// What people decided about this user that no import undoes.
    pub held: Held,
}

/// Decisions a person made about a user, kept with the record so that an
/// import (planned in the browser and again on the server) leaves them
/// standing: a person's deactivation, and roles an administrator removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Held {
    /// Deactivated by a person (the user's page, the command line): an
    /// import leaves the user inactive. Cleared by "Activate".
    pub deactivated_by: Option<Decided>,
    /// Roles an administrator took away: an import does not add them
    /// again. Cleared, role by role, when an administrator gives one back.
    pub withheld_roles: Roles,
}

/// Who decided, and when (Unix seconds).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Decided {
    /// The person's email, or `cli` for the machine owner.
    pub by: String,
    pub at: i64,
}

impl Roles {
    /// The roles of `self` that are not in `other`.
    pub fn without(self, other: Roles) -> Roles {
        Roles(self.0 & !other.0)
    }

    /// The roles in both.
    pub fn both(self, other: Roles) -> Roles {
        Roles(self.0 & other.0)
    }
}

impl User {
    /// This user as the author of a change.
    pub fn by(&self) -> crate::By {
        crate::By::Person(self.email.clone())
    }

    /// The match key (lower-cased email).
    pub fn key(&self) -> &crate::email::UserKey {
        self.email.key()
    }

    /// The value of any field, email included, as text.
    pub fn field(&self, field: Field) -> &str {
        match field {
            Field::Email => self.email.as_str(),
            other => self.profile.get(other).unwrap_or_default(),
        }
    }

    /// "Display name" or, when absent, "First Last".
    pub fn name(&self) -> String {
        if self.profile.display_name.is_empty() {
            format!("{} {}", self.profile.first_name, self.profile.last_name)
        } else {
            self.profile.display_name.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print() {
        let r = Roles::parse_list("Self-Service, operator ,APPROVAL").unwrap();
        assert!(
            r.contains(Role::SelfService)
                && r.contains(Role::Operator)
                && r.contains(Role::Approval)
        );
        assert!(!r.contains(Role::Admin));
        assert_eq!(r.to_keys(), "self-service,operator,approval");
        assert_eq!(r.to_string(), "Self-Service, Operator, Approval");
        assert_eq!(Roles::parse_list("").unwrap(), Roles::EMPTY);
        assert!(
            Roles::parse_list("operator,root")
                .unwrap_err()
                .contains("root")
        );
    }

    #[test]
    fn admin_implies_operator_rights() {
        assert!(Roles::of(&[Role::Admin]).can_operate());
        assert!(Roles::of(&[Role::Operator]).can_operate());
        assert!(!Roles::of(&[Role::SelfService, Role::Approval]).can_operate());
    }

    #[test]
    fn roles_union_adds_never_removes() {
        let a = Roles::of(&[Role::Admin]);
        let b = Roles::of(&[Role::Operator]);
        let u = a.union(b);
        assert!(u.contains(Role::Admin) && u.contains(Role::Operator));
    }

    #[test]
    fn end_state_parse() {
        assert_eq!(EndState::parse(" Inactive "), Some(EndState::Inactive));
        assert_eq!(EndState::parse("gone"), None);
    }

    #[test]
    fn a_derived_display_name_keeps_the_limit() {
        let mut p = Profile::default();
        let long = "é".repeat(100);
        p.set(Field::FirstName, &long).unwrap();
        p.set(Field::LastName, &long).unwrap();
        p.derive_display_name();
        assert_eq!(p.display_name.chars().count(), 200);
        assert!(p.display_name.starts_with(&long));
        assert!(Field::DisplayName.validate(&p.display_name).is_ok());

        let mut short = Profile::default();
        short.set(Field::FirstName, "Ada").unwrap();
        short.set(Field::LastName, "Lovelace").unwrap();
        short.derive_display_name();
        assert_eq!(short.display_name, "Ada Lovelace");
    }

    #[test]
    fn profile_accessors_cover_every_field() {
        let mut p = Profile::default();
        for f in Field::ALL.into_iter().skip(1) {
            let value = if matches!(f, Field::Phone | Field::Mobile) {
                format!("+{}", f.index())
            } else {
                f.column().to_string()
            };
            p.set(f, &value).unwrap();
        }
        for f in Field::ALL.into_iter().skip(1) {
            let expected = if matches!(f, Field::Phone | Field::Mobile) {
                format!("+{}", f.index())
            } else {
                f.column().to_string()
            };
            assert_eq!(p.get(f), Some(expected.as_str()));
        }
        assert_eq!(p.get(Field::Email), None);
        assert!(p.set(Field::Email, "a@x.org").is_err());
        assert!(p.set(Field::Phone, "call me").is_err());
        assert_eq!(p.phone, "+4", "a refused value leaves the old one");
    }
}
