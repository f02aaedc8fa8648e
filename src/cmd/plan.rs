//! `cutover plan RUNBOOK`: the resolved plan, as a person reviews it or as
//! JSON for `run --plan`, or its step graph (`--format mermaid|dot`).

use std::fmt::Write as _;
use std::process::ExitCode;

use crate::cli::{PlanArgs, PlanFormat};
use crate::error::{Error, exit};
use crate::plan::Plan;
use crate::runbook::model::{Action, Check, Gate, Step};

pub fn exec(args: &PlanArgs) -> Result<ExitCode, Error> {
    let plan = super::build_plan(&args.runbook, &super::overrides(&args.vars))?;
    let skipped = super::run::schedule::skipped_steps(&plan, &args.skip, args.from.as_ref())?;
    let forecast = super::forecast::forecast(&plan, None, &skipped);
    let mut value = plan.to_masked_json();
    // Outside the hashed plan: it changes with every rehearsal.
    value["forecast"] = serde_json::to_value(&forecast).expect("json");
    if !skipped.is_empty() {
        value["forecast"]["skipped"] = serde_json::json!(skipped);
    }
    let json = serde_json::to_string_pretty(&value).expect("json");
    if let Some(path) = &args.output {
        std::fs::write(path, format!("{json}\n"))
            .map_err(|e| Error::io("write", path.display(), e))?;
        eprintln!("plan written to {} ({})", path.display(), plan.hash);
    }
    match args.format {
        PlanFormat::Json => println!("{json}"),
        PlanFormat::Text => print!(
            "{}{}",
            paint(
                &crate::text::visible(&render_text(&plan)),
                crate::text::color::stdout()
            ),
            crate::text::visible(
                &plan
                    .masker
                    .mask(&super::forecast::text(&plan, &forecast, &skipped))
            )
        ),
        PlanFormat::Mermaid => print!("{}", crate::plan::graph::mermaid(&plan)),
        PlanFormat::Dot => print!("{}", crate::plan::graph::dot(&plan)),
    }
    Ok(ExitCode::from(exit::OK))
}

/// Colour the reviewed plan's structure (already made visible, so no
/// escape sequence in it came from the runbook): wave headings and step ids
/// bold, production red, what a reviewer must notice (no timeout, no
/// rollback, a shadow gate) yellow.
fn paint(text: &str, color: bool) -> String {
    use crate::text::color::paint as p;
    if !color {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 64);
    for line in text.split_inclusive('\n') {
        let (body, nl) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
        let painted = if body.starts_with("wave ") || body.starts_with("steps (") {
            p("1", body)
        } else if let Some(id) = body.strip_prefix("  - ") {
            format!("  - {}", p("1", id))
        } else if body.starts_with("env ") && body.ends_with(" [production]") {
            let head = &body[..body.len() - " [production]".len()];
            format!("{head} {}", p("1;31", "[production]"))
        } else if body.trim_start() == "rollback: none" || body.ends_with("(shadow: not enforced)")
        {
            p("33", body)
        } else if let Some(rest) = body.strip_prefix("      no timeout") {
            format!("      {}{rest}", p("33", "no timeout"))
        } else {
            body.to_string()
        };
        out.push_str(&painted);
        out.push_str(nl);
    }
    out
}

fn action_text(action: &Action) -> String {
    match action {
        Action::Run { command } => format!("run: {command}"),
        Action::Http(h) => format!("http: {} {}", h.method, h.url),
        Action::Manual { instructions } => format!("manual: {instructions}"),
    }
}

fn check_text(check: &Check) -> String {
    format!(
        "[{}] {}  pass if {}  every {}",
        check.source,
        check.probe.describe(),
        check.condition_text,
        humantime::format_duration(check.interval)
    )
}

fn gate_text(g: &Gate) -> String {
    let mut s = format!(
        "{} gate `{}`: {}, {} measurement{}",
        match g.when {
            crate::runbook::model::GateWhen::Before => "before",
            crate::runbook::model::GateWhen::After => "after",
        },
        g.id,
        check_text(&g.check),
        g.count,
        if g.count == 1 { "" } else { "s" }
    );
    if g.failure_limit > 0 {
        let _ = write!(s, ", up to {} failed", g.failure_limit);
    }
    if let Some(t) = g.timeout {
        let _ = write!(s, ", timeout {}", humantime::format_duration(t));
    }
    // Settings that loosen a gate are spelled out: a reviewer must see them.
    if g.check.no_data != crate::runbook::model::NoData::Inconclusive {
        let _ = write!(
            s,
            ", no data counts as {}",
            crate::event::words(&g.check.no_data)
        );
    }
    if g.inconclusive_limit > 0 {
        let _ = write!(s, ", up to {} inconclusive", g.inconclusive_limit);
    }
    if g.error_limit != crate::runbook::validate::DEFAULT_ERROR_LIMIT {
        let _ = write!(s, ", up to {} errors in a row", g.error_limit);
    }
    if g.shadow {
        s.push_str(" (shadow: not enforced)");
    }
    s
}

fn step_text(out: &mut String, step: &Step) {
    let _ = writeln!(out, "  - {}", step.id);
    if let Some(d) = &step.description {
        let _ = writeln!(out, "      {d}");
    }
    if let Some(owner) = &step.owner {
        let _ = writeln!(out, "      owner: {owner}");
    }
    if !step.needs.is_empty() {
        let _ = writeln!(out, "      needs: {}", step.needs.join(", "));
    }
    for g in step.gates(crate::runbook::model::GateWhen::Before) {
        let _ = writeln!(out, "      {}", gate_text(g));
    }
    if let Some(a) = &step.approval {
        let who = if a.approvers.is_empty() {
            "anyone".to_string()
        } else {
            a.approvers.join(", ")
        };
        let _ = writeln!(
            out,
            "      approval: {} of {who}{}{}",
            a.min,
            if a.no_self_approval {
                ", not the operator"
            } else {
                ""
            },
            if a.reason { ", reason required" } else { "" }
        );
    }
    let _ = writeln!(out, "      {}", action_text(&step.action));
    let mut limits = Vec::new();
    match step.timeout {
        Some(t) => limits.push(format!("timeout {}", humantime::format_duration(t))),
        // A reviewer should see that this step may wait forever.
        None => limits.push("no timeout".into()),
    }
    if step.retries.attempts > 0 {
        limits.push(format!(
            "{} retr{} (backoff {})",
            step.retries.attempts,
            if step.retries.attempts == 1 {
                "y"
            } else {
                "ies"
            },
            humantime::format_duration(step.retries.backoff)
        ));
    }
    limits.push(format!(
        "on failure: {}",
        crate::event::words(&step.on_failure)
    ));
    limits.push(format!("dry run: {}", crate::event::words(&step.dry_run)));
    if step.idempotent {
        limits.push("idempotent".into());
    }
    if let Some(m) = &step.milestone {
        limits.push(format!("marks milestone `{m}` when done"));
    }
    let _ = writeln!(out, "      {}", limits.join(", "));
    for g in step.gates(crate::runbook::model::GateWhen::After) {
        let _ = writeln!(out, "      {}", gate_text(g));
    }
    match &step.rollback {
        Some(r) => {
            let _ = writeln!(
                out,
                "      rollback {}{}",
                action_text(r),
                if step.rollback_partial {
                    " (also if the step started but did not finish: rollback_partial)"
                } else {
                    ""
                }
            );
        }
        None => {
            let _ = writeln!(out, "      rollback: none");
        }
    }
}

/// The plan for people. Secrets are masked at the end, over the whole text.
pub fn render_text(plan: &Plan) -> String {
    let rb = &plan.runbook;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "runbook  {}{}",
        rb.name,
        rb.change
            .as_ref()
            .map(|c| format!(" ({c})"))
            .unwrap_or_default()
    );
    if let Some(owner) = &rb.owner {
        let _ = writeln!(out, "owner    {owner}");
    }
    let _ = writeln!(
        out,
        "env      {}{}",
        plan.env.as_deref().unwrap_or("(default)"),
        if plan.production { " [production]" } else { "" }
    );
    let _ = writeln!(out, "plan     {}", plan.hash);
    let _ = writeln!(
        out,
        "file     {} (sha256 {})",
        plan.runbook_path,
        &plan.runbook_sha256[..12.min(plan.runbook_sha256.len())]
    );
    if !rb.requires.is_empty() {
        let _ = writeln!(out, "requires {}", rb.requires.join(", "));
    }
    if !plan.vars.is_empty() {
        let _ = writeln!(out, "\nvariables");
        for (k, v) in &plan.vars {
            let _ = writeln!(out, "  {k} = {v}");
        }
    }
    if !rb.secrets.is_empty() {
        let _ = writeln!(out, "\nsecrets");
        for (k, s) in &rb.secrets {
            let _ = writeln!(out, "  {k} = *** (from ${})", s.env);
        }
    }
    if !rb.triggers.is_empty() {
        let _ = writeln!(out, "\ntriggers");
        for t in &rb.triggers {
            let _ = writeln!(
                out,
                "  - {}: [{}] {}  fire if {} for {}  every {}  -> {}, on source error: {}{}{}{}",
                t.id,
                t.check.source,
                t.check.probe.describe(),
                t.check.condition_text,
                humantime::format_duration(t.hold_for),
                humantime::format_duration(t.check.interval),
                crate::event::words(&t.action),
                crate::event::words(&t.on_error),
                if t.check.no_data == crate::runbook::model::NoData::Inconclusive {
                    String::new()
                } else {
                    format!(
                        ", no data counts as {}",
                        crate::event::words(&t.check.no_data)
                    )
                },
                t.from
                    .as_ref()
                    .map(|s| format!(", from step {s}"))
                    .unwrap_or_default(),
                t.until
                    .as_ref()
                    .map(|s| format!(", until step {s}"))
                    .unwrap_or_default(),
            );
        }
    }
    let _ = writeln!(
        out,
        "\nsteps ({} in {} wave{}, up to {} at once)",
        rb.steps.len(),
        plan.waves.len(),
        if plan.waves.len() == 1 { "" } else { "s" },
        rb.max_parallel
    );
    let by_id: std::collections::HashMap<&str, &Step> =
        rb.steps.iter().map(|s| (s.id.as_str(), s)).collect();
    for (i, wave) in plan.waves.iter().enumerate() {
        let _ = writeln!(out, "wave {}", i + 1);
        for id in wave {
            if let Some(step) = by_id.get(id.as_str()) {
                step_text(&mut out, step);
            }
        }
    }
    plan.masker.mask(&out)
}
