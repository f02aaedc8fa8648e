//! The `Validator`: the diagnostics it collects and the checks runbooks and
//! checklists share (templates, shell commands, durations, counts, and the
//! `[vars]`, `[env.*]`, `[secrets]` and `[sources.*]` tables).

use std::collections::BTreeSet;
use std::time::Duration;

use indexmap::IndexMap;

use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};
use crate::runbook::model::{EnvOverlay, SecretSpec, Source};
use crate::runbook::raw::{EnvTable, RawSecret, RawSource};
use crate::runbook::scalar::Scalar;
use crate::runbook::shell::{self, MAX_COMMAND_BYTES};
use crate::runbook::spanned::Sp;
use crate::runbook::template::{self, Namespace};

/// The checks shared by every format that declares `[sources.*]` and signal
/// checks: runbooks here, readiness checklists in `crate::readiness`.
pub(crate) struct Validator<'a> {
    pub(super) file: &'a SourceFile,
    pub(super) diags: Vec<Diagnostic>,
    pub(super) var_names: BTreeSet<String>,
    pub(super) secret_names: BTreeSet<String>,
    /// Paths of entries the loader dropped after reporting them.
    pub(super) dropped: Vec<Vec<String>>,
}

/// The typed form of the tables runbooks and checklists share.
pub(crate) struct Environment {
    pub(crate) vars: IndexMap<String, String>,
    pub(crate) envs: IndexMap<String, EnvOverlay>,
    pub(crate) secrets: IndexMap<String, SecretSpec>,
    pub(crate) sources: IndexMap<String, Source>,
}

pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl<'a> Validator<'a> {
    /// Whether the loader dropped the entry at `path` (or one below it).
    pub(crate) fn was_dropped(&self, path: &[&str]) -> bool {
        self.dropped
            .iter()
            .any(|d| d.len() >= path.len() && d.iter().zip(path).all(|(a, b)| a == b))
    }

    /// A validator for `file`, knowing the names templates may use.
    pub(crate) fn new(
        file: &'a SourceFile,
        var_names: BTreeSet<String>,
        secret_names: BTreeSet<String>,
    ) -> Self {
        Validator {
            file,
            diags: Vec::new(),
            var_names,
            secret_names,
            dropped: Vec::new(),
        }
    }

    /// Every diagnostic collected so far.
    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diags
    }

    pub(crate) fn error(&mut self, message: impl Into<String>, span: Span) -> &mut Diagnostic {
        self.diags.push(Diagnostic::error(message).at(span));
        self.diags.last_mut().expect("just pushed")
    }

    pub(crate) fn warning(&mut self, message: impl Into<String>, span: Span) -> &mut Diagnostic {
        self.diags.push(Diagnostic::warning(message).at(span));
        self.diags.last_mut().expect("just pushed")
    }

    /// Byte span of `range` inside the string value at `span`, when the file
    /// spells the string without escapes; otherwise the whole value.
    pub(super) fn inner_span(
        &self,
        value: &str,
        span: &Span,
        range: std::ops::Range<usize>,
    ) -> Span {
        let raw = self.file.text.get(span.clone()).unwrap_or("");
        for quote in ["\"\"\"", "'''", "\"", "'"] {
            let Some(body) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) else {
                continue;
            };
            // A multi-line string drops a newline right after its opening quotes.
            let trimmed = if quote.len() == 3 {
                body.strip_prefix("\r\n")
                    .or_else(|| body.strip_prefix('\n'))
                    .unwrap_or(body)
            } else {
                body
            };
            if trimmed == value {
                let start = span.start + quote.len() + (body.len() - trimmed.len());
                return start + range.start..start + range.end;
            }
        }
        span.clone()
    }

    /// Check the templates in a string value.
    pub(crate) fn templates(&mut self, value: &Sp<String>) {
        self.templates_in(value.get(), &value.span());
    }

    pub(super) fn templates_in(&mut self, value: &str, span: &Span) {
        match template::references(value) {
            Ok(refs) => {
                for r in refs {
                    let (known, what): (&BTreeSet<String>, &str) = match r.namespace {
                        Namespace::Vars => (&self.var_names, "variable"),
                        Namespace::Secrets => (&self.secret_names, "secret"),
                        Namespace::Env => continue,
                    };
                    if !known.contains(&r.name) {
                        let help = did_you_mean(&r.name, known.iter().map(String::as_str));
                        let declare = match r.namespace {
                            Namespace::Vars => {
                                format!("declare it in `[vars]`: {} = \"...\"", r.name)
                            }
                            _ => format!(
                                "declare it in `[secrets]`: {} = {{ env = \"VAR\" }}",
                                r.name
                            ),
                        };
                        let at = self.inner_span(value, span, r.range.clone());
                        self.error(format!("template names undefined {what} `{}`", r.name), at)
                            .with_label(format!("no such {what}"))
                            .help = Some(help.unwrap_or(declare));
                    }
                }
            }
            Err(e) => {
                let at = self.inner_span(value, span, e.range.clone());
                let d = self.error(e.message, at);
                d.help = e.help;
            }
        }
    }

    /// A shell command (`run`, a rollback, a command-source query): short
    /// enough for the kernel to pass it (`E2BIG` otherwise, at exec), every
    /// template where its value can be quoted (see `runbook::shell`), and no
    /// `| raw` on a secret. The templates' names are checked by [`Self::templates`].
    pub(crate) fn shell_command(&mut self, value: &Sp<String>) {
        self.shell_command_in(value.get(), &value.span());
    }

    pub(super) fn shell_command_in(&mut self, value: &str, span: &Span) {
        if value.len() > MAX_COMMAND_BYTES {
            // Point at the start only: the line may be megabytes long.
            self.error(
                format!(
                    "this command is {} bytes, over the limit of {MAX_COMMAND_BYTES} bytes ({} KiB) for one command",
                    value.len(),
                    MAX_COMMAND_BYTES / 1024
                ),
                span.start..span.start + 1,
            )
            .help = Some(
                "the kernel refuses a longer argument (E2BIG) when the step starts; put the script in a file and run the file".into(),
            );
            return;
        }
        let Ok(refs) = template::references(value) else {
            return;
        };
        for r in &refs {
            if r.raw && r.namespace == Namespace::Secrets {
                let at = self.inner_span(value, span, r.range.clone());
                self.error("`| raw` does not apply to a secret", at).help = Some(format!(
                    "a secret reaches a command only through its environment variable (`\"${}\"`), never as shell text; remove `| raw`",
                    shell::secret_env_name(&r.name)
                ));
            }
        }
        if let Err(e) = shell::contexts(value, &refs) {
            let at = self.inner_span(value, span, e.range);
            self.error(e.message, at).help = Some(e.help);
        }
    }

    /// The templates of a variable's value: names defined, and no other
    /// variable (variables are filled in one pass, so `plan` would refuse it).
    fn var_templates(&mut self, value: &Sp<Scalar>) {
        let Scalar::String(text) = value.get() else {
            return;
        };
        self.templates_in(text, &value.span());
        let Ok(refs) = template::references(text) else {
            return;
        };
        for r in refs.iter().filter(|r| r.namespace == Namespace::Vars) {
            let at = self.inner_span(text, &value.span(), r.range.clone());
            self.error("a variable cannot refer to other variables", at)
                .with_label(format!("`vars.{}` is a variable", r.name))
                .help = Some(
                "write the value itself, or use both templates where the value is used".into(),
            );
        }
    }

    pub(crate) fn duration(
        &mut self,
        value: Option<&Sp<String>>,
        allow_zero: bool,
    ) -> Option<Duration> {
        self.duration_in(value, allow_zero, "s")
    }

    /// [`Self::duration`] for a field whose natural unit is `unit`: a bare
    /// number is hinted as `"7d"` for a days-scale window, not `"7s"`.
    pub(crate) fn duration_in(
        &mut self,
        value: Option<&Sp<String>>,
        allow_zero: bool,
        unit: &str,
    ) -> Option<Duration> {
        let value = value?;
        let text = value.get().trim();
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() && !allow_zero => {
                self.error("duration must be greater than zero", value.span())
                    .help = Some("write e.g. \"30s\", \"2m\" or \"1h30m\"".into());
                None
            }
            Ok(d) => Some(d),
            Err(_) => {
                let hint = if text.starts_with('-') {
                    "durations cannot be negative".to_string()
                } else if text.chars().all(|c| c.is_ascii_digit()) && !text.is_empty() {
                    format!("add a unit, e.g. \"{text}{unit}\"")
                } else {
                    "write e.g. \"30s\", \"2m\", \"1h30m\" or \"500ms\"".to_string()
                };
                self.error(format!("invalid duration `{text}`"), value.span())
                    .with_label("expected a number with a unit")
                    .help = Some(hint);
                None
            }
        }
    }

    pub(crate) fn count(&mut self, value: Option<&Sp<i64>>, min: i64, what: &str) -> Option<u32> {
        let value = value?;
        let n = *value.get();
        if n < min {
            self.error(
                format!("`{what}` must be at least {min}, found {n}"),
                value.span(),
            );
            return None;
        }
        if let Ok(n) = u32::try_from(n) {
            Some(n)
        } else {
            self.error(format!("`{what}` is too large: {n}"), value.span());
            None
        }
    }

    /// The tables runbooks and checklists share: `[vars]`, `[env.*]`,
    /// `[secrets]` and `[sources.*]`, checked and typed the same way for both.
    pub(crate) fn environment<E: EnvTable>(
        &mut self,
        raw_vars: &IndexMap<String, Sp<Scalar>>,
        raw_env: &IndexMap<String, E>,
        raw_secrets: &IndexMap<String, RawSecret>,
        raw_sources: &IndexMap<String, RawSource>,
    ) -> Environment {
        let text = |vars: &IndexMap<String, Sp<Scalar>>| -> IndexMap<String, String> {
            vars.iter()
                .map(|(k, v)| (k.clone(), v.get().to_string()))
                .collect()
        };
        for v in raw_vars.values() {
            self.var_templates(v);
        }
        for env in raw_env.values() {
            for v in env.vars().values() {
                self.var_templates(v);
            }
        }
        let envs = raw_env
            .iter()
            .map(|(name, env)| {
                let overlay = EnvOverlay {
                    production: env.production().unwrap_or(false),
                    vars: text(env.vars()),
                    schedule: None,
                    hypercare: None,
                };
                (name.clone(), overlay)
            })
            .collect();
        let mut secrets = IndexMap::new();
        for (name, s) in raw_secrets {
            if s.env.trim().is_empty() {
                self.error(
                    format!("secret `{name}` names an empty environment variable"),
                    s.env.span(),
                );
            }
            secrets.insert(
                name.clone(),
                SecretSpec {
                    env: s.env.get().clone(),
                    required: s.required.unwrap_or(true),
                },
            );
        }
        let mut sources = IndexMap::new();
        for (name, s) in raw_sources {
            if let Some(source) = self.source(name, s) {
                sources.insert(name.clone(), source);
            }
        }
        Environment {
            vars: text(raw_vars),
            envs,
            secrets,
            sources,
        }
    }
}
