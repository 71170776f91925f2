//! The character rule for every text a user record holds, and how long
//! values are shown.
//!
//! Refused everywhere (import, manual input, profile and user edits, the
//! email too), each with a message that names the character:
//! - the Unicode bidirectional controls U+202A–U+202E, U+2066–U+2069 and
//!   the marks U+200E, U+200F, U+061C: they make a name display as another
//!   text ("Trojan Source" spoofing) and leak into the text after them;
//! - invisible format characters: zero-width space U+200B, word joiner and
//!   invisible operators U+2060–U+2064, the byte order mark U+FEFF, soft
//!   hyphen U+00AD, U+180E, the Hangul fillers U+115F, U+1160, U+3164,
//!   U+FFA0, the interlinear annotation marks U+FFF9–U+FFFB, and tag
//!   characters U+E0000–U+E007F except inside an emoji flag sequence
//!   (after U+1F3F4).
//!
//! The zero-width joiner and non-joiner (U+200D, U+200C) are part of how
//! emoji sequences (👩‍💻) and Indic and Arabic words are written: they are
//! allowed between two non-ASCII characters that are neither spaces nor
//! themselves invisible, and refused elsewhere (e.g. inside a Latin name,
//! where they only make two names that look alike differ).

use std::borrow::Cow;

/// `text.trim()`, answered without scanning when the first and the last
/// byte are ASCII and not whitespace (most cells): every cell is trimmed
/// several times on its way into a plan.
pub fn trim(text: &str) -> &str {
    let solid = |b: Option<&u8>| b.is_some_and(|&b| b.is_ascii() && !(b as char).is_whitespace());
    let bytes = text.as_bytes();
    if solid(bytes.first()) && solid(bytes.last()) {
        text
    } else {
        text.trim()
    }
}

/// A refused character and its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hidden {
    pub ch: char,
    pub name: &'static str,
}

impl Hidden {
    /// "an invisible right-to-left override (U+202E)"
    pub fn describe(&self) -> String {
        format!("an invisible {} (U+{:04X})", self.name, self.ch as u32)
    }
}

/// The name of a character the rule refuses wherever it stands, if it is
/// one.
fn always_refused(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{202A}' => "left-to-right embedding",
        '\u{202B}' => "right-to-left embedding",
        '\u{202C}' => "pop directional formatting",
        '\u{202D}' => "left-to-right override",
        '\u{202E}' => "right-to-left override",
        '\u{2066}' => "left-to-right isolate",
        '\u{2067}' => "right-to-left isolate",
        '\u{2068}' => "first strong isolate",
        '\u{2069}' => "pop directional isolate",
        '\u{200E}' => "left-to-right mark",
        '\u{200F}' => "right-to-left mark",
        '\u{061C}' => "Arabic letter mark",
        '\u{200B}' => "zero-width space",
        '\u{2060}' => "word joiner",
        '\u{2061}'..='\u{2064}' => "invisible operator",
        '\u{FEFF}' => "byte order mark (zero-width no-break space)",
        '\u{00AD}' => "soft hyphen",
        '\u{180E}' => "Mongolian vowel separator",
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' => "Hangul filler",
        '\u{FFF9}'..='\u{FFFB}' => "interlinear annotation mark",
        _ => return None,
    })
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

/// Whether a joiner may stand next to `c`.
fn joinable(c: Option<char>) -> bool {
    c.is_some_and(|c| {
        !c.is_ascii()
            && !c.is_whitespace()
            && !is_joiner(c)
            && always_refused(c).is_none()
            && !is_tag(c)
    })
}

/// The first character of `text` the rule refuses. ASCII text is checked
/// in one pass over its bytes, without decoding.
pub fn first_hidden(text: &str) -> Option<Hidden> {
    if text.is_ascii() {
        return None;
    }
    let mut prev: Option<char> = None;
    let mut chars = text.chars().peekable();
    // The character a run of tags follows (a flag starts with U+1F3F4).
    let mut tag_base: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(name) = always_refused(c) {
            return Some(Hidden { ch: c, name });
        }
        if is_joiner(c) && !(joinable(prev) && joinable(chars.peek().copied())) {
            let name = if c == '\u{200D}' {
                "zero-width joiner outside a word or emoji"
            } else {
                "zero-width non-joiner outside a word"
            };
            return Some(Hidden { ch: c, name });
        }
        if is_tag(c) {
            if tag_base != Some('\u{1F3F4}') {
                return Some(Hidden {
                    ch: c,
                    name: "tag character",
                });
            }
        } else {
            tag_base = Some(c);
        }
        prev = Some(c);
    }
    None
}

/// Longest text a table cell shows before it is cut.
pub const SHOWN_CHARS: usize = 200;

/// `text` cut to `max` characters, with its full length said when it was
/// cut: "xxxx… (10 000 000 characters)". Short text is borrowed.
pub fn shown(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        None => Cow::Borrowed(text),
        Some((cut, _)) => {
            let total = text.chars().count();
            Cow::Owned(format!(
                "{}… ({} characters)",
                &text[..cut],
                group_thousands(total as u64)
            ))
        }
    }
}

/// 10000000 → "10 000 000" (a thin space would not survive every
/// terminal; a plain space reads the same).
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(d);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn trim_is_str_trim(text in "[ \t\n\u{b}\u{85}\u{a0}\u{3000}a-zé\u{1c}]{0,8}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }
    }

    /// The rule as a table: text → the refused character, or none.
    #[test]
    fn character_table() {
        let cases: &[(&str, Option<char>)] = &[
            ("Ada", None),
            ("Zoë Ångström", None),
            ("😀\u{202E}evil", Some('\u{202E}')),
            ("a\u{202A}b", Some('\u{202A}')),
            ("\u{2066}x\u{2069}", Some('\u{2066}')),
            ("x\u{2069}", Some('\u{2069}')),
            ("عرب\u{200F}ي", Some('\u{200F}')),
            ("a\u{200E}", Some('\u{200E}')),
            ("\u{061C}ا", Some('\u{061C}')),
            ("Ad\u{200B}min", Some('\u{200B}')),
            ("x\u{2060}y", Some('\u{2060}')),
            ("\u{FEFF}Bob", Some('\u{FEFF}')),
            ("so\u{00AD}ft", Some('\u{00AD}')),
            ("\u{3164}", Some('\u{3164}')),
            ("a\u{FFF9}b", Some('\u{FFF9}')),
            // Joiners: inside emoji and Indic/Arabic words, not elsewhere.
            ("👩\u{200D}💻", None),
            ("👨\u{200D}👩\u{200D}👧", None),
            ("क्\u{200D}ष", None),
            ("क्\u{200C}ष", None),
            ("می\u{200C}خواهم", None),
            ("Ad\u{200D}min", Some('\u{200D}')),
            ("\u{200D}👩", Some('\u{200D}')),
            ("👩\u{200D}", Some('\u{200D}')),
            ("👩\u{200D} 💻", Some('\u{200D}')),
            ("👩\u{200D}\u{200D}💻", Some('\u{200D}')),
            ("a\u{200C}b", Some('\u{200C}')),
            // Tags: only in a flag sequence.
            (
                "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}",
                None,
            ),
            ("x\u{E0041}", Some('\u{E0041}')),
            // Variation selectors and combining marks are fine.
            ("❤\u{FE0F}", None),
            ("e\u{0301}", None),
        ];
        for (text, expected) in cases {
            assert_eq!(
                first_hidden(text).map(|h| h.ch),
                *expected,
                "{:?}",
                text.escape_unicode().to_string()
            );
        }
    }

    #[test]
    fn the_message_names_the_character() {
        let h = first_hidden("😀\u{202E}evil").unwrap();
        assert_eq!(h.describe(), "an invisible right-to-left override (U+202E)");
        assert_eq!(
            first_hidden("a\u{200B}").unwrap().describe(),
            "an invisible zero-width space (U+200B)"
        );
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        assert_eq!(shown("short", 10), "short");
        assert!(matches!(shown("short", 10), Cow::Borrowed(_)));
        let big = "x".repeat(10_000_000);
        let s = shown(&big, 20);
        assert_eq!(s, format!("{}… (10 000 000 characters)", "x".repeat(20)));
        // Cut at a character boundary.
        assert_eq!(shown("ééé", 2), "éé… (3 characters)");
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1 000");
        assert_eq!(group_thousands(99_980), "99 980");
    }
}
