//! The post-launch report, built from a run's journal alone.
//!
//! `read` folds the journal (`journal::fold_journal`) and `build` makes the
//! report a view of that fold, in the words of `describe`; `analysis` computes the critical path and time
//! to detect / mitigate; `markdown`, `html` (with `chart` for its SVG) and
//! `json` render a `model::Report`, the first two from the words `view`
//! computes for both; `summary` folds many runs into program KPIs.
//! `headline` is the block that opens Markdown and HTML, `schedule` the run
//! against its plan, `compare` a run against another (`--compare`).

pub mod after;
pub mod analysis;
pub(crate) mod build;
pub mod chart;
pub mod compare;
pub mod escape;
pub mod headline;
pub mod html;
pub mod json;
pub mod kpi;
pub mod markdown;
pub mod model;
pub mod read;
pub mod schedule;
pub mod summary;
pub mod time;
pub mod view;

use std::path::Path;

pub use model::Report;
pub use read::{read_report, report_from_text};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("failed to {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Not a journal, or one too new for this binary.
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    #[error("`{0}` is not a directory of runs")]
    NotARunsDir(String),
}

impl ReportError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        ReportError::Io {
            action,
            path: path.display().to_string(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn attempt_results_read_as_words() {
        assert_eq!(
            crate::event::words(&crate::event::AttemptResult::TimedOut),
            "timed out"
        );
    }
}
