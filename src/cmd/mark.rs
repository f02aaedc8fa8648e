//! `cutover mark`.

use std::process::ExitCode;

use crate::cli::MarkArgs;
use crate::error::Error;

pub fn exec(_args: &MarkArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover mark` is not available in this build yet".into(),
    ))
}
