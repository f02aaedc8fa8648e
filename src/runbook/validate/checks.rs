//! What gates and triggers measure: probes per source kind, conditions, limits.

use std::time::Duration;

use indexmap::IndexMap;

use crate::condition::Condition;
use crate::diag::{Span, did_you_mean};
use crate::runbook::model::{
    Check, CommandRead, Gate, GateWhen, HttpRead, NoData, OnError, Probe, Trigger, TriggerAction,
};
use crate::runbook::raw::{ProbeFields, RawGate, RawSource, RawTrigger};
use crate::runbook::spanned::Sp;

use super::{
    DEFAULT_ERROR_LIMIT, DEFAULT_GATE_INTERVAL, DEFAULT_TRIGGER_INTERVAL, Validator, is_identifier,
};

impl Validator<'_> {
    /// The probe, interval and condition shared by gates and triggers.
    #[expect(
        clippy::too_many_arguments,
        reason = "the fields of two raw structs, passed apart"
    )]
    pub(crate) fn check(
        &mut self,
        owner: &str,
        fields: ProbeFields<'_>,
        condition: Option<&Sp<String>>,
        condition_key: &str,
        default_interval: Duration,
        sources: &IndexMap<String, RawSource>,
        span: Span,
    ) -> Option<Check> {
        for v in [
            fields.query,
            fields.url,
            fields.method,
            fields.json,
            fields.regex,
        ]
        .into_iter()
        .flatten()
        {
            self.templates(v);
        }
        let interval = self
            .duration(fields.interval, false)
            .unwrap_or(default_interval);
        // Parsed before anything can return early, so a bad condition is
        // reported together with, say, an unknown source.
        let parsed_condition = condition.map(|c| self.condition(c));
        let raw_source = self.known_source(owner, fields.source, sources)?;
        let kind = raw_source.kind.get().as_str();
        if let (Some(q), "command") = (fields.query, kind) {
            self.shell_command(q);
        }
        let (probe, command_read) = match kind {
            "prometheus" | "datadog" | "command" => {
                self.query_probe(owner, kind, &fields, span.clone())?
            }
            "http" => (
                self.http_probe(owner, raw_source, &fields, span.clone())?,
                CommandRead::Stdout,
            ),
            _ => return None, // the source's own error was reported
        };
        let (condition_text, condition) = match (condition, &probe) {
            (Some(c), _) => (c.get().clone(), parsed_condition.flatten()?),
            (None, Probe::Monitor { .. }) => ("state == OK".to_string(), Condition::default()),
            (None, _) => {
                self.error(format!("{owner} needs `{condition_key}`"), span)
                    .help = Some(format!("e.g. {condition_key} = \"< 0.3\""));
                return None;
            }
        };
        Some(Check {
            source: fields.source.get().clone(),
            probe,
            command_read,
            condition_text,
            condition,
            interval,
            no_data: {
                if fields.no_data == Some(NoData::Pass) {
                    self.warning(format!("{owner}: a query that returns no data counts as a pass"), span.clone())
                        .help = Some(
                        "a metric that disappears (exporter down, label renamed) would then pass; prefer `inconclusive` or `fail`".into(),
                    );
                }
                fields.no_data.unwrap_or(NoData::Inconclusive)
            },
        })
    }

    /// A `pass_if` / `fire_if`: its templates, and the condition parsed.
    fn condition(&mut self, c: &Sp<String>) -> Option<Condition> {
        self.templates(c);
        match Condition::parse(c.get()) {
            Ok(parsed) => Some(parsed),
            Err(e) => {
                let at = self.inner_span(c.get(), &c.span(), e.offset..e.offset + e.len.max(1));
                self.error(format!("invalid condition: {}", e.message), at).help = Some(
                    "conditions look like `< 0.3`, `max >= 100`, `between 1 and 5`, `<= baseline + 10%`".into(),
                );
                None
            }
        }
    }

    /// The source a check names, declared in `[sources.*]`.
    fn known_source<'s>(
        &mut self,
        owner: &str,
        source: &Sp<String>,
        sources: &'s IndexMap<String, RawSource>,
    ) -> Option<&'s RawSource> {
        if let Some(raw_source) = sources.get(source.get()) {
            return Some(raw_source);
        }
        let help = did_you_mean(source, sources.keys().map(String::as_str)).unwrap_or_else(|| {
            if sources.is_empty() {
                "declare it as `[sources.NAME]` with a `kind`".into()
            } else {
                format!(
                    "declared sources: {}",
                    crate::diag::code_list(sources.keys())
                )
            }
        });
        self.error(
            format!("{owner} uses unknown source `{}`", source.get()),
            source.span(),
        )
        .with_label("no such source")
        .help = Some(help);
        None
    }

    /// The probe of a `prometheus`, `datadog` or `command` source: a `query`
    /// (or a Datadog `monitor`), and what a command's result is read from.
    fn query_probe(
        &mut self,
        owner: &str,
        kind: &str,
        fields: &ProbeFields<'_>,
        span: Span,
    ) -> Option<(Probe, CommandRead)> {
        let source = fields.source;
        for (field, v) in [
            ("url", fields.url),
            ("method", fields.method),
            ("json", fields.json),
            ("regex", fields.regex),
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
        let mut command_read = CommandRead::Stdout;
        if let Some(r) = fields.read {
            match (kind, r.get().as_str()) {
                ("command", "exit_code") => command_read = CommandRead::ExitCode,
                ("command", "stdout") => {}
                ("command", other) => {
                    self.error(
                        format!("unknown `read` value `{other}` for a command source"),
                        r.span(),
                    )
                    .help =
                        Some("expected `stdout` (the last number printed) or `exit_code`".into());
                }
                _ => {
                    self.error(format!("`read` is not used by `{kind}` sources"), r.span());
                }
            }
        }
        let probe = match (fields.query, fields.monitor) {
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
        };
        Some((probe, command_read))
    }

    /// The probe of an `http` source: its URL (or the source's), method, and
    /// what is read from the response.
    fn http_probe(
        &mut self,
        owner: &str,
        raw_source: &RawSource,
        fields: &ProbeFields<'_>,
        span: Span,
    ) -> Option<Probe> {
        if let Some(v) = fields.query {
            self.error(
                "`query` is not used by `http` sources: give the probe a `url`",
                v.span(),
            );
        }
        if let Some(m) = fields.monitor {
            self.error("`monitor` is only for `datadog` sources", m.span());
        }
        let read = self.http_read(fields, span.clone());
        let url = match (fields.url, &raw_source.url) {
            (Some(u), _) => u.get().clone(),
            (None, Some(base)) => base.get().clone(),
            (None, None) => {
                self.error(
                    format!(
                        "{owner} needs a `url` (source `{}` has none)",
                        fields.source.get()
                    ),
                    span,
                );
                return None;
            }
        };
        Some(Probe::Http {
            url,
            method: fields
                .method
                .map_or_else(|| "GET".into(), |m| m.get().to_uppercase()),
            read,
        })
    }

    /// What an http probe reads: the status (default), the latency, a JSON
    /// pointer or a regex.
    fn http_read(&mut self, fields: &ProbeFields<'_>, span: Span) -> HttpRead {
        let read = fields.read;
        match (read.map(|r| r.get().as_str()), fields.json, fields.regex) {
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
                .help = Some("expected `status` or `latency`, or give `json` or `regex`".into());
                HttpRead::Status
            }
            _ => {
                self.error("give only one of `read`, `json` and `regex`", span);
                HttpRead::Status
            }
        }
    }

    pub(super) fn gate(
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
            g.probe(),
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

    pub(super) fn trigger(
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
            t.probe(),
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
            on_error: {
                if t.on_error == Some(OnError::Ignore) {
                    self.warning(
                        format!("trigger `{}` ignores errors of its source", t.id.get()),
                        t.id.span(),
                    )
                    .help = Some(
                        "if the source goes down, nothing watches this signal for the rest of the run; the default `pause` asks the operator".into(),
                    );
                }
                t.on_error.unwrap_or(OnError::Pause)
            },
            from: t.from.as_ref().map(|s| s.get().clone()),
            until: t.until.as_ref().map(|s| s.get().clone()),
        })
    }
}
