//! The `cutover` binary: parse the command line and hand over to the library.

use std::process::ExitCode;

fn main() -> ExitCode {
    cutover::exit_quietly_on_broken_pipe();
    let cli = match cutover::parse_command_line() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    // The colour choice first: diagnostics are coloured by it too.
    cutover::text::color::set(cli.color.into());
    cutover::init_tracing(cli.verbose);
    cutover::run(cli)
}
