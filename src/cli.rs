//! Command-line types. Only clap definitions live here; every subcommand is
//! executed by its own module under `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version,
    about = "Release-readiness and cutover orchestrator",
    long_about = "Run cutover runbooks with gates, rollback triggers and a crash-safe journal; \
                  gate CI on readiness checklists; write the post-launch report from what happened."
)]
pub struct Cli {
    /// More diagnostics on stderr (-v, -vv).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// When to colour terminal output: `auto` (a terminal, unless `NO_COLOR` is set), `always`, `never`.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value = "auto",
        value_name = "WHEN"
    )]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

impl From<ColorChoice> for crate::text::color::Choice {
    fn from(c: ColorChoice) -> Self {
        match c {
            ColorChoice::Auto => crate::text::color::Choice::Auto,
            ColorChoice::Always => crate::text::color::Choice::Always,
            ColorChoice::Never => crate::text::color::Choice::Never,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and lint runbooks and checklists; every error names file:line:col.
    Validate(ValidateArgs),
    /// Show the resolved plan: waves of steps, gates, triggers, approvals.
    Plan(PlanArgs),
    /// Print the JSON Schema of the runbook (and checklist) format.
    Schema(SchemaArgs),
    /// Check that every signal source of a runbook answers.
    Sources(SourcesArgs),
    /// Run one query against a named source of a runbook.
    Query(QueryArgs),
    /// Evaluate one gate of a runbook, for real.
    Gate(GateArgs),
    /// Execute a runbook.
    Run(RunArgs),
    /// Continue a crashed or paused run from its journal.
    Resume(ResumeArgs),
    /// Mark a manual step of a live run as done.
    Done(DoneArgs),
    /// Approve or reject a pending go/no-go.
    Approve(ApproveArgs),
    /// Append an operator note to a run's journal.
    Note(NoteArgs),
    /// Append a milestone to a run's journal.
    Mark(MarkArgs),
    /// Show a run as a live view rebuilt from its journal.
    Status(StatusArgs),
    /// List runs.
    Runs(RunsArgs),
    /// Evaluate readiness checklists (a CI gate).
    Check(CheckArgs),
    /// Record an attestation in a checklist file.
    Attest(AttestArgs),
    /// Record a waiver in a checklist file.
    Waive(WaiveArgs),
    /// Write the post-launch report of a run.
    Report(ReportArgs),
    /// Measure a run's outcomes (`[[outcome]]`) that are due against their
    /// targets (exit 0 all met, 1 one missed, 2 could not measure).
    Verify(VerifyArgs),
    /// Add, close or list a run's follow-up action items.
    Action(ActionArgs),
}

#[derive(Debug, Args)]
pub struct ActionArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// What is to be done (masked); without it, the items are listed.
    #[arg(conflicts_with = "close")]
    pub text: Option<String>,
    /// Who does it (needed to add one).
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// When it is due: a date (`2026-12-31`, the end of that day UTC) or an RFC 3339 time.
    #[arg(long, value_name = "DATE")]
    pub due: Option<String>,
    /// The suggested follow-up it adopts (`S17`, as listed).
    #[arg(long, value_name = "KEY")]
    pub from: Option<String>,
    /// Close action item ID.
    #[arg(long, value_name = "ID", conflicts_with_all = ["owner", "due", "from"])]
    pub close: Option<u32>,
    /// With `--close`: how it was done (masked).
    #[arg(long, value_name = "TEXT", requires = "close")]
    pub note: Option<String>,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// Measure every outcome now, due or not (journaled as measured early).
    #[arg(long)]
    pub now: bool,
    /// Measure again the outcomes that already have a verdict.
    #[arg(long)]
    pub again: bool,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HumanOrJson {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

/// Where the runbook's variables come from: environment overlay and overrides.
#[derive(Debug, Clone, Args)]
pub struct VarArgs {
    /// Environment overlay to apply (`[env.NAME]`).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// Override a variable (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Runbook or checklist files.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: HumanOrJson,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Also check that every signal source answers.
    #[arg(long)]
    pub check_sources: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The runbook to plan (a `.toml` file).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
    /// Write the plan (JSON) to this file, for a later `run --plan`.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    Runbook,
    Checklist,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which file format.
    #[arg(value_enum, default_value = "runbook")]
    pub kind: SchemaKind,
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// The runbook whose sources to check (a `.toml` file).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Source name (`[sources.NAME]`).
    pub source: String,
    /// Query in the source's language (PromQL, Datadog query, command line, URL).
    pub query: String,
    /// Runbook whose `[sources]` (and vars/secrets) to use.
    #[arg(long, value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    /// Judge the result against this condition, e.g. `< 0.3`.
    #[arg(long)]
    pub condition: Option<String>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// The runbook holding the gate (a `.toml` file).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    /// `STEP` (all its gates) or `STEP.GATE`.
    pub target: String,
    #[command(flatten)]
    pub vars: VarArgs,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

/// Output flags shared by `run` and `resume`.
#[derive(Debug, Clone, Args)]
pub struct RunOutputArgs {
    /// Approve plain go/no-go prompts automatically: not in production envs, and never one that names approvers, needs more than one person or forbids self-approval.
    #[arg(long)]
    pub yes: bool,
    /// Plain timestamped lines instead of the progress view.
    #[arg(long)]
    pub no_progress: bool,
    /// Act as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
    /// Without a terminal: wait for approvals from other terminals (up to the
    /// approval's `timeout`) instead of pausing with exit 4 at once.
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The runbook to execute (a `.toml` file).
    #[arg(value_name = "RUNBOOK")]
    pub runbook: PathBuf,
    #[command(flatten)]
    pub vars: VarArgs,
    /// A reviewed plan (from `cutover plan -o`); refuse to run if the runbook changed since.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Run nothing with side effects; gates still query their real sources.
    #[arg(long)]
    pub dry_run: bool,
    /// Name of the run (default `<runbook-name>-<UTC time with milliseconds>`;
    /// also `CUTOVER_RUN_ID`); its journal goes to `.cutover/runs/<run-id>/`.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Journal path (default `.cutover/runs/<run-id>/journal.jsonl`).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Start even though a required readiness checklist fails.
    #[arg(long, requires = "reason")]
    pub override_readiness: bool,
    /// Why (with --override-readiness).
    #[arg(long)]
    pub reason: Option<String>,
    #[command(flatten)]
    pub output: RunOutputArgs,
}

/// How a run is named on the command line: a run id under `.cutover/runs/`, or a journal path.
#[derive(Debug, Clone, Args)]
pub struct RunRef {
    /// Run id, run directory, or journal file.
    pub run: String,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// Run this step again (it was in flight or failed when the run stopped).
    #[arg(long, value_name = "STEP")]
    pub rerun: Vec<String>,
    /// Carry on without this step (journaled as skipped).
    #[arg(long, value_name = "STEP")]
    pub skip: Vec<String>,
    /// Roll back the completed steps instead of continuing; after a failed
    /// rollback (exit 5), run the failed rollback again, then the rest.
    #[arg(long, conflicts_with = "abort")]
    pub rollback: bool,
    /// After a failed rollback: this step's rollback was done by hand, do not
    /// run it (journaled as the operator's decision); the rest goes on.
    #[arg(long, value_name = "STEP", conflicts_with = "abort")]
    pub skip_rollback: Vec<String>,
    /// End the paused run here without rolling anything back (journaled as
    /// the operator's decision; exit 4).
    #[arg(long, conflicts_with_all = ["rerun", "skip"])]
    pub abort: bool,
    /// What the operator did or why (journaled with the decisions this
    /// resume makes; masked): with `--skip-rollback`, how the step was
    /// undone by hand, shown in `status` and the report instead of
    /// "undone by hand".
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// End the run's hypercare now (needs `--reason`; journaled with who):
    /// the run completes. A process still driving the run completes it; a
    /// paused or crashed one completes on this resume.
    #[arg(long, requires = "reason", conflicts_with_all = ["rollback", "abort", "skip_rollback", "rerun", "skip"])]
    pub end_hypercare: bool,
    #[command(flatten)]
    pub output: RunOutputArgs,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    #[command(flatten)]
    pub run: RunRef,
    pub step: String,
    #[arg(long)]
    pub note: Option<String>,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub run: RunRef,
    pub step: String,
    #[arg(long)]
    pub reject: bool,
    #[arg(long)]
    pub reason: Option<String>,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    #[command(flatten)]
    pub run: RunRef,
    pub text: String,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct MarkArgs {
    #[command(flatten)]
    pub run: RunRef,
    pub milestone: String,
    /// When it happened (RFC 3339), if not now.
    #[arg(long)]
    pub at: Option<String>,
    /// Record MILESTONE as a free milestone even if it is close to a
    /// well-known name (which is otherwise refused as a likely typo).
    #[arg(long)]
    pub free: bool,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// Keep watching: redraw on every journal change until the run ends or
    /// no process drives it any more (JSON: one view per line).
    #[arg(long)]
    pub follow: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Directory holding run directories.
    #[arg(long, default_value = ".cutover/runs")]
    pub dir: PathBuf,
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Human,
    Json,
    Junit,
    Github,
    Markdown,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[arg(required_unless_present = "history")]
    pub checklists: Vec<PathBuf>,
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: CheckFormat,
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Report the pass rate over recorded check runs instead of checking.
    #[arg(long)]
    pub history: bool,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    pub checklist: PathBuf,
    pub item: String,
    #[arg(long)]
    pub evidence: String,
    #[arg(long)]
    pub expires: Option<String>,
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaiveArgs {
    pub checklist: PathBuf,
    pub item: String,
    #[arg(long)]
    pub reason: String,
    #[arg(long)]
    pub approver: String,
    #[arg(long)]
    pub expires: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Html,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run ids, run directories or journal files.
    pub runs: Vec<String>,
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Program KPIs over every run in this directory.
    #[arg(long, value_name = "RUNS_DIR")]
    pub summary: Option<PathBuf>,
    /// With `--summary`: only runs in this env (repeatable; `default`: runs
    /// without `--env`); their real runs count toward the change failure
    /// rate even when the env is not a production one.
    #[arg(long, value_name = "NAME", requires = "summary")]
    pub env: Vec<String>,
    /// With `--summary`: only runs of this runbook (its `[runbook] name`; repeatable).
    #[arg(long, value_name = "NAME", requires = "summary")]
    pub runbook: Vec<String>,
    /// With `--summary`: only runs started at or after this date (`2026-11-01`) or time.
    #[arg(long, value_name = "DATE", requires = "summary")]
    pub since: Option<String>,
    /// With `--summary`: only runs started before this date or time.
    #[arg(long, value_name = "DATE", requires = "summary")]
    pub until: Option<String>,
    /// With `--summary`: a trend table (`month`).
    #[arg(long, value_enum, value_name = "PERIOD", requires = "summary")]
    pub by: Option<SummaryPeriod>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryPeriod {
    Month,
}
