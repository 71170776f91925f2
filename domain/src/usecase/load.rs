//! Filling an empty store with a copied store's records (`roster copy`).

use crate::User;
use crate::store::StoreError;
use crate::transaction::{Sequence, UserWrite, WriteTx};

/// Writes a copied store's records into an empty store, in the caller's
/// one transaction, buffering users and audit events so that engines
/// write them many at a time. Refuses a store that has users or batches.
pub struct Loader<'t> {
    tx: &'t mut dyn WriteTx,
    users: Vec<User>,
    events: Vec<crate::audit::AuditEvent>,
    events_batch: Option<u64>,
    next_event: u64,
    last_batch: u64,
    last_approval: u64,
    last_mail: u64,
    pub counts: LoadCounts,
}

/// What a [`Loader`] wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadCounts {
    pub users: u64,
    pub batches: u64,
    pub audit_events: u64,
    pub approvals: u64,
    pub passwords: u64,
    pub links: u64,
    pub tokens: u64,
    pub external_ids: u64,
    pub mails: u64,
}

const LOAD_CHUNK: usize = 10_000;

impl<'t> Loader<'t> {
    pub fn new(tx: &'t mut dyn WriteTx) -> Result<Loader<'t>, StoreError> {
        // Users come from imports and manual input (batches) or the first
        // start (an administrator): a store with neither is empty.
        if tx.first_admin()?.is_some() || tx.batch(1)?.is_some() {
            return Err(StoreError::Conflict(
                "the destination store is not empty: copy into a new database or data folder"
                    .into(),
            ));
        }
        Ok(Loader {
            tx,
            users: Vec::new(),
            events: Vec::new(),
            events_batch: None,
            next_event: 1,
            last_batch: 0,
            last_approval: 0,
            last_mail: 0,
            counts: LoadCounts::default(),
        })
    }

    pub fn put(&mut self, item: crate::transaction::Item) -> Result<(), StoreError> {
        use crate::transaction::Item;
        match item {
            Item::Option { key, value } => {
                // Checked as any option is: a bad value is refused.
                let mut options = self.tx.options()?;
                options
                    .set(&key, &value)
                    .map_err(|e| StoreError::Invalid(e.to_string()))?;
                self.tx.put_option(&key, &value)?;
            }
            Item::User(user) => {
                self.users.push(user);
                if self.users.len() >= LOAD_CHUNK {
                    self.flush_users()?;
                }
            }
            Item::Batch(record) => {
                self.last_batch = self.last_batch.max(record.summary.id);
                self.tx.put_batch(&record)?;
                self.counts.batches += 1;
            }
            Item::Correction { batch, correction } => self.tx.put_correction(batch, &correction)?,
            Item::Audit(event) => {
                if event.id != self.next_event {
                    return Err(StoreError::Invalid(format!(
                        "audit events must come in id order from 1: got {} where {} was due",
                        event.id, self.next_event
                    )));
                }
                self.next_event += 1;
                if event.batch != self.events_batch || self.events.len() >= LOAD_CHUNK {
                    self.flush_events()?;
                    self.events_batch = event.batch;
                }
                self.events.push(event);
            }
            Item::Approval { request, file } => {
                self.last_approval = self.last_approval.max(request.id);
                self.tx.put_approval(&request, file.as_deref())?;
                self.counts.approvals += 1;
            }
            Item::Password { key, phc, epoch_ms } => {
                self.tx.put_password(&key, &phc, epoch_ms)?;
                self.counts.passwords += 1;
            }
            Item::Link { token_id, link } => {
                self.tx.put_link(&token_id, &link)?;
                self.counts.links += 1;
            }
            Item::Token(token) => {
                self.tx.put_token(&token)?;
                self.counts.tokens += 1;
            }
            Item::ExternalId { key, external_id } => {
                self.tx.set_external_id(&key, Some(&external_id))?;
                self.counts.external_ids += 1;
            }
            Item::Mail(message) => {
                self.last_mail = self.last_mail.max(message.id);
                self.tx.put_outbox(&message)?;
                self.counts.mails += 1;
            }
        }
        Ok(())
    }

    fn flush_users(&mut self) -> Result<(), StoreError> {
        let writes: Vec<UserWrite<'_>> = self
            .users
            .iter()
            .map(|u| UserWrite {
                before: None,
                after: Some(u),
            })
            .collect();
        self.tx.write_users(&writes)?;
        self.counts.users += self.users.len() as u64;
        self.users.clear();
        Ok(())
    }

    fn flush_events(&mut self) -> Result<(), StoreError> {
        if self.events.is_empty() {
            return Ok(());
        }
        self.counts.audit_events += self.events.len() as u64;
        let events = std::mem::take(&mut self.events);
        self.tx.append_audit(events, self.events_batch)
    }

    /// Writes what is buffered and moves the id counters past the copied
    /// ids; the caller then commits.
    pub fn finish(mut self) -> Result<LoadCounts, StoreError> {
        self.flush_users()?;
        self.flush_events()?;
        for (sequence, last) in [
            (Sequence::Batch, self.last_batch),
            (Sequence::Approval, self.last_approval),
            (Sequence::Outbox, self.last_mail),
        ] {
            while self.tx.next_id(sequence)? < last {}
        }
        Ok(self.counts)
    }
}
