//! The parser of filters and PATCH paths: a cursor over the text, one
//! method a grammar rule (RFC 7644 §3.4.2.2, Figure 1), the nesting depth
//! counted as it goes.

use super::{AttrPath, CompValue, CompareOp, Filter, MAX_DEPTH, MAX_FILTER_CHARS};
use crate::scim::error::{ScimError, ScimType};

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) pos: usize,
    depth: usize,
    in_brackets: bool,
    kind: ScimType,
}

impl<'a> Parser<'a> {
    /// A parser at the first non-blank character of `src`; an empty or
    /// too long text is refused here. Errors carry `kind`'s `scimType`.
    pub(super) fn start(src: &'a str, kind: ScimType) -> Result<Parser<'a>, ScimError> {
        let mut p = Parser {
            src,
            pos: 0,
            depth: 0,
            in_brackets: false,
            kind,
        };
        if src.len() > MAX_FILTER_CHARS && src.chars().count() > MAX_FILTER_CHARS {
            return Err(p.whole(&format!("it is longer than {MAX_FILTER_CHARS} characters")));
        }
        p.skip_ws();
        if p.at_end() {
            return Err(p.whole("it is empty"));
        }
        Ok(p)
    }

    /// "Invalid filter at character 12: …" (1-based, in characters).
    pub(super) fn error(&self, at: usize, why: &str) -> ScimError {
        let n = self.src.char_indices().take_while(|(i, _)| *i < at).count() + 1;
        self.whole(&format!("at character {n}: {why}"))
    }

    /// An error about the text as a whole ("Invalid filter: …").
    pub(super) fn whole(&self, why: &str) -> ScimError {
        let what = match self.kind {
            ScimType::InvalidPath => "path",
            _ => "filter",
        };
        let sep = if why.starts_with("at ") { " " } else { ": " };
        ScimError::bad_request(self.kind, format!("Invalid {what}{sep}{why}"))
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn at_end(&self) -> bool {
        self.pos >= self.src.len()
    }

    pub(super) fn skip_ws(&mut self) {
        let rest = &self.src[self.pos..];
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t', '\r', '\n']).len();
    }

    /// A run of characters up to white space, a bracket or a quote.
    pub(super) fn word(&mut self) -> &'a str {
        let rest = &self.src[self.pos..];
        let end = rest
            .find(|c: char| c.is_ascii_whitespace() || "()[]\"".contains(c))
            .unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    pub(super) fn finish(&mut self) -> Result<(), ScimError> {
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

    pub(super) fn or_expr(&mut self) -> Result<Filter, ScimError> {
        self.chain("or", Self::and_expr, Filter::Or)
    }

    fn and_expr(&mut self) -> Result<Filter, ScimError> {
        self.chain("and", Self::unary, Filter::And)
    }

    /// `operand (keyword operand)*`, one n-ary node when there are two
    /// or more.
    fn chain(
        &mut self,
        keyword: &str,
        operand: fn(&mut Self) -> Result<Filter, ScimError>,
        node: fn(Vec<Filter>) -> Filter,
    ) -> Result<Filter, ScimError> {
        let mut items = vec![operand(self)?];
        while self.keyword(keyword) {
            items.push(operand(self)?);
        }
        Ok(match items.len() {
            1 => items.pop().expect("one item"),
            _ => node(items),
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
    pub(super) fn bracket(&mut self) -> Result<Filter, ScimError> {
        self.enter()?;
        self.pos += 1;
        self.in_brackets = true;
        let inner = self.or_expr();
        self.in_brackets = false;
        let inner = inner?;
        self.expect(']')?;
        Ok(inner)
    }

    pub(super) fn attr_path(&self, start: usize, word: &str) -> Result<AttrPath, ScimError> {
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
pub(super) fn check_name(name: &str) -> Result<(), &'static str> {
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
