//! Stage three of an import, after decoding (`decode`) and header
//! matching (`header`): the rows of a users CSV, read and validated on
//! their own — each cell under its field's rule, repeated emails marked —
//! before anything is compared with the store (`plan`).

use crate::chars::{SHOWN_CHARS, group_thousands, shown, trim};
use crate::decode::{TextEncoding, decode, sniff_delimiter};
use crate::email::{Email, UserKey};
use crate::error::{ErrorCode, FileError, RowError};
use crate::field::Field;
use crate::header::ColumnMap;
use crate::options::Options;
use crate::patch::{Blank, ProfilePatch};
use std::collections::HashMap;

/// A data row after validation, before comparison with the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedRow {
    /// Line in the file where the record starts (1-based).
    pub line: u64,
    /// The email cell as given (trimmed) when it is not a valid address;
    /// empty otherwise (the address is in `email`).
    pub raw_email: String,
    pub email: Option<Email>,
    /// The row's validated profile values (a blank cell keeps the stored
    /// value).
    pub patch: ProfilePatch,
    pub errors: Vec<RowError>,
}

/// A validated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFile {
    pub encoding: TextEncoding,
    pub delimiter: u8,
    pub columns: ColumnMap,
    pub warnings: Vec<String>,
    pub rows: Vec<ParsedRow>,
}

impl ParsedFile {
    /// The distinct keys of the rows that have a valid email, sorted: what
    /// the caller must look up in the store. Borrowed (a million owned
    /// keys would be another 50 MB in the browser).
    pub fn keys(&self) -> Vec<&UserKey> {
        // Sorted by their first 16 bytes held beside them, then whole: most
        // comparisons then read no string (a million keys: 0.23 s → 0.10 s
        // natively, 0.30 s → 0.17 s in V8).
        let mut keys: Vec<(u128, &UserKey)> = self
            .rows
            .iter()
            .filter_map(|r| r.email.as_ref().map(Email::key))
            .map(|k| (leading_bytes(k.as_str()), k))
            .collect();
        keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
        let mut keys: Vec<&UserKey> = keys.into_iter().map(|(_, k)| k).collect();
        keys.dedup();
        keys
    }
}

/// The first 16 bytes of `s` as a number that orders as they do (shorter
/// strings padded with zeros, which sort before any other byte).
fn leading_bytes(s: &str) -> u128 {
    let mut bytes = [0u8; 16];
    let n = s.len().min(16);
    bytes[..n].copy_from_slice(&s.as_bytes()[..n]);
    u128::from_be_bytes(bytes)
}

/// Undoes the formula neutralisation of our own exports (`'=…` → `=…`), so
/// that an exported file imports again unchanged.
fn unneutralise(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@']) => rest,
        _ => cell,
    }
}

/// Finds the file line where each record starts. The csv reader's own
/// position is where it began reading, which can be before the terminator
/// of the previous record (CRLF) or before skipped blank lines; so the
/// line is counted here, from the first byte of the record itself, in one
/// pass over the text as records come in order. CR, LF and CRLF each end
/// a line.
pub(crate) struct LineCounter<'a> {
    text: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    pub(crate) fn new(text: &'a [u8]) -> Self {
        LineCounter {
            text,
            offset: 0,
            line: 1,
        }
    }

    pub(crate) fn line_of(&mut self, position: &csv::Position) -> u64 {
        let mut start = (position.byte() as usize).max(self.offset);
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        let start = start.min(self.text.len());
        let between = &self.text[self.offset..start];
        self.line += between
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && between.get(i + 1) != Some(&b'\n')))
            .count() as u64;
        self.offset = start;
        self.line
    }
}

/// Most columns a header row may have: far more than any users export, and
/// few enough that the file is refused before a row is read.
pub const MAX_COLUMNS: usize = 1_000;
/// Ignored-column warnings listed one by one; the rest are counted.
pub const LISTED_WARNINGS: usize = 20;

/// Where a quoted value opens that never closes, if any: the csv reader
/// would silently read the rest of the file as that one value. A quote
/// opens a quoted value only at the start of a field (as the csv reader
/// reads it); inside one, `""` is an escaped quote. Only quote positions
/// are visited.
fn open_quote_at(text: &[u8], delimiter: u8) -> Option<usize> {
    let mut quotes = memchr::memchr_iter(b'"', text);
    while let Some(open) = quotes.next() {
        let at_field_start =
            open == 0 || matches!(text[open - 1], b'\n' | b'\r') || text[open - 1] == delimiter;
        if !at_field_start {
            continue;
        }
        loop {
            let Some(close) = quotes.next() else {
                return Some(open);
            };
            if text.get(close + 1) != Some(&b'"') {
                break;
            }
            quotes.next(); // the second quote of an escaped pair
        }
    }
    None
}

/// Where a still-open quote began: the line of byte `at`.
fn line_of_byte(text: &[u8], at: usize) -> u64 {
    let before = &text[..at.min(text.len())];
    let lf = memchr::memchr_iter(b'\n', before).count();
    let lone_cr = memchr::memchr_iter(b'\r', before)
        .filter(|&i| before.get(i + 1) != Some(&b'\n'))
        .count();
    (lf + lone_cr) as u64 + 1
}

/// Reads and validates a users CSV. File-level problems are errors; row
/// problems are recorded in the rows. Never panics.
pub fn parse_file(bytes: &[u8], options: &Options) -> Result<ParsedFile, FileError> {
    parse_file_with_progress(bytes, options, &mut |_| {})
}

/// Rows read between two calls of a progress callback.
pub const PROGRESS_ROWS: usize = 16_384;

/// [`parse_file`], calling `progress` with the share of the decoded text
/// read so far (0.0–1.0) every [`PROGRESS_ROWS`] rows: the browser's
/// worker reports it to the page.
pub fn parse_file_with_progress(
    bytes: &[u8],
    options: &Options,
    progress: &mut dyn FnMut(f64),
) -> Result<ParsedFile, FileError> {
    let (text, encoding) = decode(bytes)?;
    let delimiter = sniff_delimiter(&text);
    if let Some(at) = open_quote_at(text.as_bytes(), delimiter) {
        return Err(FileError::UnclosedQuote {
            line: line_of_byte(text.as_bytes(), at),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut warnings = Vec::new();
    let malformed = |e: csv::Error| FileError::Malformed {
        line: e.position().map(|p| p.line()).unwrap_or(0),
        reason: e.to_string(),
    };
    let is_blank = |r: &csv::StringRecord| r.iter().all(|c| trim(c).is_empty());

    // Header row: the first non-blank record, after an optional
    // "version:v1.0" marker line (Entra's bulk-create template).
    let columns = loop {
        if !reader.read_record(&mut record).map_err(malformed)? {
            return Err(FileError::Empty);
        }
        if is_blank(&record) {
            continue;
        }
        let non_empty: Vec<&str> = record.iter().filter(|c| !c.trim().is_empty()).collect();
        if non_empty.len() == 1
            && non_empty[0]
                .trim()
                .to_ascii_lowercase()
                .starts_with("version:")
        {
            warnings.push(format!(
                "The first line \"{}\" is a template marker and was skipped.",
                non_empty[0].trim()
            ));
            continue;
        }
        if record.len() > MAX_COLUMNS {
            return Err(FileError::TooManyColumns {
                found: record.len() as u64,
                limit: MAX_COLUMNS as u64,
            });
        }
        break ColumnMap::from_headers(&record.iter().collect::<Vec<_>>())?;
    };
    for ignored in columns.ignored.iter().take(LISTED_WARNINGS) {
        let header = shown(&ignored.header, 80);
        warnings.push(match ignored.duplicate_of {
            Some(f) => format!(
                "Column {} \"{header}\" is ignored: another column already gives {}.",
                ignored.position,
                f.column()
            ),
            None => format!(
                "Column {} \"{header}\" is not a known field and is ignored.",
                ignored.position
            ),
        });
    }
    if columns.ignored.len() > LISTED_WARNINGS {
        warnings.push(format!(
            "… and {} more ignored columns.",
            group_thousands((columns.ignored.len() - LISTED_WARNINGS) as u64)
        ));
    }

    let width = columns.headers.len();
    let email_col = columns.column_of(Field::Email).unwrap_or(0);
    // Sized once from the line count: growing the vector of a million rows
    // would copy it several times and, while it grows, hold the old and
    // the new one (in the browser's wasm memory, which never shrinks, that
    // is the preview's peak). Bounded: a real row has at least 9 bytes
    // ("a@b.c,x,y"), and there are never more than `max_rows` (then the
    // file is refused); memory reserved and not written is not used.
    let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count() as u64 + 1;
    let capacity = lines
        .min(text.len() as u64 / 9 + 1)
        .min(options.max_rows.saturating_add(1));
    let mut rows: Vec<ParsedRow> = Vec::with_capacity(capacity as usize);
    let mut lines = LineCounter::new(text.as_bytes());
    while reader.read_record(&mut record).map_err(malformed)? {
        if is_blank(&record) {
            continue;
        }
        if rows.len() as u64 >= options.max_rows {
            return Err(FileError::TooManyRows {
                limit: options.max_rows,
            });
        }
        let line = record.position().map(|p| lines.line_of(p)).unwrap_or(0);
        if rows.len().is_multiple_of(PROGRESS_ROWS) && !rows.is_empty() {
            let at = record.position().map_or(0, |p| p.byte());
            progress(at as f64 / text.len().max(1) as f64);
        }
        let mut errors = Vec::new();
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(|c| unneutralise(trim(c)))
                .unwrap_or("")
        };

        if record.len() > width && record.iter().skip(width).any(|c| !trim(c).is_empty()) {
            let extra = record.iter().skip(width).collect::<Vec<_>>().join(",");
            errors.push(RowError {
                line,
                column: String::new(),
                value: shown(&extra, SHOWN_CHARS).into_owned(),
                code: ErrorCode::TooManyCells,
                message: format!(
                    "the row has {} cells but the header has {width}: is a value with a \
                     delimiter missing its quotes?",
                    record.len()
                ),
            });
        }

        let email_cell = cell(Some(email_col));
        let mut raw_email = String::new();
        let email = match Email::parse(email_cell) {
            Ok(e) => Some(e),
            Err(e) => {
                raw_email = shown(email_cell, SHOWN_CHARS).into_owned();
                let err = Field::Email.validate(email_cell).err();
                errors.push(RowError {
                    line,
                    column: Field::Email.column().into(),
                    value: raw_email.clone(),
                    code: err.map(|e| e.code).unwrap_or(ErrorCode::InvalidEmail),
                    message: e.to_string(),
                });
                None
            }
        };

        let raws = Field::PROFILE.map(|field| cell(columns.column_of(field)));
        // The profile cells' bytes are what the patch holds (and, through
        // `into_profile`, the created user keeps): reserved exactly, not
        // the whole row's (a wide export's other columns would stay with
        // every user). A huge cell is refused, so the reservation is capped.
        let held: usize = raws.iter().map(|r| r.len()).sum();
        let mut patch = ProfilePatch::with_capacity(held.min(1024));
        for (field, raw) in Field::PROFILE.into_iter().zip(raws) {
            if let Err(e) = patch.set(field, raw, Blank::Keep) {
                errors.push(RowError {
                    line,
                    column: field.column().into(),
                    // A 10 MB cell is not carried (nor shown) whole.
                    value: shown(raw, SHOWN_CHARS).into_owned(),
                    code: e.code,
                    message: e.message,
                });
            }
        }

        rows.push(ParsedRow {
            line,
            raw_email,
            email,
            patch,
            errors,
        });
    }
    mark_duplicates(&mut rows);
    Ok(ParsedFile {
        encoding,
        delimiter,
        columns,
        warnings,
        rows,
    })
}

/// Makes every row whose key already appeared on an earlier row Invalid
/// ("duplicate of line N"). Keys are borrowed, not copied.
fn mark_duplicates(rows: &mut [ParsedRow]) {
    let duplicates: Vec<(usize, u64)> = {
        let mut first_line_of: HashMap<&str, u64, foldhash::fast::RandomState> =
            HashMap::with_capacity_and_hasher(rows.len(), foldhash::fast::RandomState::default());
        rows.iter()
            .enumerate()
            .filter_map(|(i, r)| {
                let key = r.email.as_ref()?.key().as_str();
                match first_line_of.get(key) {
                    Some(first) => Some((i, *first)),
                    None => {
                        first_line_of.insert(key, r.line);
                        None
                    }
                }
            })
            .collect()
    };
    for (i, first) in duplicates {
        let row = &mut rows[i];
        row.errors.push(RowError {
            line: row.line,
            column: Field::Email.column().into(),
            value: row
                .email
                .as_ref()
                .map(|e| e.as_str().to_string())
                .unwrap_or_default(),
            code: ErrorCode::Duplicate,
            message: format!("duplicate of line {first}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The keys come out distinct and in the order of their bytes,
        /// whatever their lengths and shared beginnings.
        #[test]
        fn keys_are_distinct_and_sorted_by_their_bytes(
            locals in proptest::collection::vec("[a-c.]{0,20}", 1..60),
        ) {
            let mut csv = String::from("email,first_name,last_name\n");
            for (i, local) in locals.iter().enumerate() {
                // Long shared beginnings, some repeated addresses.
                csv.push_str(&format!("x{local}{}@example.org,A,B\n", i % 7));
            }
            let parsed = parse_file(csv.as_bytes(), &crate::Options::default()).unwrap();
            let keys: Vec<&str> = parsed.keys().iter().map(|k| k.as_str()).collect();
            let mut expected: Vec<&str> = parsed
                .rows
                .iter()
                .filter_map(|r| r.email.as_ref().map(|e| e.key().as_str()))
                .collect();
            expected.sort_unstable();
            expected.dedup();
            prop_assert_eq!(keys, expected);
        }
    }

    #[test]
    fn leading_bytes_order_as_the_strings_do() {
        let words = [
            "",
            "a",
            "ab",
            "ab\u{1}",
            "abc",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "b",
        ];
        for pair in words.windows(2) {
            assert!(leading_bytes(pair[0]) <= leading_bytes(pair[1]), "{pair:?}");
        }
        assert!(leading_bytes("a") < leading_bytes("b"));
    }

    #[test]
    fn a_quote_opens_a_value_only_at_the_start_of_a_field() {
        // A quote in the middle of an unquoted value opens nothing.
        assert_eq!(open_quote_at(b"a,b\"c\n", b','), None);
        assert_eq!(open_quote_at(b"a,\"b\n", b','), Some(2));
        assert_eq!(open_quote_at(b"a;\"b\"\n\"c", b';'), Some(6));
        // An escaped quote does not close the value.
        assert_eq!(open_quote_at(b"\"a\"\"", b','), Some(0));
        assert_eq!(line_of_byte(b"a\r\nb\rc\nd", 9), 4);
    }

    #[test]
    fn progress_rises_through_the_text_and_changes_nothing() {
        let mut file = String::from("email,first_name,last_name\n");
        for i in 0..(PROGRESS_ROWS * 3 + 5) {
            file.push_str(&format!("u{i}@x.org,U,{i}\n"));
        }
        let options = Options::default();
        let mut seen = Vec::new();
        let parsed =
            parse_file_with_progress(file.as_bytes(), &options, &mut |p| seen.push(p)).unwrap();
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
        assert!(seen.iter().all(|p| (0.0..1.0).contains(p)), "{seen:?}");
        assert_eq!(parsed, parse_file(file.as_bytes(), &options).unwrap());
    }
}
