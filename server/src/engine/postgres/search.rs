//! The Users page's word search on PostgreSQL: the `user_words` table
//! (each user's search words, `domain::directory::search_words`) and the
//! query that reads it, answering as the redb engine does.

use super::{PgStore, pg, snapshot};
use domain::User;
use domain::directory::{UserPage, UserQuery};
use domain::store::StoreError;

impl PgStore {
    /// A search of the Users page, answered as redb answers it. Each of
    /// the first four query words has its entries in the word index that
    /// pass the query's filters, counted up to one more than
    /// `MAX_SEARCH_HITS`; the first word with the fewest (a count over the
    /// cap counting as the cap) gives the candidates: its first
    /// `MAX_SEARCH_HITS` such entries in word order. When it has more, the
    /// page is `capped`: its total counts the matches among those
    /// candidates only. All in one snapshot.
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
        use domain::directory::{MAX_SEARCH_HITS, UserSort};
        let cap = MAX_SEARCH_HITS as i64;
        let filter = Self::filter_sql(query);
        // The entries of a word range ($1, $2) that pass the filters, in
        // the index's order; without filters, from the index alone.
        let entries = if filter == "TRUE" {
            "SELECT w.word, w.key FROM user_words w WHERE w.word >= $1 AND w.word < $2".to_string()
        } else {
            format!(
                "SELECT w.word, w.key FROM user_words w JOIN users u ON u.key = w.key \
                 WHERE w.word >= $1 AND w.word < $2 AND {filter}"
            )
        };
        // Every word that starts with `word` sorts from `word` up to
        // `word` followed by the last code point (byte order).
        let end = |word: &str| format!("{word}\u{10FFFF}");
        let mut client = self.client()?;
        let mut t = snapshot(&mut client)?;
        let count = format!("SELECT count(*) FROM ({entries} LIMIT $3) s");
        let mut counts = Vec::new();
        for word in words.iter().take(4) {
            let n: i64 = t
                .query_one(&count, &[word, &end(word), &(cap + 1)])
                .map_err(pg)?
                .get(0);
            counts.push(n);
        }
        // The first of the rarest (more than the cap counts as the cap).
        let rarest = (0..counts.len())
            .min_by_key(|&i| (counts[i].min(cap), i))
            .unwrap_or(0);
        let capped = counts.get(rarest).is_some_and(|&n| n > cap);
        let word = words.get(rarest).cloned().unwrap_or_default();
        let word_end = end(&word);
        let candidates = format!("SELECT key FROM ({entries} ORDER BY word, key LIMIT $3) hits");
        if words.len() > 1 {
            let rows = t
                .query(
                    &format!("SELECT u.record FROM users u WHERE u.key IN ({candidates})"),
                    &[&word, &word_end, &cap],
                )
                .map_err(pg)?;
            return Ok(domain::directory::page_of(
                Self::decode_rows(rows)?,
                query,
                capped,
            ));
        }
        let matching = format!("FROM users u WHERE u.key IN ({candidates})");
        let order = match query.sort {
            UserSort::Email => "u.key",
            UserSort::Name => "u.name_key, u.key",
            UserSort::Updated => "u.updated_at DESC, u.key",
        };
        let limit = i64::from(query.limit());
        let offset = i64::try_from(query.offset()).unwrap_or(i64::MAX);
        let rows = t
            .query(
                &format!(
                    "SELECT u.record, count(*) OVER () {matching} \
                     ORDER BY {order} LIMIT $4 OFFSET $5"
                ),
                &[&word, &word_end, &cap, &limit, &offset],
            )
            .map_err(pg)?;
        let total = match rows.first() {
            Some(row) => row.get::<_, i64>(1) as u64,
            // A page past the end: how many there are.
            None if offset > 0 => t
                .query_one(
                    &format!("SELECT count(*) {matching}"),
                    &[&word, &word_end, &cap],
                )
                .map_err(pg)?
                .get::<_, i64>(0) as u64,
            None => 0,
        };
        Ok(UserPage {
            users: Self::decode_rows(rows)?,
            total,
            capped,
        })
    }
}

/// The (word, key) entries of these users' search words, in the index's
/// order: a B-tree filled in order splits and searches less (measured:
/// 0.94 s unsorted, 0.70 s sorted for 500 000 words).
pub(super) fn word_entries<'u>(
    users: impl IntoIterator<Item = &'u User>,
) -> Vec<(String, &'u str)> {
    let mut entries: Vec<(String, &str)> = users
        .into_iter()
        .flat_map(|user| {
            domain::directory::search_words(user)
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
