//! One checklist item: its title and severity, at most one check, and the
//! check by kind: a signal (the runbook's rules), a `run` command, an `http`
//! probe, a dry run that passed, an attestation.

use std::time::Duration;

use indexmap::IndexMap;

use super::checklist::{instant, not_empty};
use crate::condition::Condition;
use crate::diag::did_you_mean;
use crate::readiness::model::{Attestation, Item, ItemKind, Measured, Severity};
use crate::readiness::raw::{RawAttested, RawChecklist, RawDryRunPassed, RawHttpCheck, RawItem};
use crate::runbook::model::{Check, CommandRead, HttpRead, NoData, Probe, Source, SourceKind};
use crate::runbook::raw::ProbeFields;
use crate::runbook::spanned::Sp;
use crate::runbook::validate::{DEFAULT_GATE_INTERVAL, Validator};

/// Default limit for `run` and `http` items.
pub const DEFAULT_ITEM_TIMEOUT: Duration = Duration::from_secs(30);
/// Where `cutover run` writes journals unless told otherwise.
pub const DEFAULT_RUNS_DIR: &str = ".cutover/runs";

const SEVERITIES: &[&str] = &["blocker", "warning"];

/// One item and, for a measured item, its check.
pub(super) fn item(
    v: &mut Validator<'_>,
    it: &RawItem,
    raw: &RawChecklist,
    sources: &mut IndexMap<String, Source>,
) -> Option<(Item, Option<Check>)> {
    let owner = format!("item `{}`", it.id.get());
    not_empty(v, &it.title, &format!("{owner}: `title`"));
    let severity = severity(v, it);
    if !one_check_at_most(v, it, &owner) {
        return None;
    }
    if it.source.is_none() {
        signal_fields_without_source(v, it, &owner);
    }
    let timeout = v.duration(it.timeout.as_ref(), false);
    if let (Some(t), false) = (&it.timeout, it.run.is_some() || it.http.is_some()) {
        v.error(
            "`timeout` is for `run` and `http` items; a signal item uses its source's `timeout`",
            t.span(),
        );
    }
    let timeout = timeout.unwrap_or(DEFAULT_ITEM_TIMEOUT);
    let (kind, check) = if let Some(source) = &it.source {
        signal_item(v, it, &owner, source, raw)?
    } else if let Some(run) = &it.run {
        run_item(v, it, &owner, run, timeout, sources)
    } else if let Some(h) = &it.http {
        http_item(v, it, h, timeout, sources)
    } else if let Some(d) = &it.dry_run_passed {
        (dry_run_item(v, &owner, d), None)
    } else if let Some(a) = &it.attested {
        (attested_item(v, &owner, a)?, None)
    } else {
        (ItemKind::AwaitingAttestation, None)
    };
    Some((
        Item {
            id: it.id.get().clone(),
            title: it.title.get().clone(),
            owner: it.owner.as_ref().map(|o| o.get().clone()),
            severity,
            category: it.category.clone(),
            kind,
            line: None,
        },
        check,
    ))
}

/// `blocker` (the default) or `warning`.
fn severity(v: &mut Validator<'_>, it: &RawItem) -> Severity {
    match it.severity.as_ref().map(|s| (s.get().as_str(), s.span())) {
        None | Some(("blocker", _)) => Severity::Blocker,
        Some(("warning", _)) => Severity::Warning,
        Some((other, span)) => {
            v.error(format!("unknown severity `{other}`"), span).help = Some(
                did_you_mean(other, SEVERITIES.iter().copied())
                    .unwrap_or_else(|| "expected `blocker` or `warning`".into()),
            );
            Severity::Blocker
        }
    }
}

/// An item gives one check at most (none: it awaits an attestation).
fn one_check_at_most(v: &mut Validator<'_>, it: &RawItem, owner: &str) -> bool {
    let given: Vec<&str> = [
        ("source", it.source.is_some()),
        ("run", it.run.is_some()),
        ("http", it.http.is_some()),
        ("dry_run_passed", it.dry_run_passed.is_some()),
        ("attested", it.attested.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, present)| present.then_some(k))
    .collect();
    if given.len() > 1 {
        v.error(
            format!(
                "{owner} gives more than one check: {}",
                crate::diag::code_list(&given)
            ),
            it.id.span(),
        )
        .help = Some(
            "give exactly one of `source` (+ `query`, `pass_if`), `run`, `http`, `dry_run_passed` or `attested`; split the item in two if both matter".into(),
        );
        return false;
    }
    true
}

/// The fields of a signal item, given without its `source`.
fn signal_fields_without_source(v: &mut Validator<'_>, it: &RawItem, owner: &str) {
    let signal_fields = [
        ("query", it.query.as_ref().map(Sp::span)),
        ("monitor", it.monitor.as_ref().map(Sp::span)),
        ("url", it.url.as_ref().map(Sp::span)),
        ("method", it.method.as_ref().map(Sp::span)),
        ("read", it.read.as_ref().map(Sp::span)),
        ("json", it.json.as_ref().map(Sp::span)),
        ("regex", it.regex.as_ref().map(Sp::span)),
        ("pass_if", it.pass_if.as_ref().map(Sp::span)),
    ];
    for (field, span) in signal_fields {
        if let Some(span) = span {
            v.error(format!("{owner}: `{field}` needs a `source`"), span)
                .help = Some("name the source to ask: source = \"prom\"".into());
        }
    }
    if let Some(n) = it.no_data
        && n != NoData::Inconclusive
    {
        v.warning(
            format!("{owner}: `no_data` is only used with a `source`"),
            it.id.span(),
        );
    }
}

/// A signal item: a source's query judged by `pass_if`, checked by the
/// runbook's own rules.
fn signal_item(
    v: &mut Validator<'_>,
    it: &RawItem,
    owner: &str,
    source: &Sp<String>,
    raw: &RawChecklist,
) -> Option<(ItemKind, Option<Check>)> {
    let check = v.check(
        owner,
        ProbeFields {
            source,
            query: it.query.as_ref(),
            monitor: it.monitor.as_ref(),
            url: it.url.as_ref(),
            method: it.method.as_ref(),
            read: it.read.as_ref(),
            json: it.json.as_ref(),
            regex: it.regex.as_ref(),
            interval: None,
            no_data: it.no_data,
        },
        it.pass_if.as_ref(),
        "pass_if",
        DEFAULT_GATE_INTERVAL,
        &raw.sources,
        it.id.span(),
    )?;
    Some((
        ItemKind::Measured {
            what: Measured::Signal,
        },
        Some(check),
    ))
}

/// A `run` item: a command of its own (source `run:ID`) that passes on exit 0.
fn run_item(
    v: &mut Validator<'_>,
    it: &RawItem,
    owner: &str,
    run: &Sp<String>,
    timeout: Duration,
    sources: &mut IndexMap<String, Source>,
) -> (ItemKind, Option<Check>) {
    v.templates(run);
    v.shell_command(run);
    not_empty(v, run, &format!("{owner}: `run`"));
    let name = format!("run:{}", it.id.get());
    sources.insert(
        name.clone(),
        Source {
            name: name.clone(),
            timeout,
            headers: IndexMap::new(),
            kind: SourceKind::Command {
                shell: "/bin/sh".into(),
            },
        },
    );
    let check = Check {
        source: name,
        probe: Probe::Query {
            query: run.get().clone(),
        },
        command_read: CommandRead::ExitCode,
        condition_text: "exit == 0".into(),
        condition: Condition::parse("== 0").expect("a constant condition"),
        interval: DEFAULT_GATE_INTERVAL,
        no_data: NoData::Fail,
    };
    (
        ItemKind::Measured {
            what: Measured::Run,
        },
        Some(check),
    )
}

/// An `http` item: a request of its own (source `http:ID`) that passes on a
/// 2xx status, or on `expect_status`.
fn http_item(
    v: &mut Validator<'_>,
    it: &RawItem,
    h: &RawHttpCheck,
    timeout: Duration,
    sources: &mut IndexMap<String, Source>,
) -> (ItemKind, Option<Check>) {
    v.templates(&h.url);
    v.url_shape(&h.url);
    let (condition_text, condition) = match &h.expect_status {
        None => ("status 2xx", "between 200 and 299".to_string()),
        Some(s) if (100..=599).contains(s.get()) => ("", format!("== {}", s.get())),
        Some(s) => {
            v.error(
                format!("`{}` is not an HTTP status code", s.get()),
                s.span(),
            );
            ("", "== 200".to_string())
        }
    };
    let condition_text = if condition_text.is_empty() {
        format!("status {}", condition.trim_start_matches("== "))
    } else {
        condition_text.to_string()
    };
    let name = format!("http:{}", it.id.get());
    sources.insert(
        name.clone(),
        Source {
            name: name.clone(),
            timeout,
            headers: IndexMap::new(),
            kind: SourceKind::Http {
                url: None,
                auth: None,
            },
        },
    );
    let check = Check {
        source: name,
        probe: Probe::Http {
            url: h.url.get().clone(),
            method: h
                .method
                .as_ref()
                .map_or_else(|| "GET".into(), |m| m.get().to_uppercase()),
            read: HttpRead::Status,
        },
        command_read: CommandRead::Stdout,
        condition_text,
        condition: Condition::parse(&condition).expect("a constant condition"),
        interval: DEFAULT_GATE_INTERVAL,
        no_data: NoData::Fail,
    };
    (
        ItemKind::Measured {
            what: Measured::Http,
        },
        Some(check),
    )
}

/// A `dry_run_passed` item: a runbook's dry run completed within a window.
fn dry_run_item(v: &mut Validator<'_>, owner: &str, d: &RawDryRunPassed) -> ItemKind {
    not_empty(v, &d.runbook, &format!("{owner}: `dry_run_passed.runbook`"));
    let within = v.duration_in(Some(&d.within), false, "d");
    ItemKind::DryRunPassed {
        runbook: d.runbook.get().clone(),
        env: d.env.as_ref().map(|e| e.get().clone()),
        within: within.unwrap_or_default(),
        runs_dir: d
            .runs_dir
            .as_ref()
            .map_or_else(|| DEFAULT_RUNS_DIR.into(), |r| r.get().clone()),
    }
}

/// An `attested` item: who signed it off, when, the evidence, the expiry.
fn attested_item(v: &mut Validator<'_>, owner: &str, a: &RawAttested) -> Option<ItemKind> {
    not_empty(v, &a.by, &format!("{owner}: `attested.by`"));
    not_empty(v, &a.evidence, &format!("{owner}: `attested.evidence`"));
    let at = instant(v, &a.at);
    let expires = a.expires.as_ref().and_then(|e| instant(v, e));
    if let (Some(at), Some(expires), Some(e)) = (at, expires, &a.expires)
        && expires <= at
    {
        v.error("attestation expires before it was made", e.span());
    }
    if a.expires.is_none() && at.is_some() {
        v.warning(format!("{owner}: attestation never expires"), a.at.span())
            .help = Some("add `expires` so a stale sign-off is noticed".into());
    }
    Some(ItemKind::Attested(Attestation {
        by: a.by.get().clone(),
        at: at?,
        evidence: a.evidence.get().clone(),
        expires,
    }))
}
