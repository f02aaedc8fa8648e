//! A journal kept outside a local file (the shared journal in PostgreSQL,
//! `pg::drive`): the interface such a store implements, and how the writer
//! keeps the journal's rules over it when a connection breaks mid-write.

use std::fmt;

use super::JournalError;
use super::writer::{Flushed, Judge, Maker};
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
    /// buffered when the store fails. Records of a write whose commit was
    /// not confirmed are looked for first: each one found among the records
    /// after `since` counts as written (it is its buffered event's record),
    /// so no event is written twice or lost, whatever the connection does.
    pub(super) fn append(
        &mut self,
        since: u64,
        pending: &mut Vec<Event>,
        made: &Maker<'_>,
        mut judge: Option<Judge<'_>>,
    ) -> Result<Flushed, JournalError> {
        let doubt = std::mem::take(&mut self.in_doubt);
        let events = pending.clone();
        let mut confirmed = Vec::new();
        let mut built: Option<Vec<Record>> = None;
        let read = self.store.append(since, &mut |seen, next| {
            confirmed = found(&doubt, seen);
            let rest = events[confirmed.len().min(events.len())..].to_vec();
            let records = made.judged(rest, seen, next, judge.take());
            built = Some(records.clone());
            records
        });
        match read {
            Ok(seen) => {
                pending.clear();
                let external = seen
                    .into_iter()
                    .filter(|r| !confirmed.iter().any(|c| c.seq == r.seq))
                    .collect();
                let mut written = confirmed;
                written.extend(built.unwrap_or_default());
                Ok(Flushed { written, external })
            }
            Err(e) => {
                // Still unsure: what was found written (not yet reported),
                // then what this attempt wrote; or, when it never got to
                // write, all that was in doubt before.
                self.in_doubt = match built {
                    Some(records) => {
                        let mut doubt = confirmed;
                        doubt.extend(records);
                        doubt.truncate(events.len());
                        doubt
                    }
                    None => doubt,
                };
                Err(e)
            }
        }
    }
}

/// The records of `doubt` (written, maybe) that `seen` (the records after
/// the writer's last known `seq`) holds, line for line. A write is one
/// transaction, committed whole or not at all, so these open `doubt`.
fn found(doubt: &[Record], seen: &[Record]) -> Vec<Record> {
    let lines: std::collections::HashSet<String> = seen.iter().map(Record::to_line).collect();
    doubt
        .iter()
        .take_while(|r| lines.contains(&r.to_line()))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::journal::{Journal, Stamp};

    /// Where a fault strikes the next append.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Fault {
        None,
        /// Unreachable before anything is read.
        Before,
        /// Written and committed, but the answer is lost.
        AfterCommit,
        /// Unreachable after the records were built, nothing committed.
        BeforeCommit,
    }

    /// An in-memory store with faults: the rules under test are the
    /// writer's, not a database's.
    #[derive(Debug, Clone)]
    struct Memory {
        records: Arc<Mutex<Vec<Record>>>,
        fault: Arc<Mutex<Fault>>,
    }

    impl Memory {
        fn lost() -> JournalError {
            JournalError::Unreachable {
                store: "memory".into(),
                reason: "gone".into(),
            }
        }
    }

    impl SharedStore for Memory {
        fn describe(&self) -> String {
            "memory".into()
        }

        fn append(
            &mut self,
            since: u64,
            build: &mut dyn FnMut(&[Record], u64) -> Vec<Record>,
        ) -> Result<Vec<Record>, JournalError> {
            let fault = std::mem::replace(&mut *self.fault.lock().unwrap(), Fault::None);
            if fault == Fault::Before {
                return Err(Memory::lost());
            }
            let mut records = self.records.lock().unwrap();
            let seen: Vec<Record> = records.iter().filter(|r| r.seq > since).cloned().collect();
            let next = records.last().map_or(0, |r| r.seq) + 1;
            let built = build(&seen, next);
            if fault == Fault::BeforeCommit {
                return Err(Memory::lost());
            }
            for (i, r) in built.iter().enumerate() {
                assert_eq!(r.seq, next + i as u64, "contiguous");
            }
            records.extend(built);
            if fault == Fault::AfterCommit {
                return Err(Memory::lost());
            }
            Ok(seen)
        }

        fn poll(&mut self, since: u64) -> Result<Vec<Record>, JournalError> {
            let records = self.records.lock().unwrap();
            Ok(records.iter().filter(|r| r.seq > since).cloned().collect())
        }
    }

    fn note(text: &str) -> Event {
        Event::Note { text: text.into() }
    }

    fn texts(records: &[Record]) -> Vec<String> {
        records
            .iter()
            .map(|r| match &r.event {
                Event::Note { text } => text.clone(),
                other => other.kind(),
            })
            .collect()
    }

    #[test]
    fn every_event_is_written_once_whatever_the_connection_does() {
        let memory = Memory {
            records: Arc::default(),
            fault: Arc::new(Mutex::new(Fault::None)),
        };
        let mut journal = Journal::shared(Box::new(memory.clone()), "r", Stamp::new(None), 0);
        // Many rounds of every kind of fault, in a fixed pseudo-random order.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let faults: Vec<Fault> = (0..400)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                [
                    Fault::None,
                    Fault::Before,
                    Fault::AfterCommit,
                    Fault::BeforeCommit,
                ][(seed % 4) as usize]
            })
            .collect();
        let mut written = Vec::new();
        for (round, fault) in faults.iter().enumerate() {
            journal.emit(note(&format!("{round}a")));
            journal.emit(note(&format!("{round}b")));
            *memory.fault.lock().unwrap() = *fault;
            match journal.flush() {
                Ok(flushed) => written.extend(flushed.written),
                Err(JournalError::Unreachable { .. }) => {
                    assert!(journal.has_pending(), "kept for the next flush");
                }
                Err(e) => panic!("{e}"),
            }
            // Another writer appends between rounds.
            if seed.is_multiple_of(3) || round % 5 == 0 {
                let mut records = memory.records.lock().unwrap();
                let seq = records.last().map_or(0, |r| r.seq) + 1;
                let mut other = journal_record(seq, &format!("other {round}"));
                other.actor = "someone-else".into();
                records.push(other);
            }
        }
        while journal.has_pending() {
            written.extend(journal.flush().unwrap().written);
        }
        let all = memory.records.lock().unwrap().clone();
        let ours: Vec<String> = texts(&all)
            .into_iter()
            .filter(|t| !t.starts_with("other"))
            .collect();
        let expected: Vec<String> = (0..faults.len())
            .flat_map(|r| [format!("{r}a"), format!("{r}b")])
            .collect();
        assert_eq!(ours, expected, "each once, in order");
        assert_eq!(
            texts(&written),
            expected,
            "the writer knows each as written exactly once"
        );
        let seqs: Vec<u64> = all.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, (1..=all.len() as u64).collect::<Vec<_>>());
    }

    fn journal_record(seq: u64, text: &str) -> Record {
        Record {
            seq,
            ts: "2026-12-06T00:00:00.000Z".into(),
            run_id: "r".into(),
            actor: "x".into(),
            on_behalf: None,
            event: note(text),
        }
    }
}
