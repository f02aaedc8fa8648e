//! `cutover validate`.

use std::process::ExitCode;

use crate::cli::ValidateArgs;
use crate::error::Error;

pub fn exec(_args: &ValidateArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage("not yet".into()))
}
