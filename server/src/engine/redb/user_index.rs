//! The users table and its indexes, written together: every write path
//! (import, manual input, edits, end state, undo, bootstrap) goes through
//! [`UserTables`], so an index can never disagree with the users it
//! points to.
//!
//! | table | key | value |
//! |---|---|---|
//! | `users_by_email` | email key | facets (see `domain::directory::Facets`) |
//! | `users_by_name` | lower-cased name `\0` email key | facets |
//! | `users_by_updated` | `i64::MAX` − updated time (20 digits) `\0` email key | facets |
//! | `user_words` | search word `\0` email key | facets |
//! | `user_counts` | facets | how many users have them |
//!
//! `user_words` holds `domain::directory::index_words`: a user's search
//! words less the ASCII ones its email key or name key starts with, which
//! a search finds in `users_by_email` and `users_by_name` instead.
//!
//! Facets beside every entry let a filtered list skip users without
//! reading them; the counters give a filter's total without a scan.

use super::backend;
use super::schema::USERS;
use crate::engine::codec::{decode, encode_into};
use domain::User;
use domain::directory::{
    Facets, MAX_SEARCH_HITS, UserPage, UserQuery, UserSort, found_by_sort_keys, index_words,
    index_words_with, name_key, page_of, query_words,
};
use domain::store::{StoreError, UserStats};
use redb::{
    ReadTransaction, ReadableTable, ReadableTableMetadata, Table, TableDefinition, WriteTransaction,
};

const BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");
const BY_NAME: TableDefinition<&str, &str> = TableDefinition::new("users_by_name");
const BY_UPDATED: TableDefinition<&str, &str> = TableDefinition::new("users_by_updated");
const WORDS: TableDefinition<&str, &str> = TableDefinition::new("user_words");
const COUNTS: TableDefinition<&str, u64> = TableDefinition::new("user_counts");

/// Separates a sort key from the email key in index keys. Names and
/// emails hold no control characters (the field rules), so the email key
/// is what follows the last one.
const SEP: char = '\0';

fn entry(sort: &str, user: &User) -> String {
    format!("{sort}{SEP}{}", user.key())
}

fn name_entry(user: &User) -> String {
    entry(&name_key(user), user)
}

/// A user's name index entry and its word index words.
fn name_entry_and_words(user: &User) -> (String, Vec<String>) {
    let name = name_key(user);
    let words = index_words_with(user, &name);
    (entry(&name, user), words)
}

/// Newest first in key order (the time subtracted from the largest), so
/// that equal times are in email order as everywhere else.
fn updated_entry(user: &User) -> String {
    entry(&format!("{:020}", i64::MAX - user.updated_at.max(0)), user)
}

/// The email key of an index entry.
fn key_of(entry: &str) -> &str {
    entry.rsplit(SEP).next().unwrap_or(entry)
}

/// The users table and its indexes, open in one write transaction.
pub(super) struct UserTables<'txn> {
    pub users: Table<'txn, &'static str, &'static [u8]>,
    by_email: Table<'txn, &'static str, &'static str>,
    by_name: Table<'txn, &'static str, &'static str>,
    by_updated: Table<'txn, &'static str, &'static str>,
    words: Table<'txn, &'static str, &'static str>,
    counts: Table<'txn, &'static str, u64>,
    /// Counter changes, by facets (in `Facets::every` order), written by
    /// [`UserTables::finish`]: one write per counter, not one per user.
    deltas: [i64; Facets::COUNT],
    buf: Vec<u8>,
}

impl<'txn> UserTables<'txn> {
    pub fn open(txn: &'txn WriteTransaction) -> Result<UserTables<'txn>, StoreError> {
        Ok(UserTables {
            users: txn.open_table(USERS).map_err(backend)?,
            by_email: txn.open_table(BY_EMAIL).map_err(backend)?,
            by_name: txn.open_table(BY_NAME).map_err(backend)?,
            by_updated: txn.open_table(BY_UPDATED).map_err(backend)?,
            words: txn.open_table(WORDS).map_err(backend)?,
            counts: txn.open_table(COUNTS).map_err(backend)?,
            deltas: [0; Facets::COUNT],
            buf: Vec::new(),
        })
    }

    /// Writes the counters. Every write path calls it before its
    /// transaction commits (the index tests catch one that does not).
    pub fn finish(mut self) -> Result<(), StoreError> {
        for (facets, delta) in Facets::every().into_iter().zip(self.deltas) {
            if delta == 0 {
                continue;
            }
            let code = facets.code();
            let now = self.counts.get(code).map_err(backend)?.map(|v| v.value());
            let next = now.unwrap_or(0).saturating_add_signed(delta);
            self.counts.insert(code, next).map_err(backend)?;
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Result<Option<User>, StoreError> {
        self.users
            .get(key)
            .map_err(backend)?
            .map(|g| decode(g.value()))
            .transpose()
    }

    /// Stores `after` (replacing `before`, the user as stored now, if any)
    /// and moves its index entries.
    pub fn put(&mut self, before: Option<&User>, after: &User) -> Result<(), StoreError> {
        let buf = std::mem::take(&mut self.buf);
        self.buf = encode_into(buf, after)?;
        self.users
            .insert(after.key().as_str(), self.buf.as_slice())
            .map_err(backend)?;
        let facets = Facets::of(after).code();
        let old_words = match before {
            Some(b) => {
                self.unindex_moved(b, after)?;
                index_words(b)
            }
            None => Vec::new(),
        };
        let (name, new_words) = name_entry_and_words(after);
        self.by_email
            .insert(after.key().as_str(), facets)
            .map_err(backend)?;
        self.by_name
            .insert(name.as_str(), facets)
            .map_err(backend)?;
        self.by_updated
            .insert(updated_entry(after).as_str(), facets)
            .map_err(backend)?;
        for word in old_words.iter().filter(|w| !new_words.contains(w)) {
            self.words
                .remove(entry(word, after).as_str())
                .map_err(backend)?;
        }
        let facets_moved = before.is_none_or(|b| Facets::of(b) != Facets::of(after));
        for word in &new_words {
            if facets_moved || !old_words.contains(word) {
                self.words
                    .insert(entry(word, after).as_str(), facets)
                    .map_err(backend)?;
            }
        }
        if let Some(b) = before {
            self.count(Facets::of(b), -1)?;
        }
        self.count(Facets::of(after), 1)
    }

    /// Removes a stored user and its index entries.
    pub fn remove(&mut self, before: &User) -> Result<(), StoreError> {
        let key = before.key().as_str();
        self.users.remove(key).map_err(backend)?;
        self.by_email.remove(key).map_err(backend)?;
        self.by_name
            .remove(name_entry(before).as_str())
            .map_err(backend)?;
        self.by_updated
            .remove(updated_entry(before).as_str())
            .map_err(backend)?;
        for word in index_words(before) {
            self.words
                .remove(entry(&word, before).as_str())
                .map_err(backend)?;
        }
        self.count(Facets::of(before), -1)
    }

    /// Removes the sort entries of `before` whose keys `after` changes.
    fn unindex_moved(&mut self, before: &User, after: &User) -> Result<(), StoreError> {
        let (old, new) = (name_entry(before), name_entry(after));
        if old != new {
            self.by_name.remove(old.as_str()).map_err(backend)?;
        }
        if before.updated_at != after.updated_at {
            self.by_updated
                .remove(updated_entry(before).as_str())
                .map_err(backend)?;
        }
        Ok(())
    }

    fn count(&mut self, facets: Facets, delta: i64) -> Result<(), StoreError> {
        if let Some(i) = Facets::every().iter().position(|f| *f == facets) {
            self.deltas[i] += delta;
        }
        Ok(())
    }
}

/// Creates the index tables, and fills them from the users when they are
/// new (a store from before the indexes). Inside the opening transaction.
pub(super) fn ensure(txn: &WriteTransaction, rebuild: bool) -> Result<(), StoreError> {
    let mut tables = UserTables::open(txn)?;
    if !rebuild {
        return tables.finish();
    }
    let mut all = Vec::new();
    for item in tables.users.iter().map_err(backend)? {
        all.push(decode::<User>(item.map_err(backend)?.1.value())?);
    }
    for user in &all {
        tables.put(None, user)?;
    }
    tables.finish()
}

/// Writes the word index again from the users (a store whose entries an
/// older rule made). Inside the opening transaction.
pub(super) fn rebuild_words(txn: &WriteTransaction) -> Result<(), StoreError> {
    txn.delete_table(WORDS).map_err(backend)?;
    let users = txn.open_table(USERS).map_err(backend)?;
    let mut words = txn.open_table(WORDS).map_err(backend)?;
    for item in users.iter().map_err(backend)? {
        let user: User = decode(item.map_err(backend)?.1.value())?;
        let facets = Facets::of(&user).code();
        for word in index_words(&user) {
            words
                .insert(entry(&word, &user).as_str(), facets)
                .map_err(backend)?;
        }
    }
    Ok(())
}

/// Users by end state and source, from the counters.
/// The active users with Source = CSV (a sync's candidates), found by
/// the facets beside each email-index entry: the index is read whole (small
/// entries), and only those users are read and decoded.
pub(super) fn active_imported(
    txn: &WriteTransaction,
    keep: &dyn Fn(&User) -> bool,
) -> Result<Vec<User>, StoreError> {
    let wanted = Facets {
        end_state: domain::EndState::Active,
        source: domain::Source::Csv,
    }
    .code();
    let by_email = txn.open_table(BY_EMAIL).map_err(backend)?;
    let users = txn.open_table(USERS).map_err(backend)?;
    let mut out = Vec::new();
    for entry in by_email.iter().map_err(backend)? {
        let (key, facets) = entry.map_err(backend)?;
        if facets.value() != wanted {
            continue;
        }
        let Some(record) = users.get(key.value()).map_err(backend)? else {
            continue;
        };
        let user: User = decode(record.value())?;
        if keep(&user) {
            out.push(user);
        }
    }
    Ok(out)
}

pub(super) fn stats(txn: &ReadTransaction) -> Result<UserStats, StoreError> {
    let counts = txn.open_table(COUNTS).map_err(backend)?;
    let mut stats = UserStats::default();
    for facets in Facets::every() {
        let n = counts
            .get(facets.code())
            .map_err(backend)?
            .map(|v| v.value())
            .unwrap_or(0);
        stats.add(facets, n);
    }
    Ok(stats)
}

/// One page of the Users table, from the indexes: a search reads the word
/// index for the rarest of its first four words (a range of keys starting
/// with it), an unsearched list walks the index of its sort order and
/// reads only the users on the page.
pub(super) fn list(txn: &ReadTransaction, query: &UserQuery) -> Result<UserPage, StoreError> {
    let users = txn.open_table(USERS).map_err(backend)?;
    let words = query_words(&query.search);
    if !words.is_empty() {
        let sources = [
            txn.open_table(WORDS).map_err(backend)?,
            txn.open_table(BY_EMAIL).map_err(backend)?,
            txn.open_table(BY_NAME).map_err(backend)?,
        ];
        // The hits of the word with the fewest (each read up to the cap):
        // "grace corp3" is answered from whichever is rarer; the other
        // words are checked on the users found.
        let mut best: Option<(Vec<String>, bool)> = None;
        for word in words.iter().take(4) {
            let hits = word_hits(&sources, word, query)?;
            if best.as_ref().is_none_or(|b| hits.0.len() < b.0.len()) {
                best = Some(hits);
            }
        }
        let (mut keys, capped) = best.unwrap_or_default();
        // A user with two words starting the same way is found twice.
        keys.sort_unstable();
        keys.dedup();
        // One word in email order: every candidate passed the filters and
        // matches (a hit is a match), and the keys are the order; only the
        // page's users are read.
        let one_word_by_email = words.len() == 1 && query.sort == UserSort::Email;
        let shown: &[String] = if one_word_by_email {
            let from = usize::try_from(query.offset()).unwrap_or(usize::MAX);
            let from = from.min(keys.len());
            let to = from.saturating_add(query.limit() as usize).min(keys.len());
            &keys[from..to]
        } else {
            &keys
        };
        let mut found = Vec::with_capacity(shown.len());
        for key in shown {
            if let Some(g) = users.get(key.as_str()).map_err(backend)? {
                found.push(decode(g.value())?);
            }
        }
        if one_word_by_email {
            return Ok(UserPage {
                users: found,
                total: keys.len() as u64,
                capped,
            });
        }
        return Ok(page_of(found, query, capped));
    }
    let total = filtered_total(txn, query)?;
    let index = txn
        .open_table(match query.sort {
            UserSort::Email => BY_EMAIL,
            UserSort::Name => BY_NAME,
            UserSort::Updated => BY_UPDATED,
        })
        .map_err(backend)?;
    let mut wanted = Vec::with_capacity(query.limit() as usize);
    let mut skip = query.offset();
    let mut walk = |item: Result<(redb::AccessGuard<&str>, redb::AccessGuard<&str>), _>| {
        let (entry, facets) = item.map_err(backend)?;
        if !Facets::from_code(facets.value()).is_some_and(|f| query.accepts(f)) {
            return Ok::<bool, StoreError>(true);
        }
        if skip > 0 {
            skip -= 1;
            return Ok(true);
        }
        wanted.push(key_of(entry.value()).to_string());
        Ok(wanted.len() < query.limit() as usize)
    };
    if total > query.offset() {
        for item in index.iter().map_err(backend)? {
            if !walk(item)? {
                break;
            }
        }
    }
    let mut page = Vec::with_capacity(wanted.len());
    for key in &wanted {
        if let Some(g) = users.get(key.as_str()).map_err(backend)? {
            page.push(decode(g.value())?);
        }
    }
    Ok(UserPage {
        users: page,
        total,
        capped: false,
    })
}

/// The email keys of the entries that start with `word` and pass the
/// query's filters, at most [`MAX_SEARCH_HITS`]; `true` when there were
/// more. The entries are the word index's, then (an ASCII word) the email
/// index's and the name index's (less users the email index found), each
/// in its order: a user's first words
/// of address and name are not in the word index
/// (`domain::directory::index_words`). A user can be found twice (two
/// words, or a word and a sort key, starting the same way).
fn word_hits(
    sources: &[impl ReadableTable<&'static str, &'static str>; 3],
    word: &str,
    query: &UserQuery,
) -> Result<(Vec<String>, bool), StoreError> {
    let mut keys = Vec::new();
    let searched = if found_by_sort_keys(word) { 3 } else { 1 };
    for (source, index) in sources[..searched].iter().enumerate() {
        for item in index.range(word..).map_err(backend)? {
            let (entry, facets) = item.map_err(backend)?;
            let entry = entry.value();
            if !entry.starts_with(word) {
                break;
            }
            // Found by its email key already: one entry, as in the word
            // index, where a word is kept once.
            if source == 2 && key_of(entry).starts_with(word) {
                continue;
            }
            if !Facets::from_code(facets.value()).is_some_and(|f| query.accepts(f)) {
                continue;
            }
            if keys.len() == MAX_SEARCH_HITS {
                return Ok((keys, true));
            }
            keys.push(key_of(entry).to_string());
        }
    }
    Ok((keys, false))
}

/// How many users pass the query's filters, from the counters.
fn filtered_total(txn: &ReadTransaction, query: &UserQuery) -> Result<u64, StoreError> {
    let counts = txn.open_table(COUNTS).map_err(backend)?;
    let mut total = 0;
    for facets in Facets::every().into_iter().filter(|f| query.accepts(*f)) {
        total += counts
            .get(facets.code())
            .map_err(backend)?
            .map(|v| v.value())
            .unwrap_or(0);
    }
    Ok(total)
}

/// Whether the index tables agree with the users table (tests, and the
/// `roster` self-check): every user has exactly its entries, and the
/// counters add up.
pub fn consistent(txn: &ReadTransaction) -> Result<Result<(), String>, StoreError> {
    let users = txn.open_table(USERS).map_err(backend)?;
    let mut expected_words = Vec::new();
    let mut expected_names = Vec::new();
    let mut expected_updated = Vec::new();
    let mut n = 0u64;
    for item in users.iter().map_err(backend)? {
        let user: User = decode(item.map_err(backend)?.1.value())?;
        n += 1;
        let (name, words) = name_entry_and_words(&user);
        for w in words {
            expected_words.push(entry(&w, &user));
        }
        expected_names.push(name);
        expected_updated.push(updated_entry(&user));
    }
    let keys = |def: TableDefinition<&str, &str>| -> Result<Vec<String>, StoreError> {
        let t = txn.open_table(def).map_err(backend)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(backend)? {
            out.push(item.map_err(backend)?.0.value().to_string());
        }
        Ok(out)
    };
    for (name, def, mut expected) in [
        ("user_words", WORDS, expected_words),
        ("users_by_name", BY_NAME, expected_names),
        ("users_by_updated", BY_UPDATED, expected_updated),
    ] {
        expected.sort();
        expected.dedup();
        if keys(def)? != expected {
            return Ok(Err(format!("{name} disagrees with users")));
        }
    }
    if txn
        .open_table(BY_EMAIL)
        .map_err(backend)?
        .len()
        .map_err(backend)?
        != n
    {
        return Ok(Err("users_by_email disagrees with users".into()));
    }
    if stats(txn)?.total != n {
        return Ok(Err("user_counts disagree with users".into()));
    }
    Ok(Ok(()))
}
