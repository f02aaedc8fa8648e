//! `cutover sources RUNBOOK`: ask every signal source of a runbook whether
//! it answers (all at once, each within its timeout), and say why not.
//! Also `validate --check-sources`.

use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{SourcesArgs, TextOrJson};
use crate::error::{Error, exit};
use crate::plan::Plan;
use crate::signals::SourceSet;

/// Version of `sources --format json`'s shape. Version 1 was a bare array
/// of the sources (before `format_version` existed).
pub const JSON_FORMAT_VERSION: u32 = 2;

#[derive(Debug, Serialize)]
struct Health {
    source: String,
    kind: &'static str,
    reachable: bool,
    detail: String,
}

pub fn exec(args: &SourcesArgs) -> Result<ExitCode, Error> {
    let plan = super::build_plan(&args.runbook, &super::overrides(&args.vars))?;
    let report = check_all(&plan)?;
    match args.format {
        TextOrJson::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "format_version": JSON_FORMAT_VERSION,
                "reachable": report.iter().all(|h| h.reachable),
                "sources": report,
            }))
            .map_err(|e| Error::Internal(e.to_string()))?
        ),
        TextOrJson::Text => {
            if report.is_empty() {
                println!("the runbook declares no sources");
            }
            for h in &report {
                println!("{}", line(h));
            }
        }
    }
    let ok = report.iter().all(|h| h.reachable);
    Ok(ExitCode::from(if ok { exit::OK } else { exit::INVALID }))
}

/// Print each source's health (stderr, next to `validate`'s diagnostics); true when all answered.
pub fn all_reachable(plan: &Plan) -> Result<bool, Error> {
    let report = check_all(plan)?;
    for h in &report {
        eprintln!("{}", line(h));
    }
    Ok(report.iter().all(|h| h.reachable))
}

fn line(h: &Health) -> String {
    let state = if h.reachable {
        "reachable"
    } else {
        "unreachable"
    };
    // `SignalError::Unreachable` already says so; do not say it twice.
    let detail = h.detail.strip_prefix("unreachable: ").unwrap_or(&h.detail);
    format!("{} ({}): {state} — {detail}", h.source, h.kind)
}

fn check_all(plan: &Plan) -> Result<Vec<Health>, Error> {
    let sources = SourceSet::new(&plan.runbook.sources, plan.masker.clone(), &plan.secret_env);
    let rt = super::runtime()?;
    let names: Vec<(String, &'static str)> = plan
        .runbook
        .sources
        .iter()
        .map(|(name, s)| (name.clone(), s.kind.name()))
        .collect();
    let results = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, (name, _)) in names.iter().enumerate() {
            let sources = sources.clone();
            let name = name.clone();
            set.spawn(async move { (i, sources.health(&name).await) });
        }
        let mut results = vec![None; names.len()];
        while let Some(joined) = set.join_next().await {
            if let Ok((i, r)) = joined {
                results[i] = Some(r);
            }
        }
        results
    });
    Ok(names
        .into_iter()
        .zip(results)
        .map(|((source, kind), r)| match r {
            Some(Ok(detail)) => Health {
                source,
                kind,
                reachable: true,
                detail,
            },
            Some(Err(e)) => Health {
                source,
                kind,
                reachable: false,
                detail: e.to_string(),
            },
            None => Health {
                source,
                kind,
                reachable: false,
                detail: "the health check crashed".into(),
            },
        })
        .collect())
}
