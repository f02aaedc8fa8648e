//! The journal: the append-only JSONL file that is the run's source of truth.
//!
//! `writer` appends (fsynced, under a short append lock so other terminals can
//! add notes safely) and holds the driving lock; `reader` reads tolerantly
//! (torn last line, unknown kinds); `replay` folds records into run state.

mod forecast;
mod home;
mod reader;
mod runs;
mod shared;
mod snapshot;
mod stamp;
mod state;
mod time;
mod who;
mod writer;

use std::path::{Path, PathBuf};

pub use forecast::{Rehearsals, StepPlan, forecast, rehearsals};
pub use home::{DIR_VAR, LATEST, cutover_dir, runs_dir};
pub use reader::{
    Folded, JournalRead, RecordStream, Tail, fold_from_text, fold_journal, parse_header,
    read_journal, read_text, stream_journal,
};
pub use runs::{Listed, list_runs};
pub use shared::SharedStore;
pub use snapshot::{
    ActionSnapshot, ApprovalSnapshot, CheckSnapshot, DueAt, FreezeSnapshot, GateSnapshot,
    HypercareSnapshot, OutcomeSnapshot, PlanSnapshot, RunbookSnapshot, ScheduleSnapshot,
    SecretSnapshot, StepSnapshot, TriggerSnapshot, WindowSnapshot,
};
pub use stamp::{Clock, NOW_VAR, Stamp, local_actor, pinned_now};
pub use state::{
    ActionClose, ActionEntry, AfterLaunch, Detached, Due, HypercareEndEntry, HypercareRecord,
    OutcomeEntry, due_by,
};
pub use state::{
    AttemptEntry, Change, CheckKind, CheckRecord, Counts, Decided, Deciding, DeviationEntry,
    DeviationText, Entry, Eta, Fired, GateRound, LAST_LINES, LiteMeasurement, MilestoneEntry,
    MilestoneOrigin, NoteEntry, OpenProcess, OutputTail, OverrideEntry, OverrunEntry, Point,
    ROLLBACK_CONTEXT, ReadinessEntry, RollbackProgress, RollbackRun, RollbackRunAttempt,
    RollbackRunState, RunState, SKIPPED_WHY, ScheduleState, Scheduled, SkipEntry, SkippedRollback,
    Stamped, StepEta, StepRecord, StepTiming, TriggerHealth, VerdictCounts, Vote,
};
pub use time::Ts;
pub use who::{Who, person};
pub use writer::{DriveLock, Flushed, Journal, append_external, append_judged};

/// Where runs live in a project without `.cutover/` further up (and how
/// the docs name it); [`runs_dir`] is where they are.
pub const RUNS_DIR: &str = ".cutover/runs";
pub const JOURNAL_FILE: &str = "journal.jsonl";

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("failed to {action} journal `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "run `{run}` is being driven by {holder}; wait for it to end or stop that process first"
    )]
    Locked { run: String, holder: String },
    #[error("`{0}` is not a cutover journal (no header line)")]
    NotAJournal(String),
    #[error("journal `{path}` has format version {found}; this cutover reads up to {supported}")]
    TooNew {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("journal `{0}` already exists; pick another `--run-id` or use `cutover resume`")]
    Exists(String),
    #[error("no run `{0}`: not a run id under `.cutover/runs/`, a run directory or a journal file")]
    NoSuchRun(String),
    #[error("`{name}` names more than one run: {matches}; give more of the run id")]
    Ambiguous { name: String, matches: String },
    #[error(
        "`{0}` is a symbolic link; cutover never follows one to a run directory, journal or lock file (put the real one there)"
    )]
    Link(String),
    #[error("run id `{0}` is not valid: a run id is {RUN_ID_RULE}")]
    BadRunId(String),
    /// The shared store could not be reached: worth trying again.
    #[error("the shared journal {store} is unreachable: {reason}")]
    Unreachable { store: String, reason: String },
    /// The shared store refused or failed (its own words).
    #[error("{0}")]
    Shared(String),
}

impl JournalError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        JournalError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }

    /// An error opening `path` (without following links): [`JournalError::Link`]
    /// when a symbolic link is what stood in the way.
    pub(crate) fn open(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        if crate::files::is_link_error(&source, path) {
            JournalError::Link(path.display().to_string())
        } else {
            JournalError::io(action, path, source)
        }
    }
}

/// What a run id may be: it names a directory and is typed in commands.
pub const RUN_ID_RULE: &str =
    "1 to 128 characters of `A-Z`, `a-z`, `0-9`, `.`, `_` and `-`, not starting with `.`";

/// The longest run id.
pub const RUN_ID_MAX: usize = 128;

fn run_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')
}

/// Refuse a run id that breaks [`RUN_ID_RULE`].
pub fn check_run_id(id: &str) -> Result<(), JournalError> {
    let ok = !id.is_empty()
        && id.len() <= RUN_ID_MAX
        && !id.starts_with('.')
        && id.chars().all(run_id_char);
    if ok {
        Ok(())
    } else {
        Err(JournalError::BadRunId(
            crate::text::one_line(id).into_owned(),
        ))
    }
}

/// `name` (a runbook's, which may hold anything) made into the start of a
/// run id: every character a run id may not hold becomes `-`, and it is cut
/// to leave `room_left` characters for what follows (the time, a counter).
pub fn run_id_base(name: &str, room_left: usize) -> String {
    let mut base: String = name
        .chars()
        .map(|c| if run_id_char(c) { c } else { '-' })
        .collect();
    base = base.trim_start_matches('.').to_string();
    base.truncate(RUN_ID_MAX.saturating_sub(room_left));
    if base.is_empty() { "run".into() } else { base }
}

/// Refuse `path` if it is a symbolic link.
pub(crate) fn refuse_link(path: &Path) -> Result<(), JournalError> {
    if crate::files::is_link(path) {
        return Err(JournalError::Link(path.display().to_string()));
    }
    Ok(())
}

/// Refuse the run directory holding `journal` if it is a symbolic link (and
/// `.cutover/runs` itself, for a journal under it): the lock files are
/// created there.
pub(crate) fn refuse_dir_links(journal: &Path) -> Result<(), JournalError> {
    let Some(dir) = journal.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Ok(());
    };
    let runs = runs_dir();
    if dir.parent() == Some(runs.as_path()) {
        refuse_link(&runs)?;
    }
    refuse_link(dir)
}

/// The journal of a run id in the project's runs directory ([`runs_dir`]).
pub fn default_path(run_id: &str) -> PathBuf {
    runs_dir().join(run_id).join(JOURNAL_FILE)
}

/// How to name the run journaled at `path` in a printed command: its id
/// when it is in the project's runs directory, else its path.
pub fn run_ref(path: &Path, run_id: &str) -> String {
    if path == default_path(run_id) {
        run_id.to_string()
    } else {
        path.display().to_string()
    }
}

/// Refuse a symbolic link in place of the journal at `journal` or of the
/// run directory holding it (or of `.cutover/runs`, for a run under it).
pub fn refuse_links(journal: &Path) -> Result<(), JournalError> {
    refuse_dir_links(journal)?;
    refuse_link(journal)
}

/// Find a run's journal from what the user typed: a run directory or a
/// journal file, else a run id in the project's runs directory, `latest`
/// (the run started last) or a unique start of a run id. A symbolic link in
/// place of any of them is refused.
pub fn locate(run: &str) -> Result<PathBuf, JournalError> {
    let as_path = Path::new(run);
    if as_path.is_file() {
        refuse_links(as_path)?;
        return Ok(as_path.to_path_buf());
    }
    if as_path.is_dir() && as_path.join(JOURNAL_FILE).is_file() {
        refuse_link(as_path)?;
        let journal = as_path.join(JOURNAL_FILE);
        refuse_link(&journal)?;
        return Ok(journal);
    }
    if run.contains('/') {
        // A path, and nothing is there: not a run id to check.
        return Err(JournalError::NoSuchRun(
            crate::text::one_line(run).into_owned(),
        ));
    }
    check_run_id(run)?;
    let by_id = default_path(run);
    refuse_links(&by_id)?;
    match home::by_name(&runs_dir(), run)? {
        Some(found) => {
            refuse_links(&found)?;
            Ok(found)
        }
        None => Err(JournalError::NoSuchRun(run.to_string())),
    }
}

/// `journal.jsonl` → `journal.lock` / `journal.append.lock`, next to it.
pub(crate) fn sibling(journal: &Path, suffix: &str) -> PathBuf {
    let stem = journal
        .file_stem()
        .map_or_else(|| "journal".into(), |s| s.to_string_lossy().into_owned());
    journal.with_file_name(format!("{stem}.{suffix}"))
}

/// A process holds the driving lock (`journal.lock`) of the journal at `journal`.
pub fn is_driven(journal: &Path) -> bool {
    let Ok(file) = crate::files::open_read(&sibling(journal, "lock")) else {
        return false;
    };
    match file.try_lock_shared() {
        Ok(()) => {
            let _ = file.unlock();
            false
        }
        Err(std::fs::TryLockError::WouldBlock) => true,
        Err(std::fs::TryLockError::Error(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_id_rule() {
        for ok in ["r", "p1", "pay-ments_2026.01", &"a".repeat(128), "-x"] {
            assert!(check_run_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".x",
            "a/b",
            "a b",
            "a\nb",
            "a\u{1b}b",
            "é",
            &"a".repeat(129),
        ] {
            assert!(check_run_id(bad).is_err(), "{bad:?}");
        }
        let e = check_run_id("a\u{1b}[2J").unwrap_err().to_string();
        assert!(e.contains(r"`a\x1b[2J`") && e.contains(RUN_ID_RULE), "{e}");
    }

    #[test]
    fn a_runbook_name_becomes_a_valid_run_id_start() {
        assert_eq!(run_id_base("payments-db", 20), "payments-db");
        assert_eq!(run_id_base("Pay / DB — go\u{1b}", 20), "Pay---DB---go-");
        assert_eq!(run_id_base("..hidden", 20), "hidden");
        assert_eq!(run_id_base("///", 20), "---");
        assert_eq!(run_id_base("...", 20), "run");
        assert_eq!(run_id_base(&"n".repeat(300), 25).len(), 103);
        assert!(
            check_run_id(&format!(
                "{}-20261125T221529123Z-1000",
                run_id_base(&"n".repeat(300), 25)
            ))
            .is_ok()
        );
    }
}
