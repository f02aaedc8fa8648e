//! `cutover waive`.

use std::process::ExitCode;

use crate::cli::WaiveArgs;
use crate::error::Error;

pub fn exec(_args: &WaiveArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover waive` is not available in this build yet".into(),
    ))
}
