//! `cutover query`.

use std::process::ExitCode;

use crate::cli::QueryArgs;
use crate::error::Error;

pub fn exec(_args: &QueryArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover query` is not available in this build yet".into(),
    ))
}
