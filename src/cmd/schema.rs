//! `cutover schema`.

use std::process::ExitCode;

use crate::cli::SchemaArgs;
use crate::error::Error;

pub fn exec(_args: &SchemaArgs) -> Result<ExitCode, Error> {
    Err(Error::Usage("not yet".into()))
}
