//! A journal kept outside a local file (the shared journal in PostgreSQL,
//! `pg::drive`): the interface such a store implements, and how the writer
//! keeps the journal's rules over it when a connection breaks mid-write.

use std::fmt;

use super::JournalError;
use super::writer::{Flushed, Maker};
use crate::event::{Event, Record};

/// Where a shared run's records live. Every call is durable before it
/// returns: an append is one committed transaction under the run's append
/// lock, exactly as the file's fsync under its append lock.
pub trait SharedStore: Send + fmt::Debug {
    /// The store as people read it (a URL without its password).
    fn describe(&self) -> String;

    /// In one transaction, under the run's append lock: read the records
    /// appended after `since`, then write what `build` makes of them (given
    /// the `seq` to start at). Returns the records read. An error means
    /// the write may or may not have been committed (the connection broke):
    /// the writer finds out on its next append.
    fn append(
        &mut self,
        since: u64,
        build: &mut dyn FnMut(&[Record], u64) -> Vec<Record>,
    ) -> Result<Vec<Record>, JournalError>;

    /// The records appended after `since`.
    fn poll(&mut self, since: u64) -> Result<Vec<Record>, JournalError>;
}

/// A shared store and the records of a write whose commit was never
/// confirmed.
#[derive(Debug)]
pub(super) struct SharedJournal {
    store: Box<dyn SharedStore>,
    /// Written in the last failed append: maybe committed, maybe not.
    in_doubt: Vec<Record>,
}

impl SharedJournal {
    pub(super) fn new(store: Box<dyn SharedStore>) -> SharedJournal {
        SharedJournal {
            store,
            in_doubt: Vec::new(),
        }
    }

    pub(super) fn describe(&self) -> String {
        self.store.describe()
    }

    pub(super) fn poll(&mut self, since: u64) -> Result<Vec<Record>, JournalError> {
        self.store.poll(since)
    }

    /// Append the buffered events (and what `judge` adds), keeping them
    /// buffered when the store fails. A write whose commit was not
    /// confirmed is looked for first: found (the same lines right after
    /// `since`), it counts as written, so no event is written twice or lost.
    pub(super) fn append(
        &mut self,
        since: u64,
        pending: &mut Vec<Event>,
        made: &Maker<'_>,
        judge: impl FnOnce(&[Record], u64) -> Vec<Event>,
    ) -> Result<Flushed, JournalError> {
        let doubt = std::mem::take(&mut self.in_doubt);
        let events = pending.clone();
        let mut judge = Some(judge);
        let mut confirmed = 0;
        let mut built: Option<Vec<Record>> = None;
        let read = self.store.append(since, &mut |seen, next| {
            confirmed = committed_before(&doubt, seen);
            let rest = events[confirmed.min(events.len())..].to_vec();
            let records = match judge.take() {
                Some(judge) => made.judged(rest, seen, next, judge),
                None => made.records(rest, next),
            };
            built = Some(records.clone());
            records
        });
        match read {
            Ok(mut seen) => {
                pending.clear();
                let mut written: Vec<Record> = seen.drain(..confirmed).collect();
                written.extend(built.unwrap_or_default());
                Ok(Flushed {
                    written,
                    external: seen,
                })
            }
            Err(e) => {
                // Unsure again: what this attempt wrote, else what the one
                // before did (this one never got to write).
                self.in_doubt = match built {
                    Some(mut records) => {
                        records.truncate(events.len());
                        records
                    }
                    None => doubt,
                };
                Err(e)
            }
        }
    }
}

/// How many of the unconfirmed records `doubt` open `seen` (the records
/// after the writer's last known `seq`): all of them when that write was
/// committed, else none.
fn committed_before(doubt: &[Record], seen: &[Record]) -> usize {
    let found = !doubt.is_empty()
        && seen.len() >= doubt.len()
        && doubt
            .iter()
            .zip(seen)
            .all(|(ours, there)| ours.to_line() == there.to_line());
    if found { doubt.len() } else { 0 }
}
