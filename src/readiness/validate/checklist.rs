//! A checklist as a whole: its name and launch date, the environment its
//! signal items resolve in, item ids, the items (each checked by `item`)
//! and the waivers.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime};

use indexmap::IndexMap;

use super::item::item;
use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::readiness::model::{Checklist, Item, Waiver};
use crate::readiness::raw::RawChecklist;
use crate::readiness::time::parse_instant;
use crate::runbook::model::{OnError, Runbook, Source, Trigger, TriggerAction};
use crate::runbook::spanned::Sp;
use crate::runbook::validate::{Environment, Validator, is_identifier};

/// Checks a raw checklist; the model is returned only if there were no errors.
/// `dropped`: the entries the loader dropped (and reported) for their type.
pub fn validate(
    file: &SourceFile,
    raw: &RawChecklist,
    dropped: &[Vec<String>],
) -> (Option<Checklist>, Vec<Diagnostic>) {
    let mut var_names: BTreeSet<String> = raw.vars.keys().cloned().collect();
    for env in raw.env.values() {
        var_names.extend(env.vars.keys().cloned());
    }
    let mut secret_names = raw.secrets.keys().cloned().collect();
    crate::runbook::validate::declare_dropped(dropped, &mut var_names, &mut secret_names);
    let mut v = Validator::new(file, var_names, secret_names);
    let checklist = checklist(&mut v, file, raw);
    let diags = v.into_diagnostics();
    let ok = !diags.iter().any(Diagnostic::is_error);
    (ok.then_some(checklist), diags)
}

pub(super) fn instant(v: &mut Validator<'_>, value: &Sp<String>) -> Option<SystemTime> {
    if let Ok(t) = parse_instant(value.get()) {
        return Some(t);
    }
    v.error(format!("invalid date `{}`", value.get()), value.span())
        .with_label("expected a date")
        .help =
        Some("write \"YYYY-MM-DD\" or an RFC 3339 UTC time like \"2026-12-01T09:00:00Z\"".into());
    None
}

pub(super) fn not_empty(v: &mut Validator<'_>, value: &Sp<String>, what: &str) {
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
    item_ids(v, file, raw);
    let (items, triggers) = items(v, file, raw, &mut sources);
    if raw.item.is_empty() {
        v.error("checklist has no items", meta.name.span()).help =
            Some("add at least one `[[item]]` with an `id`, a `title` and a check".into());
    }
    let waivers = waivers(v, file, raw);
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
            schedule: crate::runbook::model::Schedule::default(),
            hypercare: None,
            outcomes: Vec::new(),
            journal_url: None,
        },
    }
}

/// Item ids: identifiers, each once.
fn item_ids(v: &mut Validator<'_>, file: &SourceFile, raw: &RawChecklist) {
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
}

/// The items, and a trigger (the signal plan's way to measure) per measured
/// item.
fn items(
    v: &mut Validator<'_>,
    file: &SourceFile,
    raw: &RawChecklist,
    sources: &mut IndexMap<String, Source>,
) -> (Vec<Item>, Vec<Trigger>) {
    let mut items = Vec::new();
    let mut triggers = Vec::new();
    for it in &raw.item {
        if let Some((mut item, check)) = item(v, it, raw, sources) {
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
    (items, triggers)
}

/// Waivers: each names a known item, one per item, with a reason, an
/// approver and an expiry.
fn waivers(v: &mut Validator<'_>, file: &SourceFile, raw: &RawChecklist) -> Vec<Waiver> {
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
    waivers
}
