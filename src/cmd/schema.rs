//! `cutover schema [runbook|checklist]`: the JSON Schema editors use to check files as you type.

use std::process::ExitCode;

use crate::cli::{SchemaArgs, SchemaKind};
use crate::error::{Error, exit};

/// The JSON Schema of a file format, derived from the raw serde types.
pub fn schema_json(kind: SchemaKind) -> Result<String, Error> {
    let schema = match kind {
        SchemaKind::Runbook => schemars::schema_for!(crate::runbook::raw::RawRunbook),
        SchemaKind::Checklist => schemars::schema_for!(crate::readiness::raw::RawChecklist),
    };
    Ok(serde_json::to_string_pretty(&schema).expect("a schema serializes"))
}

pub fn exec(args: &SchemaArgs) -> Result<ExitCode, Error> {
    println!("{}", schema_json(args.kind)?);
    Ok(ExitCode::from(exit::OK))
}
