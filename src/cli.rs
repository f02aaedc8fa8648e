//! Command-line types. Only clap definitions live here; every subcommand is
//! executed by its own module under `cmd/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod after;
mod help;
mod shared;

pub use after::{ActionArgs, VerifyArgs};
pub use shared::{DbCommand, DbInitArgs, JournalCommand, JournalExportArgs, JournalImportArgs};

/// `cutover --version`: the package version, and when built from a git
/// checkout the commit and the build date (`build.rs`), as cargo and rustc
/// say theirs: `cutover 0.1.0 (1a2b3c4d5e6f 2026-12-06)`.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), env!("CUTOVER_BUILD_INFO"));

/// The day this binary's build script ran (`YYYY-MM-DD`): the man pages' date.
pub const BUILD_DATE: &str = env!("CUTOVER_BUILD_DATE");

#[derive(Debug, Parser)]
#[command(
    name = "cutover",
    version = VERSION,
    about = "Release-readiness and cutover orchestrator",
    long_about = "Run cutover runbooks with gates, rollback triggers and a crash-safe journal; \
                  gate CI on readiness checklists; write the post-launch report from what happened.",
    after_help = help::TOP
)]
pub struct Cli {
    /// More diagnostics on stderr: -v what cutover does, -vv also each query and journal write (`RUST_LOG` overrides).
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

    /// The shared journal: runs in PostgreSQL instead of `.cutover/runs/`
    /// (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE`, with
    /// `?sslmode=verify-full&sslrootcert=FILE` for TLS; the password is never
    /// shown). Used by note, approve, done, mark, status, runs, report,
    /// verify, action and journal.
    #[arg(
        long,
        global = true,
        env = "CUTOVER_JOURNAL_URL",
        hide_env_values = true,
        value_name = "URL"
    )]
    pub journal_url: Option<String>,

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
    #[command(after_help = help::VALIDATE)]
    Validate(ValidateArgs),
    /// Show the resolved plan: waves of steps, gates, triggers, approvals.
    #[command(after_help = help::PLAN)]
    Plan(PlanArgs),
    /// Print the JSON Schema of the runbook (and checklist) format.
    #[command(after_help = help::SCHEMA)]
    Schema(SchemaArgs),
    /// Check that every signal source of a runbook answers.
    #[command(after_help = help::SOURCES)]
    Sources(SourcesArgs),
    /// Run one query against a named source of a runbook.
    #[command(after_help = help::QUERY)]
    Query(QueryArgs),
    /// Evaluate one gate of a runbook, for real.
    #[command(after_help = help::GATE)]
    Gate(GateArgs),
    /// Execute a runbook.
    #[command(after_help = help::RUN)]
    Run(RunArgs),
    /// Continue a crashed or paused run from its journal.
    #[command(after_help = help::RESUME)]
    Resume(ResumeArgs),
    /// Mark a manual step of a live run as done.
    #[command(after_help = help::DONE)]
    Done(DoneArgs),
    /// Approve or reject a pending go/no-go.
    #[command(after_help = help::APPROVE)]
    Approve(ApproveArgs),
    /// Append an operator note to a run's journal.
    #[command(after_help = help::NOTE)]
    Note(NoteArgs),
    /// Append a milestone to a run's journal.
    #[command(after_help = help::MARK)]
    Mark(MarkArgs),
    /// Show a run as a live view rebuilt from its journal.
    #[command(after_help = help::STATUS)]
    Status(StatusArgs),
    /// List runs.
    #[command(after_help = help::RUNS)]
    Runs(RunsArgs),
    /// Evaluate readiness checklists (a CI gate).
    #[command(after_help = help::CHECK)]
    Check(CheckArgs),
    /// Record an attestation in a checklist file.
    #[command(after_help = help::ATTEST)]
    Attest(AttestArgs),
    /// Record a waiver in a checklist file.
    #[command(after_help = help::WAIVE)]
    Waive(WaiveArgs),
    /// Write the post-launch report of a run.
    #[command(after_help = help::REPORT)]
    Report(ReportArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(after_help = help::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Write the manual pages (roff): one page to stdout, or one per command into a directory.
    #[command(after_help = help::MAN)]
    Man(ManArgs),
    /// Start a project: a runbook, a readiness checklist, their schemas and a CI workflow.
    #[command(after_help = help::INIT)]
    Init(InitArgs),
    /// Measure a run's outcomes (`[[outcome]]`) that are due against their
    /// targets (exit 0 all met, 1 one missed, 2 could not measure).
    #[command(after_help = help::VERIFY)]
    Verify(VerifyArgs),
    /// Add, close or list a run's follow-up action items.
    #[command(after_help = help::ACTION)]
    Action(ActionArgs),
    /// Create or upgrade the shared journal's schema and roles in PostgreSQL.
    #[command(subcommand, after_help = help::DB)]
    Db(DbCommand),
    /// Copy a run between a journal file and the shared journal.
    #[command(subcommand, after_help = help::JOURNAL)]
    Journal(JournalCommand),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `cutover.1` and one `cutover-COMMAND.1` per command into this
    /// directory (created if missing) instead of `cutover.1` to stdout.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `init --template`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InitTemplate {
    /// Deploy to an idle pool, switch traffic after a go/no-go, retire the old one.
    BlueGreen,
    /// Back up, freeze writes, migrate the schema, verify, unfreeze.
    DbMigration,
    /// Roll a feature flag out in stages, each gated on the error rate.
    FeatureFlag,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Which runbook to start from.
    #[arg(long, value_enum, default_value = "blue-green")]
    pub template: InitTemplate,
    /// The project directory to write into (created if missing).
    #[arg(value_name = "DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// `--format` of the commands that print a view or JSON (`text` for
/// people, `json` one object with `format_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    #[value(alias = "human")]
    Text,
    Json,
}

/// `validate --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// Diagnostics with carets on stderr, one summary line per file.
    #[value(alias = "human")]
    Text,
    /// One object with `format_version`: every file and its diagnostics.
    Json,
    /// GitHub Actions annotations, one per error and warning, on its line.
    Github,
    /// JUnit XML: one test case per file, failed by its errors.
    Junit,
}

/// `plan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// The plan for review.
    Text,
    /// The plan as `run --plan` reads it.
    Json,
    /// The step graph as a Mermaid flowchart (renders in GitHub Markdown).
    Mermaid,
    /// The step graph in Graphviz DOT.
    Dot,
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
    /// Runbook or checklist files (a checklist has a top-level `[checklist]` table).
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format (`human` is an old name of `text`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: ValidateFormat,
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
    /// Output format: the plan (`text`, `json`) or its step graph (`mermaid`, `dot`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: PlanFormat,
    /// Write the plan (JSON) to this file, for a later `run --plan`.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Forecast without this step, as `run --skip` would (repeatable).
    #[arg(long, value_name = "STEP")]
    pub skip: Vec<String>,
    /// Forecast from STEP, as `run --from` would.
    #[arg(long, value_name = "STEP")]
    pub from: Option<String>,
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
    /// Output format (`human` is an old name of `text`).
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
    /// Output format (`human` is an old name of `text`).
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
    /// Output format (`human` is an old name of `text`).
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
    /// Once every step is done, hand the hypercare watch to a background
    /// process (its log in the run's directory) and exit 0 instead of waiting
    /// it out; `cutover status RUN --follow` follows it.
    #[arg(long)]
    pub detach_hypercare: bool,
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
    /// Why: journaled with `--override-readiness`, `--override-window`,
    /// `--skip` and `--from` (masked).
    #[arg(long)]
    pub reason: Option<String>,
    /// Start at TIME: RFC 3339 with its offset (`2026-12-12T22:00:00Z`) or a
    /// local wall-clock `HH:MM` (the next one). Waits with a countdown;
    /// Ctrl-C cancels. Default: `[schedule] start` while it is ahead.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
    /// Do not run this step (repeatable; needs `--reason`). A step that needs
    /// a skipped step is refused unless skipped too or covered by `--from`.
    #[arg(long, value_name = "STEP", requires = "reason")]
    pub skip: Vec<String>,
    /// Start from STEP: every step it needs, directly or not, is skipped as
    /// done before (needs `--reason`).
    #[arg(long, value_name = "STEP", requires = "reason")]
    pub from: Option<String>,
    /// A dress rehearsal (any env): its step durations plan later runs of
    /// this runbook. Not with `--dry-run`.
    #[arg(long, conflicts_with = "dry_run")]
    pub rehearsal: bool,
    /// Start although the change window or a freeze period refuses it (needs
    /// `--reason`; journaled as a deviation; in a production env a go/no-go
    /// `window-override` must approve it before the first step).
    #[arg(long, requires = "reason")]
    pub override_window: bool,
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
    #[arg(long, requires = "reason", conflicts_with_all = ["rollback", "abort", "skip_rollback", "rerun", "skip", "detach_hypercare"])]
    pub end_hypercare: bool,
    /// Internal: this is the background process `--detach-hypercare` starts;
    /// it waits for the run to be handed to it, then drives it.
    #[arg(long, hide = true, conflicts_with_all = ["end_hypercare", "detach_hypercare"])]
    pub background_watch: bool,
    #[command(flatten)]
    pub output: RunOutputArgs,
}

#[derive(Debug, Args)]
pub struct DoneArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// The manual step that is done.
    pub step: String,
    /// What was done, journaled with it (masked).
    #[arg(long)]
    pub note: Option<String>,
    /// Act as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// The step whose go/no-go this vote is for.
    pub step: String,
    /// Vote no-go instead of go.
    #[arg(long)]
    pub reject: bool,
    /// Why (journaled; required when the approval says `reason = true`).
    #[arg(long)]
    pub reason: Option<String>,
    /// Vote as this person (in production only with `declared_identities`).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct NoteArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// The note (a pasted secret is masked).
    pub text: String,
    /// Write as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct MarkArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// A milestone name: `go-decision`, `impact-start`, `impact-end`, ... or your own (with --free).
    pub milestone: String,
    /// When it happened (RFC 3339), if not now.
    #[arg(long)]
    pub at: Option<String>,
    /// Record MILESTONE as a free milestone even if it is close to a
    /// well-known name (which is otherwise refused as a likely typo).
    #[arg(long)]
    pub free: bool,
    /// Mark as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub run: RunRef,
    /// Keep watching: redraw on every journal change until the run
    /// completes or is rolled back, through pauses, approvals, manual steps,
    /// Ctrl-C menus and resumes by another process (JSON: one view per
    /// change, one per line).
    #[arg(long)]
    pub follow: bool,
    /// With `--follow`: leave (exit 0) once no process drives the run
    /// (paused, aborted, stopped) instead of watching for a resume.
    #[arg(long, requires = "follow")]
    pub exit_on_stop: bool,
    /// Output format (`human` is an old name of `text`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

#[derive(Debug, Args)]
pub struct RunsArgs {
    /// Directory holding run directories (default: `runs/` of the project's
    /// `.cutover/`, found walking up from here, or `CUTOVER_DIR`).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Output format (`human` is an old name of `text`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: TextOrJson,
}

/// `check --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// A table per checklist.
    #[value(alias = "human")]
    Text,
    /// The documented report object (`format_version`).
    Json,
    /// JUnit XML: one test case per item.
    Junit,
    /// GitHub Actions annotations; the Markdown summary also goes to `$GITHUB_STEP_SUMMARY`.
    Github,
    /// A Markdown summary.
    #[value(alias = "markdown")]
    Md,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Checklist files (`checks/*.toml`); with --history, only these.
    #[arg(required_unless_present = "history", value_name = "CHECKLIST")]
    pub checklists: Vec<PathBuf>,
    /// Environment overlay to apply (`[env.NAME]`).
    #[arg(long = "env", value_name = "NAME")]
    pub env: Option<String>,
    /// Output format (old names: `human` for `text`, `markdown` for `md`).
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Write the output to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A failing warning item makes the checklist not ready too.
    #[arg(long)]
    pub fail_on_warn: bool,
    /// Report the pass rate over recorded check runs instead of checking.
    #[arg(long)]
    pub history: bool,
}

#[derive(Debug, Args)]
pub struct AttestArgs {
    /// The checklist file to write the attestation into.
    pub checklist: PathBuf,
    /// The item's `id`.
    pub item: String,
    /// Where the proof is (a link, a ticket).
    #[arg(long)]
    pub evidence: String,
    /// When the attestation lapses: a duration (`7d`) or a date.
    #[arg(long)]
    pub expires: Option<String>,
    /// Attest as this person (recorded next to the login name).
    #[arg(long = "as", value_name = "NAME", env = "CUTOVER_ACTOR")]
    pub actor: Option<String>,
}

#[derive(Debug, Args)]
pub struct WaiveArgs {
    /// The checklist file to write the waiver into.
    pub checklist: PathBuf,
    /// The item's `id`.
    pub item: String,
    /// Why the item may fail for now.
    #[arg(long)]
    pub reason: String,
    /// Who accepted the risk.
    #[arg(long)]
    pub approver: String,
    /// When the waiver lapses: a duration (`7d`) or a date.
    #[arg(long)]
    pub expires: String,
}

/// `report --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Markdown.
    #[value(alias = "markdown")]
    Md,
    /// One self-contained HTML page.
    Html,
    /// The versioned JSON shape (docs/report-format.md).
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Run ids, run directories or journal files.
    pub runs: Vec<String>,
    /// Output format (`markdown` is an old name of `md`).
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Program KPIs over every run in this directory (with `--journal-url`,
    /// give none: every run in the shared journal).
    #[arg(long, value_name = "RUNS_DIR", num_args = 0..=1)]
    pub summary: Option<Option<PathBuf>>,
    /// Compare each run with OTHER_RUN (e.g. live with its last rehearsal):
    /// step by step durations and outcomes, deviations, a summary line.
    #[arg(long, value_name = "OTHER_RUN", conflicts_with = "summary")]
    pub compare: Option<String>,
    /// The time zone of the headline's times (IANA name, e.g.
    /// `Europe/Berlin`; default UTC). JSON stays in UTC.
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<String>,
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
