//! The journal: the append-only JSONL file that is the run's source of truth.
//!
//! `writer` appends (fsynced, under a short append lock so other terminals can
//! add notes safely) and holds the driving lock; `reader` reads tolerantly
//! (torn last line, unknown kinds); `replay` folds records into run state.

mod reader;
mod replay;
mod stamp;
mod writer;

use std::path::{Path, PathBuf};

pub use reader::{JournalRead, RecordStream, parse_header, read_journal, stream_journal};
pub use replay::{
    Change, Decided, ROLLBACK_CONTEXT, RunState, SKIPPED_WHY, SkippedRollback, StepRecord, Vote,
};
pub use stamp::{Clock, Stamp, local_actor};
pub use writer::{DriveLock, Flushed, Journal, append_external, append_judged};

/// Where runs live by default, relative to the working directory.
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
}

impl JournalError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        JournalError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

/// The journal of a run id in the default location.
pub fn default_path(run_id: &str) -> PathBuf {
    Path::new(RUNS_DIR).join(run_id).join(JOURNAL_FILE)
}

/// Find a run's journal from what the user typed: a run id, a run directory or a journal file.
pub fn locate(run: &str) -> Result<PathBuf, JournalError> {
    let as_path = Path::new(run);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    if as_path.is_dir() && as_path.join(JOURNAL_FILE).is_file() {
        return Ok(as_path.join(JOURNAL_FILE));
    }
    let by_id = default_path(run);
    if by_id.is_file() {
        return Ok(by_id);
    }
    Err(JournalError::NoSuchRun(run.to_string()))
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
    let Ok(file) = std::fs::File::open(sibling(journal, "lock")) else {
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
