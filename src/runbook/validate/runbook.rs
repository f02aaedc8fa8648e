//! A whole runbook: the names templates may use, `[runbook]`, the shared
//! tables, `[notify.*]`, `requires`, the steps (`steps`), `[teams]` and the
//! triggers (`checks`), then the typed `Runbook`.

use std::collections::{BTreeMap, BTreeSet};

use indexmap::IndexMap;

use super::validator::{Environment, Validator};
use crate::diag::{Diagnostic, SourceFile, did_you_mean};
use crate::runbook::model::{
    EnvOverlay, NOTIFY_EVENTS, Notify, NotifyKind, Runbook, Step, Trigger,
};
use crate::runbook::raw::{RawMeta, RawRunbook};

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
        }
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
            hypercare,
            outcomes,
        }
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
            self.templates(&n.url);
            for e in &n.events {
                if !NOTIFY_EVENTS.contains(&e.get().as_str()) {
                    let help = did_you_mean(e.get(), NOTIFY_EVENTS.iter().copied())
                        .unwrap_or_else(|| format!("known events: {}", NOTIFY_EVENTS.join(", ")));
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
        notify
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
