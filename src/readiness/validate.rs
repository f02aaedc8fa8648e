//! Checking a raw checklist and building the typed model. Sources and signal
//! checks go through the runbook's own `Validator`, so a source or a query is
//! judged by the same rules (and the same messages) in both file kinds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;

use super::model::{Attestation, Checklist, Item, ItemKind, Measured, Severity, Waiver};
use super::raw::{RawChecklist, RawItem};
use super::time::parse_instant;
use crate::condition::Condition;
use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::runbook::model::{
    Check, CommandRead, HttpRead, NoData, OnError, Probe, Runbook, Source, SourceKind, Trigger,
    TriggerAction,
};
use crate::runbook::raw::ProbeFields;
use crate::runbook::spanned::Sp;
use crate::runbook::validate::{DEFAULT_GATE_INTERVAL, Environment, Validator, is_identifier};

/// Default limit for `run` and `http` items.
pub const DEFAULT_ITEM_TIMEOUT: Duration = Duration::from_secs(30);
/// Where `cutover run` writes journals unless told otherwise.
pub const DEFAULT_RUNS_DIR: &str = ".cutover/runs";

const SEVERITIES: &[&str] = &["blocker", "warning"];

/// Checks a raw checklist; the model is returned only if there were no errors.
pub fn validate(file: &SourceFile, raw: &RawChecklist) -> (Option<Checklist>, Vec<Diagnostic>) {
    let mut var_names: BTreeSet<String> = raw.vars.keys().cloned().collect();
    for env in raw.env.values() {
        var_names.extend(env.vars.keys().cloned());
    }
    let secret_names = raw.secrets.keys().cloned().collect();
    let mut v = Validator::new(file, var_names, secret_names);
    let checklist = checklist(&mut v, file, raw);
    let diags = v.into_diagnostics();
    let ok = !diags.iter().any(Diagnostic::is_error);
    (ok.then_some(checklist), diags)
}

fn instant(v: &mut Validator<'_>, value: &Sp<String>) -> Option<SystemTime> {
    if let Ok(t) = parse_instant(value.get()) {
        return Some(t);
    }
    v.error(format!("invalid date `{}`", value.get()), value.span())
        .with_label("expected a date")
        .help =
        Some("write \"YYYY-MM-DD\" or an RFC 3339 UTC time like \"2026-12-01T09:00:00Z\"".into());
    None
}

fn not_empty(v: &mut Validator<'_>, value: &Sp<String>, what: &str) {
    if value.trim().is_empty() {
        v.error(format!("{what} is empty"), value.span());
    }
}

fn checklist(v: &mut Validator<'_>, file: &SourceFile, raw: &RawChecklist) -> Checklist {
    let meta = &raw.checklist;
    not_empty(v, &meta.name, "checklist `name`");
    if let Some(launch) = &meta.launch {
        instant(v, launch);
    }
    let Environment {
        vars,
        envs,
        secrets,
        mut sources,
    } = v.environment(&raw.vars, &raw.env, &raw.secrets, &raw.sources);

    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for it in &raw.item {
        if !is_identifier(&it.id) {
            v.error(
                format!(
                    "item id `{}` may only use letters, digits, `-` and `_`",
                    it.id.get()
                ),
                it.id.span(),
            );
        }
        if let Some(first) = seen.get(it.id.get().as_str()) {
            let (line, _) = file.line_col(*first);
            v.error(format!("duplicate item id `{}`", it.id.get()), it.id.span())
                .with_label(format!("first defined on line {line}"));
        } else {
            seen.insert(it.id.get().as_str(), it.id.span().start);
        }
    }
    let mut items = Vec::new();
    let mut triggers = Vec::new();
    for it in &raw.item {
        if let Some((mut item, check)) = item(v, it, raw, &mut sources) {
            item.line = Some(file.line_col(it.id.span().start).0);
            if let Some(check) = check {
                triggers.push(Trigger {
                    id: item.id.clone(),
                    check,
                    hold_for: Duration::ZERO,
                    action: TriggerAction::Notify,
                    on_error: OnError::Ignore,
                    from: None,
                    until: None,
                });
            }
            items.push(item);
        }
    }
    if raw.item.is_empty() {
        v.error("checklist has no items", meta.name.span()).help =
            Some("add at least one `[[item]]` with an `id`, a `title` and a check".into());
    }

    let ids: Vec<&str> = raw.item.iter().map(|i| i.id.get().as_str()).collect();
    let mut waived: BTreeMap<&str, usize> = BTreeMap::new();
    let mut waivers = Vec::new();
    for w in &raw.waiver {
        if !ids.contains(&w.item.get().as_str()) {
            v.error(
                format!("waiver names unknown item `{}`", w.item.get()),
                w.item.span(),
            )
            .with_label("no such item")
            .help = did_you_mean(&w.item, ids.iter().copied());
        } else if let Some(first) = waived.get(w.item.get().as_str()) {
            let (line, _) = file.line_col(*first);
            v.error(
                format!("item `{}` has two waivers", w.item.get()),
                w.item.span(),
            )
            .with_label(format!("first waiver on line {line}"))
            .help = Some("keep one waiver per item".into());
        } else {
            waived.insert(w.item.get().as_str(), w.item.span().start);
        }
        not_empty(v, &w.reason, "waiver `reason`");
        not_empty(v, &w.approver, "waiver `approver`");
        if let Some(at) = &w.at {
            instant(v, at);
        }
        if let Some(expires) = instant(v, &w.expires) {
            waivers.push(Waiver {
                item: w.item.get().clone(),
                reason: w.reason.get().clone(),
                approver: w.approver.get().clone(),
                expires,
            });
        }
    }

    Checklist {
        name: meta.name.get().clone(),
        owner: meta.owner.as_ref().map(|o| o.get().clone()),
        launch: meta.launch.as_ref().map(|l| l.get().clone()),
        description: meta.description.clone(),
        items,
        waivers,
        signals: Runbook {
            name: meta.name.get().clone(),
            owner: None,
            change: None,
            description: None,
            max_parallel: 1,
            requires: Vec::new(),
            production: false,
            declared_identities: false,
            vars,
            envs,
            secrets,
            sources,
            notify: IndexMap::new(),
            teams: IndexMap::new(),
            triggers,
            steps: Vec::new(),
        },
    }
}

/// One item and, for a measured item, its check.
fn item(
    v: &mut Validator<'_>,
    it: &RawItem,
    raw: &RawChecklist,
    sources: &mut IndexMap<String, Source>,
) -> Option<(Item, Option<Check>)> {
    let owner = format!("item `{}`", it.id.get());
    not_empty(v, &it.title, &format!("{owner}: `title`"));
    let severity = match it.severity.as_ref().map(|s| (s.get().as_str(), s.span())) {
        None | Some(("blocker", _)) => Severity::Blocker,
        Some(("warning", _)) => Severity::Warning,
        Some((other, span)) => {
            v.error(format!("unknown severity `{other}`"), span).help = Some(
                did_you_mean(other, SEVERITIES.iter().copied())
                    .unwrap_or_else(|| "expected `blocker` or `warning`".into()),
            );
            Severity::Blocker
        }
    };
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
        return None;
    }
    if it.source.is_none() {
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
    let timeout = v.duration(it.timeout.as_ref(), false);
    if let (Some(t), false) = (&it.timeout, it.run.is_some() || it.http.is_some()) {
        v.error(
            "`timeout` is for `run` and `http` items; a signal item uses its source's `timeout`",
            t.span(),
        );
    }
    let (kind, check) = if let Some(source) = &it.source {
        let check = v.check(
            &owner,
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
        (
            ItemKind::Measured {
                what: Measured::Signal,
            },
            Some(check),
        )
    } else if let Some(run) = &it.run {
        v.templates(run);
        v.shell_command(run);
        not_empty(v, run, &format!("{owner}: `run`"));
        let name = format!("run:{}", it.id.get());
        sources.insert(
            name.clone(),
            Source {
                name: name.clone(),
                timeout: timeout.unwrap_or(DEFAULT_ITEM_TIMEOUT),
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
    } else if let Some(h) = &it.http {
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
                timeout: timeout.unwrap_or(DEFAULT_ITEM_TIMEOUT),
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
    } else if let Some(d) = &it.dry_run_passed {
        not_empty(v, &d.runbook, &format!("{owner}: `dry_run_passed.runbook`"));
        let within = v.duration_in(Some(&d.within), false, "d");
        (
            ItemKind::DryRunPassed {
                runbook: d.runbook.get().clone(),
                env: d.env.as_ref().map(|e| e.get().clone()),
                within: within.unwrap_or_default(),
                runs_dir: d
                    .runs_dir
                    .as_ref()
                    .map_or_else(|| DEFAULT_RUNS_DIR.into(), |r| r.get().clone()),
            },
            None,
        )
    } else if let Some(a) = &it.attested {
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
        (
            ItemKind::Attested(Attestation {
                by: a.by.get().clone(),
                at: at?,
                evidence: a.evidence.get().clone(),
                expires,
            }),
            None,
        )
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::readiness::load_text;

    fn errors(text: &str) -> Vec<String> {
        load_text(Path::new("c.toml"), text.to_string())
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect()
    }

    const HEAD: &str = "[checklist]\nname = \"c\"\n\n";

    #[test]
    fn an_item_has_at_most_one_check() {
        let e = errors(&format!(
            "{HEAD}[[item]]\nid = \"a\"\ntitle = \"A\"\nrun = \"true\"\nhttp = {{ url = \"http://x\" }}\n"
        ));
        assert_eq!(
            e,
            vec!["item `a` gives more than one check: `run`, `http`".to_string()]
        );
    }

    #[test]
    fn signal_fields_need_a_source_and_timeouts_need_a_command_or_probe() {
        let e = errors(&format!(
            "{HEAD}[[item]]\nid = \"a\"\ntitle = \"A\"\nquery = \"up\"\npass_if = \"> 0\"\n\n[[item]]\nid = \"b\"\ntitle = \"B\"\ntimeout = \"5s\"\n"
        ));
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("`query` needs a `source`"), "{e:?}");
        assert!(e[1].contains("`pass_if` needs a `source`"), "{e:?}");
        assert!(
            e[2].contains("`timeout` is for `run` and `http` items"),
            "{e:?}"
        );
    }

    #[test]
    fn attestations_and_waivers_are_checked() {
        let e = errors(&format!(
            "{HEAD}[[item]]\nid = \"a\"\ntitle = \"A\"\nattested = {{ by = \"x\", at = \"2026-11-20\", evidence = \"e\", expires = \"2026-11-01\" }}\n\n[[waiver]]\nitem = \"a\"\nreason = \"\"\napprover = \"p\"\nexpires = \"2026-12-01\"\n\n[[waiver]]\nitem = \"a\"\nreason = \"r\"\napprover = \"p\"\nexpires = \"2026-12-01\"\n"
        ));
        assert!(
            e.contains(&"attestation expires before it was made".to_string()),
            "{e:?}"
        );
        assert!(e.contains(&"waiver `reason` is empty".to_string()), "{e:?}");
        assert!(e.contains(&"item `a` has two waivers".to_string()), "{e:?}");
        assert_eq!(errors(HEAD), vec!["checklist has no items".to_string()]);
    }
}
