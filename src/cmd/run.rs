//! `cutover run`.

use std::process::ExitCode;

use crate::cli::RunArgs;
use crate::error::Error;

pub fn exec(_args: &RunArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover run` is not available in this build yet".into(),
    ))
}
