//! `cutover report`.

use std::process::ExitCode;

use crate::cli::ReportArgs;
use crate::error::Error;

pub fn exec(_args: &ReportArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover report` is not available in this build yet".into(),
    ))
}
