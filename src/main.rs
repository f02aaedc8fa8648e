//! The `cutover` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    cutover::exit_quietly_on_broken_pipe();
    let cli = cutover::cli::Cli::parse();
    cutover::init_tracing(cli.verbose);
    cutover::run(cli)
}
