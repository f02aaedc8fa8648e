//! `cutover status`.

use std::process::ExitCode;

use crate::cli::StatusArgs;
use crate::error::Error;

pub fn exec(_args: &StatusArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover status` is not available in this build yet".into(),
    ))
}
