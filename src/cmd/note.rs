//! `cutover note`.

use std::process::ExitCode;

use crate::cli::NoteArgs;
use crate::error::Error;

pub fn exec(_args: &NoteArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover note` is not available in this build yet".into(),
    ))
}
