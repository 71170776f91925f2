//! The administrator's options: the "script with default values"
//! that every import applies.

use crate::field::Field;
use crate::mail::{MailKind, MailTemplate, Part};
use crate::user::{EndState, Roles};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Every option, by its key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptionKey {
    EndState,
    Roles,
    MaxRows,
    ApprovalAbove,
    ApprovalWindowHours,
    ApprovalMaxWaiting,
    ApprovalMaxWaitingMb,
    SyncMaxDeactivatePercent,
    LinkDays,
    Editable,
    ScimDelete,
    EmailOnImport,
    ResetMinutes,
    MailPerMinute,
    MailOrganization,
    /// A part of a mail's template (see `mail::template`).
    Template(MailKind, Part),
}

impl OptionKey {
    /// Every key, in display order.
    pub const ALL: [OptionKey; 21] = [
        OptionKey::EndState,
        OptionKey::Roles,
        OptionKey::MaxRows,
        OptionKey::ApprovalAbove,
        OptionKey::ApprovalWindowHours,
        OptionKey::ApprovalMaxWaiting,
        OptionKey::ApprovalMaxWaitingMb,
        OptionKey::SyncMaxDeactivatePercent,
        OptionKey::LinkDays,
        OptionKey::Editable,
        OptionKey::ScimDelete,
        OptionKey::EmailOnImport,
        OptionKey::ResetMinutes,
        OptionKey::MailPerMinute,
        OptionKey::MailOrganization,
        OptionKey::Template(MailKind::SignInLink, Part::Subject),
        OptionKey::Template(MailKind::SignInLink, Part::Text),
        OptionKey::Template(MailKind::SignInLink, Part::Html),
        OptionKey::Template(MailKind::Reset, Part::Subject),
        OptionKey::Template(MailKind::Reset, Part::Text),
        OptionKey::Template(MailKind::Reset, Part::Html),
    ];

    /// The key as `roster options set` and the store know it.
    pub const fn as_str(self) -> &'static str {
        use MailKind::{Reset, SignInLink};
        match self {
            OptionKey::EndState => "import.end_state",
            OptionKey::Roles => "import.roles",
            OptionKey::MaxRows => "import.max_rows",
            OptionKey::ApprovalAbove => "import.approval_above",
            OptionKey::ApprovalWindowHours => "import.approval_window_hours",
            OptionKey::ApprovalMaxWaiting => "import.approval_max_waiting",
            OptionKey::ApprovalMaxWaitingMb => "import.approval_max_waiting_mb",
            OptionKey::SyncMaxDeactivatePercent => "import.sync_max_deactivate_percent",
            OptionKey::LinkDays => "enrolment.link_days",
            OptionKey::Editable => "self_service.editable",
            OptionKey::ScimDelete => "scim.delete",
            OptionKey::EmailOnImport => "enrolment.email_on_import",
            OptionKey::ResetMinutes => "enrolment.reset_minutes",
            OptionKey::MailPerMinute => "mail.per_minute",
            OptionKey::MailOrganization => "mail.organization",
            OptionKey::Template(SignInLink, Part::Subject) => "mail.sign_in.subject",
            OptionKey::Template(SignInLink, Part::Text) => "mail.sign_in.text",
            OptionKey::Template(SignInLink, Part::Html) => "mail.sign_in.html",
            OptionKey::Template(Reset, Part::Subject) => "mail.reset.subject",
            OptionKey::Template(Reset, Part::Text) => "mail.reset.text",
            OptionKey::Template(Reset, Part::Html) => "mail.reset.html",
        }
    }

    pub fn parse(key: &str) -> Result<OptionKey, OptionError> {
        OptionKey::ALL
            .into_iter()
            .find(|k| k.as_str() == key)
            .ok_or_else(|| OptionError::UnknownKey(key.to_string()))
    }
}

impl fmt::Display for OptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The keys as text, for the command line and tests.
pub const END_STATE: &str = OptionKey::EndState.as_str();
pub const ROLES: &str = OptionKey::Roles.as_str();
pub const MAX_ROWS: &str = OptionKey::MaxRows.as_str();
pub const LINK_DAYS: &str = OptionKey::LinkDays.as_str();
pub const EDITABLE: &str = OptionKey::Editable.as_str();
pub const APPROVAL_ABOVE: &str = OptionKey::ApprovalAbove.as_str();
pub const APPROVAL_WINDOW_HOURS: &str = OptionKey::ApprovalWindowHours.as_str();
pub const APPROVAL_MAX_WAITING: &str = OptionKey::ApprovalMaxWaiting.as_str();
pub const APPROVAL_MAX_WAITING_MB: &str = OptionKey::ApprovalMaxWaitingMb.as_str();
pub const SYNC_MAX_DEACTIVATE_PERCENT: &str = OptionKey::SyncMaxDeactivatePercent.as_str();
pub const SCIM_DELETE: &str = OptionKey::ScimDelete.as_str();
pub const EMAIL_ON_IMPORT: &str = OptionKey::EmailOnImport.as_str();
pub const RESET_MINUTES: &str = OptionKey::ResetMinutes.as_str();
pub const MAIL_PER_MINUTE: &str = OptionKey::MailPerMinute.as_str();
pub const MAIL_ORGANIZATION: &str = OptionKey::MailOrganization.as_str();

/// What a SCIM client's DELETE does to a user.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScimDelete {
    /// Deactivated in Roster, gone for SCIM clients; kept for its history
    /// and undo.
    #[default]
    Deactivate,
    /// Deleted from Roster: the record, its password, links and sessions;
    /// its fields stay in the audit trail.
    Delete,
}

impl ScimDelete {
    pub fn key(self) -> &'static str {
        match self {
            ScimDelete::Deactivate => "deactivate",
            ScimDelete::Delete => "delete",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    pub end_state: EndState,
    pub roles: Roles,
    pub max_rows: u64,
    pub link_days: u32,
    pub editable: Vec<Field>,
    /// Imports creating + updating more users than this wait for a second
    /// person with the Approval role; 0 = never.
    pub approval_above: u64,
    /// The rows an operator created + updated over this many hours count
    /// toward `approval_above`, so that splitting a file does not avoid
    /// approval.
    pub approval_window_hours: u32,
    /// Imports one operator may have waiting for approval at once, and
    /// their files' size in all (MB): stored files are bounded.
    pub approval_max_waiting: u32,
    pub approval_max_waiting_mb: u32,
    /// A sync import that would deactivate more than this share (percent)
    /// of its candidates is refused unless confirmed.
    pub sync_max_deactivate_percent: u32,
    /// What a SCIM DELETE does.
    pub scim_delete: ScimDelete,
    /// Queue a sign-in link mail for every created user with the import's
    /// commit (when a mail server is configured).
    pub email_on_import: bool,
    /// Lifetime of a "Forgot password?" link, in minutes.
    pub reset_minutes: u32,
    /// Most mails a server sends a minute.
    pub mail_per_minute: u32,
    /// The organisation's name in mails.
    pub mail_organization: String,
    /// The words of the sign-in link mail and of the reset mail.
    pub sign_in_mail: MailTemplate,
    pub reset_mail: MailTemplate,
}

impl Default for Options {
    fn default() -> Self {
        use crate::user::Role;
        Options {
            end_state: EndState::Active,
            roles: Roles::of(&[Role::SelfService, Role::Operator, Role::Approval]),
            max_rows: 1_000_000,
            link_days: 7,
            editable: vec![Field::DisplayName, Field::Phone, Field::Mobile],
            approval_above: 0,
            approval_window_hours: 24,
            approval_max_waiting: 10,
            approval_max_waiting_mb: 2048,
            sync_max_deactivate_percent: 10,
            scim_delete: ScimDelete::Deactivate,
            email_on_import: false,
            reset_minutes: 30,
            mail_per_minute: 600,
            mail_organization: "Roster".into(),
            sign_in_mail: MailTemplate::default_for(MailKind::SignInLink),
            reset_mail: MailTemplate::default_for(MailKind::Reset),
        }
    }
}

/// An unknown key or a value its key does not accept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptionError {
    UnknownKey(String),
    InvalidValue { key: String, message: String },
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::UnknownKey(k) => {
                let known: Vec<&str> = OptionKey::ALL.iter().map(|k| k.as_str()).collect();
                write!(f, "unknown option \"{k}\" (known: {})", known.join(", "))
            }
            OptionError::InvalidValue { key, message } => write!(f, "{key}: {message}"),
        }
    }
}

impl std::error::Error for OptionError {}

/// Bytes an import file may have per allowed row, on average: a users
/// export runs 100–250 bytes a row; twice the long end leaves room for
/// ignored columns without letting anyone make the server hold gigabytes.
pub const UPLOAD_BYTES_PER_ROW: u64 = 512;
/// Room for the header row, a BOM and a template marker line.
pub const UPLOAD_HEADER_BYTES: u64 = 1024 * 1024;

impl Options {
    /// The largest import file the server takes: derived from
    /// `import.max_rows` (1M rows → 513 MiB), so that raising the row
    /// limit raises the byte limit with it.
    pub fn max_upload_bytes(&self) -> u64 {
        self.max_rows
            .saturating_mul(UPLOAD_BYTES_PER_ROW)
            .saturating_add(UPLOAD_HEADER_BYTES)
    }

    /// Why a file over [`Options::max_upload_bytes`] is refused, as the
    /// browser and the server both say it.
    pub fn upload_too_large(&self) -> String {
        format!(
            "The file is larger than an import may be: at most {} MB for the {} rows the \
             options allow (import.max_rows). Nothing was written.",
            self.max_upload_bytes() / 1_000_000,
            crate::chars::group_thousands(self.max_rows),
        )
    }

    /// Whether an import with these counts waits for approval, when its
    /// sender already created + updated `already` users within the last
    /// `approval_window_hours`.
    pub fn needs_approval(&self, counts: &crate::plan::Counts, already: u64) -> bool {
        self.approval_above > 0 && already.saturating_add(counts.writes()) > self.approval_above
    }

    /// The start of the approval window that ends at `now` (Unix seconds).
    pub fn approval_window_start(&self, now: i64) -> i64 {
        now.saturating_sub(i64::from(self.approval_window_hours) * 3600)
    }

    /// The value of `key` in the same text form `set` accepts.
    pub fn get(&self, key: &str) -> Result<String, OptionError> {
        OptionKey::parse(key).map(|k| self.value(k))
    }

    /// The value of an option in the same text form `set` accepts.
    pub fn value(&self, key: OptionKey) -> String {
        match key {
            OptionKey::EndState => self.end_state.key().to_string(),
            OptionKey::Roles => self.roles.to_keys(),
            OptionKey::MaxRows => self.max_rows.to_string(),
            OptionKey::LinkDays => self.link_days.to_string(),
            OptionKey::ApprovalAbove => self.approval_above.to_string(),
            OptionKey::ApprovalWindowHours => self.approval_window_hours.to_string(),
            OptionKey::ApprovalMaxWaiting => self.approval_max_waiting.to_string(),
            OptionKey::ApprovalMaxWaitingMb => self.approval_max_waiting_mb.to_string(),
            OptionKey::SyncMaxDeactivatePercent => self.sync_max_deactivate_percent.to_string(),
            OptionKey::ScimDelete => self.scim_delete.key().to_string(),
            OptionKey::EmailOnImport => self.email_on_import.to_string(),
            OptionKey::ResetMinutes => self.reset_minutes.to_string(),
            OptionKey::MailPerMinute => self.mail_per_minute.to_string(),
            OptionKey::MailOrganization => self.mail_organization.clone(),
            OptionKey::Template(kind, part) => self.template(kind).part(part).to_string(),
            OptionKey::Editable => self
                .editable
                .iter()
                .map(|f| f.column())
                .collect::<Vec<_>>()
                .join(","),
        }
    }

    /// The words of one kind of mail.
    pub fn template(&self, kind: MailKind) -> &MailTemplate {
        match kind {
            MailKind::SignInLink => &self.sign_in_mail,
            MailKind::Reset => &self.reset_mail,
        }
    }

    fn template_mut(&mut self, kind: MailKind) -> &mut MailTemplate {
        match kind {
            MailKind::SignInLink => &mut self.sign_in_mail,
            MailKind::Reset => &mut self.reset_mail,
        }
    }

    /// Sets `key` from text, validating it; on error nothing changes.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), OptionError> {
        self.set_value(OptionKey::parse(key)?, value)
    }

    /// Sets an option from text, validating it; on error nothing changes.
    pub fn set_value(&mut self, key: OptionKey, value: &str) -> Result<(), OptionError> {
        let invalid = |message: String| OptionError::InvalidValue {
            key: key.to_string(),
            message,
        };
        let value = value.trim();
        match key {
            OptionKey::EndState => {
                self.end_state = EndState::parse(value)
                    .ok_or_else(|| invalid("expected \"active\" or \"inactive\"".into()))?
            }
            OptionKey::Roles => self.roles = Roles::parse_list(value).map_err(invalid)?,
            OptionKey::MaxRows => {
                self.max_rows = value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=100_000_000).contains(n))
                    .ok_or_else(|| invalid("expected a whole number from 1 to 100000000".into()))?
            }
            OptionKey::ApprovalAbove => {
                self.approval_above = value
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n <= 100_000_000)
                    .ok_or_else(|| {
                        invalid(
                            "expected a whole number of rows from 0 (never) to 100000000".into(),
                        )
                    })?
            }
            OptionKey::ApprovalWindowHours => {
                self.approval_window_hours = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=8760).contains(n))
                    .ok_or_else(|| {
                        invalid("expected a whole number of hours from 1 to 8760".into())
                    })?
            }
            OptionKey::ApprovalMaxWaiting => {
                self.approval_max_waiting = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1000).contains(n))
                    .ok_or_else(|| invalid("expected a whole number from 1 to 1000".into()))?
            }
            OptionKey::ApprovalMaxWaitingMb => {
                self.approval_max_waiting_mb = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=1_000_000).contains(n))
                    .ok_or_else(|| {
                        invalid("expected a whole number of megabytes from 1 to 1000000".into())
                    })?
            }
            OptionKey::SyncMaxDeactivatePercent => {
                self.sync_max_deactivate_percent = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= 100)
                    .ok_or_else(|| {
                    invalid("expected a whole percentage from 0 to 100".into())
                })?
            }
            OptionKey::ScimDelete => {
                self.scim_delete = [ScimDelete::Deactivate, ScimDelete::Delete]
                    .into_iter()
                    .find(|d| d.key().eq_ignore_ascii_case(value))
                    .ok_or_else(|| invalid("expected \"deactivate\" or \"delete\"".into()))?
            }
            OptionKey::LinkDays => {
                self.link_days = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=365).contains(n))
                    .ok_or_else(|| {
                        invalid("expected a whole number of days from 1 to 365".into())
                    })?
            }
            OptionKey::EmailOnImport => {
                self.email_on_import = match value.to_ascii_lowercase().as_str() {
                    "true" | "on" | "yes" | "1" => true,
                    "false" | "off" | "no" | "0" => false,
                    _ => return Err(invalid("expected \"true\" or \"false\"".into())),
                }
            }
            OptionKey::ResetMinutes => {
                self.reset_minutes = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (5..=1440).contains(n))
                    .ok_or_else(|| {
                        invalid("expected a whole number of minutes from 5 to 1440".into())
                    })?
            }
            OptionKey::MailPerMinute => {
                self.mail_per_minute = value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| invalid("expected a whole number from 1 to 100000".into()))?
            }
            OptionKey::MailOrganization => {
                if value.is_empty() || value.chars().count() > 200 {
                    return Err(invalid("expected a name of 1 to 200 characters".into()));
                }
                if value.chars().any(char::is_control) {
                    return Err(invalid("control characters are not allowed".into()));
                }
                self.mail_organization = value.to_string();
            }
            OptionKey::Editable => {
                let mut fields = Vec::new();
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let field = Field::from_column(part)
                        .ok_or_else(|| invalid(format!("unknown field \"{part}\"")))?;
                    if field == Field::Email {
                        return Err(invalid(
                            "email is the match key and cannot be self-edited".into(),
                        ));
                    }
                    if !fields.contains(&field) {
                        fields.push(field);
                    }
                }
                fields.sort();
                self.editable = fields;
            }
            OptionKey::Template(kind, part) => self
                .template_mut(kind)
                .set_part(part, value)
                .map_err(|e| invalid(e.to_string()))?,
        }
        Ok(())
    }

    /// All options as (key, value) pairs, for storage and display.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        OptionKey::ALL
            .iter()
            .map(|k| (k.to_string(), self.value(*k)))
            .collect()
    }

    /// Builds options from stored pairs over the defaults; unknown keys are
    /// ignored (they may come from a newer version).
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Options, OptionError> {
        let mut o = Options::default();
        for (k, v) in pairs {
            if let Ok(key) = OptionKey::parse(k) {
                o.set_value(key, v)?;
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests;
