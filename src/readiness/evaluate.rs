//! Evaluating a checklist: every measured item (signal, command, HTTP) is
//! measured once, all of them concurrently; dry runs are read from the run
//! journals; attestations and waivers are judged against the clock. The
//! judgements are synchronous functions, unit-tested below; only the
//! measuring is async.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::journal::{RunSummary, dry_runs_dir, read_runs};
use super::model::{Attestation, Checklist, Item, ItemKind, Measured, Waiver};
use super::result::{ChecklistReport, ItemResult, Readiness, Status, WaiverNote, summarize};
use super::time::{format_human, format_instant};
use crate::runbook::model::Check;
use crate::signals::{Measurement, SourceSet, Verdict};
use crate::text::{duration, number};

/// What a judgement found, before the waiver is applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub status: Status,
    pub value: Option<String>,
    pub target: Option<String>,
    pub detail: String,
}

/// A signal, command or HTTP item from its one measurement. Inconclusive
/// (no data, NaN) fails: readiness is never granted on missing data.
pub fn judge_measurement(what: Measured, m: &Measurement) -> Judged {
    let number = m.value.or_else(|| m.samples.first().map(|s| s.value));
    let value = match (&m.state, number) {
        (Some(state), _) => Some(state.clone()),
        (None, Some(v)) => Some(match what {
            Measured::Run => format!("exit {}", number::exact(v)),
            Measured::Http => format!("status {}", number::exact(v)),
            Measured::Signal => number::exact(v),
        }),
        (None, None) if m.verdict != Verdict::Error => Some("no data".into()),
        (None, None) => None,
    };
    let target = m.condition.clone();
    let (status, detail) = match m.verdict {
        Verdict::Pass => (Status::Pass, "ok".to_string()),
        Verdict::Fail => (
            Status::Fail,
            format!(
                "{} does not satisfy `{}`",
                value.as_deref().unwrap_or("the value"),
                target.as_deref().unwrap_or("the condition")
            ),
        ),
        Verdict::Inconclusive => (
            Status::Fail,
            format!(
                "inconclusive: {}",
                m.detail.as_deref().unwrap_or("no usable value")
            ),
        ),
        Verdict::Error => (
            Status::Error,
            format!(
                "could not evaluate: {}",
                m.detail.as_deref().unwrap_or("source error")
            ),
        ),
    };
    Judged {
        status,
        value,
        target,
        detail,
    }
}

/// An attestation counts until it expires.
pub fn judge_attestation(a: &Attestation, now: SystemTime) -> Judged {
    let day = |t: SystemTime| format_human(t).chars().take(10).collect::<String>();
    let value = Some(format!("attested {}", day(a.at)));
    let target = a.expires.map(|e| format!("until {}", day(e)));
    match a.expires {
        Some(expires) if expires <= now => Judged {
            status: Status::Fail,
            value,
            target,
            detail: format!(
                "attestation by {} expired since {} ({} ago); evidence: {}",
                a.by,
                format_human(expires),
                duration::in_words(now.duration_since(expires).unwrap_or_default()),
                a.evidence
            ),
        },
        _ => Judged {
            status: Status::Pass,
            value,
            target,
            detail: format!("attested by {}; evidence: {}", a.by, a.evidence),
        },
    }
}

/// A dry run of `runbook` (in `env`, when given) completed within `within` of `now`.
pub fn judge_dry_run(
    runs: &[RunSummary],
    runbook: &str,
    env: Option<&str>,
    within: std::time::Duration,
    now: SystemTime,
) -> Judged {
    let target = Some(format!(
        "dry run in {} within {}",
        env.unwrap_or("any env"),
        duration::in_words(within)
    ));
    let last = runs
        .iter()
        .filter(|r| r.is_of(runbook) && env.is_none_or(|e| r.env.as_deref() == Some(e)))
        .filter(|r| r.dry_run_completed())
        .filter_map(|r| r.finished.map(|t| (t, r)))
        .max_by_key(|(t, _)| *t);
    let where_ = env.map(|e| format!(" in `{e}`")).unwrap_or_default();
    match last {
        Some((t, run)) => {
            let age = now.duration_since(t).unwrap_or_default();
            let value = Some(format!(
                "{} ({} ago)",
                format_human(t),
                duration::in_words(age)
            ));
            if age <= within && !run.queries_worked() {
                let failed = match run.failed_queries.len() {
                    0 => "some queries".to_string(),
                    n => format!(
                        "{n} quer{} ({})",
                        if n == 1 { "y" } else { "ies" },
                        crate::diag::code_list(&run.failed_queries)
                    ),
                };
                Judged {
                    status: Status::Fail,
                    value,
                    target,
                    detail: format!(
                        "the dry run `{}` of `{runbook}` on `{}` completed but {failed} failed: \
                         a dry run must show the gate and trigger queries work",
                        run.run_id,
                        run.env.as_deref().unwrap_or("the default env"),
                    ),
                }
            } else if age <= within {
                Judged {
                    status: Status::Pass,
                    value,
                    target,
                    detail: format!("dry run `{}` completed", run.run_id),
                }
            } else {
                Judged {
                    status: Status::Fail,
                    value,
                    target,
                    detail: format!(
                        "last completed dry run of `{runbook}`{where_} is `{}`, {} old",
                        run.run_id,
                        duration::in_words(age)
                    ),
                }
            }
        }
        None => Judged {
            status: Status::Fail,
            value: Some("none".into()),
            target,
            detail: format!(
                "no completed dry run of `{runbook}`{where_} found in the run journals"
            ),
        },
    }
}

/// Apply the item's waiver: a failing or unevaluated item with a waiver that
/// has not expired is `Waived`; an expired waiver changes nothing but says so.
pub fn apply_waiver(
    j: &mut Judged,
    waiver: Option<&Waiver>,
    now: SystemTime,
) -> Option<WaiverNote> {
    let w = waiver?;
    let expired = w.expires <= now;
    if j.status != Status::Pass {
        if expired {
            j.detail = format!(
                "{}; waiver by {} expired since {}",
                j.detail,
                w.approver,
                format_human(w.expires)
            );
        } else {
            j.status = Status::Waived;
            j.detail = format!(
                "waived by {} until {}: {} ({})",
                w.approver,
                format_human(w.expires),
                w.reason,
                j.detail
            );
        }
    }
    Some(WaiverNote {
        approver: w.approver.clone(),
        reason: w.reason.clone(),
        expires: format_instant(w.expires),
        expired,
    })
}

/// The checklist's sources and signal items resolved like a runbook's (its
/// items are the plan's triggers), for `check` and `validate --check-sources`.
pub fn signal_plan(
    checklist: &Checklist,
    path: &Path,
    env: Option<&str>,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<crate::plan::Plan, crate::plan::PlanError> {
    // A checklist without `[env.*]` overlays reads the same in every env;
    // one that has some must know the env asked for (a typo is an error).
    let overlay = env.filter(|_| !checklist.signals.envs.is_empty());
    let overrides = crate::plan::Overrides {
        env: overlay.map(str::to_string),
        set: Vec::new(),
    };
    crate::plan::resolve(
        checklist.signals.clone(),
        &path.display().to_string(),
        "",
        &overrides,
        lookup,
    )
}

/// Evaluate one validated checklist. `lookup` reads environment variables
/// (secrets), `env` selects an `[env.NAME]` overlay.
pub async fn evaluate(
    checklist: &Checklist,
    path: &Path,
    env: Option<&str>,
    fail_on_warn: bool,
    now: SystemTime,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> ChecklistReport {
    let mut judge = Judge {
        measured: measure_all(checklist, path, env, lookup).await,
        targets: checklist
            .signals
            .triggers
            .iter()
            .map(|t| (t.id.as_str(), t.check.condition_text.as_str()))
            .collect(),
        runs: BTreeMap::new(),
        path,
        now,
    };
    let mut items = Vec::new();
    for item in &checklist.items {
        let (mut judged, measurement) = judge.item(item);
        let waiver = checklist.waivers.iter().find(|w| w.item == item.id);
        let note = apply_waiver(&mut judged, waiver, now);
        items.push(item_result(
            item,
            judged,
            note,
            measurement,
            judge.measured.sources.as_ref(),
        ));
    }
    let problem = judge.measured.problem;
    let (mut readiness, summary) = summarize(&items, fail_on_warn);
    if problem.is_some() {
        readiness = readiness.worst(Readiness::Error);
    }
    ChecklistReport {
        name: checklist.name.clone(),
        path: path.display().to_string(),
        owner: checklist.owner.clone(),
        launch: checklist.launch.clone(),
        readiness,
        summary,
        items,
        problem,
        diagnostics: Vec::new(),
    }
}

/// The measured items' measurements, by item id; `problem` says why there
/// are none (the checklist's sources did not resolve).
struct Measurements {
    sources: Option<SourceSet>,
    by_item: BTreeMap<String, Measurement>,
    problem: Option<String>,
}

/// Measure every measured item once, all of them concurrently.
async fn measure_all(
    checklist: &Checklist,
    path: &Path,
    env: Option<&str>,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Measurements {
    let (sources, checks, problem) = match signal_plan(checklist, path, env, lookup) {
        Ok(plan) => {
            let checks: Vec<Check> = plan
                .runbook
                .triggers
                .iter()
                .map(|t| t.check.clone())
                .collect();
            let ids: Vec<String> = plan.runbook.triggers.iter().map(|t| t.id.clone()).collect();
            (
                Some(SourceSet::new(
                    &plan.runbook.sources,
                    plan.masker.clone(),
                    &plan.secret_env,
                )),
                ids.into_iter().zip(checks).collect::<Vec<_>>(),
                None,
            )
        }
        Err(e) => (None, Vec::new(), Some(e.to_string())),
    };
    let mut by_item = BTreeMap::new();
    if let Some(sources) = &sources {
        let mut tasks = tokio::task::JoinSet::new();
        for (id, check) in checks {
            let sources = sources.clone();
            tasks.spawn(async move {
                let m = sources.measure(&check, None).await;
                (id, m)
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Ok((id, m)) = done {
                by_item.insert(id, m);
            }
        }
    }
    Measurements {
        sources,
        by_item,
        problem,
    }
}

/// What judging the items of one checklist needs: the measurements, the
/// signal items' targets, the run journals read so far (by runs directory).
struct Judge<'a> {
    measured: Measurements,
    targets: BTreeMap<&'a str, &'a str>,
    runs: BTreeMap<String, Vec<RunSummary>>,
    path: &'a Path,
    now: SystemTime,
}

impl Judge<'_> {
    /// One item's judgement (before its waiver), with its measurement.
    fn item(&mut self, item: &Item) -> (Judged, Option<Measurement>) {
        let target = || self.targets.get(item.id.as_str()).map(|t| (*t).to_string());
        match &item.kind {
            ItemKind::Measured { what } => match self.measured.by_item.remove(&item.id) {
                Some(m) => {
                    let mut j = judge_measurement(*what, &m);
                    if j.target.is_none() {
                        j.target = target();
                    }
                    (j, Some(m))
                }
                None => (
                    Judged {
                        status: Status::Error,
                        value: None,
                        target: target(),
                        detail: format!(
                            "could not evaluate: {}",
                            self.measured
                                .problem
                                .as_deref()
                                .unwrap_or("the measurement did not finish")
                        ),
                    },
                    None,
                ),
            },
            ItemKind::DryRunPassed {
                runbook,
                env,
                within,
                runs_dir,
            } => {
                let runs = self
                    .runs
                    .entry(runs_dir.clone())
                    .or_insert_with(|| read_runs(&dry_runs_dir(runs_dir)));
                (
                    judge_dry_run(runs, runbook, env.as_deref(), *within, self.now),
                    None,
                )
            }
            ItemKind::Attested(a) => (judge_attestation(a, self.now), None),
            ItemKind::AwaitingAttestation => (
                Judged {
                    status: Status::Fail,
                    value: Some("not attested".into()),
                    target: Some("attested".into()),
                    detail: format!(
                        "not attested yet: `cutover attest {} {} --evidence URL`",
                        self.path.display(),
                        item.id
                    ),
                },
                None,
            ),
        }
    }
}

fn item_result(
    item: &Item,
    j: Judged,
    waiver: Option<WaiverNote>,
    measurement: Option<Measurement>,
    sources: Option<&SourceSet>,
) -> ItemResult {
    // Measurements are masked by `SourceSet`; the texts built around them are
    // masked again so that no path can carry a secret into an output.
    let mask = |s: String| sources.map_or_else(|| s.clone(), |set| set.mask(&s));
    ItemResult {
        id: item.id.clone(),
        title: item.title.clone(),
        owner: item.owner.clone(),
        severity: item.severity,
        category: item.category.clone(),
        kind: item.kind.name().to_string(),
        status: j.status,
        value: j.value.map(mask),
        target: j.target.map(mask),
        detail: mask(j.detail),
        waiver,
        measurement,
        line: item.line,
    }
}

#[cfg(test)]
mod tests;
