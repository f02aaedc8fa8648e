//! Runs and records in the shared journal: import a file journal, read a run
//! back as the journal text it is, list runs, and append records (a note, or
//! a vote judged against every record before it, in one transaction).

use std::path::Path;

use crate::event::{Event, Record};
use crate::journal::{Stamp, parse_header};

use super::{Db, PgError};

/// A run as the shared journal lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    pub run_id: String,
    pub created_by: String,
    pub records: i64,
}

/// What [`Db::import`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub run_id: String,
    pub records: usize,
    /// A torn last line of the file, left out (a crashed writer's half line).
    pub torn_line: Option<usize>,
}

const INSERT_RECORD: &str = "INSERT INTO cutover.records (run_id, seq, type, actor, imported, line) \
                             VALUES ($1, $2, $3, $4, $5, $6)";

impl Db {
    /// Copy a file journal into the shared journal as a new run, every line
    /// as it is (so an export gives the same bytes back), in one transaction.
    pub fn import(&self, text: &str, source: &Path) -> Result<Appended, PgError> {
        self.check_schema()?;
        let mut lines = text.split_inclusive('\n');
        let header_line = lines.next().unwrap_or("");
        let header = parse_header(header_line.trim_end_matches('\n'), source)?;
        crate::journal::check_run_id(&header.run_id)?;
        let mut records = Vec::new();
        let mut torn_line = None;
        for (i, line) in lines.enumerate() {
            let complete = line.ends_with('\n');
            let line = line.trim_end_matches('\n');
            match Record::from_line(line) {
                Ok(r) if complete => records.push((r, line)),
                // A last line without its newline is a crashed writer's half.
                _ if !complete => torn_line = Some(i + 2),
                Err(e) => {
                    return Err(PgError::Journal(crate::journal::JournalError::Io {
                        action: "import",
                        path: source.display().to_string(),
                        source: std::io::Error::other(format!("line {}: {e}", i + 2)),
                    }));
                }
                Ok(_) => unreachable!("complete is checked above"),
            }
        }
        self.transaction("import the journal", || {
            if self.run_exists(&header.run_id)? {
                return Err(PgError::Exists {
                    url: self.url.to_string(),
                    run: header.run_id.clone(),
                });
            }
            let header_text = header_line.trim_end_matches('\n');
            self.query(
                "create the run",
                "INSERT INTO cutover.runs (run_id, header) VALUES ($1, $2)",
                &[&header.run_id, &header_text],
            )?;
            for (record, line) in &records {
                self.insert(record, line, true)?;
            }
            Ok(())
        })?;
        Ok(Appended {
            run_id: header.run_id,
            records: records.len(),
            torn_line,
        })
    }

    /// The run's journal text: its header and records, one per line, exactly
    /// as a file journal holds them.
    pub fn journal_text(&self, run_id: &str) -> Result<String, PgError> {
        self.check_schema()?;
        let header = self.query(
            "read the run",
            "SELECT header FROM cutover.runs WHERE run_id = $1",
            &[&run_id],
        )?;
        let Some(header) = header.first() else {
            return Err(PgError::NoSuchRun {
                url: self.url.to_string(),
                run: run_id.into(),
            });
        };
        let mut text: String = header.get(0);
        text.push('\n');
        let rows = self.query(
            "read the records",
            "SELECT line FROM cutover.records WHERE run_id = $1 ORDER BY seq",
            &[&run_id],
        )?;
        for row in rows {
            text.push_str(row.get::<_, &str>(0));
            text.push('\n');
        }
        Ok(text)
    }

    pub fn list_runs(&self) -> Result<Vec<RunSummary>, PgError> {
        self.check_schema()?;
        let rows = self.query(
            "list the runs",
            "SELECT r.run_id, r.created_by::text, \
                    (SELECT count(*) FROM cutover.records c WHERE c.run_id = r.run_id) \
             FROM cutover.runs r ORDER BY r.created_at, r.run_id",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|row| RunSummary {
                run_id: row.get(0),
                created_by: row.get(1),
                records: row.get(2),
            })
            .collect())
    }

    /// The stamp of what this connection writes: the database user, never a
    /// typed name.
    pub fn stamp(&self) -> Stamp {
        Stamp {
            actor: self.user.clone(),
            on_behalf: None,
            clock: crate::journal::Clock::from_env(),
        }
    }

    /// Append one record that needs no judging (a note).
    pub fn append_external(&self, run_id: &str, event: Event) -> Result<Record, PgError> {
        // Nothing to judge: read up to the last seq before the lock, so the
        // lock is held for the few records appended since, not the whole
        // run (the driver waits for it on every flush).
        let since = self.last_seq(run_id)?;
        let written = self.append_judged(run_id, since, |_, _| Ok::<_, PgError>(vec![event]))?;
        let mut records = written?;
        Ok(records.remove(0))
    }

    /// `journal::append_judged` for the shared journal: under the run's
    /// append lock, in one transaction, `judge` sees the records appended
    /// since seq `since` and the next seq, and what it returns is appended.
    /// A judgement that refuses appends nothing.
    pub fn append_judged<E>(
        &self,
        run_id: &str,
        since: u64,
        judge: impl FnOnce(&[Record], u64) -> Result<Vec<Event>, E>,
    ) -> Result<Result<Vec<Record>, E>, PgError> {
        self.check_schema()?;
        let stamp = self.stamp();
        let mut verdict = None;
        self.transaction("append to the run", || {
            if !self.run_exists(run_id)? {
                return Err(PgError::NoSuchRun {
                    url: self.url.to_string(),
                    run: run_id.into(),
                });
            }
            self.query(
                "lock the run",
                "SELECT pg_advisory_xact_lock(hashtextextended('cutover:' || $1, 0))",
                &[&run_id],
            )?;
            // Every record after `since` is read, so the last of them (or
            // `since`) is the run's last seq: no second query under the lock.
            let appended = self.records_since(run_id, since)?;
            let last = appended.last().map_or(since, |r| r.seq);
            match judge(&appended, last + 1) {
                Ok(events) => {
                    let mut written = Vec::new();
                    for (i, event) in events.into_iter().enumerate() {
                        let record = Record {
                            seq: last + 1 + i as u64,
                            ts: stamp.clock.rfc3339(),
                            run_id: run_id.into(),
                            actor: stamp.actor.clone(),
                            on_behalf: None,
                            event,
                        };
                        self.insert(&record, &record.to_line(), false)?;
                        written.push(record);
                    }
                    verdict = Some(Ok(written));
                    Ok(())
                }
                Err(refused) => {
                    verdict = Some(Err(refused));
                    Ok(())
                }
            }
        })?;
        Ok(verdict.expect("the transaction ran its body"))
    }

    pub fn records_since(&self, run_id: &str, since: u64) -> Result<Vec<Record>, PgError> {
        let action = "read the records";
        let statement = if let Some(statement) = self.since.get() {
            statement
        } else {
            let prepare = self.client.prepare(
                "SELECT line FROM cutover.records WHERE run_id = $1 AND seq > $2 ORDER BY seq",
            );
            let statement = self
                .runtime
                .block_on(prepare)
                .map_err(|e| self.error(action, &e))?;
            self.since.get_or_init(|| statement)
        };
        let rows = self
            .runtime
            .block_on(
                self.client
                    .query(statement, &[&run_id, &since.cast_signed()]),
            )
            .map_err(|e| self.error(action, &e))?;
        Ok(rows
            .iter()
            .filter_map(|row| Record::from_line(row.get::<_, &str>(0)).ok())
            .collect())
    }

    fn last_seq(&self, run_id: &str) -> Result<u64, PgError> {
        let row = self.query_one(
            "read the last seq",
            "SELECT coalesce(max(seq), 0) FROM cutover.records WHERE run_id = $1",
            &[&run_id],
        )?;
        Ok(row.get::<_, i64>(0).cast_unsigned())
    }

    pub fn run_exists(&self, run_id: &str) -> Result<bool, PgError> {
        let rows = self.query(
            "read the run",
            "SELECT 1 FROM cutover.runs WHERE run_id = $1",
            &[&run_id],
        )?;
        Ok(!rows.is_empty())
    }

    pub(super) fn insert(
        &self,
        record: &Record,
        line: &str,
        imported: bool,
    ) -> Result<(), PgError> {
        let (kind, _) = record.event.to_parts();
        self.query(
            &format!("append record {}", record.seq),
            INSERT_RECORD,
            &[
                &record.run_id,
                &record.seq.cast_signed(),
                &kind,
                &record.actor,
                &imported,
                &line,
            ],
        )?;
        Ok(())
    }

    /// Run `body` in a transaction: committed when it returns `Ok`, rolled
    /// back otherwise (and when the commit itself fails, nothing was written).
    fn transaction(
        &self,
        action: &str,
        body: impl FnOnce() -> Result<(), PgError>,
    ) -> Result<(), PgError> {
        self.execute(action, "BEGIN")?;
        match body().and_then(|()| self.execute(action, "COMMIT")) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = self.execute("roll back", "ROLLBACK");
                Err(e)
            }
        }
    }
}

/// What [`Db::wait_for_news`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum News {
    /// Records were appended to the run, up to this seq at least.
    Appended(u64),
    /// Nothing new within the time given.
    Quiet,
}

impl Db {
    /// Be told of every record appended from now on (`LISTEN`).
    pub fn listen(&self) -> Result<(), PgError> {
        self.execute("listen for new records", "LISTEN cutover_records")
    }

    /// Wait up to `within` for a record appended to `run_id` after seq
    /// `after` (after [`Db::listen`]); an error when the connection is lost.
    ///
    /// A follower that fell behind has one notification pending per record;
    /// they are all taken at once, and those for records it already read
    /// are dropped, so it fetches and draws once per catch-up, not once per
    /// record (that backlog was the followers' lag).
    pub fn wait_for_news(
        &mut self,
        run_id: &str,
        after: u64,
        within: std::time::Duration,
    ) -> Result<News, PgError> {
        let deadline = tokio::time::Instant::now() + within;
        let news = &mut self.news;
        let fresh = |payload: &str| appended_seq(payload, run_id).filter(|seq| *seq > after);
        let seen = self.runtime.block_on(async {
            let mut newest = loop {
                match tokio::time::timeout_at(deadline, news.recv()).await {
                    Err(_) => return Some(News::Quiet),
                    Ok(None) => return None,
                    Ok(Some(payload)) => {
                        if let Some(seq) = fresh(&payload) {
                            break seq;
                        }
                    }
                }
            };
            // Let the connection hand over what it has already received.
            tokio::task::yield_now().await;
            while let Ok(payload) = news.try_recv() {
                newest = newest.max(fresh(&payload).unwrap_or(0));
            }
            Some(News::Appended(newest))
        });
        seen.ok_or_else(|| PgError::Connect {
            url: self.url.to_string(),
            reason: "the connection was lost".into(),
        })
    }
}

/// The seq of a `cutover_records` notification (`RUN SEQ`) about `run_id`.
fn appended_seq(payload: &str, run_id: &str) -> Option<u64> {
    let (run, seq) = payload.rsplit_once(' ')?;
    if run != run_id {
        return None;
    }
    seq.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::appended_seq;

    #[test]
    fn a_notification_names_its_run_and_seq() {
        assert_eq!(appended_seq("r 12", "r"), Some(12));
        assert_eq!(appended_seq("r 12", "r2"), None);
        assert_eq!(appended_seq("a b 3", "a b"), Some(3));
        assert_eq!(appended_seq("r x", "r"), None);
        assert_eq!(appended_seq("r", "r"), None);
    }
}
