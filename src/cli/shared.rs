//! The arguments of the shared journal's commands: `db init` and
//! `journal export|import`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::help;

/// `cutover db ...`.
#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Create (or upgrade) the `cutover` schema, its tables and the roles
    /// `cutover_operator`, `cutover_approver` and `cutover_viewer`; safe to
    /// run again.
    #[command(after_help = help::DB)]
    Init(DbInitArgs),
}

#[derive(Debug, Args)]
pub struct DbInitArgs {
    /// The database, as a user who may create schemas and roles (or the
    /// global `--journal-url` / `CUTOVER_JOURNAL_URL`).
    #[arg(value_name = "URL")]
    pub url: Option<String>,
}

/// `cutover journal ...`.
#[derive(Debug, Subcommand)]
pub enum JournalCommand {
    /// Print a run's journal (JSONL) to stdout: from the shared journal with
    /// `--journal-url`, else the local file.
    #[command(after_help = help::JOURNAL)]
    Export(JournalExportArgs),
    /// Copy a journal file into the shared journal as a new run (`--journal-url`).
    #[command(after_help = help::JOURNAL)]
    Import(JournalImportArgs),
}

#[derive(Debug, Args)]
pub struct JournalExportArgs {
    /// Run id (or, without `--journal-url`, a run directory or journal file).
    pub run: String,
}

#[derive(Debug, Args)]
pub struct JournalImportArgs {
    /// The journal file (`.cutover/runs/RUN/journal.jsonl`).
    pub file: PathBuf,
}
