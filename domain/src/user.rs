//! The user record and its roles, end state and source.

use crate::email::Email;
use crate::field::{Field, FieldError};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
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

/// The profile fields other than email, each holding only text that
/// passed its field's rule (trimmed, NFC, within the length, allowed
/// characters: [`Profile::set`] validates, and the crate's
/// [`ProfilePatch`](crate::patch::ProfilePatch) puts in only what it
/// validated); the empty value = absent (optional fields only).
///
/// Compact on purpose: an import of a million users makes, clones and
/// drops a million profiles. The nine values sit one after another, in
/// field order, in one string (one allocation a user, not nine), each
/// found by where it ends. Serialised as a struct of nine strings, as
/// the profile always was, so stored records and the browser's messages
/// read the same.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Profile {
    text: String,
    /// `ends[i]`: where the value of `Field::PROFILE[i]` ends in `text`;
    /// it starts where the previous one ends.
    ends: [u32; PROFILE_FIELDS],
}

/// Every field but the email.
pub(crate) const PROFILE_FIELDS: usize = Field::PROFILE.len();

/// Named accessors, one a field.
macro_rules! profile_accessors {
    ($($name:ident => $field:ident),* $(,)?) => {
        impl Profile {
            $(
                #[doc = concat!("The `", stringify!($name), "` value (empty when absent).")]
                pub fn $name(&self) -> &str {
                    self.value(Field::$field.index() - 1)
                }
            )*
        }
    };
}

profile_accessors!(
    first_name => FirstName,
    last_name => LastName,
    display_name => DisplayName,
    phone => Phone,
    mobile => Mobile,
    employee_number => EmployeeNumber,
    title => Title,
    department => Department,
    organization => Organization,
);

impl Profile {
    fn value(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.text[start as usize..self.ends[i] as usize]
    }

    /// Puts `value` in place of field `i`'s value, moving the values
    /// after it.
    fn put(&mut self, i: usize, value: &str) {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        let end = self.ends[i];
        if i + 1 == PROFILE_FIELDS || end as usize == self.text.len() {
            // The last value (or every later one empty): no move.
            self.text.truncate(start as usize);
            self.text.push_str(value);
        } else {
            self.text.replace_range(start as usize..end as usize, value);
        }
        let new_end = start + value.len() as u32;
        for e in &mut self.ends[i..] {
            *e = (*e - end) + new_end;
        }
    }

    /// The value of a non-email field (`None` for [`Field::Email`]).
    pub fn get(&self, field: Field) -> Option<&str> {
        match field {
            Field::Email => None,
            other => Some(self.value(other.index() - 1)),
        }
    }

    /// Validates `raw` under `field`'s rule and stores it (blank clears an
    /// optional value). Email is not a profile field: refused.
    pub fn set(&mut self, field: Field, raw: &str) -> Result<(), FieldError> {
        if field == Field::Email {
            return Err(FieldError::wrong_type(field, "Profile"));
        }
        let raw = crate::chars::trim(raw);
        if raw.is_empty() {
            self.put(field.index() - 1, "");
            return Ok(());
        }
        let value = field.validate(raw)?;
        self.put(field.index() - 1, &value);
        Ok(())
    }

    /// A profile of values `Field::validate` accepted (or empty), in
    /// field order (`Field::PROFILE`): made in one allocation. The values
    /// must not be longer than 4 GiB together.
    pub(crate) fn from_values(values: [&str; PROFILE_FIELDS]) -> Profile {
        let mut profile = Profile {
            text: String::with_capacity(values.iter().map(|v| v.len()).sum()),
            ends: [0; PROFILE_FIELDS],
        };
        for (end, value) in profile.ends.iter_mut().zip(values) {
            profile.text.push_str(value);
            *end = profile.text.len() as u32;
        }
        profile
    }

    /// The values in field order (`Field::PROFILE`).
    pub fn values(&self) -> [&str; PROFILE_FIELDS] {
        std::array::from_fn(|i| self.value(i))
    }

    /// A profile over `text` whose values, in field order, end at `ends`
    /// (values a patch validated).
    pub(crate) fn from_parts(text: String, ends: [u32; PROFILE_FIELDS]) -> Profile {
        debug_assert!(ends.windows(2).all(|w| w[0] <= w[1]));
        debug_assert_eq!(ends[PROFILE_FIELDS - 1] as usize, text.len());
        Profile { text, ends }
    }

    /// "First Last", the display name made when none is given; cut to the
    /// display name's own limit (two 100-character names make 201).
    pub(crate) fn derive_display_name(&mut self) {
        if self.display_name().is_empty() {
            let full = format!("{} {}", self.first_name(), self.last_name());
            let max = Field::DisplayName.max_chars();
            let text = match full.char_indices().nth(max) {
                Some((cut, _)) => full[..cut].trim_end(),
                None => full.as_str(),
            };
            self.put(Field::DisplayName.index() - 1, text);
        }
    }
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("Profile");
        for (field, value) in Field::PROFILE.into_iter().zip(self.values()) {
            out.field(field.column(), &value);
        }
        out.finish()
    }
}

/// The stored and sent form: a struct of nine strings in field order
/// (what the profile was before it was compact, so older records read).
#[derive(Serialize, Deserialize)]
#[serde(rename = "Profile")]
struct ProfileFields<'a> {
    #[serde(borrow)]
    first_name: Cow<'a, str>,
    #[serde(borrow)]
    last_name: Cow<'a, str>,
    #[serde(borrow)]
    display_name: Cow<'a, str>,
    #[serde(borrow)]
    phone: Cow<'a, str>,
    #[serde(borrow)]
    mobile: Cow<'a, str>,
    #[serde(borrow)]
    employee_number: Cow<'a, str>,
    #[serde(borrow)]
    title: Cow<'a, str>,
    #[serde(borrow)]
    department: Cow<'a, str>,
    #[serde(borrow)]
    organization: Cow<'a, str>,
}

impl Serialize for Profile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let [
            first_name,
            last_name,
            display_name,
            phone,
            mobile,
            employee_number,
            title,
            department,
            organization,
        ] = self.values().map(Cow::Borrowed);
        ProfileFields {
            first_name,
            last_name,
            display_name,
            phone,
            mobile,
            employee_number,
            title,
            department,
            organization,
        }
        .serialize(serializer)
    }
}

// Not validated again: values come from our own store or our own server.
impl<'de> Deserialize<'de> for Profile {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let f = ProfileFields::deserialize(deserializer)?;
        let values = [
            &*f.first_name,
            &*f.last_name,
            &*f.display_name,
            &*f.phone,
            &*f.mobile,
            &*f.employee_number,
            &*f.title,
            &*f.department,
            &*f.organization,
        ];
        if values.iter().map(|v| v.len()).sum::<usize>() > u32::MAX as usize {
            return Err(serde::de::Error::custom("a profile longer than 4 GiB"));
        }
        Ok(Profile::from_values(values))
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
        if self.profile.display_name().is_empty() {
            format!("{} {}", self.profile.first_name(), self.profile.last_name())
        } else {
            self.profile.display_name().to_string()
        }
    }
}

#[cfg(test)]
mod tests;
