//! `cutover verify RUN [--now] [--again]`: measure every `[[outcome]]` of a
//! run that is due (or, with `--now`, all of them) against its target and
//! journal `outcome_measured`. Safe from cron or CI, again and again: an
//! outcome measured once is not measured again unless `--again`. Exit 0:
//! every outcome with a verdict met its target; 1: one missed; 2: one could
//! not be measured (or the run could not be read), and none missed.

use std::path::Path;
use std::process::ExitCode;

use super::journal_at::JournalAt;
use crate::cli::VerifyArgs;
use crate::error::{Error, exit};
use crate::event::{Event, OutcomeMeasured, OutcomeResult};
use crate::journal::{Clock, Due, Ts};
use crate::runbook::model::{OutcomeAt, OutcomeSpec};
use crate::signals::{SourceSet, Verdict};

/// Exit 2: the outcomes could not be measured.
const COULD_NOT_MEASURE: u8 = 2;

pub fn exec(args: &VerifyArgs) -> Result<ExitCode, Error> {
    Ok(exec_at(args, None))
}

/// [`exec`] on the run in the shared journal at `url` (`None`: the local file).
pub(crate) fn exec_at(args: &VerifyArgs, url: Option<&str>) -> ExitCode {
    match verify(args, url) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::text::visible(&e.message()));
            ExitCode::from(COULD_NOT_MEASURE)
        }
    }
}

fn verify(args: &VerifyArgs, url: Option<&str>) -> Result<ExitCode, Error> {
    let (at, state) = JournalAt::open(&args.run.run, url, args.actor.as_ref(), "`cutover verify`")?;
    let run_id = state.run_id.clone();
    let Some(started) = state.started.clone() else {
        return Err(Error::Usage(format!("run `{run_id}` has no `run_started`")));
    };
    // Outcomes are measured with the run's own plan (its sources, secrets
    // from this environment): the runbook must still be the one it ran.
    let overrides = crate::plan::Overrides {
        env: started.env.clone(),
        set: started.set.clone(),
    };
    if !Path::new(&started.runbook_path).is_file() {
        return Err(Error::Usage(format!(
            "runbook `{}` of run `{run_id}` is not there any more: outcomes are measured with the run's own sources",
            started.runbook_path
        )));
    }
    let plan = super::build_plan(Path::new(&started.runbook_path), &overrides)?;
    if plan.hash != started.plan_hash {
        return Err(Error::Usage(format!(
            "runbook `{}` changed since run `{run_id}` started (plan {} then, {} now): outcomes are measured against the plan that ran",
            started.runbook_path, started.plan_hash, plan.hash
        )));
    }
    if plan.runbook.outcomes.is_empty() {
        super::say!("run `{run_id}` has no `[[outcome]]` to verify");
        return Ok(ExitCode::SUCCESS);
    }
    let now = Ts::from_system(Clock::from_env().now());
    let sources = SourceSet::new(&plan.runbook.sources, plan.masker.clone(), &plan.secret_env);
    let rt = super::runtime()?;
    let mut results = Vec::new();
    for outcome in &plan.runbook.outcomes {
        let due = state.outcome_due(due_at(outcome));
        if let Some(done) = state.outcome_verdict(&outcome.name)
            && !args.again
        {
            super::say!(
                "outcome `{}`: {} (measured {}; `--again` measures it again)",
                outcome.name,
                done.measured.result.label(),
                done.at.raw
            );
            results.push(done.measured.result);
            continue;
        }
        if !args.now && !due.passed(now) {
            super::say!("outcome `{}`: {}", outcome.name, not_due(due, now));
            continue;
        }
        let baseline = state.baselines.get(&baseline_key(&outcome.name)).copied();
        let m = rt.block_on(sources.measure(&outcome.check, baseline));
        let measured = judged(outcome, m, due, now);
        let result = measured.result;
        let record = at.append(Event::OutcomeMeasured(Box::new(measured)))?;
        super::say!("{}", crate::describe::live(&record).unwrap_or_default());
        results.push(result);
    }
    Ok(ExitCode::from(exit_code(&results)))
}

/// The key of an outcome's baseline among the run's `baseline` records.
pub(crate) fn baseline_key(name: &str) -> String {
    format!("outcome:{name}")
}

fn due_at(o: &OutcomeSpec) -> crate::journal::DueAt {
    match o.at {
        OutcomeAt::End => crate::journal::DueAt::End,
        OutcomeAt::After(d) => crate::journal::DueAt::After(d),
    }
}

/// Why an outcome is not measured now.
fn not_due(due: Due, now: Ts) -> String {
    match due {
        Due::NotYet => "not due: the run's last step is not done yet (`--now` measures it anyway)".into(),
        Due::Void => "not measured: the change did not stay (rolled back, or a dry run); `--now` measures it anyway".into(),
        Due::At(t) => format!("due at {} (`--now` measures it now)", crate::describe::due_words(t, now)),
        Due::AtHypercareEnd(t) => format!(
            "due at the end of hypercare, {} (`--now` measures it now)",
            crate::describe::due_words(t, now)
        ),
    }
}

/// A measurement as the outcome's verdict.
fn judged(o: &OutcomeSpec, m: crate::signals::Measurement, due: Due, now: Ts) -> OutcomeMeasured {
    let result = match m.verdict {
        Verdict::Pass => OutcomeResult::Met,
        Verdict::Fail => OutcomeResult::Missed,
        Verdict::Inconclusive | Verdict::Error => OutcomeResult::Unmeasured,
    };
    OutcomeMeasured {
        outcome: o.name.clone(),
        result,
        target: o.check.condition_text.clone(),
        value: m.value,
        due: due.time().map(Ts::rfc3339),
        early: !due.passed(now),
        measurement: m,
    }
}

/// 1 when any missed, else 2 when any could not be measured, else 0.
fn exit_code(results: &[OutcomeResult]) -> u8 {
    if results.contains(&OutcomeResult::Missed) {
        exit::FAIL
    } else if results.contains(&OutcomeResult::Unmeasured) {
        COULD_NOT_MEASURE
    } else {
        exit::PASS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_miss_outweighs_what_could_not_be_measured() {
        use OutcomeResult::{Met, Missed, Unmeasured};
        assert_eq!(exit_code(&[]), 0);
        assert_eq!(exit_code(&[Met, Met]), 0);
        assert_eq!(exit_code(&[Met, Unmeasured]), 2);
        assert_eq!(exit_code(&[Unmeasured, Missed, Met]), 1);
    }
}
