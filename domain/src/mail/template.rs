//! The words of each kind of mail: a subject, a plain-text body and an
//! HTML body, which an administrator may rewrite on Admin › Options.
//!
//! A template is text with placeholders — `{name}`, `{organization}`,
//! `{link}`, `{expires}` — filled when a message is queued. Values are
//! escaped in the HTML body and kept to one line in the subject, so no
//! user's name can add markup or a mail header. Anything else in braces
//! that is not a placeholder's shape (CSS such as `p { margin: 0 }`) is
//! kept as written; an unknown word in braces (`{nmae}`) is refused when
//! the template is saved, so a typo never reaches a recipient.

use super::{LINK_MARK, MailKind, escape_html};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a template may ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placeholder {
    /// The user's display name (or first and last name).
    Name,
    /// The option `mail.organization`.
    Organization,
    /// The one-time link.
    Link,
    /// When the link stops working, e.g. `2026-12-10 19:00:00 UTC`.
    Expires,
}

impl Placeholder {
    pub const ALL: [Placeholder; 4] = [
        Placeholder::Name,
        Placeholder::Organization,
        Placeholder::Link,
        Placeholder::Expires,
    ];

    pub fn word(self) -> &'static str {
        match self {
            Placeholder::Name => "name",
            Placeholder::Organization => "organization",
            Placeholder::Link => "link",
            Placeholder::Expires => "expires",
        }
    }

    fn of_word(word: &str) -> Option<Placeholder> {
        Placeholder::ALL.into_iter().find(|p| p.word() == word)
    }
}

/// The three parts of a template.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Part {
    Subject,
    Text,
    Html,
}

impl Part {
    pub const ALL: [Part; 3] = [Part::Subject, Part::Text, Part::Html];

    /// The last word of its option key (`mail.sign_in.subject`).
    pub fn key(self) -> &'static str {
        match self {
            Part::Subject => "subject",
            Part::Text => "text",
            Part::Html => "html",
        }
    }

    fn max_chars(self) -> usize {
        match self {
            Part::Subject => 200,
            Part::Text | Part::Html => 20_000,
        }
    }
}

/// One kind of mail's words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailTemplate {
    pub subject: String,
    pub text: String,
    pub html: String,
}

const SIGN_IN_SUBJECT: &str = "Your sign-in link for {organization}";
const SIGN_IN_TEXT: &str = "Hello {name},

An account at {organization} has been made for you.
Open this link to set your password and sign in (it works once, until {expires}):

{link}

If you did not expect this, you can ignore this mail.

{organization}";
const SIGN_IN_HTML: &str = "<!DOCTYPE html>
<html><body>
<p>Hello {name},</p>
<p>An account at {organization} has been made for you.<br>
Open this link to set your password and sign in (it works once, until {expires}):</p>
<p><a href=\"{link}\">{link}</a></p>
<p>If you did not expect this, you can ignore this mail.</p>
<p>{organization}</p>
</body></html>";
const RESET_SUBJECT: &str = "Reset your password for {organization}";
const RESET_TEXT: &str = "Hello {name},

Someone (we hope you) asked to reset your password at {organization}.
Open this link to set a new password (it works once, until {expires}):

{link}

If you did not ask for it, ignore this mail: your password stays as it is.

{organization}";
const RESET_HTML: &str = "<!DOCTYPE html>
<html><body>
<p>Hello {name},</p>
<p>Someone (we hope you) asked to reset your password at {organization}.<br>
Open this link to set a new password (it works once, until {expires}):</p>
<p><a href=\"{link}\">{link}</a></p>
<p>If you did not ask for it, ignore this mail: your password stays as it is.</p>
<p>{organization}</p>
</body></html>";

impl MailTemplate {
    /// Roster's own words for a kind of mail.
    pub fn default_for(kind: MailKind) -> MailTemplate {
        let (subject, text, html) = match kind {
            MailKind::SignInLink => (SIGN_IN_SUBJECT, SIGN_IN_TEXT, SIGN_IN_HTML),
            MailKind::Reset => (RESET_SUBJECT, RESET_TEXT, RESET_HTML),
        };
        MailTemplate {
            subject: subject.into(),
            text: text.into(),
            html: html.into(),
        }
    }

    pub fn part(&self, part: Part) -> &str {
        match part {
            Part::Subject => &self.subject,
            Part::Text => &self.text,
            Part::Html => &self.html,
        }
    }

    /// A part as it is being edited (unchecked: [`MailTemplate::set_part`]
    /// checks).
    pub fn part_mut(&mut self, part: Part) -> &mut String {
        match part {
            Part::Subject => &mut self.subject,
            Part::Text => &mut self.text,
            Part::Html => &mut self.html,
        }
    }

    /// Replaces one part after [`check`], with its line breaks as `\n`
    /// (the mail library writes them as CRLF); on error nothing changes.
    pub fn set_part(&mut self, part: Part, value: &str) -> Result<(), TemplateError> {
        let value = &value.replace("\r\n", "\n");
        check(part, value)?;
        *self.part_mut(part) = value.to_string();
        Ok(())
    }
}

/// Why a template part is refused.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TemplateError {
    Empty,
    TooLong {
        max: usize,
    },
    /// A line break in a subject (a header is one line).
    LineBreakInSubject,
    /// A control character other than line breaks and tabs.
    ControlCharacter,
    UnknownPlaceholder(String),
    /// The subject is a header: the link goes in the body.
    LinkInSubject,
    /// A body without `{link}` would give the recipient no way in.
    NoLink,
    /// More than [`MAX_PLACEHOLDERS`]: every queued message stores its
    /// filled bodies, so a template must not multiply a name.
    TooManyPlaceholders,
}

/// Placeholders a part may hold: a stored message is then at most the
/// template plus this many names (200 characters, six bytes each when
/// escaped), some 35 KB.
pub const MAX_PLACEHOLDERS: usize = 12;

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Empty => f.write_str("it is empty"),
            TemplateError::TooLong { max } => write!(f, "it is longer than {max} characters"),
            TemplateError::LineBreakInSubject => f.write_str("a subject is one line"),
            TemplateError::ControlCharacter => f.write_str("it contains a control character"),
            TemplateError::UnknownPlaceholder(word) => write!(
                f,
                "{{{word}}} is not a placeholder (use {})",
                known_placeholders()
            ),
            TemplateError::LinkInSubject => {
                f.write_str("{link} belongs in the body, not the subject")
            }
            TemplateError::NoLink => f.write_str("it must contain {link}"),
            TemplateError::TooManyPlaceholders => {
                write!(f, "it has more than {MAX_PLACEHOLDERS} placeholders")
            }
        }
    }
}

fn known_placeholders() -> String {
    Placeholder::ALL
        .iter()
        .map(|p| format!("{{{}}}", p.word()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether `value` may be this part of a template.
pub fn check(part: Part, value: &str) -> Result<(), TemplateError> {
    if value.trim().is_empty() {
        return Err(TemplateError::Empty);
    }
    if value.chars().count() > part.max_chars() {
        return Err(TemplateError::TooLong {
            max: part.max_chars(),
        });
    }
    // Line breaks are `\n` only: a lone carriage return would reach the
    // mail server as written, where `\r.` can end the message early.
    if part == Part::Subject && value.contains('\n') {
        return Err(TemplateError::LineBreakInSubject);
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(TemplateError::ControlCharacter);
    }
    if let Some(word) = near_miss(value) {
        return Err(TemplateError::UnknownPlaceholder(word));
    }
    let (mut has_link, mut placeholders) = (false, 0);
    for piece in pieces(value) {
        match piece {
            Piece::Unknown(word) => return Err(TemplateError::UnknownPlaceholder(word.into())),
            Piece::Placeholder(p) => {
                has_link |= p == Placeholder::Link;
                placeholders += 1;
            }
            Piece::Text(_) => {}
        }
    }
    if placeholders > MAX_PLACEHOLDERS {
        return Err(TemplateError::TooManyPlaceholders);
    }
    match (part, has_link) {
        (Part::Subject, true) => Err(TemplateError::LinkInSubject),
        (Part::Text | Part::Html, false) => Err(TemplateError::NoLink),
        _ => Ok(()),
    }
}

/// Text in braces that reads as a placeholder but is not written as one —
/// `{Name}`, `{ link }`, `{Expires}` — which would reach recipients as
/// written; CSS such as `{ margin: 0 }` is no placeholder's word.
fn near_miss(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        rest = &rest[open + 1..];
        let close = rest.find('}')?;
        let inside = &rest[..close];
        let word = inside.trim().to_ascii_lowercase();
        if inside != word && Placeholder::of_word(&word).is_some() {
            return Some(inside.to_string());
        }
    }
    None
}

/// A run of a template: literal text, a placeholder, or a word in braces
/// that is no placeholder.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(Placeholder),
    Unknown(&'a str),
}

/// A placeholder's shape: `{` lowercase letters and `_` `}`, at most 30.
fn pieces(template: &str) -> impl Iterator<Item = Piece<'_>> {
    let mut rest = template;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let Some(open) = rest.find('{') else {
            let all = rest;
            rest = "";
            return Some(Piece::Text(all));
        };
        if open > 0 {
            let (text, after) = rest.split_at(open);
            rest = after;
            return Some(Piece::Text(text));
        }
        let word_len = rest[1..]
            .bytes()
            .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
            .count();
        if (1..=30).contains(&word_len) && rest.as_bytes().get(1 + word_len) == Some(&b'}') {
            let word = &rest[1..1 + word_len];
            rest = &rest[word_len + 2..];
            return Some(match Placeholder::of_word(word) {
                Some(p) => Piece::Placeholder(p),
                None => Piece::Unknown(word),
            });
        }
        let (brace, after) = rest.split_at(1);
        rest = after;
        Some(Piece::Text(brace))
    })
}

/// What a template is filled with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MailInput<'a> {
    pub display_name: &'a str,
    pub organization: &'a str,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Subject, plain text and HTML of a message, with [`LINK_MARK`] where
/// the link goes (the token is put in only when the message is sent).
pub fn render(template: &MailTemplate, input: &MailInput<'_>) -> (String, String, String) {
    let name = one_line(input.display_name);
    let organization = one_line(input.organization);
    let expires = format!(
        "{} UTC",
        crate::time::rfc3339(input.expires_at)
            .replace('T', " ")
            .replace('Z', "")
    );
    let value = |p: Placeholder| match p {
        Placeholder::Name => name.as_str(),
        Placeholder::Organization => organization.as_str(),
        Placeholder::Expires => expires.as_str(),
        Placeholder::Link => LINK_MARK,
    };
    let fill = |template: &str, escape: fn(&str) -> String| {
        let mut out = String::with_capacity(template.len() + 64);
        for piece in pieces(template) {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Placeholder(Placeholder::Link) => out.push_str(LINK_MARK),
                Piece::Placeholder(p) => out.push_str(&escape(value(p))),
                // Refused on saving; kept visible rather than dropped.
                Piece::Unknown(word) => {
                    out.push('{');
                    out.push_str(word);
                    out.push('}');
                }
            }
        }
        out
    };
    let subject = one_line(&fill(&template.subject, str::to_string));
    (
        subject,
        fill(&template.text, str::to_string),
        fill(&template.html, escape_html),
    )
}

/// A subject or a value never spans lines (no header injection).
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_string()
}

/// How a template reads for a made-up user, as the Options page shows it
/// before it is saved: subject, plain text and HTML, with an example link.
pub fn preview(
    template: &MailTemplate,
    organization: &str,
    expires_at: i64,
) -> (String, String, String) {
    const EXAMPLE_LINK: &str = "https://roster.example/link/EXAMPLE-ONE-TIME-TOKEN";
    let (subject, text, html) = render(
        template,
        &MailInput {
            display_name: "Ada Lovelace",
            organization,
            expires_at,
        },
    );
    (
        subject,
        text.replace(LINK_MARK, EXAMPLE_LINK),
        html.replace(LINK_MARK, EXAMPLE_LINK),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> MailInput<'static> {
        MailInput {
            display_name: "Ada <b>Lovelace</b> & co",
            organization: "Acme \"Ltd\"",
            expires_at: 86_400,
        }
    }

    #[test]
    fn roster_s_own_templates_pass_their_own_check() {
        for kind in [MailKind::SignInLink, MailKind::Reset] {
            let t = MailTemplate::default_for(kind);
            for part in Part::ALL {
                assert_eq!(check(part, t.part(part)), Ok(()), "{kind:?} {part:?}");
                assert_eq!(t.part(part), t.part(part).trim(), "stored trimmed");
            }
        }
    }

    #[test]
    fn placeholders_are_filled_and_escaped_only_in_html() {
        let t = MailTemplate::default_for(MailKind::SignInLink);
        let (subject, text, html) = render(&t, &input());
        assert_eq!(subject, "Your sign-in link for Acme \"Ltd\"");
        assert!(
            text.starts_with("Hello Ada <b>Lovelace</b> & co,"),
            "{text}"
        );
        assert!(text.contains("until 1970-01-02 00:00:00 UTC"), "{text}");
        assert!(text.contains(LINK_MARK));
        assert!(html.contains("Hello Ada &lt;b&gt;Lovelace&lt;/b&gt; &amp; co,"));
        assert!(html.contains("Acme &quot;Ltd&quot;"));
        assert!(html.contains(&format!("href=\"{LINK_MARK}\"")));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn an_edited_template_is_used_and_css_braces_stay() {
        let mut t = MailTemplate::default_for(MailKind::Reset);
        t.set_part(Part::Subject, "{organization}: new password for {name}")
            .unwrap();
        t.set_part(
            Part::Html,
            "<style>p { margin: 0 }</style><p>{name}</p><a href=\"{link}\">go</a> {}",
        )
        .unwrap();
        let (subject, _, html) = render(&t, &input());
        assert_eq!(
            subject,
            "Acme \"Ltd\": new password for Ada <b>Lovelace</b> & co"
        );
        assert!(html.starts_with("<style>p { margin: 0 }</style><p>Ada &lt;b&gt;"));
        assert!(html.ends_with("go</a> {}"), "{html}");
    }

    #[test]
    fn a_value_with_line_breaks_cannot_make_a_header() {
        let t = MailTemplate::default_for(MailKind::Reset);
        let (subject, _, _) = render(
            &t,
            &MailInput {
                display_name: "Bob",
                organization: "Evil\r\nBcc: x@y.z",
                expires_at: 0,
            },
        );
        assert!(
            !subject.contains('\n') && !subject.contains('\r'),
            "{subject}"
        );
    }

    #[test]
    fn bad_templates_are_refused_with_a_reason_and_change_nothing() {
        let mut t = MailTemplate::default_for(MailKind::SignInLink);
        let before = t.clone();
        let cases = [
            (Part::Subject, "  ", TemplateError::Empty),
            (
                Part::Subject,
                "Hi {name}\nBcc: x",
                TemplateError::LineBreakInSubject,
            ),
            (
                Part::Subject,
                "For {orgname}",
                TemplateError::UnknownPlaceholder("orgname".into()),
            ),
            (
                Part::Html,
                "<p>Hi {Name}: {link}</p>",
                TemplateError::UnknownPlaceholder("Name".into()),
            ),
            (
                Part::Text,
                "Hi { name }: {link}",
                TemplateError::UnknownPlaceholder(" name ".into()),
            ),
            // A lone carriage return could end the SMTP data early.
            (
                Part::Text,
                "Hi\r.\nMAIL FROM:<x@y.z>\n{link}",
                TemplateError::ControlCharacter,
            ),
            (Part::Subject, "Go: {link}", TemplateError::LinkInSubject),
            (Part::Text, "Hello {name}", TemplateError::NoLink),
            (
                Part::Text,
                "Hello {nmae}: {link}",
                TemplateError::UnknownPlaceholder("nmae".into()),
            ),
            (
                Part::Html,
                "<p>{link}\u{0}</p>",
                TemplateError::ControlCharacter,
            ),
        ];
        for (part, value, expected) in cases {
            assert_eq!(t.set_part(part, value), Err(expected), "{value:?}");
        }
        assert_eq!(
            t.set_part(Part::Subject, &"x".repeat(201)),
            Err(TemplateError::TooLong { max: 200 })
        );
        let many = format!("{{link}}{}", "{name}".repeat(MAX_PLACEHOLDERS));
        assert_eq!(
            t.set_part(Part::Text, &many),
            Err(TemplateError::TooManyPlaceholders)
        );
        let long = format!("{{link}}{}", "x".repeat(20_000));
        assert_eq!(
            t.set_part(Part::Text, &long),
            Err(TemplateError::TooLong { max: 20_000 })
        );
        assert_eq!(t, before);
        let e = TemplateError::UnknownPlaceholder("nmae".into()).to_string();
        assert_eq!(
            e,
            "{nmae} is not a placeholder (use {name}, {organization}, {link}, {expires})"
        );
    }

    #[test]
    fn a_preview_shows_an_example_link_never_the_mark() {
        let t = MailTemplate::default_for(MailKind::SignInLink);
        let (_, text, html) = preview(&t, "Acme", 0);
        assert!(text.contains("https://roster.example/link/EXAMPLE-ONE-TIME-TOKEN"));
        assert!(html.contains("href=\"https://roster.example/link/EXAMPLE-ONE-TIME-TOKEN\""));
        assert!(!text.contains(LINK_MARK) && !html.contains(LINK_MARK));
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Whatever the text, splitting it into pieces loses nothing
            /// and rendering never panics.
            #[test]
            fn pieces_cover_the_template(s in "\\PC{0,80}") {
                let joined: String = pieces(&s)
                    .map(|p| match p {
                        Piece::Text(t) => t.to_string(),
                        Piece::Placeholder(p) => format!("{{{}}}", p.word()),
                        Piece::Unknown(w) => format!("{{{w}}}"),
                    })
                    .collect();
                prop_assert_eq!(joined, s.clone());
                let t = MailTemplate { subject: s.clone(), text: s.clone(), html: s };
                let _ = render(&t, &MailInput { display_name: "a", organization: "b", expires_at: 0 });
            }
        }
    }
}
