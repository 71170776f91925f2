//! The Users list: what an operator asks for (search words, filters, sort
//! order, page) and what the store indexes to answer it without reading
//! every user: the words of each user's name and email, a name sort key,
//! and each user's facets (end state, source).
//!
//! Search matches the start of words: "ann" finds Ann and Annabel, "smi"
//! finds Smith, "example.org" finds every address at example.org. A query
//! of several words needs each of them (in any order). A match in the
//! middle of a word ("velace" for Lovelace) is not a match: that is what
//! makes the index a range read instead of a scan.

use crate::user::{EndState, Source, User};
use serde::{Deserialize, Serialize};

/// Rows of one page of the Users table.
pub const PAGE_SIZE: u32 = 50;
/// Largest page a caller may ask for (the CLI lists in pages this big).
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Most users one search collects before it sorts them: a query that
/// matches more is answered with the first ones in word order and says so
/// ("type more to narrow it").
pub const MAX_SEARCH_HITS: usize = 10_000;
/// Longest word the index keeps (longer ones are cut): a hostile name
/// cannot make index keys large.
pub const MAX_WORD_CHARS: usize = 40;
/// Longest query read; the rest is ignored.
pub const MAX_QUERY_CHARS: usize = 200;

/// Sort order of the Users table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserSort {
    #[default]
    Email,
    Name,
    /// Most recently updated first.
    Updated,
}

impl UserSort {
    pub const ALL: [UserSort; 3] = [UserSort::Email, UserSort::Name, UserSort::Updated];

    pub fn key(self) -> &'static str {
        match self {
            UserSort::Email => "email",
            UserSort::Name => "name",
            UserSort::Updated => "updated",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            UserSort::Email => "Email",
            UserSort::Name => "Name",
            UserSort::Updated => "Updated (newest first)",
        }
    }

    pub fn parse(s: &str) -> Option<UserSort> {
        UserSort::ALL.into_iter().find(|v| v.key() == s)
    }
}

/// What a user is filtered by, in two bytes the indexes carry beside each
/// entry (so that a filter never needs the user record).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Facets {
    pub end_state: EndState,
    pub source: Source,
}

impl Facets {
    pub fn of(user: &User) -> Facets {
        Facets {
            end_state: user.end_state,
            source: user.source,
        }
    }

    /// Two ASCII letters: end state (`a`/`i`), source (`c`/`m`/`b`/`s`).
    pub fn code(self) -> &'static str {
        match (self.end_state, self.source) {
            (EndState::Active, Source::Csv) => "ac",
            (EndState::Active, Source::Manual) => "am",
            (EndState::Active, Source::Bootstrap) => "ab",
            (EndState::Inactive, Source::Csv) => "ic",
            (EndState::Inactive, Source::Manual) => "im",
            (EndState::Inactive, Source::Bootstrap) => "ib",
            (EndState::Active, Source::Scim) => "as",
            (EndState::Inactive, Source::Scim) => "is",
        }
    }

    pub fn from_code(code: &str) -> Option<Facets> {
        Facets::every().into_iter().find(|f| f.code() == code)
    }

    /// How many combinations there are.
    pub const COUNT: usize = 8;

    /// Every combination, e.g. to sum counters.
    pub fn every() -> [Facets; Facets::COUNT] {
        let f = |end_state, source| Facets { end_state, source };
        [
            f(EndState::Active, Source::Csv),
            f(EndState::Active, Source::Manual),
            f(EndState::Active, Source::Bootstrap),
            f(EndState::Active, Source::Scim),
            f(EndState::Inactive, Source::Csv),
            f(EndState::Inactive, Source::Manual),
            f(EndState::Inactive, Source::Bootstrap),
            f(EndState::Inactive, Source::Scim),
        ]
    }
}

/// One request for the Users table (or `roster users list`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuery {
    /// Words typed in "Search users" (see [`query_words`]).
    pub search: String,
    pub end_state: Option<EndState>,
    pub source: Option<Source>,
    pub sort: UserSort,
    /// From 0.
    pub page: u32,
    pub page_size: u32,
}

impl Default for UserQuery {
    fn default() -> UserQuery {
        UserQuery {
            search: String::new(),
            end_state: None,
            source: None,
            sort: UserSort::Email,
            page: 0,
            page_size: PAGE_SIZE,
        }
    }
}

impl UserQuery {
    /// A query from the Users page's address parameters (`q`, `state`,
    /// `source`, `sort`, `page`). Unknown or malformed values mean "all" /
    /// the default, so a hand-edited address never fails.
    pub fn from_params<'a>(get: impl Fn(&str) -> Option<&'a str>) -> UserQuery {
        UserQuery {
            search: get("q")
                .unwrap_or_default()
                .chars()
                .take(MAX_QUERY_CHARS)
                .collect(),
            end_state: get("state").and_then(EndState::parse),
            source: get("source").and_then(Source::parse),
            sort: get("sort").and_then(UserSort::parse).unwrap_or_default(),
            page: get("page").and_then(|p| p.parse().ok()).unwrap_or(0),
            page_size: PAGE_SIZE,
        }
    }

    /// The address parameters that give this query back (defaults left out).
    pub fn to_params(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if !self.search.trim().is_empty() {
            out.push(("q", self.search.clone()));
        }
        if let Some(e) = self.end_state {
            out.push(("state", e.key().to_string()));
        }
        if let Some(s) = self.source {
            out.push(("source", s.key().to_string()));
        }
        if self.sort != UserSort::Email {
            out.push(("sort", self.sort.key().to_string()));
        }
        if self.page > 0 {
            out.push(("page", self.page.to_string()));
        }
        out
    }

    /// The query within the limits, whatever the caller sent (a server
    /// function's argument is untrusted).
    pub fn bounded(mut self) -> UserQuery {
        if self.search.chars().count() > MAX_QUERY_CHARS {
            self.search = self.search.chars().take(MAX_QUERY_CHARS).collect();
        }
        self.page_size = self.limit();
        self
    }

    /// Whether a user with these facets passes the filters.
    pub fn accepts(&self, facets: Facets) -> bool {
        self.end_state.is_none_or(|e| e == facets.end_state)
            && self.source.is_none_or(|s| s == facets.source)
    }

    /// The page size, between 1 and [`MAX_PAGE_SIZE`].
    pub fn limit(&self) -> u32 {
        self.page_size.clamp(1, MAX_PAGE_SIZE)
    }

    /// How many matching entries come before this page (saturating).
    pub fn offset(&self) -> u64 {
        u64::from(self.page).saturating_mul(u64::from(self.limit()))
    }
}

/// One page of users and what the table says around it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<User>,
    /// How many users match the query, all pages together.
    pub total: u64,
    /// The search matched more than [`MAX_SEARCH_HITS`] users: `total` and
    /// the order cover the first ones found only.
    pub capped: bool,
}

/// The lower-cased words of a text: runs of letters and digits.
pub fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.chars()
                .take(MAX_WORD_CHARS)
                .flat_map(char::to_lowercase)
                .collect()
        })
}

/// The words a user is found by: those of the email, first, last and
/// display name, each once, less any that starts another of them (a
/// search matches word starts, so "jo" finds whoever "johnson" finds:
/// one index entry fewer for each such word).
pub fn search_words(user: &User) -> Vec<String> {
    let p = &user.profile;
    let mut words: Vec<String> = words_of(user.key().as_str())
        .chain(words_of(p.first_name()))
        .chain(words_of(p.last_name()))
        .chain(words_of(p.display_name()))
        .collect();
    words.sort_unstable();
    words.dedup();
    // Sorted, a word that starts others comes right before the first of
    // them.
    let mut kept: Vec<String> = Vec::with_capacity(words.len());
    for word in words.into_iter().rev() {
        if !kept
            .last()
            .is_some_and(|next| next.starts_with(word.as_str()))
        {
            kept.push(word);
        }
    }
    kept.reverse();
    kept
}

/// Whether a query word is also looked for at the start of the users'
/// sort keys (the email key, and the name key of [`name_key`]): the ASCII
/// ones. Such a start always begins the first word of the address or of
/// the shown name (a sort key's ASCII letters and digits come from letters
/// and digits of the text, lower-cased one for one), so whoever it finds
/// the word search would find too.
pub fn found_by_sort_keys(word: &str) -> bool {
    word.is_ascii()
}

/// The search words a user has entries for in the word index:
/// [`search_words`] less the ASCII ones that the email key or the name
/// key starts with. A search finds those through the sort indexes it has
/// anyway (see [`found_by_sort_keys`]): "ann" of ann.lee@x.org and "ann"
/// of Ann Lee are two entries fewer, on every engine.
pub fn index_words(user: &User) -> Vec<String> {
    index_words_with(user, &name_key(user))
}

/// [`index_words`] with the user's [`name_key`] already made (the engines
/// make it for the name index).
pub fn index_words_with(user: &User, name_key: &str) -> Vec<String> {
    let key = user.key().as_str();
    let mut words = search_words(user);
    words.retain(|w| {
        !(found_by_sort_keys(w)
            && (key.starts_with(w.as_str()) || name_key.starts_with(w.as_str())))
    });
    words
}

/// Whether `word` (a query word) finds `user` through its sort keys: the
/// other half of a search, beside the word index ([`index_words`]). The
/// engines count such a user once: the name index's entry of a user whose
/// email key starts with the word too is not counted again.
pub fn starts_sort_keys(user: &User, name_key: &str, word: &str) -> bool {
    found_by_sort_keys(word)
        && (user.key().as_str().starts_with(word) || name_key.starts_with(word))
}

/// The words of a query, each once; the longest first (the likeliest to
/// be rare: the engines look up the first four in the word index and read
/// the rarest).
pub fn query_words(query: &str) -> Vec<String> {
    // Stored text is NFC: "zoe\u{308}" typed or pasted must find "zoë".
    let query = crate::field::nfc(query);
    let mut words: Vec<String> = words_of(&query)
        .take(MAX_QUERY_CHARS / 2)
        .collect::<Vec<_>>();
    words.sort_unstable_by(|a, b| b.chars().count().cmp(&a.chars().count()).then(a.cmp(b)));
    words.dedup();
    words
}

/// Whether every query word starts one of the user's words (those
/// [`search_words`] keeps or leaves out: a word left out starts one
/// kept). Compared as they are read, nothing allocated: a search checks
/// up to [`MAX_SEARCH_HITS`] candidates with it.
pub fn matches(user: &User, query: &[String]) -> bool {
    let p = &user.profile;
    let texts = [
        user.key().as_str(),
        p.first_name(),
        p.last_name(),
        p.display_name(),
    ];
    query.iter().all(|q| {
        texts.iter().any(|text| {
            text.split(|c: char| !c.is_alphanumeric())
                .any(|word| lower_word_starts_with(word, q))
        })
    })
}

/// Whether `word` as [`words_of`] makes it (lower-cased, at most
/// [`MAX_WORD_CHARS`] characters) starts with `start`.
fn lower_word_starts_with(word: &str, start: &str) -> bool {
    if word.is_empty() {
        return false;
    }
    let mut lower = word
        .chars()
        .take(MAX_WORD_CHARS)
        .flat_map(char::to_lowercase);
    start.chars().all(|c| lower.next() == Some(c))
}

/// The key the Users table sorts by name with: the shown name, lower-cased
/// (ties are broken by the email key in the index).
pub fn name_key(user: &User) -> String {
    user.name().to_lowercase()
}

/// Sorts matching users as the query asks (ties by email key).
pub fn sort_users(users: &mut [User], sort: UserSort) {
    match sort {
        UserSort::Email => users.sort_by(|a, b| a.key().cmp(b.key())),
        UserSort::Name => {
            users.sort_by_cached_key(|u| (name_key(u), u.key().to_string()));
        }
        UserSort::Updated => users.sort_by(|a, b| {
            b.updated_at
                .cmp(&a.updated_at)
                .then_with(|| a.key().cmp(b.key()))
        }),
    }
}

/// Every user of `users` the query matches, sorted as it asks (pages
/// aside).
pub fn matching(mut users: Vec<User>, query: &UserQuery) -> Vec<User> {
    let words = query_words(&query.search);
    users.retain(|u| query.accepts(Facets::of(u)) && matches(u, &words));
    sort_users(&mut users, query.sort);
    users
}

/// One page of a query over users already found (a search's hits, or a
/// whole small store): filtered, sorted and cut. Engines answer the
/// unsearched list from their indexes instead; this is the rule they
/// must agree with (the tests compare them).
pub fn page_of(users: Vec<User>, query: &UserQuery, capped: bool) -> UserPage {
    let users = matching(users, query);
    let total = users.len() as u64;
    let offset = usize::try_from(query.offset()).unwrap_or(usize::MAX);
    let users = users
        .into_iter()
        .skip(offset)
        .take(query.limit() as usize)
        .collect();
    UserPage {
        users,
        total,
        capped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn users(csv: &str) -> Vec<User> {
        let plan = crate::plan::plan(
            csv.as_bytes(),
            &crate::plan::NoUsers,
            &crate::Options::default(),
            crate::Actor::Owner,
        )
        .unwrap();
        plan.creates().map(|(_, u)| u.clone()).collect()
    }

    fn sample() -> Vec<User> {
        users(
            "email,first_name,last_name,display_name\n\
             ada.lovelace@x.org,Ada,Lovelace,\n\
             grace@y.org,Grace,Hopper,Amazing Grace\n\
             zoë@x.org,Zoë,Ångström,\n",
        )
    }

    fn emails(page: &UserPage) -> Vec<&str> {
        page.users.iter().map(|u| u.email.as_str()).collect()
    }

    #[test]
    fn words_are_lower_case_runs_of_letters_and_digits() {
        let words: Vec<String> = words_of("Ada.LOVELACE+1@x-y.org").collect();
        assert_eq!(words, ["ada", "lovelace", "1", "x", "y", "org"]);
        let long = "a".repeat(100);
        assert_eq!(words_of(&long).next().unwrap().len(), MAX_WORD_CHARS);
    }

    #[test]
    fn a_word_that_starts_another_is_not_kept() {
        let user = &users(
            "email,first_name,last_name,display_name\n\
             jo.johnson@jo.org,Jo,Johnson,Jo J\n",
        )[0];
        assert_eq!(search_words(user), ["johnson", "org"]);
        for query in ["jo", "j", "johnson", "jo org"] {
            assert!(matches(user, &query_words(query)), "{query}");
        }
    }

    #[test]
    fn the_first_words_of_address_and_name_are_left_to_the_sort_keys() {
        let all = users(
            "email,first_name,last_name,display_name\n\
             ann.lee@x.org,Ann,Lee,\n\
             zoë@x.org,Zoë,Ångström,\n\
             bo@x.org,Bo,Berg,(Bo) Berg\n",
        );
        // "ann" starts the address and the name; "lee" and the domain's
        // words are in the index.
        assert_eq!(index_words(&all[0]), ["lee", "org", "x"]);
        // Not ASCII: kept in the index (a sort key's start is looked for
        // with ASCII words only).
        assert_eq!(index_words(&all[1]), ["org", "x", "zoë", "ångström"]);
        // "bo" starts the address; the name key "(bo) berg" starts with
        // no word.
        assert_eq!(index_words(&all[2]), ["berg", "org", "x"]);
        assert!(starts_sort_keys(&all[0], &name_key(&all[0]), "an"));
        // An ASCII start of "zoë" finds it there; "zoë" itself is looked
        // for in the index only.
        assert!(starts_sort_keys(&all[1], &name_key(&all[1]), "zo"));
        assert!(!starts_sort_keys(&all[1], &name_key(&all[1]), "zoë"));
        assert!(starts_sort_keys(&all[2], &name_key(&all[2]), "b"));
        assert!(!starts_sort_keys(&all[2], &name_key(&all[2]), "be"));
    }

    #[test]
    fn search_matches_word_starts_in_name_and_email_in_any_order() {
        let q = |text: &str| {
            let query = UserQuery {
                search: text.into(),
                ..UserQuery::default()
            };
            emails(&page_of(sample(), &query, false))
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(q("LOVE"), ["ada.lovelace@x.org"]);
        assert_eq!(q("y.org"), ["grace@y.org"]);
        assert_eq!(q("x.org"), ["ada.lovelace@x.org", "zoë@x.org"]);
        assert_eq!(q("amazing"), ["grace@y.org"]);
        assert_eq!(q("hopper grace"), ["grace@y.org"]);
        assert_eq!(q("ångs"), ["zoë@x.org"]);
        assert_eq!(q("ÅNGS"), ["zoë@x.org"]);
        // Decomposed (NFD), as some keyboards and pastes give it.
        assert_eq!(q("zoe\u{308}"), ["zoë@x.org"]);
        assert_eq!(q("A\u{30a}ngs"), ["zoë@x.org"]);
        assert!(q("velace").is_empty(), "not a word start");
        assert!(q("grace lovelace").is_empty(), "every word is needed");
        assert_eq!(q("").len(), 3, "no words: everybody");
    }

    #[test]
    fn sorts_by_email_name_or_newest_update() {
        let mut all = sample();
        all[0].updated_at = 5;
        all[1].updated_at = 9;
        all[2].updated_at = 1;
        let sorted = |sort| {
            let query = UserQuery {
                sort,
                ..UserQuery::default()
            };
            emails(&page_of(all.clone(), &query, false))
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            sorted(UserSort::Email),
            ["ada.lovelace@x.org", "grace@y.org", "zoë@x.org"]
        );
        // "Ada Lovelace", "Amazing Grace", "Zoë Ångström"
        assert_eq!(
            sorted(UserSort::Name),
            ["ada.lovelace@x.org", "grace@y.org", "zoë@x.org"]
        );
        assert_eq!(
            sorted(UserSort::Updated),
            ["grace@y.org", "ada.lovelace@x.org", "zoë@x.org"]
        );
    }

    #[test]
    fn filters_by_end_state_and_source_and_pages() {
        let mut all = sample();
        all[1].end_state = EndState::Inactive;
        let query = UserQuery {
            end_state: Some(EndState::Active),
            page_size: 1,
            page: 1,
            ..UserQuery::default()
        };
        let page = page_of(all.clone(), &query, false);
        assert_eq!(page.total, 2);
        assert_eq!(emails(&page), ["zoë@x.org"]);
        let manual = UserQuery {
            source: Some(Source::Manual),
            ..UserQuery::default()
        };
        assert_eq!(page_of(all, &manual, false).total, 0);
    }

    #[test]
    fn address_parameters_round_trip_and_bad_ones_mean_the_default() {
        let query = UserQuery {
            search: "ada l".into(),
            end_state: Some(EndState::Inactive),
            source: Some(Source::Csv),
            sort: UserSort::Updated,
            page: 3,
            page_size: PAGE_SIZE,
        };
        let params = query.to_params();
        let back = UserQuery::from_params(|k| {
            params
                .iter()
                .find(|(name, _)| *name == k)
                .map(|(_, v)| v.as_str())
        });
        assert_eq!(back, query);
        let junk = UserQuery::from_params(|k| match k {
            "state" => Some("maybe"),
            "page" => Some("-1"),
            "sort" => Some("DROP TABLE"),
            _ => None,
        });
        assert_eq!(junk, UserQuery::default());
        assert_eq!(
            UserQuery {
                page: u32::MAX,
                page_size: u32::MAX,
                ..UserQuery::default()
            }
            .offset(),
            u64::from(u32::MAX) * u64::from(MAX_PAGE_SIZE)
        );
    }

    #[test]
    fn facet_codes_round_trip() {
        for f in Facets::every() {
            assert_eq!(Facets::from_code(f.code()), Some(f));
        }
        assert_eq!(Facets::from_code("zz"), None);
    }

    proptest! {
        /// `matches` answers as a check against the user's search words
        /// would, whatever the text and the query.
        #[test]
        fn matching_equals_the_search_words_rule(
            first in "[A-Za-zÀ-ÿİß0-9 .-]{1,50}",
            last in "[A-Za-zÀ-ÿ]{1,45}",
            typed in "[a-zà-ÿi̇ß0-9 ]{0,12}",
            cut in 0usize..60,
        ) {
            // A random query, or one cut out of the names (which matches
            // as often as not, long words included).
            let query = if cut % 2 == 0 {
                typed
            } else {
                format!("{first} {last}").to_lowercase().chars().skip(cut % 3).take(cut).collect()
            };
            let csv = format!("email,first_name,last_name\nu.{}@x.org,{first},{last}\n", last.len());
            let Some(user) = users(&csv).into_iter().next() else { return Ok(()) };
            let words = query_words(&query);
            let kept = search_words(&user);
            let by_words = words.iter().all(|q| kept.iter().any(|w| w.starts_with(q.as_str())));
            prop_assert_eq!(matches(&user, &words), by_words);
        }

        /// The word index and the sort keys together find exactly whom
        /// the search words rule finds, for any word of any query: the
        /// words left out of the index ([`index_words`]) are found through
        /// the sort keys, and a sort key's start finds nobody else.
        #[test]
        fn index_words_and_sort_keys_find_whom_the_rule_finds(
            local in "[a-zA-Z0-9ëİ]{1,8}([._+-][a-zA-Z0-9ë]{1,6})?",
            first in "[A-Za-zÀ-ÿİΣσςK\u{212A}\u{307}ß0-9 .(-]{0,16}",
            last in "[A-Za-zÀ-ÿΣ\u{307}]{0,12}",
            display in "([A-Za-zİΣ\u{212A} .(-]{1,16})?",
            typed in "[a-zA-Zà-ÿİΣ\u{212A}\u{307}0-9 ]{0,10}",
            cut in 0usize..40,
        ) {
            let csv = format!(
                "email,first_name,last_name,display_name\n{local}@ex.org,{first},{last},{display}\n"
            );
            let Some(user) = users(&csv).into_iter().next() else { return Ok(()) };
            let name = name_key(&user);
            // Typed, or cut out of the sort keys (which match often).
            let text = match cut % 3 {
                0 => typed,
                1 => user.key().as_str().chars().take(cut / 3 + 1).collect(),
                _ => name.chars().take(cut / 3 + 1).collect(),
            };
            let indexed = index_words(&user);
            prop_assert_eq!(&indexed, &index_words_with(&user, &name));
            for q in query_words(&text) {
                let rule = matches(&user, std::slice::from_ref(&q));
                let found = indexed.iter().any(|w| w.starts_with(q.as_str()))
                    || starts_sort_keys(&user, &name, &q);
                prop_assert_eq!(rule, found, "query word {:?} of user {:?}, name key {:?}", q, user.key(), name);
            }
        }

        /// Every word of a user's name finds the user, by any start of it.
        #[test]
        fn every_word_start_finds_its_user(first in "[A-Za-zÀ-ÿ]{1,12}", cut in 1usize..12) {
            let csv = format!("email,first_name,last_name\nu@x.org,{first},Last\n");
            let all = users(&csv);
            let prefix: String = first.chars().take(cut).collect();
            let query = UserQuery { search: prefix, ..UserQuery::default() };
            prop_assert_eq!(page_of(all, &query, false).total, 1);
        }
    }
}
