//! `[[step]]`: actions, rollbacks, approvals, gates, `needs` and cycles.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use indexmap::IndexMap;

use crate::diag::{Span, did_you_mean};
use crate::runbook::model::{
    Action, Approval, DryRunMode, Gate, GateWhen, HttpAction, OnFailure, OnReject, OnTimeout,
    Retries, Step,
};
use crate::runbook::raw::{RawApproval, RawHttp, RawRollback, RawSource, RawStep};
use crate::runbook::spanned::Sp;

use super::{DEFAULT_BACKOFF, DEFAULT_GRACE, Validator, is_identifier};

impl Validator<'_> {
    /// `milestone = "..."`: a name `cutover mark` would accept. A free name
    /// close to a well-known one is probably a typo the report would not
    /// place on its impact timeline.
    fn milestone(&mut self, name: &Sp<String>) {
        use crate::milestone::{WELL_KNOWN, is_valid_name};
        if !is_valid_name(name.get()) {
            self.error(
                format!("milestone `{}` is not a simple name", name.get()),
                name.span(),
            )
            .help = Some(format!(
                "letters, digits, `-` and `_`, starting with a letter; well-known ones: {}",
                WELL_KNOWN.join(", ")
            ));
        } else if let Some(meant) = crate::milestone::near_miss(name.get()) {
            self.warning(
                format!(
                    "`{}` is a free milestone: the report lists it but not on the impact timeline",
                    name.get()
                ),
                name.span(),
            )
            .help = Some(format!("did you mean `{meant}`?"));
        }
    }

    pub(super) fn http(&mut self, h: &RawHttp) -> HttpAction {
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

    pub(super) fn action(
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
            self.shell_command(r);
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

    pub(super) fn approval(&mut self, a: &RawApproval) -> Option<Approval> {
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
        let timeout = self.duration(a.timeout.as_ref(), false);
        let escalate_after = self.escalation(a, timeout);
        Some(Approval {
            min,
            approvers: a.approvers.iter().map(|p| p.get().clone()).collect(),
            no_self_approval: a.no_self_approval,
            reason: a.reason,
            timeout,
            on_timeout: a.on_timeout.unwrap_or(OnTimeout::Pause),
            on_reject: a.on_reject.unwrap_or(OnReject::Rollback),
            escalate_after,
            escalate_to: a.escalate_to.iter().map(|p| p.get().clone()).collect(),
        })
    }

    /// `escalate_after` and `escalate_to` go together, and an escalation
    /// after the approval's `timeout` would never come.
    fn escalation(
        &mut self,
        a: &RawApproval,
        timeout: Option<std::time::Duration>,
    ) -> Option<std::time::Duration> {
        let after = self.duration(a.escalate_after.as_ref(), false);
        for who in &a.escalate_to {
            self.templates(who);
            if who.trim().is_empty() {
                self.error("an `escalate_to` entry is empty", who.span());
            }
        }
        match (&a.escalate_after, a.escalate_to.first()) {
            (Some(e), None) => {
                self.error("`escalate_after` needs `escalate_to`", e.span())
                    .help =
                    Some("name who the escalation calls in: escalate_to = [\"team:leads\"]".into());
            }
            (None, Some(first)) => {
                self.error("`escalate_to` needs `escalate_after`", first.span())
                    .help = Some("say when to escalate: escalate_after = \"10m\"".into());
            }
            _ => {}
        }
        if let (Some(after_d), Some(timeout), Some(e)) = (after, timeout, &a.escalate_after)
            && after_d >= timeout
        {
            self.warning(
                format!(
                    "the escalation after {} comes no sooner than the approval's timeout ({}): it never happens",
                    humantime::format_duration(after_d),
                    humantime::format_duration(timeout)
                ),
                e.span(),
            );
        }
        after
    }

    /// `owner = "alice"` or `"team:dba"`: not empty.
    fn owner(&mut self, s: &RawStep) -> Option<String> {
        let owner = s.owner.as_ref()?;
        if owner.trim().is_empty() {
            self.error(
                format!("step `{}`: `owner` is empty", s.id.get()),
                owner.span(),
            )
            .help = Some("a person (`alice`) or a team (`team:dba`), or leave it out".into());
            return None;
        }
        Some(owner.get().trim().to_string())
    }

    pub(super) fn steps(
        &mut self,
        raw: &[RawStep],
        sources: &IndexMap<String, RawSource>,
    ) -> Vec<Step> {
        let unique = self.step_ids(raw);
        let ids: Vec<&str> = raw.iter().map(|s| s.id.get().as_str()).collect();
        let id_set: HashSet<&str> = ids.iter().copied().collect();
        let mut steps = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let needs = self.needs(i, raw, &ids, &id_set);
            if let Some(step) = self.step(i, s, needs, sources) {
                steps.push(step);
            }
        }
        // Cycles only make sense once every `needs` names a real, unique step.
        if steps.len() == raw.len() && unique == raw.len() {
            self.cycle(raw, &steps);
        }
        steps
    }

    /// Step ids: identifiers, each once. How many distinct ids there are.
    fn step_ids(&mut self, raw: &[RawStep]) -> usize {
        let mut seen: BTreeMap<String, Span> = BTreeMap::new();
        for s in raw {
            if s.id.get() == crate::runbook::model::WINDOW_GATE {
                self.error(
                    format!("step id `{}` is reserved", s.id.get()),
                    s.id.span(),
                )
                .help = Some("`window-override` is the go/no-go cutover adds when a production run starts outside its change window; rename the step".into());
            }
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
        seen.len()
    }

    /// Step `i`'s `needs`: known steps other than itself, each once; by
    /// default the step before it.
    fn needs(
        &mut self,
        i: usize,
        raw: &[RawStep],
        ids: &[&str],
        id_set: &HashSet<&str>,
    ) -> Vec<String> {
        let s = &raw[i];
        let Some(needs) = &s.needs else {
            return if i > 0 {
                vec![raw[i - 1].id.get().clone()]
            } else {
                Vec::new()
            };
        };
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

    /// Step `i`, `s`, with its `needs` already checked; `None` if it has no
    /// valid action (reported).
    fn step(
        &mut self,
        i: usize,
        s: &RawStep,
        needs: Vec<String>,
        sources: &IndexMap<String, RawSource>,
    ) -> Option<Step> {
        let owner = format!("step `{}`", s.id.get());
        // An action the loader dropped (wrongly typed) was reported there.
        let action_dropped = ["run", "http", "manual"]
            .iter()
            .any(|key| self.was_dropped(&["step", &i.to_string(), key]));
        let action = if action_dropped {
            None
        } else {
            self.action(
                s.run.as_ref(),
                s.http.as_ref(),
                s.manual.as_ref(),
                &owner,
                s.id.span(),
            )
        };
        let rollback = s.rollback.as_ref().and_then(|r| self.rollback(r, &owner));
        let timeout = self.duration(s.timeout.as_ref(), false);
        let expected = self.expected(s, timeout);
        let grace = self
            .duration(s.grace.as_ref(), true)
            .unwrap_or(DEFAULT_GRACE);
        let retries = self.retries(s);
        let approval = s.approval.as_ref().and_then(|a| self.approval(a));
        let gates = self.step_gates(s, sources);
        for v in s.env.values() {
            self.templates(v);
        }
        if let Some(w) = &s.workdir {
            self.templates(w);
        }
        let dry_run = s.dry_run.unwrap_or(DryRunMode::Skip);
        let on_failure = s.on_failure.unwrap_or(OnFailure::Rollback);
        let action = action?;
        if rollback.is_none() && action.mutates(dry_run) {
            self.warning(
                format!("step `{}` changes things but has no `rollback`", s.id.get()),
                s.id.span(),
            )
            .help = Some(
                "add `rollback = \"...\"`, or `dry_run = \"run\"` if the step is read-only".into(),
            );
        }
        if let Some(m) = &s.milestone {
            self.milestone(m);
        }
        let rollback_partial = self.rollback_partial(s, &action, rollback.is_some());
        if s.idempotent && matches!(action, Action::Manual { .. }) {
            self.warning("`idempotent` has no effect on a manual step", s.id.span());
        }
        Some(Step {
            id: s.id.get().clone(),
            description: s.description.clone(),
            owner: self.owner(s),
            needs,
            action,
            timeout,
            expected,
            grace,
            retries,
            rollback,
            rollback_partial,
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
            milestone: s.milestone.as_ref().map(|m| m.get().clone()),
        })
    }

    /// A step's `rollback`: a command, or a table with `run`, `http` or `manual`.
    fn rollback(&mut self, r: &Sp<RawRollback>, owner: &str) -> Option<Action> {
        match r.get() {
            RawRollback::Command(c) => {
                self.templates_in(c, &r.span());
                self.shell_command_in(c, &r.span());
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
        }
    }

    /// `retries`: attempts after the first, and the wait between them.
    fn retries(&mut self, s: &RawStep) -> Retries {
        match &s.retries {
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
        }
    }

    /// A step's gates, numbered `before-N` / `after-N` when unnamed; names
    /// unique within the step.
    fn step_gates(&mut self, s: &RawStep, sources: &IndexMap<String, RawSource>) -> Vec<Gate> {
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
        gates
    }

    /// Whether a step that did not finish is rolled back too: it needs a
    /// rollback, and means nothing for a manual step.
    fn rollback_partial(&mut self, s: &RawStep, action: &Action, has_rollback: bool) -> bool {
        let manual = matches!(action, Action::Manual { .. });
        let rollback_partial =
            s.rollback_partial.as_ref().is_some_and(|p| *p.get()) && has_rollback && !manual;
        if let Some(p) = s.rollback_partial.as_ref().filter(|p| *p.get()) {
            // The raw field: a rollback that is there but invalid has its own error.
            if s.rollback.is_none() {
                self.error(
                    format!(
                        "step `{}` has `rollback_partial` but no `rollback`",
                        s.id.get()
                    ),
                    p.span(),
                )
                .help = Some(
                    "add a `rollback` that is safe on a half-done step, or remove `rollback_partial`"
                        .into(),
                );
            } else if manual {
                // A manual step never has a half-run action the engine
                // knows of: it is done when a person says so.
                self.warning(
                    "`rollback_partial` has no effect on a manual step",
                    p.span(),
                )
                .help = Some(
                    "a manual step is rolled back once it is done; the person doing it undoes a half-done one"
                        .into(),
                );
            }
        }
        rollback_partial
    }

    /// A `needs` cycle, reported once, starting at the step written first.
    fn cycle(&mut self, raw: &[RawStep], steps: &[Step]) {
        let needs: Vec<(&str, &[String])> = steps
            .iter()
            .map(|s| (s.id.as_str(), s.needs.as_slice()))
            .collect();
        let Err(mut cycle) = crate::dag::waves(&needs) else {
            return;
        };
        // Start the cycle at the step written first, where people look.
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
}
