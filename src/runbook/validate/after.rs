//! What a runbook says about after the last step: `[hypercare]` (and each
//! env's `[env.NAME.hypercare]`) and the `[[outcome]]`s measured later.

use std::collections::BTreeMap;

use indexmap::IndexMap;

use super::{DEFAULT_GATE_INTERVAL, Validator, is_identifier};
use crate::diag::did_you_mean;
use crate::runbook::model::{EnvOverlay, Hypercare, HypercareOverlay, OutcomeAt, OutcomeSpec};
use crate::runbook::raw::{RawOutcome, RawRunbook};
use crate::runbook::spanned::Sp;

impl Validator<'_> {
    /// `[hypercare]`, and each env's overlay of it (set on `envs`).
    pub(super) fn hypercare(
        &mut self,
        raw: &RawRunbook,
        envs: &mut IndexMap<String, EnvOverlay>,
    ) -> Option<Hypercare> {
        let base = raw.hypercare.as_ref().and_then(|h| {
            let duration = self.duration(Some(&h.duration), true)?;
            let triggers = self.hypercare_triggers(raw, h.triggers.as_ref());
            Some(Hypercare { duration, triggers })
        });
        for (name, env) in &raw.env {
            let Some(h) = &env.hypercare else { continue };
            let overlay = HypercareOverlay {
                duration: self.duration(h.duration.as_ref(), true),
                triggers: self.hypercare_triggers(raw, h.triggers.as_ref()),
            };
            if let Some(o) = envs.get_mut(name) {
                o.hypercare = Some(overlay);
            }
        }
        if let Some(h) = raw.hypercare.as_ref()
            && let Some(hc) = &base
            && !hc.duration.is_zero()
            && !raw.trigger.iter().any(|t| watched(hc, t))
        {
            self.warning(
                "hypercare watches no trigger: it only delays the end of the run",
                h.duration.span(),
            )
            .help = Some(
                "list the triggers to keep armed in `triggers = [...]` (by default, every trigger without `until`)".into(),
            );
        }
        base
    }

    /// A hypercare's `triggers`: each a declared trigger.
    fn hypercare_triggers(
        &mut self,
        raw: &RawRunbook,
        listed: Option<&Vec<Sp<String>>>,
    ) -> Option<Vec<String>> {
        let listed = listed?;
        let ids: Vec<&str> = raw.trigger.iter().map(|t| t.id.get().as_str()).collect();
        for id in listed {
            if !ids.contains(&id.get().as_str()) {
                self.error(
                    format!("hypercare names unknown trigger `{}`", id.get()),
                    id.span(),
                )
                .help = did_you_mean(id, ids.iter().copied()).or_else(|| {
                    Some(if ids.is_empty() {
                        "the runbook declares no `[[trigger]]`".into()
                    } else {
                        format!("declared triggers: {}", crate::diag::code_list(&ids))
                    })
                });
            }
        }
        Some(listed.iter().map(|t| t.get().clone()).collect())
    }

    /// `[[outcome]]`s: unique names, a probe and a target, when they are due.
    pub(super) fn outcomes(&mut self, raw: &RawRunbook) -> Vec<OutcomeSpec> {
        let mut seen = BTreeMap::new();
        let mut out = Vec::new();
        for o in &raw.outcome {
            let name = o.name.get();
            if !is_identifier(name) {
                self.error(
                    format!("outcome name `{name}` may only use letters, digits, `-` and `_`"),
                    o.name.span(),
                );
            }
            if let Some(first) = seen.insert(name.clone(), o.name.span()) {
                let (line, _) = self.file.line_col(first.start);
                self.error(format!("duplicate outcome name `{name}`"), o.name.span())
                    .with_label(format!("first defined on line {line}"));
            }
            if let Some(outcome) = self.outcome(o, raw) {
                out.push(outcome);
            }
        }
        out
    }

    fn outcome(&mut self, o: &RawOutcome, raw: &RawRunbook) -> Option<OutcomeSpec> {
        let owner = format!("outcome `{}`", o.name.get());
        let check = self.check(
            &owner,
            o.probe(),
            o.target.as_ref(),
            "target",
            DEFAULT_GATE_INTERVAL,
            &raw.sources,
            o.name.span(),
        );
        if let Some(i) = &o.interval {
            self.warning(
                format!(
                    "{owner}: `interval` is not used: an outcome is measured once, when it is due"
                ),
                i.span(),
            );
        }
        let at = match &o.at {
            None => Some(OutcomeAt::End),
            Some(a) if a.get().trim() == "end" => Some(OutcomeAt::End),
            Some(a) => {
                if let Ok(d) = humantime::parse_duration(a.get().trim()) {
                    Some(OutcomeAt::After(d))
                } else {
                    self.error(
                        format!("{owner}: `at` is `{}`, not a duration or `end`", a.get()),
                        a.span(),
                    )
                    .help = Some(
                        "write a duration after the last step, e.g. \"24h\", or \"end\" (the end of hypercare)".into(),
                    );
                    None
                }
            }
        };
        Some(OutcomeSpec {
            name: o.name.get().clone(),
            description: o.description.clone(),
            check: check?,
            at: at?,
            owner: o.owner.clone(),
        })
    }
}

/// Whether hypercare `h` keeps the raw trigger `t` armed.
fn watched(h: &Hypercare, t: &crate::runbook::raw::RawTrigger) -> bool {
    match &h.triggers {
        Some(ids) => ids.contains(t.id.get()),
        None => t.until.is_none(),
    }
}
