//! Where a run's journal is, for the commands written once for both places
//! (`verify`, `action`): the local file, appended to under its append lock as
//! the login name (or `--as`), or a run in the shared journal
//! (`--journal-url`), appended to in a transaction as the database user.
//! The command reads the run, masks what people typed and appends through
//! it; the judgement is the command's, the same in both places.

use std::path::PathBuf;

use crate::error::Error;
use crate::event::{Event, Record};
use crate::journal::{JournalRead, RunState, Stamp};
use crate::pg::Db;

pub(crate) enum JournalAt {
    File {
        path: PathBuf,
        /// The read the state came from: a judged append judges what came
        /// after it.
        read: JournalRead,
        stamp: Stamp,
    },
    Shared {
        db: Box<Db>,
        run: String,
        /// The last seq of the read the state came from.
        last: u64,
        /// The command, as people type it: what a schema too old to take
        /// its records is refused for.
        what: String,
    },
}

impl JournalAt {
    /// Find and read run `run` (in the shared journal at `url`, when given),
    /// to be appended to as `actor` (`--as`: refused with the shared
    /// journal, where a person is the database user). `what` names the
    /// command, should the database's schema be too old for what it appends.
    pub(crate) fn open(
        run: &str,
        url: Option<&str>,
        actor: Option<&String>,
        what: &str,
    ) -> Result<(JournalAt, RunState), Error> {
        let Some(url) = url else {
            let path = crate::journal::locate(run)?;
            let read = crate::journal::read_journal(&path)?;
            let state = RunState::replay(&read.records);
            let stamp = Stamp::new(actor.cloned());
            return Ok((JournalAt::File { path, read, stamp }, state));
        };
        super::shared::refuse_as(actor)?;
        let db = super::shared::connect(url)?;
        let (state, last) = super::shared::fold(&db, run)?;
        let at = JournalAt::Shared {
            db: Box::new(db),
            run: run.to_string(),
            last,
            what: what.to_string(),
        };
        Ok((at, state))
    }

    /// What a person typed, with the run's secrets (and the shared
    /// journal's password) masked.
    pub(crate) fn mask(&self, state: &RunState, text: &str) -> String {
        match self {
            JournalAt::File { .. } => super::plan_masker(&state.plan).mask(text),
            JournalAt::Shared { db, .. } => super::shared::mask(db, state, text),
        }
    }

    /// Append one event that needs no judging.
    pub(crate) fn append(&self, event: Event) -> Result<Record, Error> {
        Ok(match self {
            JournalAt::File { path, stamp, .. } => {
                crate::journal::append_external(path, stamp, event)?
            }
            JournalAt::Shared { db, run, what, .. } => {
                db.check_schema_current(what)?;
                db.append_external(run, event)?
            }
        })
    }

    /// Append what `judge` decides, judged against the records appended
    /// since the read (and the seq its events start at) under the run's
    /// append lock, so two people at once are judged one after the other;
    /// a refusal appends nothing.
    pub(crate) fn append_judged(
        &self,
        judge: impl FnOnce(&[Record], u64) -> Result<Vec<Event>, Error>,
    ) -> Result<Vec<Record>, Error> {
        match self {
            JournalAt::File { path, read, stamp } => {
                crate::journal::append_judged(path, stamp, read, judge)?
            }
            JournalAt::Shared {
                db,
                run,
                last,
                what,
            } => {
                db.check_schema_current(what)?;
                db.append_judged(run, *last, judge)?
            }
        }
    }
}
