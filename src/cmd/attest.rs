//! `cutover attest`.

use std::process::ExitCode;

use crate::cli::AttestArgs;
use crate::error::Error;

pub fn exec(_args: &AttestArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover attest` is not available in this build yet".into(),
    ))
}
