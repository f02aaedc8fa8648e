//! `cutover gate`.

use std::process::ExitCode;

use crate::cli::GateArgs;
use crate::error::Error;

pub fn exec(_args: &GateArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage(
        "`cutover gate` is not available in this build yet".into(),
    ))
}
