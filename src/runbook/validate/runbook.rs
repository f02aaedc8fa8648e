//! A whole runbook: the names templates may use, `[runbook]`, the shared
//! tables, `[notify.*]`, `requires`, the steps (`steps`), `[teams]` and the
//! triggers (`checks`), then the typed `Runbook`.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::validator::{Environment, Validator};
use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::runbook::model::{
    EnvOverlay, NOTIFY_EVENTS, Notify, NotifyKind, PAGERDUTY_EVENTS, PAGERDUTY_URL, Runbook, Step,
    Trigger,
};
use crate::runbook::raw::{RawMeta, RawNotify, RawRunbook};

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

impl Validator<'_> {
    fn runbook(&mut self, raw: &RawRunbook) -> Runbook {
        self.declare_names(raw);
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
            if let Some(s) = &env.schedule {
                let schedule = self.schedule(s);
                if let Some(o) = envs.get_mut(name) {
                    o.schedule = Some(schedule);
                }
            }
        }
        let schedule = raw
            .schedule
            .as_ref()
            .map(|s| self.schedule(s))
            .unwrap_or_default();
        let notify = self.notify(raw);
        self.requires(meta);
        let steps = self.steps(&raw.step, &raw.sources);
        let teams = self.teams(raw);
        let triggers = self.triggers(raw, &steps);
        let hypercare = self.hypercare(raw, &mut envs);
        let outcomes = self.outcomes(raw);
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
            schedule,
            hypercare,
            outcomes,
            journal_url: self.journal_url(raw),
        }
    }

    /// `[journal] url`: checked as a template; its shape when the plan is built.
    fn journal_url(&mut self, raw: &RawRunbook) -> Option<String> {
        let url = raw.journal.as_ref()?.url.as_ref()?;
        self.templates(url);
        Some(url.get().clone())
    }

    /// The names templates may use, first, so templates anywhere can be
    /// checked against them.
    fn declare_names(&mut self, raw: &RawRunbook) {
        self.var_names.extend(raw.vars.keys().cloned());
        for env in raw.env.values() {
            self.var_names.extend(env.vars.keys().cloned());
        }
        self.secret_names.extend(raw.secrets.keys().cloned());
        declare_dropped(&self.dropped, &mut self.var_names, &mut self.secret_names);
    }

    /// `[notify.*]`: URL templates and known event names.
    fn notify(&mut self, raw: &RawRunbook) -> IndexMap<String, Notify> {
        let mut notify = IndexMap::new();
        for (name, n) in &raw.notify {
            let kind = n.kind.unwrap_or(NotifyKind::Generic);
            let url = self.notify_target(name, n, kind);
            for e in &n.events {
                if !NOTIFY_EVENTS.contains(&e.get().as_str()) {
                    let help = did_you_mean(e.get(), NOTIFY_EVENTS.iter().copied())
                        .unwrap_or_else(|| format!("known events: {}", NOTIFY_EVENTS.join(", ")));
                    self.error(
                        format!("notify `{name}` names unknown event `{}`", e.get()),
                        e.span(),
                    )
                    .help = Some(help);
                } else if kind == NotifyKind::Pagerduty
                    && !PAGERDUTY_EVENTS.contains(&e.get().as_str())
                {
                    self.warning(
                        format!("pagerduty `{name}` is never sent `{}`", e.get()),
                        e.span(),
                    )
                    .help = Some(format!(
                        "a pagerduty channel pages on {} only",
                        PAGERDUTY_EVENTS.join(", ")
                    ));
                }
            }
            notify.insert(
                name.clone(),
                Notify {
                    name: name.clone(),
                    kind,
                    url,
                    routing_key: n.routing_key.as_ref().map(|k| k.get().clone()),
                    events: n.events.iter().map(|e| e.get().clone()).collect(),
                },
            );
        }
        notify
    }

    /// Where a channel sends: its `url` (a webhook's is required; a
    /// `pagerduty` one defaults to the Events API) and, for `pagerduty`,
    /// the required `routing_key`.
    fn notify_target(&mut self, name: &str, n: &RawNotify, kind: NotifyKind) -> String {
        for template in n.url.iter().chain(n.routing_key.iter()) {
            self.templates(template);
        }
        // The table's header, for what it lacks (else where it points).
        let table = format!("[notify.{name}]");
        let header = self
            .file
            .text
            .find(&table)
            .map_or(0..0, |at| at..at + table.len());
        match (kind, &n.routing_key) {
            (NotifyKind::Pagerduty, None) => {
                let span = header.clone();
                self.error(format!("notify `{name}` (pagerduty) needs a `routing_key`"), span)
                    .help = Some("the integration key of the PagerDuty service: routing_key = \"{{ secrets.pagerduty_key }}\"".into());
            }
            (NotifyKind::Generic | NotifyKind::Slack, Some(k)) => {
                self.error(
                    format!("notify `{name}`: `routing_key` is for `kind = \"pagerduty\"` only"),
                    k.span(),
                );
            }
            _ => {}
        }
        match (&n.url, kind) {
            (Some(url), _) => url.get().clone(),
            (None, NotifyKind::Pagerduty) => PAGERDUTY_URL.to_string(),
            (None, _) => {
                self.error(format!("notify `{name}` needs a `url`"), header)
                    .help = Some(
                    "the webhook's URL, usually from a secret: url = \"{{ secrets.webhook }}\""
                        .into(),
                );
                String::new()
            }
        }
    }

    /// `requires`: each checklist exists, relative to the runbook's directory.
    fn requires(&mut self, meta: &RawMeta) {
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
    }

    /// `[[trigger]]`s: unique ids, each checked against the steps.
    fn triggers(&mut self, raw: &RawRunbook, steps: &[Step]) -> Vec<Trigger> {
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
        triggers
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

    /// `[teams]`, and every `team:NAME` approver, escalation or owner names
    /// one of them.
    fn teams(&mut self, raw: &RawRunbook) -> IndexMap<String, Vec<String>> {
        let unknown = |who: &str| {
            who.strip_prefix("team:")
                .filter(|team| !raw.teams.contains_key(*team))
                .map(str::to_string)
        };
        let help =
            |team: &str| format!("list its members in `[teams]`: {team} = [\"alice\", \"bob\"]");
        for s in &raw.step {
            if let Some(owner) = &s.owner
                && let Some(team) = unknown(owner.get().trim())
            {
                self.warning(
                    format!(
                        "owner `{}` of step `{}` names unknown team `{team}`",
                        owner.get(),
                        s.id.get()
                    ),
                    owner.span(),
                )
                .help = Some(help(&team));
            }
            let Some(a) = &s.approval else { continue };
            for who in &a.approvers {
                if let Some(team) = unknown(who.get()) {
                    self.warning(
                        format!("approver `{}` names unknown team `{team}`; no one can approve through it", who.get()),
                        who.span(),
                    )
                    .help = Some(help(&team));
                }
            }
            for who in &a.escalate_to {
                if let Some(team) = unknown(who.get()) {
                    self.warning(
                        format!("`escalate_to` entry `{}` names unknown team `{team}`; the escalation names no one through it", who.get()),
                        who.span(),
                    )
                    .help = Some(help(&team));
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

/// A wrongly typed `[vars]`, `[env.NAME.vars]` or `[secrets]` entry the
/// loader dropped (and reported) is still declared: templates naming it are
/// not "undefined" as well. For runbooks and checklists alike.
pub(crate) fn declare_dropped(
    dropped: &[Vec<String>],
    var_names: &mut std::collections::BTreeSet<String>,
    secret_names: &mut std::collections::BTreeSet<String>,
) {
    for path in dropped {
        match path.as_slice() {
            [table, name] if table == "vars" => var_names.insert(name.clone()),
            [env, _, table, name] if env == "env" && table == "vars" => {
                var_names.insert(name.clone())
            }
            [table, name] if table == "secrets" => secret_names.insert(name.clone()),
            _ => false,
        };
    }
}
