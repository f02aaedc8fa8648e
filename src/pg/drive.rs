//! Driving a run in the shared journal: the engine's store
//! (`journal::SharedStore`). A worker thread owns the connection, because
//! the engine's runtime cannot block on another one; it holds the run's
//! driving lock (a session advisory lock, so it goes with the connection
//! when the driver dies) and, when the connection is lost, reconnects and
//! takes the lock again before anything else is written.

use std::sync::mpsc;

use crate::event::{Header, Record};
use crate::journal::{JournalError, JournalRead, SharedStore, Stamp, read_text};

use super::{Db, JournalUrl, PgError};

/// The driving lock's key: another key than the append lock's (`cutover:`).
const DRIVE_KEY: &str = "hashtextextended('cutover-driver:' || $1, 0)";

/// The rows of `pg_locks l` that are the run's driving lock, held: a
/// bigint advisory key is its `classid` (high half) and `objid` (low half).
fn held_drive_lock() -> String {
    format!(
        "l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 \
         AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND ((l.classid::bigint << 32) | l.objid::bigint) = {DRIVE_KEY}"
    )
}

/// A run this process drives in the shared journal.
pub struct Driven {
    /// The store to give `journal::Journal::shared`.
    pub store: Box<dyn SharedStore>,
    /// The run's records so far (empty for a new run).
    pub read: JournalRead,
    /// Who writes: the database user, never a typed name.
    pub stamp: Stamp,
}

/// Start a new run in the shared journal: take its driving lock, then
/// create it. `ids` are the run ids to try in order (a default id's
/// `-2`, `-3`, ... when it is taken); an explicit id is one.
pub fn create(
    mut db: Db,
    ids: impl IntoIterator<Item = String>,
    started_at: &str,
) -> Result<Driven, PgError> {
    db.check_schema()?;
    let url = db.url.clone();
    let mut last = None;
    for run_id in ids {
        if db.run_exists(&run_id)? {
            last = Some(run_id);
            continue;
        }
        db.take_drive_lock(&run_id)?;
        let header = serde_json::to_string(&Header::new(&run_id, started_at)).unwrap_or_default();
        let created = db.query(
            "create the run",
            "INSERT INTO cutover.runs (run_id, header) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING 1",
            &[&run_id, &header],
        )?;
        if created.is_empty() {
            // Created by another process since we looked.
            db.release_drive_lock(&run_id)?;
            last = Some(run_id);
            continue;
        }
        let read = read_text(&format!("{header}\n"), std::path::Path::new(&run_id))?;
        return start(db, run_id, read);
    }
    Err(PgError::Exists {
        url: url.to_string(),
        run: last.unwrap_or_default(),
    })
}

/// Take over a run of the shared journal (resume): its driving lock, then
/// everything in it.
pub fn open(url: &JournalUrl, run_id: &str) -> Result<Driven, PgError> {
    let mut db = Db::connect(url)?;
    db.check_schema()?;
    if !db.run_exists(run_id)? {
        return Err(PgError::NoSuchRun {
            url: url.to_string(),
            run: run_id.into(),
        });
    }
    db.take_drive_lock(run_id)?;
    let text = db.journal_text(run_id)?;
    let read = read_text(&text, std::path::Path::new(run_id))?;
    start(db, run_id.to_string(), read)
}

fn start(db: Db, run_id: String, read: JournalRead) -> Result<Driven, PgError> {
    let statements = db.prepare_driver()?;
    let stamp = db.stamp();
    let url = db.url.clone();
    let (requests, inbox) = mpsc::channel();
    let worker = Worker {
        url: url.clone(),
        run_id,
        db: Some((db, statements)),
    };
    std::thread::Builder::new()
        .name("shared-journal".into())
        .spawn(move || worker.serve(&inbox))
        .expect("a thread for the shared journal");
    Ok(Driven {
        store: Box::new(Store { url, requests }),
        read,
        stamp,
    })
}

impl Db {
    /// Name this connection for `pg_stat_activity`, where a second driver
    /// reads who holds the run.
    fn name_driver(&self) -> Result<(), PgError> {
        let host = nix::unistd::gethostname()
            .map(|h| h.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut name = format!("cutover pid {} on {host}", std::process::id());
        // `application_name` holds 63 bytes.
        while name.len() > 63 {
            name.pop();
        }
        self.query_one(
            "name the driver",
            "SELECT set_config('application_name', $1, false)",
            &[&name],
        )?;
        Ok(())
    }

    /// Take the run's driving lock (held by this connection until it ends),
    /// or say who holds it.
    fn take_drive_lock(&mut self, run_id: &str) -> Result<(), PgError> {
        self.name_driver()?;
        let got: bool = self
            .query_one(
                "take the run's driving lock",
                &format!("SELECT pg_try_advisory_lock({DRIVE_KEY})"),
                &[&run_id],
            )?
            .get(0);
        if got {
            return Ok(());
        }
        let holder = self
            .driver_of(run_id)?
            .unwrap_or_else(|| "another session (it did not say who)".into());
        Err(PgError::Journal(JournalError::Locked {
            run: run_id.into(),
            holder,
        }))
    }

    fn release_drive_lock(&self, run_id: &str) -> Result<(), PgError> {
        self.query_one(
            "release the run's driving lock",
            &format!("SELECT pg_advisory_unlock({DRIVE_KEY})"),
            &[&run_id],
        )?;
        Ok(())
    }

    /// Whether some session drives `run_id` now (cheaper than
    /// [`Db::driver_of`]: the lock table alone, for every view of a follower).
    pub fn is_driven(&self, run_id: &str) -> Result<bool, PgError> {
        let row = self.query_one(
            "ask whether the run is driven",
            &format!(
                "SELECT EXISTS (SELECT 1 FROM pg_locks l WHERE {})",
                held_drive_lock()
            ),
            &[&run_id],
        )?;
        Ok(row.get(0))
    }

    /// Who drives `run_id` now: the database user and what its connection
    /// calls itself (`cutover pid N on HOST`); `None` when nobody does.
    pub fn driver_of(&self, run_id: &str) -> Result<Option<String>, PgError> {
        let rows = self.query(
            "ask who drives the run",
            &format!(
                "SELECT a.usename::text, a.application_name FROM pg_locks l \
                 JOIN pg_stat_activity a ON a.pid = l.pid WHERE {}",
                held_drive_lock()
            ),
            &[&run_id],
        )?;
        Ok(rows.first().map(|row| {
            let user: Option<String> = row.get(0);
            let app: Option<String> = row.get(1);
            format!(
                "{} ({})",
                user.unwrap_or_else(|| "someone".into()),
                app.filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "another session".into())
            )
        }))
    }
}

/// Append all of a flush's records in one statement, in order (the
/// records' trigger checks each `seq` against the rows before it).
const INSERT_RECORDS: &str = "INSERT INTO cutover.records (run_id, seq, type, actor, imported, line) \
     SELECT $1, r.seq, r.type, $2, false, r.line \
     FROM unnest($3::bigint[], $4::text[], $5::text[]) WITH ORDINALITY AS r(seq, type, line, n) \
     ORDER BY r.n";

/// The driver's statements, prepared once per connection: a prepared
/// statement is sent as one message, so pipelined statements run in the
/// order they are given.
struct Statements {
    lock: tokio_postgres::Statement,
    read: tokio_postgres::Statement,
    insert: tokio_postgres::Statement,
}

impl Db {
    fn prepare_driver(&self) -> Result<Statements, PgError> {
        let prepare = |sql: &str| {
            self.runtime
                .block_on(self.client.prepare(sql))
                .map_err(|e| self.error("prepare the driver's statements", &e))
        };
        Ok(Statements {
            lock: prepare("SELECT pg_advisory_xact_lock(hashtextextended('cutover:' || $1, 0))")?,
            read: prepare(
                "SELECT line FROM cutover.records WHERE run_id = $1 AND seq > $2 ORDER BY seq",
            )?,
            insert: prepare(INSERT_RECORDS)?,
        })
    }

    /// Open the append's transaction, take the run's append lock and read
    /// what others appended after `since`: one round trip (the three
    /// statements are pipelined; each fails on its own).
    fn begin_append(
        &self,
        sql: &Statements,
        run_id: &str,
        since: u64,
    ) -> Result<Vec<Record>, PgError> {
        let since = since.cast_signed();
        let lock_params: [&(dyn tokio_postgres::types::ToSql + Sync); 1] = [&run_id];
        let read_params: [&(dyn tokio_postgres::types::ToSql + Sync); 2] = [&run_id, &since];
        let (begin, lock, rows) = self.runtime.block_on(async {
            tokio::join!(
                self.client.batch_execute("BEGIN"),
                self.client.query(&sql.lock, &lock_params),
                self.client.query(&sql.read, &read_params),
            )
        });
        begin.map_err(|e| self.error("append to the run", &e))?;
        lock.map_err(|e| self.error("lock the run", &e))?;
        let rows = rows.map_err(|e| self.error("read the records", &e))?;
        Ok(rows
            .iter()
            .filter_map(|row| Record::from_line(row.get::<_, &str>(0)).ok())
            .collect())
    }

    /// Write `records` and commit: one round trip. The commit counts only
    /// when the insert succeeded (PostgreSQL answers a `COMMIT` of a failed
    /// transaction by rolling it back, without an error).
    fn commit_append(
        &self,
        sql: &Statements,
        run_id: &str,
        records: &[Record],
    ) -> Result<(), PgError> {
        let seqs: Vec<i64> = records.iter().map(|r| r.seq.cast_signed()).collect();
        let kinds: Vec<String> = records.iter().map(|r| r.event.to_parts().0).collect();
        let lines: Vec<String> = records.iter().map(Record::to_line).collect();
        let actor = records.first().map_or("", |r| r.actor.as_str());
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 5] =
            [&run_id, &actor, &seqs, &kinds, &lines];
        let (insert, commit) = self.runtime.block_on(async {
            tokio::join!(
                self.client.execute(&sql.insert, &params),
                self.client.batch_execute("COMMIT"),
            )
        });
        insert.map_err(|e| self.error("append to the run", &e))?;
        commit.map_err(|e| self.error("commit the append", &e))?;
        Ok(())
    }
}

/// What the engine's thread asks the worker.
enum Request {
    /// Open the transaction, take the run's append lock, read the records
    /// after `since`.
    Begin {
        since: u64,
        reply: mpsc::Sender<Result<Vec<Record>, JournalError>>,
    },
    /// Write these and commit.
    Commit {
        records: Vec<Record>,
        reply: mpsc::Sender<Result<(), JournalError>>,
    },
    /// The records after `since`, without a transaction.
    Poll {
        since: u64,
        reply: mpsc::Sender<Result<Vec<Record>, JournalError>>,
    },
}

/// The engine's side: each call waits for the worker's answer (durable, as
/// the file's fsync).
#[derive(Debug)]
struct Store {
    url: JournalUrl,
    requests: mpsc::Sender<Request>,
}

impl Store {
    fn ask<T>(
        &self,
        request: impl FnOnce(mpsc::Sender<Result<T, JournalError>>) -> Request,
    ) -> Result<T, JournalError> {
        let (reply, answer) = mpsc::channel();
        let gone =
            || JournalError::Shared(format!("the shared journal {}'s worker stopped", self.url));
        self.requests.send(request(reply)).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

impl SharedStore for Store {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    fn append(
        &mut self,
        since: u64,
        build: &mut dyn FnMut(&[Record], u64) -> Vec<Record>,
    ) -> Result<Vec<Record>, JournalError> {
        let seen = self.ask(|reply| Request::Begin { since, reply })?;
        let next = seen.last().map_or(since, |r| r.seq) + 1;
        let records = build(&seen, next);
        self.ask(|reply| Request::Commit { records, reply })?;
        Ok(seen)
    }

    fn poll(&mut self, since: u64) -> Result<Vec<Record>, JournalError> {
        self.ask(|reply| Request::Poll { since, reply })
    }
}

/// The worker's side: the connection, made again when it is lost.
struct Worker {
    url: JournalUrl,
    run_id: String,
    /// `None` after the connection was lost.
    db: Option<(Db, Statements)>,
}

impl Worker {
    /// Answer requests until the engine lets go of the store (the
    /// connection, and with it the driving lock, end with the thread).
    fn serve(mut self, inbox: &mpsc::Receiver<Request>) {
        while let Ok(request) = inbox.recv() {
            match request {
                Request::Begin { since, reply } => {
                    let _ = reply.send(self.begin(since));
                }
                Request::Commit { records, reply } => {
                    let _ = reply.send(self.commit(&records));
                }
                Request::Poll { since, reply } => {
                    let _ = reply.send(self.poll(since));
                }
            }
        }
    }

    fn begin(&mut self, since: u64) -> Result<Vec<Record>, JournalError> {
        let run_id = self.run_id.clone();
        self.with_db(|db, sql| db.begin_append(sql, &run_id, since))
    }

    fn commit(&mut self, records: &[Record]) -> Result<(), JournalError> {
        let run_id = self.run_id.clone();
        self.with_db(|db, sql| db.commit_append(sql, &run_id, records))
    }

    fn poll(&mut self, since: u64) -> Result<Vec<Record>, JournalError> {
        let run_id = self.run_id.clone();
        self.with_db(|db, _| db.records_since(&run_id, since))
    }

    /// Run `work` on the connection, connecting (and taking the driving
    /// lock) again first if it was lost. A lost connection is
    /// [`JournalError::Unreachable`], which the engine waits out; anything
    /// else rolls the transaction back and is the database's refusal.
    fn with_db<T>(
        &mut self,
        work: impl FnOnce(&Db, &Statements) -> Result<T, PgError>,
    ) -> Result<T, JournalError> {
        if self.db.is_none() {
            self.reconnect()?;
        }
        let (db, sql) = self.db.as_ref().expect("connected above");
        match work(db, sql) {
            Ok(value) => Ok(value),
            Err(e @ PgError::Lost { .. }) => {
                self.db = None;
                Err(self.unreachable(&e))
            }
            Err(e) => {
                let _ = db.execute("roll back", "ROLLBACK");
                Err(match e {
                    PgError::Journal(e) => e,
                    other => JournalError::Shared(other.to_string()),
                })
            }
        }
    }

    fn reconnect(&mut self) -> Result<(), JournalError> {
        let mut db = Db::connect(&self.url).map_err(|e| self.unreachable(&e))?;
        match db
            .take_drive_lock(&self.run_id)
            .and_then(|()| db.prepare_driver())
        {
            Ok(statements) => {
                tracing::info!(url = %self.url, run = %self.run_id, "reconnected to the shared journal");
                self.db = Some((db, statements));
                Ok(())
            }
            Err(PgError::Journal(e)) => Err(e),
            Err(e @ PgError::Lost { .. }) => Err(self.unreachable(&e)),
            Err(e) => Err(JournalError::Shared(e.to_string())),
        }
    }

    fn unreachable(&self, e: &PgError) -> JournalError {
        let reason = match e {
            PgError::Connect { reason, .. } | PgError::Lost { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        JournalError::Unreachable {
            store: self.url.to_string(),
            reason,
        }
    }
}
