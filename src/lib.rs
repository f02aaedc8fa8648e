//! cutover: a release-readiness and cutover orchestrator.
//!
//! Stages are kept apart: `runbook` parses and validates files into a typed
//! model, `plan` resolves templates and orders steps, `engine` executes a plan
//! and writes every event to the `journal`, and `report` reads the journal.
//! Modules form one-way layers: docs/architecture.md has the table of which
//! may use which, and `tests/integration/layers.rs` holds every `crate::`
//! path to it.

pub mod ci;
pub mod cli;
pub mod cmd;
pub mod condition;
pub mod dag;
pub mod describe;
pub mod diag;
pub mod engine;
pub mod error;
pub mod event;
pub mod exit;
pub mod files;
pub mod gate;
pub mod journal;
pub mod milestone;
pub mod pg;
pub mod plan;
pub mod readiness;
pub mod report;
pub mod runbook;
pub mod schedule;
pub mod secrets;
pub mod signals;
pub mod status;
pub mod text;
pub mod trigger;
pub mod ui;

use std::process::ExitCode;

use cli::{Cli, Command};

/// Set up `tracing` for diagnostics on stderr, on every command: by
/// `RUST_LOG` when it is set (an `env_logger`-style filter, e.g.
/// `cutover=debug`; `CUTOVER_LOG` is the older name, read when `RUST_LOG`
/// is not set), else by `-v`: warnings only, `-v` what cutover does
/// (`cutover=info`), `-vv` each measurement and journal write
/// (`cutover=debug`), `-vvv` everything, libraries too. A filter that does
/// not parse is said once and `-v`'s level used instead.
pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "warn,cutover=info",
        2 => "info,cutover=debug",
        _ => "debug,cutover=trace",
    };
    let from_env = ["RUST_LOG", "CUTOVER_LOG"].into_iter().find_map(|name| {
        std::env::var(name)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (name, v))
    });
    let filter = match from_env {
        Some((name, value)) => match tracing_subscriber::EnvFilter::try_new(&value) {
            Ok(filter) => filter,
            Err(e) => {
                eprintln!("warning: ignoring `{name}={}`: {e}", text::visible(&value));
                tracing_subscriber::EnvFilter::new(level)
            }
        },
        None => tracing_subscriber::EnvFilter::new(level),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(text::color::stderr())
        .with_target(false)
        .try_init();
}

/// Parse the process's command line. A usage error (unknown flag, missing
/// argument, ...) prints clap's message and gives exit code 1 ("invalid
/// input", as for every other invalid input), except for `cutover check`,
/// whose documented 1 means "not ready": there it is 2, "could not evaluate".
/// `--help` and `--version` print and give 0.
pub fn parse_command_line() -> Result<Cli, ExitCode> {
    parse_command_line_from(std::env::args_os())
}

/// [`parse_command_line`] over given arguments (the first is the program name).
pub fn parse_command_line_from(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Result<Cli, ExitCode> {
    use clap::Parser;
    let args: Vec<std::ffi::OsString> = args.into_iter().collect();
    match Cli::try_parse_from(&args) {
        Ok(cli) => Ok(cli),
        Err(e) => {
            let _ = e.print();
            Err(ExitCode::from(usage_error_exit_code(&e, &args)))
        }
    }
}

fn usage_error_exit_code(e: &clap::Error, args: &[std::ffi::OsString]) -> u8 {
    if e.exit_code() == 0 {
        // --help, --version: not an error.
        return error::exit::OK;
    }
    // The subcommand is the first argument that is not a (global) flag.
    let subcommand = args
        .iter()
        .skip(1)
        .find(|a| !a.to_string_lossy().starts_with('-'));
    if subcommand.is_some_and(|s| s == "check") {
        error::exit::CHECK_ERROR
    } else {
        error::exit::INVALID
    }
}

/// Execute one parsed command line and give the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    text::color::set(cli.color.into());
    let started = std::time::Instant::now();
    tracing::debug!("cutover {}: {:?}", cli::VERSION, cli.command);
    let name = command_name(&cli.command);
    let url = cli.journal_url.as_deref();
    let result = match cmd::shared::intercept(&cli.command, url) {
        Some(result) => result,
        None => dispatch(cli.command, url),
    };
    let code = match result {
        Ok(code) => code,
        Err(error) => report(&error),
    };
    tracing::info!(
        "`cutover {name}` done in {} ms: {code:?}",
        started.elapsed().as_millis()
    );
    code
}

/// Each subcommand's `exec`, for a local journal (or none).
fn dispatch(command: Command, url: Option<&str>) -> Result<ExitCode, error::Error> {
    match command {
        Command::Validate(args) => cmd::validate::exec(&args),
        Command::Plan(args) => cmd::plan::exec(&args),
        Command::Schema(args) => cmd::schema::exec(&args),
        Command::Sources(args) => cmd::sources::exec(&args),
        Command::Query(args) => cmd::query::exec(&args),
        Command::Gate(args) => cmd::gate::exec(&args),
        Command::Run(args) => cmd::run::exec(&args),
        Command::Resume(args) => cmd::resume::exec(&args),
        Command::Done(args) => cmd::done::exec(&args),
        Command::Approve(args) => cmd::approve::exec(&args),
        Command::Note(args) => cmd::note::exec(&args),
        Command::Mark(args) => cmd::mark::exec(&args),
        Command::Status(args) => cmd::status::exec(&args),
        Command::Runs(args) => cmd::runs::exec(&args),
        Command::Check(args) => cmd::check::exec(&args),
        Command::Attest(args) => cmd::attest::exec(&args),
        Command::Waive(args) => cmd::waive::exec(&args),
        Command::Report(args) => cmd::report::exec(&args),
        Command::Completions(args) => cmd::completions::exec(&args),
        Command::Man(args) => cmd::man::exec(&args),
        Command::Init(args) => cmd::init::exec(&args),
        Command::Verify(args) => cmd::verify::exec(&args),
        Command::Action(args) => cmd::action::exec(&args),
        Command::Db(args) => cmd::shared::db(&args, url),
        Command::Journal(args) => cmd::shared::journal(&args, url),
    }
}

/// The subcommand's name as typed (`check`, `run`, ...), for diagnostics:
/// each variant is named after its subcommand.
fn command_name(command: &Command) -> String {
    let debug = format!("{command:?}");
    debug
        .split(['(', ' '])
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// Print `error` the way every cutover error looks, and give its exit code.
fn report(error: &error::Error) -> ExitCode {
    if !matches!(error, error::Error::Reported(_)) {
        // Messages echo what the user typed and what files hold: never let
        // an escape sequence in them reach the terminal raw.
        eprintln!("error: {}", text::visible(&error.message()));
    }
    ExitCode::from(error.exit_code())
}

/// `cutover ... | head` closes our stdout early: end the way a process killed by
/// SIGPIPE does (exit 141), not with a panic message and a backtrace.
pub fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
