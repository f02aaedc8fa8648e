//! `cutover check`.

use std::process::ExitCode;

use crate::cli::CheckArgs;
use crate::error::Error;

pub fn exec(_args: &CheckArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover check` is not available in this build yet".into(),
    ))
}
