//! Reading a TOML file into raw serde structs, collecting *every* error.
//!
//! The document is first parsed with error recovery (all syntax errors at
//! once); then each top-level table and each `[[step]]` / `[[trigger]]`
//! element is deserialized on its own, so one bad step does not hide the
//! errors of the next; `salvage` then drops what each error points at and
//! parses the rest again.

use std::path::Path;

use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

pub use super::salvage::MISSING_ID;
use super::salvage::salvage;
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
    let message = operator_words(&first_line_lowercase(&message));
    Diagnostic::error(message).at(span).help_opt(help)
}

/// What serde names by its Rust type, in the words of the file format: an
/// operator reads "expected a table like `{ env = "VAR" }`", not
/// "expected struct RawSecret" or "expected i64".
fn operator_words(message: &str) -> String {
    const TABLES: &[(&str, &str)] = &[
        ("RawSecret", "a table like `{ env = \"VAR\" }`"),
        ("RawSource", "a `[sources.NAME]` table with a `kind`"),
        (
            "RawRetries",
            "a table like `{ attempts = 2, backoff = \"5s\" }`",
        ),
        (
            "RawHttp",
            "a table like `{ url = \"https://...\", method = \"POST\" }`",
        ),
        ("RawApproval", "a table like `{ required = true, min = 1 }`"),
        ("RawMeta", "a `[runbook]` table with a `name`"),
        ("RawEnv", "an `[env.NAME]` table"),
        ("RawRunbookEnv", "an `[env.NAME]` table"),
        (
            "RawHypercare",
            "a `[hypercare]` table like `{ duration = \"2h\" }`",
        ),
        ("RawEnvHypercare", "a table like `{ duration = \"30m\" }`"),
        ("RawOutcome", "an `[[outcome]]` table"),
        ("RawNotify", "a `[notify]` table"),
        ("RawGate", "a `[[step.gate]]` table"),
        ("RawTrigger", "a `[[trigger]]` table"),
        ("RawStep", "a `[[step]]` table"),
        ("RawActionTable", "a table with `run`, `http` or `manual`"),
        ("RawChecklistMeta", "a `[checklist]` table with a `name`"),
        ("RawItem", "an `[[item]]` table"),
        ("RawHttpCheck", "a table like `{ url = \"https://...\" }`"),
        (
            "RawDryRunPassed",
            "a table like `{ runbook = \"runbooks/x.toml\", env = \"staging\", within = \"7d\" }`",
        ),
        (
            "RawAttested",
            "a table like `{ by = \"alice\", at = \"2026-11-20\", evidence = \"https://...\" }`",
        ),
        ("RawWaiver", "a `[[waiver]]` table"),
    ];
    const SCALARS: &[(&str, &str)] = &[
        ("expected i64", "expected an integer"),
        ("expected i32", "expected an integer"),
        ("expected u64", "expected a whole number, 0 or more"),
        ("expected u32", "expected a whole number, 0 or more"),
        ("expected u16", "expected a whole number, 0 or more"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
        ("expected a map", "expected a table"),
    ];
    // What was found, in TOML's words.
    let mut out = message
        .replacen("invalid type: map,", "invalid type: table,", 1)
        .replacen("invalid type: sequence,", "invalid type: array,", 1);
    if let Some(at) = out.find("expected struct ") {
        let name_start = at + "expected struct ".len();
        let name_end = out[name_start..]
            .find(|c: char| !c.is_alphanumeric() && c != '_')
            .map_or(out.len(), |n| name_start + n);
        let name = &out[name_start..name_end];
        let words = TABLES
            .iter()
            .find(|(raw, _)| *raw == name)
            .map_or("a table", |(_, words)| words);
        out = format!("{}expected {words}{}", &out[..at], &out[name_end..]);
    }
    for (rust, words) in SCALARS {
        if let Some(rest) = out.strip_suffix(rust) {
            out = format!("{rest}{words}");
        }
    }
    out
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

/// The result of parsing a document: every diagnostic found, and the value
/// when one could be built. A value may come with errors: after an unknown
/// key or a wrongly typed value the offending entry is dropped and the rest
/// is parsed again, so the checks that run on the typed value still report
/// their findings in the same pass ("all errors at once").
pub struct Parsed<T> {
    pub value: Option<T>,
    pub diagnostics: Vec<Diagnostic>,
    /// Entries salvage removed, by path (`["step", "2", "http"]`): the rule
    /// checks must not report them missing as a second error.
    pub dropped: Vec<Vec<String>>,
}

impl<T> Parsed<T> {
    /// No value: the diagnostics say why.
    pub(super) fn failed(diagnostics: Vec<Diagnostic>) -> Self {
        Parsed {
            value: None,
            diagnostics,
            dropped: Vec::new(),
        }
    }
}

/// Parse `file` into `T`, collecting every diagnostic.
pub fn parse_document<T: DeserializeOwned + Sections>(file: &SourceFile) -> Parsed<T> {
    if file.text.trim().is_empty() {
        return Parsed::failed(vec![
            Diagnostic::error("file is empty")
                .at(0..0)
                .help("a runbook starts with a `[runbook]` table with a `name`; a checklist with `[checklist]`"),
        ]);
    }
    let (table, errors) = DeTable::parse_recoverable(&file.text);
    if !errors.is_empty() {
        let whole = 0..file.text.len();
        return Parsed::failed(
            errors
                .iter()
                .take(MAX_ERRORS)
                .map(|e| toml_error(e, whole.clone()))
                .collect(),
        );
    }
    let table_span = table.span();
    let table = table.into_inner();
    let mut diags = check_sections::<T>(&table);
    if diags.is_empty() {
        let whole = toml::Spanned::new(table_span, DeValue::Table(table));
        return match T::deserialize(ValueDeserializer::from(whole)) {
            Ok(value) => Parsed {
                value: Some(value),
                diagnostics: Vec::new(),
                dropped: Vec::new(),
            },
            Err(e) => Parsed::failed(vec![toml_error(&e, 0..0)]),
        };
    }
    diags.truncate(MAX_ERRORS);
    salvage(table, table_span, diags)
}

/// Deserialize each top-level section (and each element of a top-level
/// array) on its own, so that every bad one is reported.
pub(super) fn check_sections<T: Sections>(table: &DeTable<'_>) -> Vec<Diagnostic> {
    let mut diags = Vec::new();
    for (key, value) in table {
        let name: &str = key.get_ref();
        if !T::KEYS.contains(&name) {
            let expected = format!("expected one of {}", crate::diag::code_list(T::KEYS));
            diags.push(
                Diagnostic::error(format!("unknown top-level key `{name}`"))
                    .at(key.span())
                    .label("not part of the format")
                    .help(did_you_mean(name, T::KEYS.iter().copied()).unwrap_or(expected)),
            );
            continue;
        }
        if let (Some(check), DeValue::Array(items)) = (T::element(name), value.get_ref()) {
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
    diags
}

#[cfg(test)]
mod tests {
    use super::{operator_words, parse_document};
    use crate::diag::SourceFile;
    use crate::runbook::raw::RawRunbook;

    fn messages(text: &str) -> Vec<String> {
        let file = SourceFile::new(std::path::Path::new("r.toml"), text.to_string());
        parse_document::<RawRunbook>(&file)
            .diagnostics
            .into_iter()
            .map(|d| d.message)
            .collect()
    }

    #[test]
    fn a_dropped_action_is_not_also_reported_missing_by_the_rule_checks() {
        let text = "[runbook]\nname = \"x\"\n[[step]]\nid = \"a\"\nhttp = \"http://x\"\nrollback = \"true\"\n";
        let loaded = crate::runbook::load_text(std::path::Path::new("r.toml"), text.to_string());
        let messages: Vec<&str> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with("invalid type: string"),
            "{messages:?}"
        );
    }

    #[test]
    fn a_dropped_value_is_one_error_not_also_a_missing_field() {
        let step = "[runbook]\nname = \"x\"\n[[step]]\nid = \"a\"\nrun = \"true\"\n";
        assert_eq!(
            messages(&format!("{step}retries = {{ attempts = \"2\" }}\n")),
            [r#"invalid type: string "2", expected an integer"#]
        );
        // A field that really is missing next to a dropped one is still reported.
        assert_eq!(
            messages(&format!("{step}retries = {{ backoff = 5 }}\n")),
            [
                "invalid type: integer `5`, expected a string",
                "missing field `attempts`"
            ]
        );
    }

    #[test]
    fn rust_type_names_become_the_file_formats_words() {
        assert_eq!(
            operator_words(r#"invalid type: string "TOKEN", expected struct RawSecret"#),
            r#"invalid type: string "TOKEN", expected a table like `{ env = "VAR" }`"#
        );
        assert_eq!(
            operator_words(r#"invalid type: string "3", expected i64"#),
            r#"invalid type: string "3", expected an integer"#
        );
        assert_eq!(
            operator_words("invalid type: integer `3`, expected a sequence"),
            "invalid type: integer `3`, expected an array"
        );
        assert_eq!(
            operator_words("invalid type: string \"x\", expected struct RawSomethingNew"),
            "invalid type: string \"x\", expected a table"
        );
        assert_eq!(
            operator_words("invalid type: map, expected a string"),
            "invalid type: table, expected a string"
        );
        assert_eq!(
            operator_words("invalid type: sequence, expected a map"),
            "invalid type: array, expected a table"
        );
        let unchanged = "unknown field `rn`, expected one of `run`, `http`";
        assert_eq!(operator_words(unchanged), unchanged);
    }
}
