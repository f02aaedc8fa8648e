//! `cutover completions SHELL`: the shell's completion script on stdout
//! (clap_complete), for the commands, flags and `--format` values of this
//! very binary.

use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Error;

pub fn exec(args: &CompletionsArgs) -> Result<ExitCode, Error> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "cutover", &mut script);
    super::write_stdout(&script)?;
    Ok(ExitCode::SUCCESS)
}
