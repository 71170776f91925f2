//! The SCIM filter language (RFC 7644 §3.4.2.2): an AST, a parser, a
//! printer, the PATCH `path` rule (§3.5.2, Figure 7) and, in `eval`, the
//! evaluation of a filter against a user.
//!
//! Written here rather than taken from a crate. Of the crates.io filter
//! parsers, `scim_v2` 1.0 is well kept (rust-version 1.86, depth and term
//! caps) and `scim-filter` 0.2 is not (nom 7, chrono, rust_decimal). But
//! `scim_v2` brings a generated LALRPOP parser (15 000 lines) with
//! `lalrpop-util`'s regex lexer and `fluent-uri` into a crate built for
//! the browser too, on a 2-core build machine, for a grammar of about
//! twenty rules; and its errors would have to be mapped back to positions
//! and `scimType`s anyway. The grammar is small enough to own: limits
//! (length, nesting) checked as the parser goes, errors that say where,
//! and an AST shaped for the evaluator and the index look-up
//! ([`Filter::equality_on_username`]).
//!
//! Hostile input: at most [`MAX_FILTER_CHARS`] characters and
//! [`MAX_DEPTH`] levels of `( )`, `not ( )` and `[ ]`; `and` / `or`
//! chains are flat (n-ary nodes), so their length costs no depth and the
//! parser's recursion is bounded by the nesting limit.

mod eval;
mod parse;
#[cfg(test)]
mod tests;

pub use eval::matches;
pub(crate) use eval::{Element, check_element_filter, json_bool, matches_element};

use super::error::{ScimError, ScimType};
use parse::{Parser, check_name};
use std::fmt::{self, Write as _};

/// Longest filter (or PATCH path) accepted, in characters.
pub const MAX_FILTER_CHARS: usize = 4096;
/// Deepest nesting of `( )`, `not ( )` and `[ ]` accepted.
pub const MAX_DEPTH: usize = 32;

/// `[urn ":"] name ["." sub]`. Spelling is kept as written (printing
/// gives it back); names and URNs compare case-insensitively wherever
/// they are resolved (RFC 7644 §3.10).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub name: String,
    pub sub: Option<String>,
}

impl AttrPath {
    /// A bare attribute name (`title`).
    pub fn name(name: &str) -> AttrPath {
        AttrPath {
            urn: None,
            name: name.into(),
            sub: None,
        }
    }

    /// Whether this is `[core URN:]name` for `name` without a
    /// sub-attribute (case-insensitive).
    pub(crate) fn is_core(&self, name: &str) -> bool {
        self.sub.is_none()
            && self.name.eq_ignore_ascii_case(name)
            && self
                .urn
                .as_deref()
                .is_none_or(|u| u.eq_ignore_ascii_case(super::CORE_USER_URN))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CompareOp {
    pub const ALL: [CompareOp; 9] = [
        CompareOp::Eq,
        CompareOp::Ne,
        CompareOp::Co,
        CompareOp::Sw,
        CompareOp::Ew,
        CompareOp::Gt,
        CompareOp::Ge,
        CompareOp::Lt,
        CompareOp::Le,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Eq => "eq",
            CompareOp::Ne => "ne",
            CompareOp::Co => "co",
            CompareOp::Sw => "sw",
            CompareOp::Ew => "ew",
            CompareOp::Gt => "gt",
            CompareOp::Ge => "ge",
            CompareOp::Lt => "lt",
            CompareOp::Le => "le",
        }
    }

    /// In any letter case.
    pub fn parse(word: &str) -> Option<CompareOp> {
        CompareOp::ALL
            .into_iter()
            .find(|op| op.as_str().eq_ignore_ascii_case(word))
    }
}

/// A comparison value: JSON `null`, `true`/`false`, a number (its text,
/// checked against JSON's grammar, so equality is exact) or a string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CompValue {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
}

/// A parsed filter. `And` and `Or` hold at least two operands; the parser
/// flattens `a and b and c` into one node, a parenthesised operand stays
/// a node of its own (so printing and parsing again give the same tree).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Filter {
    Compare {
        path: AttrPath,
        op: CompareOp,
        value: CompValue,
    },
    Present(AttrPath),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    /// `emails[type eq "work"]`: the inner filter applies to each value of
    /// the multi-valued attribute `path`, with its sub-attributes as names.
    ValuePath {
        path: AttrPath,
        filter: Box<Filter>,
    },
}

/// A PATCH `path` (RFC 7644 §3.5.2, Figure 7): `attrPath`, or
/// `valuePath` with an optional sub-attribute after the `]`
/// (`emails[type eq "work"].value`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after `]` (with a filter only).
    pub sub: Option<String>,
}

impl Filter {
    /// Parses a filter, refusing it (400 `invalidFilter`, with the place)
    /// when it is malformed, longer than [`MAX_FILTER_CHARS`] or nested
    /// deeper than [`MAX_DEPTH`].
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        let mut p = Parser::start(text, ScimType::InvalidFilter)?;
        let f = p.or_expr()?;
        p.finish()?;
        Ok(f)
    }

    /// Checks the filter against the User schema without a user: every
    /// attribute known, every operator allowed on its type (400
    /// `invalidFilter` otherwise). [`matches()`] checks too; this lets the
    /// wiring refuse a bad filter before it reads any user.
    pub fn validate(&self) -> Result<(), ScimError> {
        eval::check(self, None)
    }

    /// The address `userName eq "x"` asks for, when the filter can only
    /// match users whose userName equals it (case-insensitively): the
    /// filter itself or an operand of a top-level `and`. The wiring then
    /// reads that one user and still applies [`matches()`] to it.
    pub fn equality_on_username(&self) -> Option<&str> {
        self.equality_on("userName")
    }

    /// The value of `externalId eq "…"` when the filter is one (or an
    /// `and` holding one): the users with that externalId are looked up.
    pub fn equality_on_external_id(&self) -> Option<&str> {
        self.equality_on("externalId")
    }

    fn equality_on(&self, name: &str) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(s),
            } if path.is_core(name) => Some(s),
            Filter::And(items) => items.iter().find_map(|f| f.equality_on(name)),
            _ => None,
        }
    }
}

impl PatchPath {
    /// Parses a PATCH path; a malformed one is 400 `invalidPath`.
    pub fn parse(text: &str) -> Result<PatchPath, ScimError> {
        let mut p = Parser::start(text, ScimType::InvalidPath)?;
        let start = p.pos;
        let word = p.word();
        let attr = p.attr_path(start, word)?;
        let (mut filter, mut sub) = (None, None);
        if p.peek() == Some('[') {
            if attr.sub.is_some() {
                return Err(p.error(
                    p.pos,
                    "a [ ] filter follows an attribute, not a sub-attribute",
                ));
            }
            filter = Some(p.bracket()?);
            if p.peek() == Some('.') {
                p.pos += 1;
                let at = p.pos;
                let name = p.word();
                check_name(name).map_err(|why| p.error(at, why))?;
                sub = Some(name.to_string());
            }
        }
        p.finish()?;
        Ok(PatchPath { attr, filter, sub })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.name)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

impl fmt::Display for CompValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(b) => write!(f, "{b}"),
            CompValue::Number(n) => f.write_str(n),
            CompValue::Str(s) => {
                f.write_char('"')?;
                for c in s.chars() {
                    match c {
                        '"' => f.write_str("\\\"")?,
                        '\\' => f.write_str("\\\\")?,
                        '\n' => f.write_str("\\n")?,
                        '\r' => f.write_str("\\r")?,
                        '\t' => f.write_str("\\t")?,
                        c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                        c => f.write_char(c)?,
                    }
                }
                f.write_char('"')
            }
        }
    }
}

/// Where a filter is printed: parentheses are written only where parsing
/// would otherwise build another tree.
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Top,
    InOr,
    InAnd,
}

fn write_filter(f: &mut fmt::Formatter<'_>, filter: &Filter, place: Place) -> fmt::Result {
    let list =
        |f: &mut fmt::Formatter<'_>, items: &[Filter], sep: &str, inner: Place, paren: bool| {
            if paren {
                f.write_char('(')?;
            }
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(sep)?;
                }
                write_filter(f, item, inner)?;
            }
            if paren {
                f.write_char(')')?;
            }
            Ok(())
        };
    match filter {
        Filter::Compare { path, op, value } => write!(f, "{path} {} {value}", op.as_str()),
        Filter::Present(path) => write!(f, "{path} pr"),
        // An `or` inside an `or` would be flattened, inside an `and` it
        // would bind looser: both need parentheses.
        Filter::Or(items) => list(f, items, " or ", Place::InOr, place != Place::Top),
        Filter::And(items) => list(f, items, " and ", Place::InAnd, place == Place::InAnd),
        Filter::Not(inner) => {
            f.write_str("not (")?;
            write_filter(f, inner, Place::Top)?;
            f.write_char(')')
        }
        Filter::ValuePath { path, filter } => {
            write!(f, "{path}[")?;
            write_filter(f, filter, Place::Top)?;
            f.write_char(']')
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_filter(f, self, Place::Top)
    }
}

impl fmt::Display for PatchPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.attr)?;
        if let Some(filter) = &self.filter {
            f.write_char('[')?;
            write_filter(f, filter, Place::Top)?;
            f.write_char(']')?;
        }
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}
