//! Errors as data: what went wrong, where, and a message a person can act on.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Machine-readable reason for a rejected cell or row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    Required,
    TooLong,
    ControlCharacter,
    InvalidEmail,
    InvalidPhone,
    Duplicate,
    TooManyCells,
    /// A field the user may not change (self-service edit).
    NotEditable,
    /// An email given where a profile field is expected
    /// (`Profile::set`, `ProfilePatch::set`).
    WrongField,
    /// The actor may not change this user (the privilege rule).
    NotAllowed,
    /// A bidi control or invisible format character (see `chars`).
    InvisibleCharacter,
}

/// One problem in one row: the line where the record starts in the file, the
/// canonical column name, the offending value and a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub value: String,
    pub code: ErrorCode,
    pub message: String,
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Why a whole file cannot be read as a users CSV. Nothing is planned then.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileError {
    /// No bytes, or nothing but white space / blank lines.
    Empty,
    /// The bytes are not text in any encoding we accept.
    Undecodable { reason: String },
    /// A required column is absent; `found` lists the headers that were there.
    MissingColumn {
        column: String,
        found: Vec<String>,
        accepted: Vec<String>,
    },
    /// More data rows than `import.max_rows`.
    TooManyRows { limit: u64 },
    /// The CSV structure itself is broken.
    Malformed { line: u64, reason: String },
    /// The header row has more columns than anyone's users file needs.
    TooManyColumns { found: u64, limit: u64 },
    /// A quoted value opens on `line` and never closes: the rest of the
    /// file would be one cell.
    UnclosedQuote { line: u64 },
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Empty => write!(f, "The file is empty: it has no header row and no users."),
            FileError::Undecodable { reason } => {
                write!(f, "The file cannot be read as text: {reason}")
            }
            FileError::MissingColumn {
                column,
                found,
                accepted,
            } => {
                // A hostile header row can be long: the first 20 headers,
                // each cut, and a count of the rest.
                let listed = 20;
                let mut text = found
                    .iter()
                    .take(listed)
                    .map(|h| format!("\"{}\"", crate::chars::shown(h, 80)))
                    .collect::<Vec<_>>()
                    .join(", ");
                if found.is_empty() {
                    text = "none".into();
                } else if found.len() > listed {
                    text.push_str(&format!(" and {} more", found.len() - listed));
                }
                let found = text;
                write!(
                    f,
                    "The required column \"{column}\" is missing. Headers found: {found}. \
                     Accepted names for it: {}.",
                    accepted.join(", ")
                )
            }
            FileError::TooManyRows { limit } => write!(
                f,
                "The file has more than {limit} rows, the limit set in import.max_rows. \
                 Split it into smaller files."
            ),
            FileError::Malformed { line, reason } => {
                write!(f, "The file is not valid CSV at line {line}: {reason}")
            }
            FileError::TooManyColumns { found, limit } => write!(
                f,
                "The header row has {} columns; a users file has at most {}. \
                 Is this the right file, with the right delimiter?",
                crate::chars::group_thousands(*found),
                crate::chars::group_thousands(*limit)
            ),
            FileError::UnclosedQuote { line } => write!(
                f,
                "A quoted value starts on line {line} and is never closed, so the rest of the \
                 file would be read as one value. Check line {line} for a missing closing \
                 quote (\") or a stray quote at the start of a value."
            ),
        }
    }
}

impl std::error::Error for FileError {}
