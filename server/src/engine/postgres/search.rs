//! The Users page's word search on PostgreSQL: the `user_words` table
//! (each user's search words less the first words of address and name,
//! `domain::directory::index_words`), the users' key and name indexes,
//! and the query that reads them, answering as the redb engine does.

use super::{PgStore, pg, snapshot};
use domain::User;
use domain::directory::{UserPage, UserQuery};
use domain::store::StoreError;

impl PgStore {
    /// A search of the Users page, answered as redb answers it. A query
    /// word's entries are the word index's that start with it, then (an
    /// ASCII word, `domain::directory::found_by_sort_keys`) the users
    /// whose email key starts with it, then those whose name key does:
    /// the first words of address and name are not in the word index
    /// (`domain::directory::index_words`). Each of the first four query
    /// words has its entries that pass the query's filters counted, each
    /// source up to one more than `MAX_SEARCH_HITS`; the first word with
    /// the fewest (a count over the cap counting as the cap) gives the
    /// candidates: its first `MAX_SEARCH_HITS` such entries in that
    /// order. When it has more, the page is `capped`: its total counts
    /// the matches among those candidates only. All in one snapshot.
    ///
    /// One word: its candidates are the answer, and the sort and the page
    /// are applied in the database (only the page's records come back).
    /// Several words: the candidates' records are read and the domain's
    /// rule (`domain::directory::page_of`) checks the other words, sorts
    /// and pages them. Checking the other words in the database joined
    /// each to its whole range of the word index, which grows with the
    /// store (two common words among 10M users: 0.44 s); the candidates
    /// are at most the cap, whatever the store's size.
    pub(super) fn search(
        &self,
        words: &[String],
        query: &UserQuery,
    ) -> Result<UserPage, StoreError> {
        use domain::directory::{MAX_SEARCH_HITS, UserSort, found_by_sort_keys};
        let cap = MAX_SEARCH_HITS as i64;
        let sources = Sources::new(&Self::filter_sql(query));
        let mut client = self.client()?;
        let mut t = snapshot(&mut client)?;
        // Each source counted only as far as the cap is not yet passed:
        // the rarest word and `capped` come out as with whole counts.
        let mut counts: Vec<Vec<i64>> = Vec::new();
        for word in words.iter().take(4) {
            let searched = if found_by_sort_keys(word) { 3 } else { 1 };
            let mut of_word = Vec::with_capacity(searched);
            let mut left = cap + 1;
            for source in &sources.unordered[..searched] {
                let n: i64 = if left > 0 {
                    t.query_one(
                        &format!("SELECT count(*) FROM ({source} LIMIT $3) s"),
                        &[word, &end_of(word), &left],
                    )
                    .map_err(pg)?
                    .get(0)
                } else {
                    0
                };
                left -= n;
                of_word.push(n);
            }
            counts.push(of_word);
        }
        let total = |i: usize| counts[i].iter().sum::<i64>();
        // The first of the rarest (more than the cap counts as the cap).
        let rarest = (0..counts.len())
            .min_by_key(|&i| (total(i).min(cap), i))
            .unwrap_or(0);
        let capped = counts.get(rarest).is_some_and(|_| total(rarest) > cap);
        let word = words.get(rarest).cloned().unwrap_or_default();
        let word_end = end_of(&word);
        let Some(candidates) = sources.candidates(counts.get(rarest).map_or(&[][..], |c| c), cap)
        else {
            return Ok(UserPage {
                users: Vec::new(),
                total: 0,
                capped: false,
            });
        };
        // The candidates' keys come back first (index-only scans); their
        // records are then read one key at a time (`by_key`). Joined in
        // one statement, or given as `key = ANY(…)`, the planner walked
        // the whole primary key or a bitmap of it to meet 10 000
        // candidates (1M users: 0.1–0.2 s).
        let mut keys: Vec<String> = t
            .query(candidates.as_str(), &[&word, &word_end])
            .map_err(pg)?
            .iter()
            .map(|row| row.get(0))
            .collect();
        // A user found twice (two words, or a word and a sort key,
        // starting the same way) is one candidate.
        keys.sort_unstable();
        keys.dedup();
        if words.len() > 1 {
            let rows = t
                .query(&format!("SELECT u.record {BY_KEY}"), &[&keys])
                .map_err(pg)?;
            return Ok(domain::directory::page_of(
                Self::decode_rows(rows)?,
                query,
                capped,
            ));
        }
        let total = keys.len() as u64;
        let offset = usize::try_from(query.offset()).unwrap_or(usize::MAX);
        let limit = query.limit() as usize;
        let rows = match query.sort {
            // Sorted already: read the page's records only.
            UserSort::Email => {
                let page: Vec<&String> = keys.iter().skip(offset).take(limit).collect();
                t.query(
                    "SELECT record FROM users WHERE key = ANY($1) ORDER BY key",
                    &[&page],
                )
            }
            UserSort::Name | UserSort::Updated => {
                let order = if query.sort == UserSort::Name {
                    "u.name_key, u.key"
                } else {
                    "u.updated_at DESC, u.key"
                };
                t.query(
                    &format!("SELECT u.record {BY_KEY} ORDER BY {order} LIMIT $2 OFFSET $3"),
                    &[
                        &keys,
                        &i64::from(query.limit()),
                        &i64::try_from(query.offset()).unwrap_or(i64::MAX),
                    ],
                )
            }
        }
        .map_err(pg)?;
        Ok(UserPage {
            users: Self::decode_rows(rows)?,
            total,
            capped,
        })
    }
}

/// The end of the range of keys and words that start with `word`: the
/// word with its last byte raised (an ASCII word, which is all that the
/// email and name keys are searched with: letters and digits, never the
/// last byte), or followed by the last code point (byte order; words are
/// letters and digits, so none continues with it). A sort key may hold
/// any character, U+10FFFF too, so the first form is the one used for
/// them.
fn end_of(word: &str) -> String {
    let mut bytes = word.as_bytes().to_vec();
    match bytes.last_mut() {
        Some(last) if word.is_ascii() && *last < 0x7f => {
            *last += 1;
            String::from_utf8(bytes).unwrap_or_else(|_| format!("{word}\u{10FFFF}"))
        }
        _ => format!("{word}\u{10FFFF}"),
    }
}

/// The users of the keys `$1` (a text array), each found by its key in the
/// primary key's index: `OFFSET 0` keeps the lateral subquery from being
/// flattened into a join the planner would answer by a scan.
const BY_KEY: &str = "FROM unnest($1::text[]) c(key) CROSS JOIN LATERAL \
    (SELECT key, record, name_key, updated_at FROM users WHERE key = c.key OFFSET 0) u";

/// The three sources of a query word's entries, as SQL over the word
/// range `$1` (inclusive) to `$2` (exclusive), with the query's filters:
/// the word index, the email keys, the name keys (less the users whose
/// email key starts with the word too: one entry a user, as a word is kept
/// once in the word index). Each selects the email
/// key, unordered (to count) or in its index's order.
struct Sources {
    unordered: [String; 3],
    ordered: [String; 3],
}

impl Sources {
    fn new(filter: &str) -> Sources {
        // Without filters the word index answers alone.
        let words = if filter == "TRUE" {
            "SELECT w.key FROM user_words w WHERE w.word >= $1 AND w.word < $2".to_string()
        } else {
            format!(
                "SELECT w.key FROM user_words w JOIN users u ON u.key = w.key \
                 WHERE w.word >= $1 AND w.word < $2 AND {filter}"
            )
        };
        let keys =
            format!("SELECT u.key FROM users u WHERE u.key >= $1 AND u.key < $2 AND {filter}");
        let names = format!(
            "SELECT u.key FROM users u WHERE u.name_key >= $1 AND u.name_key < $2 \
             AND NOT starts_with(u.key, $1) AND {filter}"
        );
        Sources {
            ordered: [
                format!("{words} ORDER BY w.word, w.key"),
                format!("{keys} ORDER BY u.key"),
                format!("{names} ORDER BY u.name_key, u.key"),
            ],
            unordered: [words, keys, names],
        }
    }

    /// The keys of the first `cap` entries, sources in order, given how
    /// many each source has (counted up to the cap and one); `None`
    /// when there are none.
    fn candidates(&self, counts: &[i64], cap: i64) -> Option<String> {
        let mut left = cap;
        let mut parts = Vec::new();
        for (source, &n) in self.ordered.iter().zip(counts) {
            let take = n.min(left);
            if take > 0 {
                parts.push(format!("({source} LIMIT {take})"));
            }
            left -= take;
        }
        (!parts.is_empty()).then(|| parts.join(" UNION ALL "))
    }
}

/// The (word, key) entries of these users' index words, in the index's
/// order: a B-tree filled in order splits and searches less (measured:
/// 0.94 s unsorted, 0.70 s sorted for 500 000 words).
pub(super) fn word_entries<'u>(
    users: impl IntoIterator<Item = &'u User>,
) -> Vec<(String, &'u str)> {
    let mut entries: Vec<(String, &str)> = users
        .into_iter()
        .flat_map(|user| {
            domain::directory::index_words(user)
                .into_iter()
                .map(move |word| (word, user.key().as_str()))
        })
        .collect();
    entries.sort_unstable();
    entries
}

/// [`word_entries`] as (word, key) columns, for `UNNEST`.
pub(super) fn words_of_users<'u>(users: &[&'u User]) -> (Vec<String>, Vec<&'u str>) {
    word_entries(users.iter().copied()).into_iter().unzip()
}
