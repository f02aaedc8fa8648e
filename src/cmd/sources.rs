//! `cutover sources`.

use std::process::ExitCode;

use crate::cli::SourcesArgs;
use crate::error::Error;

pub fn exec(_args: &SourcesArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover sources` is not available in this build yet".into(),
    ))
}
