//! Checking a raw runbook and building the typed model. Every problem is
//! collected as a diagnostic pointing into the file; nothing stops at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use indexmap::IndexMap;

use super::model::{
    Action, Approval, Auth, Check, CommandRead, DatadogApi, DryRunMode, EnvOverlay, Gate, GateWhen,
    HttpAction, HttpRead, NoData, Notify, NotifyKind, OnError, OnFailure, OnReject, OnTimeout,
    Probe, Retries, Runbook, SecretSpec, Source, SourceKind, Step, Trigger, TriggerAction,
};
use super::raw::{
    RawApproval, RawGate, RawHttp, RawRollback, RawRunbook, RawSource, RawStep, RawTrigger,
};
use super::spanned::Sp;
use super::template::{self, Namespace};
use crate::condition::Condition;
use crate::diag::{Diagnostic, SourceFile, Span, did_you_mean};

pub const DEFAULT_GATE_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_TRIGGER_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_SOURCE_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_GRACE: Duration = Duration::from_secs(10);
pub const DEFAULT_BACKOFF: Duration = Duration::from_secs(1);
pub const DEFAULT_ERROR_LIMIT: u32 = 3;

const SOURCE_KINDS: &[&str] = &["prometheus", "datadog", "http", "command"];

/// Checks a raw runbook; the model is returned only if there were no errors.
pub fn validate(file: &SourceFile, raw: &RawRunbook) -> (Option<Runbook>, Vec<Diagnostic>) {
    let mut v = Validator {
        file,
        diags: Vec::new(),
        var_names: BTreeSet::new(),
        secret_names: BTreeSet::new(),
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
}

pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl<'a> Validator<'a> {
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
            if let Some(body) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote))
                && body == value
            {
                let start = span.start + quote.len();
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

    pub(crate) fn duration(
        &mut self,
        value: Option<&Sp<String>>,
        allow_zero: bool,
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
                    format!("add a unit, e.g. \"{text}s\"")
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

    fn runbook(&mut self, raw: &RawRunbook) -> Runbook {
        // Names first, so templates anywhere can be checked against them.
        self.var_names.extend(raw.vars.keys().cloned());
        for env in raw.env.values() {
            self.var_names.extend(env.vars.keys().cloned());
        }
        self.secret_names.extend(raw.secrets.keys().cloned());

        let meta = &raw.runbook;
        if meta.name.trim().is_empty() {
            self.error("runbook `name` is empty", meta.name.span());
        }
        let max_parallel = self
            .count(meta.max_parallel.as_ref(), 1, "max_parallel")
            .unwrap_or(1) as usize;
        let mut vars = IndexMap::new();
        for (k, v) in &raw.vars {
            vars.insert(k.clone(), v.get().to_string());
            if let super::scalar::Scalar::String(s) = v.get() {
                self.templates_in(s, &v.span());
            }
        }
        let mut envs = IndexMap::new();
        for (name, env) in &raw.env {
            let mut overlay = EnvOverlay {
                production: env.production,
                ..EnvOverlay::default()
            };
            for (k, v) in &env.vars {
                overlay.vars.insert(k.clone(), v.get().to_string());
            }
            envs.insert(name.clone(), overlay);
        }
        let mut secrets = IndexMap::new();
        for (name, s) in &raw.secrets {
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
        for (name, s) in &raw.sources {
            if let Some(source) = self.source(name, s) {
                sources.insert(name.clone(), source);
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
        if raw.step.is_empty() {
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

    pub(crate) fn source(&mut self, name: &str, s: &RawSource) -> Option<Source> {
        for value in [
            &s.url,
            &s.site,
            &s.api_key,
            &s.app_key,
            &s.username,
            &s.password,
            &s.bearer_token,
            &s.shell,
        ]
        .into_iter()
        .flatten()
        {
            self.templates(value);
        }
        for value in s.headers.values() {
            self.templates(value);
        }
        let timeout = self
            .duration(s.timeout.as_ref(), false)
            .unwrap_or(DEFAULT_SOURCE_TIMEOUT);
        let kind = s.kind.get().as_str();
        let string = |v: &Option<Sp<String>>| v.as_ref().map(|v| v.get().clone());
        // Fields that make no sense for this kind are errors: a `site` on a
        // prometheus source is a mistake, not something to ignore on launch night.
        let allowed: &[&str] = match kind {
            "prometheus" | "http" => &["url", "username", "password", "bearer_token"],
            "datadog" => &["url", "site", "api_key", "app_key", "api"],
            "command" => &["shell"],
            _ => &[],
        };
        if SOURCE_KINDS.contains(&kind) {
            let present = [
                ("url", &s.url),
                ("site", &s.site),
                ("api_key", &s.api_key),
                ("app_key", &s.app_key),
                ("api", &s.api),
                ("username", &s.username),
                ("password", &s.password),
                ("bearer_token", &s.bearer_token),
                ("shell", &s.shell),
            ];
            for (field, value) in present {
                if let Some(value) = value
                    && !allowed.contains(&field)
                {
                    self.error(
                        format!("`{field}` is not used by a `{kind}` source"),
                        value.span(),
                    )
                    .with_label(format!("source `{name}` is `{kind}`"));
                }
            }
        }
        let auth = |v: &mut Self| -> Option<Auth> {
            match (&s.username, &s.password, &s.bearer_token) {
                (Some(u), Some(p), None) => Some(Auth::Basic {
                    username: u.get().clone(),
                    password: p.get().clone(),
                }),
                (None, None, Some(t)) => Some(Auth::Bearer {
                    token: t.get().clone(),
                }),
                (None, None, None) => None,
                (Some(_), Some(_), Some(t)) => {
                    v.error(
                        "use either `username`/`password` or `bearer_token`, not both",
                        t.span(),
                    );
                    None
                }
                (Some(u), None, _) => {
                    v.error("`username` needs a `password`", u.span());
                    None
                }
                (None, Some(p), _) => {
                    v.error("`password` needs a `username`", p.span());
                    None
                }
            }
        };
        let kind = match kind {
            "prometheus" => {
                let Some(url) = string(&s.url) else {
                    self.error(
                        format!("prometheus source `{name}` needs a `url`"),
                        s.kind.span(),
                    );
                    return None;
                };
                self.url_shape(s.url.as_ref().expect("checked"));
                SourceKind::Prometheus {
                    url,
                    auth: auth(self),
                }
            }
            "datadog" => {
                let url = match (string(&s.url), string(&s.site)) {
                    (Some(url), _) => url,
                    (None, Some(site)) => {
                        format!("https://api.{}", site.trim_start_matches("api."))
                    }
                    (None, None) => "https://api.datadoghq.com".to_string(),
                };
                let Some(api_key) = string(&s.api_key) else {
                    self.error(
                        format!("datadog source `{name}` needs an `api_key`"),
                        s.kind.span(),
                    )
                    .help = Some(
                        "api_key = \"{{ secrets.dd_api_key }}\" with the key in `[secrets]`".into(),
                    );
                    return None;
                };
                for key in [&s.api_key, &s.app_key].into_iter().flatten() {
                    if template::references(key.get()).is_ok_and(|r| r.is_empty()) {
                        self.warning("API key written into the runbook file", key.span())
                            .help = Some(
                            "read it from the environment: `[secrets]` + `{{ secrets.NAME }}`"
                                .into(),
                        );
                    }
                }
                let api = match s.api.as_ref().map(|a| (a.get().as_str(), a.span())) {
                    None | Some(("v1", _)) => DatadogApi::V1,
                    Some(("v2", _)) => DatadogApi::V2,
                    Some((other, span)) => {
                        self.error(
                            format!("unknown datadog api `{other}`, expected `v1` or `v2`"),
                            span,
                        );
                        DatadogApi::V1
                    }
                };
                SourceKind::Datadog {
                    url,
                    api_key,
                    app_key: string(&s.app_key),
                    api,
                }
            }
            "http" => {
                if let Some(url) = &s.url {
                    self.url_shape(url);
                }
                SourceKind::Http {
                    url: string(&s.url),
                    auth: auth(self),
                }
            }
            "command" => SourceKind::Command {
                shell: string(&s.shell).unwrap_or_else(|| "/bin/sh".into()),
            },
            other => {
                self.error(format!("unknown source kind `{other}`"), s.kind.span())
                    .help = Some(
                    did_you_mean(other, SOURCE_KINDS.iter().copied()).unwrap_or_else(|| {
                        "expected one of `prometheus`, `datadog`, `http`, `command`".into()
                    }),
                );
                return None;
            }
        };
        Some(Source {
            name: name.to_string(),
            timeout,
            headers: s
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.get().clone()))
                .collect(),
            kind,
        })
    }

    pub(crate) fn url_shape(&mut self, url: &Sp<String>) {
        let u = url.get();
        if !(u.starts_with("http://") || u.starts_with("https://") || u.starts_with("{{")) {
            self.error(format!("`{u}` is not an http(s) URL"), url.span())
                .help = Some("write e.g. \"http://127.0.0.1:9090\"".into());
        }
    }

    /// The probe, interval and condition shared by gates and triggers.
    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of two raw structs, passed apart"
    )]
    pub(crate) fn check(
        &mut self,
        owner: &str,
        source: &Sp<String>,
        query: Option<&Sp<String>>,
        monitor: Option<&Sp<i64>>,
        url: Option<&Sp<String>>,
        method: Option<&Sp<String>>,
        read: Option<&Sp<String>>,
        json: Option<&Sp<String>>,
        regex: Option<&Sp<String>>,
        interval: Option<&Sp<String>>,
        no_data: Option<NoData>,
        condition: Option<&Sp<String>>,
        condition_key: &str,
        default_interval: Duration,
        sources: &IndexMap<String, RawSource>,
        span: Span,
    ) -> Option<Check> {
        for v in [query, url, method, json, regex].into_iter().flatten() {
            self.templates(v);
        }
        let interval = self.duration(interval, false).unwrap_or(default_interval);
        let Some(raw_source) = sources.get(source.get()) else {
            let help =
                did_you_mean(source, sources.keys().map(String::as_str)).unwrap_or_else(|| {
                    if sources.is_empty() {
                        "declare it as `[sources.NAME]` with a `kind`".into()
                    } else {
                        format!(
                            "declared sources: {}",
                            sources
                                .keys()
                                .map(|k| format!("`{k}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                });
            self.error(
                format!("{owner} uses unknown source `{}`", source.get()),
                source.span(),
            )
            .with_label("no such source")
            .help = Some(help);
            return None;
        };
        let kind = raw_source.kind.get().as_str();
        let mut command_read = CommandRead::Stdout;
        let probe = match kind {
            "prometheus" | "datadog" | "command" => {
                for (field, v) in [
                    ("url", url),
                    ("method", method),
                    ("json", json),
                    ("regex", regex),
                ] {
                    if let Some(v) = v {
                        self.error(
                            format!(
                                "`{field}` is only for `http` sources; `{}` is `{kind}`",
                                source.get()
                            ),
                            v.span(),
                        );
                    }
                }
                if let Some(r) = read {
                    match (kind, r.get().as_str()) {
                        ("command", "exit_code") => command_read = CommandRead::ExitCode,
                        ("command", "stdout") => {}
                        ("command", other) => {
                            self.error(
                                format!("unknown `read` value `{other}` for a command source"),
                                r.span(),
                            )
                            .help = Some(
                                "expected `stdout` (the last number printed) or `exit_code`".into(),
                            );
                        }
                        _ => {
                            self.error(format!("`read` is not used by `{kind}` sources"), r.span());
                        }
                    }
                }
                match (query, monitor) {
                    (Some(_), Some(m)) => {
                        self.error("give either `query` or `monitor`, not both", m.span());
                        return None;
                    }
                    (None, Some(m)) if kind == "datadog" => {
                        let Ok(id) = u64::try_from(*m.get()) else {
                            self.error("monitor id must be a positive number", m.span());
                            return None;
                        };
                        Probe::Monitor { id }
                    }
                    (None, Some(m)) => {
                        self.error(
                            format!(
                                "`monitor` is only for `datadog` sources; `{}` is `{kind}`",
                                source.get()
                            ),
                            m.span(),
                        );
                        return None;
                    }
                    (Some(q), None) => {
                        if q.trim().is_empty() {
                            self.error("`query` is empty", q.span());
                        }
                        Probe::Query {
                            query: q.get().clone(),
                        }
                    }
                    (None, None) => {
                        let what = if kind == "datadog" {
                            "a `query` or a `monitor`"
                        } else {
                            "a `query`"
                        };
                        self.error(
                            format!("{owner} needs {what} for source `{}`", source.get()),
                            span,
                        );
                        return None;
                    }
                }
            }
            "http" => {
                for (field, v) in [("query", query)] {
                    if let Some(v) = v {
                        self.error(
                            format!(
                                "`{field}` is not used by `http` sources: give the probe a `url`"
                            ),
                            v.span(),
                        );
                    }
                }
                if let Some(m) = monitor {
                    self.error("`monitor` is only for `datadog` sources", m.span());
                }
                let read = match (read.map(|r| r.get().as_str()), json, regex) {
                    (None | Some("status"), None, None) => HttpRead::Status,
                    (Some("latency"), None, None) => HttpRead::Latency,
                    (None, Some(p), None) => {
                        if !(p.is_empty() || p.starts_with('/')) {
                            self.error("a JSON pointer starts with `/`", p.span()).help =
                                Some(format!("write \"/{}\"", p.get().replace('.', "/")));
                        }
                        HttpRead::JsonPointer(p.get().clone())
                    }
                    (None, None, Some(r)) => {
                        if let Err(e) = regex::Regex::new(r.get()) {
                            let first = e
                                .to_string()
                                .lines()
                                .last()
                                .unwrap_or("")
                                .trim()
                                .to_string();
                            self.error(format!("invalid regex: {first}"), r.span());
                        }
                        HttpRead::Regex(r.get().clone())
                    }
                    (Some(other), None, None) => {
                        self.error(
                            format!("unknown `read` value `{other}` for an http probe"),
                            read.expect("some").span(),
                        )
                        .help = Some(
                            "expected `status` or `latency`, or give `json` or `regex`".into(),
                        );
                        HttpRead::Status
                    }
                    _ => {
                        self.error("give only one of `read`, `json` and `regex`", span.clone());
                        HttpRead::Status
                    }
                };
                let url = match (url, &raw_source.url) {
                    (Some(u), _) => u.get().clone(),
                    (None, Some(base)) => base.get().clone(),
                    (None, None) => {
                        self.error(
                            format!("{owner} needs a `url` (source `{}` has none)", source.get()),
                            span,
                        );
                        return None;
                    }
                };
                Probe::Http {
                    url,
                    method: method.map_or_else(|| "GET".into(), |m| m.get().to_uppercase()),
                    read,
                }
            }
            _ => return None, // the source's own error was reported
        };
        let (condition_text, condition) = match (condition, &probe) {
            (Some(c), _) => {
                self.templates(c);
                match Condition::parse(c.get()) {
                    Ok(parsed) => (c.get().clone(), parsed),
                    Err(e) => {
                        let at =
                            self.inner_span(c.get(), &c.span(), e.offset..e.offset + e.len.max(1));
                        self.error(format!("invalid condition: {}", e.message), at).help = Some(
                            "conditions look like `< 0.3`, `max >= 100`, `between 1 and 5`, `<= baseline + 10%`".into(),
                        );
                        return None;
                    }
                }
            }
            (None, Probe::Monitor { .. }) => ("state == OK".to_string(), Condition::default()),
            (None, _) => {
                self.error(format!("{owner} needs `{condition_key}`"), span)
                    .help = Some(format!("e.g. {condition_key} = \"< 0.3\""));
                return None;
            }
        };
        Some(Check {
            source: source.get().clone(),
            probe,
            command_read,
            condition_text,
            condition,
            interval,
            no_data: no_data.unwrap_or(NoData::Inconclusive),
        })
    }

    fn gate(
        &mut self,
        step: &str,
        index: usize,
        g: &RawGate,
        sources: &IndexMap<String, RawSource>,
    ) -> Option<Gate> {
        let when = g.when.unwrap_or(GateWhen::After);
        let id = match &g.name {
            Some(n) => {
                if !is_identifier(n) {
                    self.error(
                        format!(
                            "gate name `{}` may only use letters, digits, `-` and `_`",
                            n.get()
                        ),
                        n.span(),
                    );
                }
                n.get().clone()
            }
            None => format!(
                "{}-{index}",
                if when == GateWhen::Before {
                    "before"
                } else {
                    "after"
                }
            ),
        };
        let owner = format!("gate `{step}.{id}`");
        let span = g.source.span();
        let check = self.check(
            &owner,
            &g.source,
            g.query.as_ref(),
            g.monitor.as_ref(),
            g.url.as_ref(),
            g.method.as_ref(),
            g.read.as_ref(),
            g.json.as_ref(),
            g.regex.as_ref(),
            g.interval.as_ref(),
            g.no_data,
            g.pass_if.as_ref(),
            "pass_if",
            DEFAULT_GATE_INTERVAL,
            sources,
            span,
        );
        let count = self.count(g.count.as_ref(), 1, "count").unwrap_or(1);
        let failure_limit = self
            .count(g.failure_limit.as_ref(), 0, "failure_limit")
            .unwrap_or(0);
        let error_limit = self
            .count(g.error_limit.as_ref(), 0, "error_limit")
            .unwrap_or(DEFAULT_ERROR_LIMIT);
        let inconclusive_limit = self
            .count(g.inconclusive_limit.as_ref(), 0, "inconclusive_limit")
            .unwrap_or(0);
        if let Some(f) = &g.failure_limit
            && failure_limit >= count
            && g.count.is_some()
        {
            self.warning(
                format!("`failure_limit` ({failure_limit}) is not below `count` ({count}): this gate can never fail on values"),
                f.span(),
            );
        }
        let timeout = self.duration(g.timeout.as_ref(), false);
        if let (Some(t), Some(check)) = (timeout, &check) {
            let needed = check.interval * count.saturating_sub(1);
            if t < needed {
                self.warning(
                    format!(
                        "gate `timeout` ({}) is shorter than `count` × `interval` needs ({})",
                        humantime::format_duration(t),
                        humantime::format_duration(needed)
                    ),
                    g.timeout.as_ref().expect("some").span(),
                );
            }
        }
        Some(Gate {
            id,
            when,
            check: check?,
            count,
            failure_limit,
            error_limit,
            inconclusive_limit,
            timeout,
            shadow: g.shadow,
        })
    }

    fn trigger(
        &mut self,
        t: &RawTrigger,
        sources: &IndexMap<String, RawSource>,
        steps: &[String],
    ) -> Option<Trigger> {
        if !is_identifier(&t.id) {
            self.error(
                format!(
                    "trigger id `{}` may only use letters, digits, `-` and `_`",
                    t.id.get()
                ),
                t.id.span(),
            );
        }
        let owner = format!("trigger `{}`", t.id.get());
        let check = self.check(
            &owner,
            &t.source,
            t.query.as_ref(),
            t.monitor.as_ref(),
            t.url.as_ref(),
            t.method.as_ref(),
            t.read.as_ref(),
            t.json.as_ref(),
            t.regex.as_ref(),
            t.interval.as_ref(),
            t.no_data,
            t.fire_if.as_ref(),
            "fire_if",
            DEFAULT_TRIGGER_INTERVAL,
            sources,
            t.id.span(),
        );
        let hold_for = if let Some(d) = &t.hold_for {
            self.duration(Some(d), true).unwrap_or_default()
        } else {
            {
                self.warning(
                    format!(
                        "trigger `{}` has no `for`: one bad measurement fires it",
                        t.id.get()
                    ),
                    t.id.span(),
                )
                .help =
                    Some("add e.g. for = \"30s\" so a blip does not roll back the cutover".into());
                Duration::ZERO
            }
        };
        for bound in [&t.from, &t.until].into_iter().flatten() {
            if !steps.contains(bound.get()) {
                self.error(
                    format!(
                        "trigger `{}` names unknown step `{}`",
                        t.id.get(),
                        bound.get()
                    ),
                    bound.span(),
                )
                .help = did_you_mean(bound, steps.iter().map(String::as_str));
            }
        }
        if let (Some(from), Some(until)) = (&t.from, &t.until)
            && let (Some(a), Some(b)) = (
                steps.iter().position(|s| s == from.get()),
                steps.iter().position(|s| s == until.get()),
            )
            && a > b
        {
            self.error(
                format!(
                    "trigger `{}`: `until` step comes before `from` step",
                    t.id.get()
                ),
                until.span(),
            );
        }
        Some(Trigger {
            id: t.id.get().clone(),
            check: check?,
            hold_for,
            action: t.action.unwrap_or(TriggerAction::Rollback),
            on_error: t.on_error.unwrap_or(OnError::Pause),
            from: t.from.as_ref().map(|s| s.get().clone()),
            until: t.until.as_ref().map(|s| s.get().clone()),
        })
    }

    fn http(&mut self, h: &RawHttp) -> HttpAction {
        self.templates(&h.url);
        self.url_shape(&h.url);
        for v in h.headers.values().chain(h.body.iter()) {
            self.templates(v);
        }
        let mut expect_status = Vec::new();
        for s in &h.expect_status {
            match u16::try_from(*s.get()) {
                Ok(code @ 100..=599) => expect_status.push(code),
                _ => {
                    self.error(
                        format!("`{}` is not an HTTP status code", s.get()),
                        s.span(),
                    );
                }
            }
        }
        HttpAction {
            method: h
                .method
                .as_ref()
                .map_or_else(|| "POST".into(), |m| m.get().to_uppercase()),
            url: h.url.get().clone(),
            headers: h
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.get().clone()))
                .collect(),
            body: h.body.as_ref().map(|b| b.get().clone()),
            expect_status,
        }
    }

    fn action(
        &mut self,
        run: Option<&Sp<String>>,
        http: Option<&RawHttp>,
        manual: Option<&Sp<String>>,
        owner: &str,
        span: Span,
    ) -> Option<Action> {
        let given = usize::from(run.is_some())
            + usize::from(http.is_some())
            + usize::from(manual.is_some());
        if given != 1 {
            let message = if given == 0 {
                format!("{owner} has nothing to do: give one of `run`, `http` or `manual`")
            } else {
                format!("{owner} gives more than one of `run`, `http` and `manual`")
            };
            self.error(message, span);
            return None;
        }
        if let Some(r) = run {
            self.templates(r);
            if r.trim().is_empty() {
                self.error(format!("{owner}: `run` is empty"), r.span());
            }
            return Some(Action::Run {
                command: r.get().clone(),
            });
        }
        if let Some(h) = http {
            return Some(Action::Http(self.http(h)));
        }
        let m = manual.expect("counted");
        self.templates(m);
        Some(Action::Manual {
            instructions: m.get().clone(),
        })
    }

    fn approval(&mut self, a: &RawApproval) -> Option<Approval> {
        if !a.required {
            return None;
        }
        for who in &a.approvers {
            self.templates(who);
        }
        let min = self.count(a.min.as_ref(), 1, "min").unwrap_or(1);
        if !a.approvers.is_empty()
            && a.approvers.iter().all(|p| !p.starts_with("team:"))
            && min as usize > a.approvers.len()
        {
            self.error(
                format!(
                    "approval needs {min} approvers but only {} are allowed to approve",
                    a.approvers.len()
                ),
                a.min.as_ref().expect("min > 1 was written").span(),
            );
        }
        Some(Approval {
            min,
            approvers: a.approvers.iter().map(|p| p.get().clone()).collect(),
            no_self_approval: a.no_self_approval,
            reason: a.reason,
            timeout: self.duration(a.timeout.as_ref(), false),
            on_timeout: a.on_timeout.unwrap_or(OnTimeout::Pause),
            on_reject: a.on_reject.unwrap_or(OnReject::Rollback),
        })
    }

    fn steps(&mut self, raw: &[RawStep], sources: &IndexMap<String, RawSource>) -> Vec<Step> {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for s in raw {
            if !is_identifier(&s.id) {
                self.error(
                    format!(
                        "step id `{}` may only use letters, digits, `-` and `_`",
                        s.id.get()
                    ),
                    s.id.span(),
                );
            }
            if let Some(first) = seen.get(s.id.get()) {
                let (line, _) = self.file.line_col(first.start);
                self.error(format!("duplicate step id `{}`", s.id.get()), s.id.span())
                    .with_label(format!("first defined on line {line}"));
            } else {
                seen.insert(s.id.get().clone(), s.id.span());
            }
        }
        let ids: Vec<&str> = raw.iter().map(|s| s.id.get().as_str()).collect();
        let id_set: std::collections::HashSet<&str> = ids.iter().copied().collect();
        let mut steps = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let owner = format!("step `{}`", s.id.get());
            let needs = match &s.needs {
                Some(needs) => {
                    let mut out = Vec::new();
                    for n in needs.get() {
                        if n.get() == s.id.get() {
                            self.error(format!("step `{}` needs itself", s.id.get()), n.span());
                        } else if !id_set.contains(n.get().as_str()) {
                            self.error(
                                format!("step `{}` needs unknown step `{}`", s.id.get(), n.get()),
                                n.span(),
                            )
                            .with_label("no such step")
                            .help = did_you_mean(n, ids.iter().copied());
                        } else if out.contains(n.get()) {
                            self.warning(
                                format!("step `{}` is listed twice in `needs`", n.get()),
                                n.span(),
                            );
                        } else {
                            out.push(n.get().clone());
                        }
                    }
                    out
                }
                None if i > 0 => vec![raw[i - 1].id.get().clone()],
                None => Vec::new(),
            };
            let action = self.action(
                s.run.as_ref(),
                s.http.as_ref(),
                s.manual.as_ref(),
                &owner,
                s.id.span(),
            );
            let rollback = s.rollback.as_ref().and_then(|r| match r.get() {
                RawRollback::Command(c) => {
                    self.templates_in(c, &r.span());
                    if c.trim().is_empty() {
                        self.error(format!("{owner}: `rollback` is empty"), r.span());
                    }
                    Some(Action::Run { command: c.clone() })
                }
                RawRollback::Table(t) => self.action(
                    t.run.as_ref(),
                    t.http.as_ref(),
                    t.manual.as_ref(),
                    &format!("rollback of {owner}"),
                    r.span(),
                ),
            });
            let timeout = self.duration(s.timeout.as_ref(), false);
            let grace = self
                .duration(s.grace.as_ref(), true)
                .unwrap_or(DEFAULT_GRACE);
            let retries = match &s.retries {
                Some(r) => Retries {
                    attempts: self.count(Some(&r.attempts), 0, "attempts").unwrap_or(0),
                    backoff: self
                        .duration(r.backoff.as_ref(), true)
                        .unwrap_or(DEFAULT_BACKOFF),
                },
                None => Retries {
                    attempts: 0,
                    backoff: DEFAULT_BACKOFF,
                },
            };
            let approval = s.approval.as_ref().and_then(|a| self.approval(a));
            let mut gates = Vec::new();
            let mut gate_ids = BTreeSet::new();
            let (mut before, mut after) = (0, 0);
            for g in &s.gate {
                let n = if g.when == Some(GateWhen::Before) {
                    before += 1;
                    before
                } else {
                    after += 1;
                    after
                };
                if let Some(gate) = self.gate(s.id.get(), n, g, sources) {
                    if !gate_ids.insert(gate.id.clone()) {
                        let span = g.name.as_ref().map_or_else(|| g.source.span(), Sp::span);
                        self.error(
                            format!("duplicate gate name `{}` in step `{}`", gate.id, s.id.get()),
                            span,
                        );
                    }
                    gates.push(gate);
                }
            }
            for v in s.env.values() {
                self.templates(v);
            }
            if let Some(w) = &s.workdir {
                self.templates(w);
            }
            let dry_run = s.dry_run.unwrap_or(DryRunMode::Skip);
            let on_failure = s.on_failure.unwrap_or(OnFailure::Rollback);
            let Some(action) = action else { continue };
            if rollback.is_none()
                && !matches!(action, Action::Manual { .. })
                && dry_run != DryRunMode::Run
            {
                self.warning(
                    format!("step `{}` changes things but has no `rollback`", s.id.get()),
                    s.id.span(),
                )
                .help = Some(
                    "add `rollback = \"...\"`, or `dry_run = \"run\"` if the step is read-only"
                        .into(),
                );
            }
            if s.idempotent && matches!(action, Action::Manual { .. }) {
                self.warning("`idempotent` has no effect on a manual step", s.id.span());
            }
            steps.push(Step {
                id: s.id.get().clone(),
                description: s.description.clone(),
                needs,
                action,
                timeout,
                grace,
                retries,
                rollback,
                on_failure,
                idempotent: s.idempotent,
                dry_run,
                approval,
                gates,
                env: s
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.get().clone()))
                    .collect(),
                workdir: s.workdir.as_ref().map(|w| w.get().clone()),
            });
        }
        // Cycles only make sense once every `needs` names a real, unique step.
        if steps.len() == raw.len()
            && seen.len() == raw.len()
            && let Err(cycle) = crate::plan::waves(&steps)
        {
            // Start the cycle at the step written first, where people look.
            let mut cycle = cycle;
            cycle.pop();
            let start = (0..cycle.len())
                .min_by_key(|i| raw.iter().position(|s| s.id.get() == &cycle[*i]))
                .unwrap_or(0);
            cycle.rotate_left(start);
            cycle.push(cycle[0].clone());
            let first = raw
                .iter()
                .find(|s| s.id.get() == &cycle[0])
                .expect("cycle names real steps");
            let span = first
                .needs
                .as_ref()
                .map_or_else(|| first.id.span(), Sp::span);
            self.error(format!("dependency cycle: {}", cycle.join(" -> ")), span)
                .help = Some("remove one of these `needs` so the steps can be ordered".into());
        }
        steps
    }
}
