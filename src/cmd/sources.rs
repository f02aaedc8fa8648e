//! `cutover sources`.

use std::process::ExitCode;

use crate::cli::SourcesArgs;
use crate::error::Error;
use crate::plan::Plan;

pub fn exec(_args: &SourcesArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover sources` is not available in this build yet".into(),
    ))
}

/// Print each source's health; true when all answered.
pub fn all_reachable(_plan: &Plan) -> Result<bool, Error> {
    Err(Error::Usage(
        "`--check-sources` is not available in this build yet".into(),
    ))
}
