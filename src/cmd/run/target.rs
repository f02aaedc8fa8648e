//! Where a new run is journaled: a local file (under `.cutover/runs/` or
//! `--journal`), or the shared journal in PostgreSQL. The run id is chosen
//! and checked before readiness is evaluated; the journal is created after.

use std::path::{Path, PathBuf};

use crate::cli::RunArgs;
use crate::error::Error;
use crate::journal::{DriveLock, Journal, Stamp, default_path};
use crate::pg::{Db, JournalUrl};
use crate::plan::Plan;

/// A new run's journal, not created yet.
pub(super) enum Target {
    File {
        path: PathBuf,
        run_id: String,
        run_ref: String,
        /// The run directory was created for a default run id.
        reserved: bool,
    },
    Shared {
        /// The connection the run is created on (and driven from).
        db: Box<Db>,
        /// The run ids to try, in order.
        ids: Vec<String>,
    },
}

/// The shared journal's URL: the one given (`--journal-url`,
/// `CUTOVER_JOURNAL_URL`), else the runbook's `[journal] url`.
pub(super) fn shared_url(given: Option<&str>, plan: &Plan) -> Result<Option<JournalUrl>, Error> {
    let url = given.or(plan.runbook.journal_url.as_deref());
    Ok(url.map(JournalUrl::parse).transpose()?)
}

/// Connect to the shared journal as the person who drives the run: the
/// database user (`--as` is refused: nobody types who they are). One
/// connection checks the run id, creates the run and drives it.
pub(super) fn connect(args: &RunArgs, url: &JournalUrl) -> Result<Db, Error> {
    crate::cmd::shared::refuse_as(args.output.actor.as_ref())?;
    Ok(Db::connect(url)?)
}

impl Target {
    /// A local journal: the run id given, else the runbook's name and the
    /// time, its run directory created here so no other run takes it.
    pub(super) fn file(args: &RunArgs, plan: &Plan, stamp: &Stamp) -> Result<Target, Error> {
        let mut reserved = false;
        let run_id = match given_run_id(args) {
            Some(id) => id,
            None if args.journal.is_none() => {
                reserved = true;
                default_run_id(&default_base(&plan.runbook.name, stamp))?
            }
            None => default_base(&plan.runbook.name, stamp),
        };
        crate::journal::check_run_id(&run_id)?;
        let path = args
            .journal
            .clone()
            .unwrap_or_else(|| default_path(&run_id));
        let run_ref = if args.journal.is_some() {
            path.display().to_string()
        } else {
            run_id.clone()
        };
        // A symbolic link where the run's directory or journal would go is
        // refused before anything else.
        crate::journal::refuse_links(&path)?;
        if !reserved && path.exists() {
            // The answer creating it would give: who drives it, else that it exists.
            drop(DriveLock::acquire(&path, &run_id, stamp)?);
            return Err(crate::journal::JournalError::Exists(path.display().to_string()).into());
        }
        Ok(Target::File {
            path,
            run_id,
            run_ref,
            reserved,
        })
    }

    /// A run in the shared journal: the run id given (refused when taken),
    /// else the runbook's name and the time, with `-2`, `-3`, ... tried
    /// when another run has it by the time it is created.
    pub(super) fn shared(
        args: &RunArgs,
        plan: &Plan,
        db: Db,
        stamp: &Stamp,
    ) -> Result<Target, Error> {
        if args.journal.is_some() {
            return Err(Error::Usage(
                "`--journal FILE` and the shared journal (`--journal-url`, `CUTOVER_JOURNAL_URL`, `[journal] url`) are two places for one run; give one".into(),
            ));
        }
        let ids = if let Some(id) = given_run_id(args) {
            crate::journal::check_run_id(&id)?;
            vec![id]
        } else {
            let base = default_base(&plan.runbook.name, stamp);
            std::iter::once(base.clone())
                .chain((2..=1000).map(|n| format!("{base}-{n}")))
                .collect()
        };
        if let [id] = ids.as_slice() {
            if let Some(holder) = db.driver_of(id)? {
                return Err(crate::journal::JournalError::Locked {
                    run: id.clone(),
                    holder,
                }
                .into());
            }
            if db.run_exists(id)? {
                return Err(crate::pg::PgError::Exists {
                    url: db.url().to_string(),
                    run: id.clone(),
                }
                .into());
            }
        }
        Ok(Target::Shared {
            db: Box::new(db),
            ids,
        })
    }

    /// The run will not start: give back the run directory reserved for it.
    pub(super) fn abandon(self) {
        if let Target::File {
            path,
            reserved: true,
            ..
        } = self
        {
            let _ = std::fs::remove_dir(path.parent().unwrap_or(Path::new(".")));
        }
    }

    /// Create the journal and take the run's driving lock (the file's
    /// `journal.lock`; in the shared journal, a session advisory lock held
    /// by the store's connection). With them, how printed commands name
    /// the run.
    pub(super) fn create(
        self,
        stamp: Stamp,
    ) -> Result<(Journal, Option<DriveLock>, String), Error> {
        match self {
            Target::File {
                path,
                run_id,
                run_ref,
                ..
            } => {
                let (journal, lock) = Journal::create(&path, &run_id, stamp)?;
                Ok((journal, Some(lock), run_ref))
            }
            Target::Shared { db, ids } => {
                let driven = crate::pg::drive::create(*db, ids, &stamp.clock.rfc3339())?;
                let run_id = driven.read.header.run_id.clone();
                let journal = Journal::shared(driven.store, &run_id, driven.stamp, 0);
                Ok((journal, None, run_id))
            }
        }
    }
}

fn given_run_id(args: &RunArgs) -> Option<String> {
    args.run_id
        .clone()
        .or_else(|| std::env::var("CUTOVER_RUN_ID").ok())
}

/// `NAME-TIME`, the default run id before any counter: the runbook's name
/// with every character a run id may not hold made `-`.
fn default_base(name: &str, stamp: &Stamp) -> String {
    let time = stamp.clock.compact();
    // Room for `-TIME` and a counter (`-1000`).
    let base = crate::journal::run_id_base(name, time.len() + 1 + 5);
    format!("{base}-{time}")
}

/// A default run id whose run directory this process created (private,
/// 0700), so two runs of the same runbook started in the same millisecond
/// (or with a pinned clock) never share a journal: `NAME-TIME`, else
/// `NAME-TIME-2`, `-3`, ...
fn default_run_id(base: &str) -> Result<String, Error> {
    let runs = &crate::journal::runs_dir();
    crate::journal::refuse_link(runs)?;
    std::fs::create_dir_all(runs).map_err(|e| Error::io("create", runs.display(), e))?;
    for n in 1..=1000 {
        let id = if n == 1 {
            base.to_string()
        } else {
            format!("{base}-{n}")
        };
        match crate::files::create_private_dir(&runs.join(&id)) {
            Ok(true) => return Ok(id),
            // Taken (a symbolic link there too): try the next.
            Ok(false) => {}
            Err(e) if crate::files::is_link_error(&e, &runs.join(&id)) => {}
            Err(e) => return Err(Error::io("create", runs.join(&id).display(), e)),
        }
    }
    Err(Error::Usage(format!(
        "too many runs named `{base}`; pick one with `--run-id`"
    )))
}
