//! The top-level error: every layer's error meets here.
//!
//! Each layer has its own error enum; they meet here through `From` so that
//! `cmd::*::exec` can use `?` and the binary maps any failure to one exit code.

/// The exit codes, at their old path: `crate::error::exit::X` keeps working.
pub use crate::exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Diagnostics were already printed; only the exit code is left to give.
    #[error("{0} error(s) reported")]
    Reported(usize),
    #[error(transparent)]
    Plan(#[from] crate::plan::PlanError),
    #[error("{0}")]
    Usage(String),
    #[error("failed to {action} `{path}`: {source}")]
    Io {
        action: &'static str,
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Journal(#[from] crate::journal::JournalError),
    #[error(transparent)]
    Engine(#[from] crate::engine::EngineError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// `cutover resume` refused what it was asked (`engine::resume_rules`).
    #[error(transparent)]
    Resume(#[from] crate::engine::ResumeError),
    /// `cutover approve` refused the vote (`engine::approval::vote`).
    #[error(transparent)]
    Vote(#[from] crate::engine::approval::VoteError),
    /// The shared journal (PostgreSQL).
    #[error(transparent)]
    Pg(#[from] crate::pg::PgError),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Reported(_)
            | Error::Plan(_)
            | Error::Usage(_)
            | Error::Resume(_)
            | Error::Vote(_) => exit::INVALID,
            Error::Io { .. } | Error::Internal(_) | Error::Engine(_) => exit::INTERNAL,
            Error::Report(e) => match e {
                crate::report::ReportError::Io { .. }
                | crate::report::ReportError::Journal(crate::journal::JournalError::Io {
                    ..
                }) => exit::INTERNAL,
                _ => exit::INVALID,
            },
            Error::Journal(e) => match e {
                crate::journal::JournalError::Locked { .. }
                | crate::journal::JournalError::Exists(_)
                | crate::journal::JournalError::NoSuchRun(_)
                | crate::journal::JournalError::Ambiguous { .. }
                | crate::journal::JournalError::NotAJournal(_)
                | crate::journal::JournalError::TooNew { .. }
                | crate::journal::JournalError::Link(_)
                | crate::journal::JournalError::BadRunId(_) => exit::INVALID,
                crate::journal::JournalError::Io { .. }
                | crate::journal::JournalError::Unreachable { .. }
                | crate::journal::JournalError::Shared(_) => exit::INTERNAL,
            },
            Error::Pg(e) => match e {
                crate::pg::PgError::Connect { .. }
                | crate::pg::PgError::Lost { .. }
                | crate::pg::PgError::Query { .. }
                | crate::pg::PgError::Runtime(_) => exit::INTERNAL,
                crate::pg::PgError::Journal(crate::journal::JournalError::Io { .. }) => {
                    exit::INTERNAL
                }
                _ => exit::INVALID,
            },
        }
    }

    pub fn io(action: &'static str, path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            action,
            path: path.to_string(),
            source,
        }
    }

    /// The error and every cause it does not already say, joined with `: `:
    /// the text after `error: ` (shown visibly: it echoes what people typed
    /// and what files hold).
    pub fn message(&self) -> String {
        crate::text::error_chain(self)
    }
}
