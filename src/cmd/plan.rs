//! `cutover plan`.

use std::process::ExitCode;

use crate::cli::PlanArgs;
use crate::error::Error;

pub fn exec(_args: &PlanArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage("not yet".into()))
}
