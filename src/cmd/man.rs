//! `cutover man [--dir DIR]`: manual pages in roff (clap_mangen), from the
//! same definitions as `--help`, so they cannot drift. To stdout: `cutover.1`,
//! the commands listed with what they do. With `--dir`: `cutover.1` and one
//! `cutover-COMMAND.1` per command with all its options, as git and cargo
//! ship theirs (`man cutover-run`).

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory as _;

use crate::cli::{Cli, ManArgs};
use crate::error::Error;

pub fn exec(args: &ManArgs) -> Result<ExitCode, Error> {
    let cli = Cli::command();
    let Some(dir) = &args.dir else {
        super::write_stdout(&page(&cli)?)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).map_err(|e| Error::io("create", dir.display(), e))?;
    write(&dir.join("cutover.1"), &page(&cli)?)?;
    let mut written = 1;
    for sub in cli.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("cutover-{}", sub.get_name());
        // A page of its own: named `cutover-run`, with the version in its footer.
        let cmd = sub.clone().name(name.clone()).version(crate::cli::VERSION);
        write(&dir.join(format!("{name}.1")), &page(&cmd)?)?;
        written += 1;
    }
    eprintln!("wrote {written} manual pages to {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn page(cmd: &clap::Command) -> Result<Vec<u8>, Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .date(crate::cli::BUILD_DATE)
        .source(format!("cutover {}", env!("CARGO_PKG_VERSION")))
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("failed to render a manual page: {e}")))?;
    Ok(out)
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| Error::io("write", path.display(), e))
}
