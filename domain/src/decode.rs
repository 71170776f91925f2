//! From bytes to text: encoding detection and delimiter sniffing.

use crate::error::FileError;
use encoding_rs::{UTF_16BE, UTF_16LE, WINDOWS_1252};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// The encoding a file was read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
    Windows1252,
}

impl TextEncoding {
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Utf8Bom => "UTF-8 (with BOM)",
            TextEncoding::Utf16Le => "UTF-16 LE",
            TextEncoding::Utf16Be => "UTF-16 BE",
            TextEncoding::Windows1252 => "Windows-1252",
        }
    }
}

/// Decodes a file: UTF-8 with or without BOM, UTF-16 LE/BE with BOM, and
/// otherwise Windows-1252 when the bytes are not valid UTF-8. Valid UTF-8 is
/// borrowed, not copied. Text with NUL characters is refused: it is binary,
/// or UTF-16 without a byte-order mark.
pub fn decode(bytes: &[u8]) -> Result<(Cow<'_, str>, TextEncoding), FileError> {
    if let Some(kind) = binary_kind(bytes) {
        return Err(FileError::Undecodable {
            reason: format!(
                "it is {kind}, not CSV text. Save the sheet as \"CSV UTF-8\" and choose that file."
            ),
        });
    }
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        match std::str::from_utf8(rest) {
            Ok(t) => (Cow::Borrowed(t), TextEncoding::Utf8Bom),
            Err(e) => {
                return Err(FileError::Undecodable {
                    reason: format!(
                        "it starts with a UTF-8 byte-order mark but byte {} is not valid UTF-8",
                        e.valid_up_to() + 3
                    ),
                });
            }
        }
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (utf16(UTF_16LE, rest, "UTF-16 LE")?, TextEncoding::Utf16Le)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (utf16(UTF_16BE, rest, "UTF-16 BE")?, TextEncoding::Utf16Be)
    } else {
        match std::str::from_utf8(bytes) {
            Ok(t) => (Cow::Borrowed(t), TextEncoding::Utf8),
            Err(_) => {
                let (t, _) = WINDOWS_1252.decode_without_bom_handling(bytes);
                (t, TextEncoding::Windows1252)
            }
        }
    };
    if text.contains('\0') {
        return Err(FileError::Undecodable {
            reason: "it contains NUL bytes, so it is a binary file or UTF-16 text without a \
                     byte-order mark. Save it as \"CSV UTF-8\"."
                .into(),
        });
    }
    if text.trim().is_empty() {
        return Err(FileError::Empty);
    }
    Ok((text, encoding))
}

/// What a file is when its first bytes are those of a common binary format
/// that people pick by mistake.
fn binary_kind(bytes: &[u8]) -> Option<&'static str> {
    const KINDS: [(&[u8], &str); 4] = [
        (
            b"PK\x03\x04",
            "a ZIP archive (an Excel .xlsx or an .ods workbook is one)",
        ),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an old Excel .xls workbook",
        ),
        (b"%PDF-", "a PDF document"),
        (b"\x1F\x8B", "a gzip-compressed file"),
    ];
    KINDS
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, kind)| *kind)
}

fn utf16<'a>(
    enc: &'static encoding_rs::Encoding,
    bytes: &'a [u8],
    name: &str,
) -> Result<Cow<'a, str>, FileError> {
    enc.decode_without_bom_handling_and_without_replacement(bytes)
        .ok_or_else(|| FileError::Undecodable {
            reason: format!("it starts with a {name} byte-order mark but is not valid {name}"),
        })
}

/// Picks the delimiter among `,` `;` TAB and `|`: the one that occurs most
/// often, outside quotes, in the first non-blank line (the header row).
/// Ties and header rows with none of them give `,`.
pub fn sniff_delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [0usize; 4];
    let candidates = [b',', b';', b'\t', b'|'];
    let mut in_quotes = false;
    for b in header.bytes() {
        if b == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes && let Some(i) = candidates.iter().position(|c| *c == b) {
            counts[i] += 1;
        }
    }
    let mut best = 0;
    for i in 1..candidates.len() {
        if counts[i] > counts[best] {
            best = i;
        }
    }
    candidates[best]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFF, 0xFE] } else { vec![] };
        v.extend(s.encode_utf16().flat_map(|u| u.to_le_bytes()));
        v
    }

    #[test]
    fn utf8_is_borrowed() {
        let (t, e) = decode("email\na@b.c".as_bytes()).unwrap();
        assert!(matches!(t, Cow::Borrowed(_)));
        assert_eq!(e, TextEncoding::Utf8);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let (t, e) = decode(b"\xEF\xBB\xBFemail\n").unwrap();
        assert_eq!(t, "email\n");
        assert_eq!(e, TextEncoding::Utf8Bom);
    }

    #[test]
    fn utf16_both_byte_orders() {
        let le = utf16le("email;Prénom\n", true);
        let (t, e) = decode(&le).unwrap();
        assert_eq!((t.as_ref(), e), ("email;Prénom\n", TextEncoding::Utf16Le));
        let mut be = vec![0xFE, 0xFF];
        be.extend("Zoë".encode_utf16().flat_map(|u| u.to_be_bytes()));
        let (t, e) = decode(&be).unwrap();
        assert_eq!((t.as_ref(), e), ("Zoë", TextEncoding::Utf16Be));
    }

    #[test]
    fn utf16_without_bom_is_refused_clearly() {
        let err = decode(&utf16le("email\n", false)).unwrap_err();
        assert!(err.to_string().contains("NUL"));
    }

    #[test]
    fn broken_utf16_is_refused() {
        // A lone high surrogate.
        let err = decode(&[0xFF, 0xFE, 0x00, 0xD8]).unwrap_err();
        assert!(matches!(err, FileError::Undecodable { .. }));
    }

    #[test]
    fn windows_1252_fallback() {
        // "Müller" in Windows-1252 and the euro sign (0x80).
        let (t, e) = decode(b"M\xFCller \x80").unwrap();
        assert_eq!((t.as_ref(), e), ("Müller €", TextEncoding::Windows1252));
    }

    #[test]
    fn empty_files() {
        assert_eq!(decode(b"").unwrap_err(), FileError::Empty);
        assert_eq!(
            decode(b"\xEF\xBB\xBF \r\n\n").unwrap_err(),
            FileError::Empty
        );
    }

    #[test]
    fn delimiters() {
        assert_eq!(sniff_delimiter("email,first_name\n"), b',');
        assert_eq!(sniff_delimiter("email;first_name;last_name\n1,2;3"), b';');
        assert_eq!(sniff_delimiter("email\tfirst_name\n"), b'\t');
        assert_eq!(sniff_delimiter("email|first_name\n"), b'|');
        assert_eq!(sniff_delimiter("\"a,b\";c\n"), b';');
        assert_eq!(sniff_delimiter("email\n"), b',');
        assert_eq!(sniff_delimiter("\n\nemail;x\n"), b';');
    }
}
