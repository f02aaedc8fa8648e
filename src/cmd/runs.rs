//! `cutover runs`.

use std::process::ExitCode;

use crate::cli::RunsArgs;
use crate::error::Error;

pub fn exec(_args: &RunsArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover runs` is not available in this build yet".into(),
    ))
}
