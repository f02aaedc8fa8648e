//! Reading a TOML file into raw serde structs, collecting *every* error.
//!
//! The document is first parsed with error recovery (all syntax errors at
//! once); then each top-level table and each `[[step]]` / `[[trigger]]`
//! element is deserialized on its own, so one bad step does not hide the
//! errors of the next.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};

/// Most errors reported for one file: a binary file would otherwise print thousands.
pub const MAX_ERRORS: usize = 50;

/// Read a file as text, rejecting what cannot be a TOML document.
#[expect(
    clippy::result_large_err,
    reason = "read once per file; the error carries the file for rendering"
)]
pub fn read_source(path: &Path) -> Result<SourceFile, (SourceFile, Diagnostic)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            let file = SourceFile::new(path, String::new());
            return Err((file, Diagnostic::error(format!("cannot read file: {e}"))));
        }
    };
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path, text)),
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let bytes = e.into_bytes();
            // Keep the valid prefix so the error can show the line it happened on.
            let text = String::from_utf8_lossy(&bytes[..valid]).into_owned();
            let file = SourceFile::new(path, text);
            let diag = Diagnostic::error("file is not valid UTF-8 text")
                .at(valid..valid)
                .label(format!("invalid byte 0x{:02x} here", bytes[valid]))
                .help("runbooks and checklists are TOML files, which must be UTF-8");
            Err((file, diag))
        }
    }
}

/// Turn a toml error into a diagnostic, adding "did you mean" for unknown names.
pub fn toml_error(error: &toml::de::Error, fallback: Span) -> Diagnostic {
    let message = error.message().trim().to_string();
    let span = error.span().unwrap_or(fallback);
    let help = unknown_name_help(&message);
    let message = first_line_lowercase(&message);
    Diagnostic::error(message).at(span).help_opt(help)
}

fn first_line_lowercase(message: &str) -> String {
    let line = message
        .lines()
        .next()
        .unwrap_or(message)
        .trim_end_matches('.');
    let mut chars = line.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => line.to_string(),
    }
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" messages.
fn unknown_name_help(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (name, rest) = rest.split_once('`')?;
    let expected: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    did_you_mean(name, expected.iter().copied())
}

/// Which type each top-level key (and each element of a top-level array) of
/// a document has, so sections can be checked one by one.
pub trait Sections {
    /// The top-level keys the format allows.
    const KEYS: &'static [&'static str];
    /// A checker for the whole value of top-level key `name` (tables).
    fn section(name: &str) -> Option<ValueCheck>;
    /// A checker for one element of top-level array `name` (`[[step]]`).
    fn element(name: &str) -> Option<ValueCheck>;
}

/// Deserializes one value as some raw type, keeping the original spans.
pub type ValueCheck = for<'a> fn(&toml::Spanned<DeValue<'a>>) -> Result<(), toml::de::Error>;

/// A `ValueCheck` for type `X`.
pub fn check_as<X: DeserializeOwned>(
    value: &toml::Spanned<DeValue<'_>>,
) -> Result<(), toml::de::Error> {
    X::deserialize(ValueDeserializer::from(value.clone())).map(|_| ())
}

/// Parse `file` into `T`, or every diagnostic found.
pub fn parse_document<T: DeserializeOwned + Sections>(
    file: &SourceFile,
) -> Result<T, Vec<Diagnostic>> {
    if file.text.trim().is_empty() {
        return Err(vec![
            Diagnostic::error("file is empty")
                .at(0..0)
                .help("a runbook starts with a `[runbook]` table with a `name`; a checklist with `[checklist]`"),
        ]);
    }
    let (table, errors) = DeTable::parse_recoverable(&file.text);
    if !errors.is_empty() {
        let whole = 0..file.text.len();
        return Err(errors
            .iter()
            .take(MAX_ERRORS)
            .map(|e| toml_error(e, whole.clone()))
            .collect());
    }
    let mut diags = Vec::new();
    let table_span = table.span();
    let table = table.into_inner();
    for (key, value) in &table {
        let name: &str = key.get_ref();
        if !T::KEYS.contains(&name) {
            let expected = format!(
                "expected one of {}",
                T::KEYS
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            diags.push(
                Diagnostic::error(format!("unknown top-level key `{name}`"))
                    .at(key.span())
                    .label("not part of the format")
                    .help(did_you_mean(name, T::KEYS.iter().copied()).unwrap_or(expected)),
            );
            continue;
        }
        if let (Some(check), DeValue::Array(items)) = (T::element(name), value.get_ref()) {
            // Check each element on its own so that every bad one is reported.
            for item in items {
                if let Err(e) = check(item) {
                    diags.push(toml_error(&e, item.span()));
                }
            }
        } else if let Some(check) = T::section(name)
            && let Err(e) = check(value)
        {
            diags.push(toml_error(&e, value.span()));
        }
    }
    if !diags.is_empty() {
        diags.truncate(MAX_ERRORS);
        return Err(diags);
    }
    let whole = toml::Spanned::new(table_span.clone(), DeValue::Table(table));
    T::deserialize(ValueDeserializer::from(whole)).map_err(|e| vec![toml_error(&e, 0..0)])
}
