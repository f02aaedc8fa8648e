//! `cutover gate RUNBOOK STEP[.GATE]`: evaluate a step's gate(s) once, for
//! real, with the full count / interval / limits semantics, printing every
//! measurement as it is taken. Authors use it to try gates against staging
//! before launch night. Exit 0 when every selected gate passes.

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::cli::{GateArgs, TextOrJson};
use crate::error::{Error, exit};
use crate::gate::{GateOutcome, run_gate};
use crate::runbook::model::{Gate, GateWhen};
use crate::signals::{Measurement, SourceSet};
use crate::trigger::measure_baseline;

pub fn exec(args: &GateArgs) -> Result<ExitCode, Error> {
    let plan = super::build_plan(&args.runbook, &super::overrides(&args.vars))?;
    let (step_id, gate_id) = match args.target.split_once('.') {
        Some((s, g)) => (s, Some(g)),
        None => (args.target.as_str(), None),
    };
    let steps = &plan.runbook.steps;
    let Some(step) = steps.iter().find(|s| s.id == step_id) else {
        let mut message = format!("unknown step `{step_id}`");
        if let Some(best) = crate::diag::suggest(step_id, steps.iter().map(|s| s.id.as_str())) {
            let _ = write!(message, " (did you mean `{best}`?)");
        }
        return Err(Error::Usage(message));
    };
    let gates: Vec<&Gate> = if let Some(id) = gate_id {
        let Some(g) = step.gates.iter().find(|g| g.id == id) else {
            let mut message = format!("step `{step_id}` has no gate `{id}`");
            if let Some(best) = crate::diag::suggest(id, step.gates.iter().map(|g| g.id.as_str())) {
                let _ = write!(message, " (did you mean `{best}`?)");
            } else if !step.gates.is_empty() {
                let names = crate::diag::code_list(step.gates.iter().map(|g| &g.id));
                let _ = write!(message, "; its gates: {names}");
            }
            return Err(Error::Usage(message));
        };
        vec![g]
    } else {
        // Before-gates first, as a run would evaluate them.
        step.gates(GateWhen::Before)
            .chain(step.gates(GateWhen::After))
            .collect()
    };
    if gates.is_empty() {
        return Err(Error::Usage(format!("step `{step_id}` has no gates")));
    }
    let sources = SourceSet::new(&plan.runbook.sources, plan.masker.clone(), &plan.secret_env);
    let json = args.format == TextOrJson::Json;
    let rt = super::runtime()?;
    let mut all_passed = true;
    for gate in gates {
        let label = format!("{step_id}.{}", gate.id);
        let baseline = if gate.check.condition.uses_baseline() {
            let b = rt.block_on(measure_baseline(&gate.check, &sources));
            if json {
                println!("{}", json_line("baseline", &label, &b));
            } else {
                match (b.value, &b.reason) {
                    (Some(v), _) => println!("gate {label}: baseline {v}"),
                    (None, Some(why)) => println!("gate {label}: no baseline: {why}"),
                    (None, None) => println!("gate {label}: no baseline"),
                }
            }
            b.value
        } else {
            None
        };
        if !json {
            println!(
                "gate {label}: {} measurement(s) every {}, pass if `{}`{}",
                gate.count.max(1),
                humantime::format_duration(gate.check.interval),
                gate.check.condition_text,
                if gate.shadow { " (shadow)" } else { "" }
            );
        }
        let mut n = 0u32;
        let mut print = |m: &Measurement| {
            n += 1;
            if json {
                println!("{}", json_line("measurement", &label, m));
            } else {
                println!("  #{n} {}  {}", m.at, super::query::verdict_line(m));
            }
        };
        let result = rt.block_on(run_gate(gate, &sources, baseline, &mut print));
        if json {
            println!("{}", json_line("result", &label, &result));
        } else {
            println!(
                "gate {label}: {}: {}",
                outcome_word(result.outcome),
                result.reason
            );
        }
        all_passed &= result.outcome == GateOutcome::Pass;
    }
    Ok(ExitCode::from(if all_passed {
        exit::PASS
    } else {
        exit::FAIL
    }))
}

fn json_line(kind: &str, gate: &str, data: &impl serde::Serialize) -> String {
    serde_json::json!({
        "format_version": super::query::JSON_FORMAT_VERSION,
        "type": kind,
        "gate": gate,
        "data": data,
    })
    .to_string()
}

fn outcome_word(o: GateOutcome) -> &'static str {
    match o {
        GateOutcome::Pass => "pass",
        GateOutcome::Fail => "fail",
        GateOutcome::Inconclusive => "inconclusive",
        GateOutcome::Error => "error",
    }
}
