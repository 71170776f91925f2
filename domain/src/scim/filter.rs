//! The SCIM filter language (RFC 7644 §3.4.2.2): an AST, a parser, a
//! printer, the PATCH `path` rule (§3.5.2, Figure 7) and, in [`eval`], the
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
#[cfg(test)]
mod tests;

pub use eval::matches;
pub(crate) use eval::{Element, check_element_filter, json_bool, matches_element};

use super::error::{ScimError, ScimType};
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
        let mut p = Parser::new(text, ScimType::InvalidFilter)?;
        p.skip_ws();
        if p.at_end() {
            return Err(p.whole("it is empty"));
        }
        let f = p.or_expr()?;
        p.finish()?;
        Ok(f)
    }

    /// The address `userName eq "x"` asks for, when the filter can only
    /// match users whose userName equals it (case-insensitively): the
    /// filter itself or an operand of a top-level `and`. The wiring then
    /// reads that one user and still applies [`matches`] to it.
    pub fn equality_on_username(&self) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: CompareOp::Eq,
                value: CompValue::Str(s),
            } if path.is_core("userName") => Some(s),
            Filter::And(items) => items.iter().find_map(Filter::equality_on_username),
            _ => None,
        }
    }
}

impl PatchPath {
    /// Parses a PATCH path; a malformed one is 400 `invalidPath`.
    pub fn parse(text: &str) -> Result<PatchPath, ScimError> {
        let mut p = Parser::new(text, ScimType::InvalidPath)?;
        p.skip_ws();
        let start = p.pos;
        let word = p.word();
        if word.is_empty() {
            return Err(p.whole("it is empty"));
        }
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

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    in_brackets: bool,
    kind: ScimType,
}

impl<'a> Parser<'a> {
    fn new(src: &'a str, kind: ScimType) -> Result<Parser<'a>, ScimError> {
        let p = Parser {
            src,
            pos: 0,
            depth: 0,
            in_brackets: false,
            kind,
        };
        if src.len() > MAX_FILTER_CHARS && src.chars().count() > MAX_FILTER_CHARS {
            return Err(p.whole(&format!("it is longer than {MAX_FILTER_CHARS} characters")));
        }
        Ok(p)
    }

    /// "Invalid filter at character 12: …" (1-based, in characters).
    fn error(&self, at: usize, why: &str) -> ScimError {
        let n = self.src.char_indices().take_while(|(i, _)| *i < at).count() + 1;
        self.whole(&format!("at character {n}: {why}"))
    }

    /// An error about the text as a whole ("Invalid filter: …").
    fn whole(&self, why: &str) -> ScimError {
        let what = match self.kind {
            ScimType::InvalidPath => "path",
            _ => "filter",
        };
        let sep = if why.starts_with("at ") { " " } else { ": " };
        ScimError::bad_request(self.kind, format!("Invalid {what}{sep}{why}"))
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    fn skip_ws(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
    }

    /// A run of characters up to white space, a bracket or a quote.
    fn word(&mut self) -> &'a str {
        let rest = &self.src[self.pos..];
        let end = rest
            .find(|c: char| c.is_ascii_whitespace() || "()[]\"".contains(c))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn finish(&mut self) -> Result<(), ScimError> {
        self.skip_ws();
        match self.peek() {
            None => Ok(()),
            Some(c) => Err(self.error(self.pos, &format!("unexpected \"{c}\""))),
        }
    }

    fn enter(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(self.pos, &format!("nested deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    fn expect(&mut self, close: char) -> Result<(), ScimError> {
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        let found = match self.peek() {
            None => "the end".to_string(),
            Some(c) => format!("\"{c}\""),
        };
        Err(self.error(self.pos, &format!("expected \"{close}\", found {found}")))
    }

    /// Peeks the next word; consumes it when it is `keyword`.
    fn keyword(&mut self, keyword: &str) -> bool {
        let save = self.pos;
        self.skip_ws();
        if self.word().eq_ignore_ascii_case(keyword) {
            return true;
        }
        self.pos = save;
        false
    }

    fn or_expr(&mut self) -> Result<Filter, ScimError> {
        let mut items = vec![self.and_expr()?];
        while self.keyword("or") {
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Filter::Or(items)
        })
    }

    fn and_expr(&mut self) -> Result<Filter, ScimError> {
        let mut items = vec![self.unary()?];
        while self.keyword("and") {
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.pop().expect("one item")
        } else {
            Filter::And(items)
        })
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None => return Err(self.error(start, "unexpected end: an expression is missing")),
            Some('(') => {
                self.enter()?;
                self.pos += 1;
                let inner = self.or_expr()?;
                self.expect(')')?;
                return Ok(inner);
            }
            Some(c) if ")]\"".contains(c) => {
                return Err(self.error(start, &format!("expected an attribute, found \"{c}\"")));
            }
            _ => {}
        }
        let word = self.word();
        if word.eq_ignore_ascii_case("not") {
            let after = self.pos;
            self.skip_ws();
            if self.peek() == Some('(') {
                self.enter()?;
                self.pos += 1;
                let inner = self.or_expr()?;
                self.expect(')')?;
                return Ok(Filter::Not(Box::new(inner)));
            }
            self.pos = after; // an attribute called "not"
        }
        let path = self.attr_path(start, word)?;
        self.skip_ws();
        if self.peek() == Some('[') {
            if self.in_brackets {
                return Err(self.error(self.pos, "a [ ] filter cannot hold another"));
            }
            let filter = Box::new(self.bracket()?);
            return Ok(Filter::ValuePath { path, filter });
        }
        let at = self.pos;
        let op = self.word();
        if op.eq_ignore_ascii_case("pr") {
            return Ok(Filter::Present(path));
        }
        let Some(op) = CompareOp::parse(op) else {
            let why = if op.is_empty() {
                "an operator is missing (eq, ne, co, sw, ew, gt, ge, lt, le or pr)".to_string()
            } else {
                format!(
                    "the operator '{op}' is not supported (eq, ne, co, sw, ew, gt, ge, lt, le, pr)"
                )
            };
            return Err(self.error(at, &why));
        };
        let value = self.value()?;
        Ok(Filter::Compare { path, op, value })
    }

    /// `[ valFilter ]`, the opening bracket next.
    fn bracket(&mut self) -> Result<Filter, ScimError> {
        self.enter()?;
        self.pos += 1;
        self.in_brackets = true;
        let inner = self.or_expr();
        self.in_brackets = false;
        let inner = inner?;
        self.expect(']')?;
        Ok(inner)
    }

    fn attr_path(&self, start: usize, word: &str) -> Result<AttrPath, ScimError> {
        let (urn, rest) = match word.rsplit_once(':') {
            Some((urn, rest)) => {
                if !urn.get(..4).is_some_and(|u| u.eq_ignore_ascii_case("urn:")) {
                    return Err(self.error(start, "a schema prefix is a URN (urn:…)"));
                }
                (Some(urn.to_string()), rest)
            }
            None => (None, word),
        };
        let at = start + word.len() - rest.len();
        let (name, sub) = match rest.split_once('.') {
            Some((n, s)) => (n, Some(s)),
            None => (rest, None),
        };
        check_name(name).map_err(|why| self.error(at, why))?;
        if let Some(s) = sub {
            check_name(s).map_err(|why| self.error(at + name.len() + 1, why))?;
        }
        Ok(AttrPath {
            urn,
            name: name.into(),
            sub: sub.map(Into::into),
        })
    }

    fn value(&mut self) -> Result<CompValue, ScimError> {
        self.skip_ws();
        let start = self.pos;
        if self.peek() == Some('"') {
            return self.string().map(CompValue::Str);
        }
        let word = self.word();
        let value = match word.to_ascii_lowercase().as_str() {
            "true" => CompValue::Bool(true),
            "false" => CompValue::Bool(false),
            "null" => CompValue::Null,
            _ if is_json_number(word) => CompValue::Number(word.into()),
            _ => {
                let found = if word.is_empty() {
                    "nothing".to_string()
                } else {
                    format!("'{word}'")
                };
                let why = format!(
                    "expected a value (a JSON string in double quotes, a number, true, false or null), found {found}"
                );
                return Err(self.error(start, &why));
            }
        };
        Ok(value)
    }

    /// A JSON string (RFC 8259 §7), the opening quote next.
    fn string(&mut self) -> Result<String, ScimError> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.src[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err(self.error(start, "this string is never closed"));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let e = self
                        .peek()
                        .ok_or_else(|| self.error(at, "unfinished escape"))?;
                    self.pos += e.len_utf8();
                    out.push(match e {
                        '"' => '"',
                        '\\' => '\\',
                        '/' => '/',
                        'b' => '\u{8}',
                        'f' => '\u{c}',
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        'u' => self.unicode_escape(at)?,
                        _ => return Err(self.error(at, &format!("unknown escape \"\\{e}\""))),
                    });
                }
                c if (c as u32) < 0x20 => {
                    return Err(self.error(at, "a control character in a string must be escaped"));
                }
                c => out.push(c),
            }
        }
    }

    /// After `\u`: four hex digits, and a low surrogate's escape after a
    /// high one.
    fn unicode_escape(&mut self, at: usize) -> Result<char, ScimError> {
        let high = self.hex4(at)?;
        let code = if (0xD800..0xDC00).contains(&high) {
            if !self.src[self.pos..].starts_with("\\u") {
                return Err(self.error(at, "a lone surrogate in a \\u escape"));
            }
            self.pos += 2;
            let low = self.hex4(at)?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(self.error(at, "a lone surrogate in a \\u escape"));
            }
            0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
        } else {
            high
        };
        char::from_u32(code).ok_or_else(|| self.error(at, "a lone surrogate in a \\u escape"))
    }

    fn hex4(&mut self, at: usize) -> Result<u32, ScimError> {
        let digits = self.src.get(self.pos..self.pos + 4).unwrap_or("");
        if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.error(at, "\\u needs four hex digits"));
        }
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| self.error(at, "\\u needs four hex digits"))
    }
}

/// `ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_")`.
fn check_name(name: &str) -> Result<(), &'static str> {
    let mut chars = name.chars();
    match chars.next() {
        None => Err("an attribute name is missing"),
        Some(c) if !c.is_ascii_alphabetic() => Err("an attribute name starts with a letter"),
        _ if !chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') => {
            Err("an attribute name has only letters, digits, - and _")
        }
        _ => Ok(()),
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_json_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'-'));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let int_start = i;
    match digits(&mut i) {
        0 => return false,
        n if n > 1 && b[int_start] == b'0' => return false,
        _ => {}
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
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
