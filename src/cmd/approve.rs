//! `cutover approve`.

use std::process::ExitCode;

use crate::cli::ApproveArgs;
use crate::error::Error;

pub fn exec(_args: &ApproveArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover approve` is not available in this build yet".into(),
    ))
}
