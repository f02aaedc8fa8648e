//! `cutover resume`.

use std::process::ExitCode;

use crate::cli::ResumeArgs;
use crate::error::Error;

pub fn exec(_args: &ResumeArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover resume` is not available in this build yet".into(),
    ))
}
