//! `cutover done`.

use std::process::ExitCode;

use crate::cli::DoneArgs;
use crate::error::Error;

pub fn exec(_args: &DoneArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover done` is not available in this build yet".into(),
    ))
}
