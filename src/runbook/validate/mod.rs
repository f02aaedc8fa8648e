//! Checking a raw runbook and building the typed model. Every problem is
//! collected as a diagnostic pointing into the file; nothing stops at the first.

mod checks;
mod sources;
mod steps;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use indexmap::IndexMap;

use super::model::{EnvOverlay, Notify, NotifyKind, Runbook, SecretSpec, Source};
use super::raw::{RawEnv, RawRunbook, RawSecret, RawSource};
use super::scalar::Scalar;
use super::shell::{self, MAX_COMMAND_BYTES};
use super::spanned::Sp;
use super::template::{self, Namespace};
use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};

pub const DEFAULT_GATE_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_TRIGGER_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
pub const DEFAULT_ERROR_LIMIT: u32 = 3;

const SOURCE_KINDS: &[&str] = &["prometheus", "datadog", "http", "command"];

/// Checks a raw runbook; the model is returned only if there were no errors.
/// `dropped`: entries the loader removed after reporting them (see
/// [`crate::runbook::load::Parsed::dropped`]).
pub fn validate(
    file: &SourceFile,
    raw: &RawRunbook,
    dropped: &[Vec<String>],
) -> (Option<Runbook>, Vec<Diagnostic>) {
    let mut v = Validator {
        file,
        diags: Vec::new(),
        var_names: BTreeSet::new(),
        secret_names: BTreeSet::new(),
        dropped: dropped.to_vec(),
    };
    let runbook = v.runbook(raw);
    let ok = !v.diags.iter().any(Diagnostic::is_error);
    (ok.then_some(runbook), v.diags)
}

/// The checks shared by every format that declares `[sources.*]` and signal
/// checks: runbooks here, readiness checklists in `crate::readiness`.
pub(crate) struct Validator<'a> {
    file: &'a SourceFile,
    diags: Vec<Diagnostic>,
    var_names: BTreeSet<String>,
    secret_names: BTreeSet<String>,
    /// Paths of entries the loader dropped after reporting them.
    dropped: Vec<Vec<String>>,
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
    fn inner_span(&self, value: &str, span: &Span, range: std::ops::Range<usize>) -> Span {
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

    fn templates_in(&mut self, value: &str, span: &Span) {
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

    fn shell_command_in(&mut self, value: &str, span: &Span) {
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
        let super::scalar::Scalar::String(text) = value.get() else {
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
    pub(crate) fn environment(
        &mut self,
        raw_vars: &IndexMap<String, Sp<Scalar>>,
        raw_env: &IndexMap<String, RawEnv>,
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
            for v in env.vars.values() {
                self.var_templates(v);
            }
        }
        let envs = raw_env
            .iter()
            .map(|(name, env)| {
                let overlay = EnvOverlay {
                    production: env.production.unwrap_or(false),
                    vars: text(&env.vars),
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

    fn runbook(&mut self, raw: &RawRunbook) -> Runbook {
        // Names first, so templates anywhere can be checked against them.
        self.var_names.extend(raw.vars.keys().cloned());
        for env in raw.env.values() {
            self.var_names.extend(env.vars.keys().cloned());
        }
        self.secret_names.extend(raw.secrets.keys().cloned());
        // A wrongly typed entry the loader dropped (and reported) is still
        // declared: templates naming it are not "undefined" as well.
        for path in &self.dropped {
            match path.as_slice() {
                [table, name] if table == "vars" => self.var_names.insert(name.clone()),
                [env, _, table, name] if env == "env" && table == "vars" => {
                    self.var_names.insert(name.clone())
                }
                [table, name] if table == "secrets" => self.secret_names.insert(name.clone()),
                _ => false,
            };
        }

        let meta = &raw.runbook;
        if meta.name.trim().is_empty() {
            self.error("runbook `name` is empty", meta.name.span());
        }
        let max_parallel = self
            .count(meta.max_parallel.as_ref(), 1, "max_parallel")
            .unwrap_or(1) as usize;
        let Environment {
            vars,
            envs,
            secrets,
            sources,
        } = self.environment(&raw.vars, &raw.env, &raw.secrets, &raw.sources);
        // An overlay that does not say inherits `[runbook] production`.
        let mut envs = envs;
        for (name, env) in &raw.env {
            if env.production.is_none()
                && let Some(o) = envs.get_mut(name)
            {
                o.production = raw.runbook.production;
            }
        }
        let mut notify = IndexMap::new();
        for (name, n) in &raw.notify {
            self.templates(&n.url);
            for e in &n.events {
                if !crate::runbook::model::NOTIFY_EVENTS.contains(&e.get().as_str()) {
                    let help = crate::diag::did_you_mean(
                        e.get(),
                        crate::runbook::model::NOTIFY_EVENTS.iter().copied(),
                    )
                    .unwrap_or_else(|| {
                        format!(
                            "known events: {}",
                            crate::runbook::model::NOTIFY_EVENTS.join(", ")
                        )
                    });
                    self.error(
                        format!("notify `{name}` names unknown event `{}`", e.get()),
                        e.span(),
                    )
                    .help = Some(help);
                }
            }
            notify.insert(
                name.clone(),
                Notify {
                    name: name.clone(),
                    kind: n.kind.unwrap_or(NotifyKind::Generic),
                    url: n.url.get().clone(),
                    events: n.events.iter().map(|e| e.get().clone()).collect(),
                },
            );
        }
        for r in &meta.requires {
            self.templates(r);
            // A mistyped path must show up now, not as a failing checklist on launch night.
            if !r.contains("{{") {
                let base = self
                    .file
                    .path
                    .parent()
                    .unwrap_or_else(|| std::path::Path::new(""));
                let path = base.join(r.get());
                if !path.is_file() {
                    self.error(
                        format!("required checklist `{}` does not exist", r.get()),
                        r.span(),
                    )
                    .with_label(format!("looked for {}", path.display()))
                    .help =
                        Some("paths in `requires` are relative to the runbook's directory".into());
                }
            }
        }

        let steps = self.steps(&raw.step, &raw.sources);
        let teams = self.teams(raw);
        let step_ids: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
        let mut triggers = Vec::new();
        let mut trigger_ids = BTreeMap::new();
        for t in &raw.trigger {
            if let Some(first) = trigger_ids.insert(t.id.get().clone(), t.id.span()) {
                let (line, _) = self.file.line_col(first.start);
                self.error(
                    format!("duplicate trigger id `{}`", t.id.get()),
                    t.id.span(),
                )
                .with_label(format!("first defined on line {line}"));
            }
            if let Some(trigger) = self.trigger(t, &raw.sources, &step_ids) {
                triggers.push(trigger);
            }
        }
        // A step dropped for a missing `id`, or a `[stpe]` typo, was reported already.
        if raw.step.is_empty() && !self.was_dropped(&["step"]) {
            self.error("runbook has no steps", meta.name.span()).help = Some(
                "add at least one `[[step]]` with an `id` and a `run`, `http` or `manual`".into(),
            );
        }

        Runbook {
            name: meta.name.get().clone(),
            owner: meta.owner.clone(),
            change: meta.change.clone(),
            description: meta.description.clone(),
            max_parallel,
            requires: meta.requires.iter().map(|r| r.get().clone()).collect(),
            production: meta.production,
            declared_identities: self.declared_identities(raw, &envs),
            vars,
            envs,
            secrets,
            sources,
            notify,
            teams,
            triggers,
            steps,
        }
    }

    /// `[runbook] declared_identities`, with a warning when no env of the
    /// runbook is production (it changes nothing outside production).
    fn declared_identities(
        &mut self,
        raw: &RawRunbook,
        envs: &IndexMap<String, EnvOverlay>,
    ) -> bool {
        let Some(declared) = &raw.runbook.declared_identities else {
            return false;
        };
        if *declared.get() && !raw.runbook.production && !envs.values().any(|e| e.production) {
            self.warning(
                "`declared_identities` has no effect: no env of this runbook is production",
                declared.span(),
            )
            .help = Some(
                "outside production a name given with `--as` always counts; set `production = true` on the env it is for"
                    .into(),
            );
        }
        *declared.get()
    }

    /// `[teams]`, and every `team:NAME` approver names one of them.
    fn teams(&mut self, raw: &RawRunbook) -> IndexMap<String, Vec<String>> {
        for s in &raw.step {
            let Some(a) = &s.approval else { continue };
            for who in &a.approvers {
                if let Some(team) = who.get().strip_prefix("team:")
                    && !raw.teams.contains_key(team)
                {
                    self.warning(
                        format!("approver `{}` names unknown team `{team}`; no one can approve through it", who.get()),
                        who.span(),
                    )
                    .help = Some(format!(
                        "list its members in `[teams]`: {team} = [\"alice\", \"bob\"]"
                    ));
                }
            }
        }
        raw.teams
            .iter()
            .map(|(name, members)| {
                (
                    name.clone(),
                    members.iter().map(|m| m.get().clone()).collect(),
                )
            })
            .collect()
    }
}
