//! Where a run's journal is, for the commands written once for both places
//! (`verify`, `action`): the local file, appended to under its append lock as
//! the login name (or `--as`), or a run in the shared journal
//! (`--journal-url`), appended to in a transaction as the database user.
//! The command reads the run, masks what people typed and appends through
//! it; the judgement is the command's, the same in both places. [`RunsAt`]:
//! where the runs `report` reads are.

use std::path::{Path, PathBuf};

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

/// Where the runs are that `report` reads: local run directories and
/// journal files, or the shared journal.
pub(crate) enum RunsAt {
    Local,
    Shared(Box<Db>),
}

impl RunsAt {
    pub(crate) fn open(url: Option<&str>) -> Result<RunsAt, Error> {
        Ok(match url {
            None => RunsAt::Local,
            Some(url) => RunsAt::Shared(Box::new(super::shared::connect(url)?)),
        })
    }

    /// The report of `run` (a run id; locally also a run directory or
    /// journal file).
    pub(crate) fn report(&self, run: &str) -> Result<crate::report::Report, Error> {
        Ok(match self {
            RunsAt::Local => crate::report::read_report(&crate::journal::locate(run)?)?,
            RunsAt::Shared(db) => crate::report::report_from_text(
                &db.journal_text(run)?,
                &format!("{} run {run}", db.url()),
            )?,
        })
    }

    /// The program KPIs over the runs in `dir` (`--summary RUNS_DIR`), or
    /// over every run in the shared journal (`--summary` alone).
    pub(crate) fn summary(
        &self,
        dir: Option<&Path>,
        opts: &crate::report::kpi::SummaryOptions,
    ) -> Result<crate::report::summary::Summary, Error> {
        match (self, dir) {
            (RunsAt::Local, Some(dir)) => Ok(crate::report::summary::summary_of(dir, opts)?),
            (RunsAt::Local, None) => Err(Error::Usage(
                "`--summary` needs the runs directory (`--summary .cutover/runs`), or `--journal-url URL` for every run in the shared journal".into(),
            )),
            (RunsAt::Shared(db), Some(dir)) => Err(Error::Usage(format!(
                "with the shared journal {}, `--summary` takes no directory (`{}` given): it sums up every run in the database",
                db.url(),
                dir.display()
            ))),
            (RunsAt::Shared(db), None) => {
                let runs = db.list_runs()?;
                // A database error ends the summary; a run that does not
                // fold is listed as unreadable, as a broken file would be.
                let mut failed = None;
                let reports = runs.iter().map_while(|run| match db.journal_text(&run.run_id) {
                    Ok(text) => Some(
                        crate::report::report_from_text(
                            &text,
                            &format!("{} run {}", db.url(), run.run_id),
                        )
                        .map_err(|e| e.to_string()),
                    ),
                    Err(e) => {
                        failed = Some(e);
                        None
                    }
                });
                let s = crate::report::summary::summary_of_reports(
                    &db.url().to_string(),
                    reports,
                    opts,
                );
                match failed {
                    Some(e) => Err(e.into()),
                    None => Ok(s),
                }
            }
        }
    }
}
