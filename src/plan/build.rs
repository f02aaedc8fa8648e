//! Building a plan: load and validate the runbook, read the secrets, settle
//! every variable (`[vars]`, the env's overlay, `--set`), fill every
//! template, order the steps into waves, hash the result.

use std::collections::BTreeSet;
use std::path::Path;

use indexmap::IndexMap;
use sha2::{Digest, Sha256};

use super::fill::{Piece, Resolver, joined, resolve_runbook, var_pieces_of};
use super::model::{Build, Overrides, PLAN_FORMAT_VERSION, Plan, PlanError, hex};
use crate::runbook::model::Runbook;
use crate::runbook::shell::secret_env_name;
use crate::secrets::Masker;

/// Load, validate and resolve a runbook for the environment and overrides
/// given. Nothing is printed: the diagnostics come back in the [`Build`].
pub fn build(path: &Path, overrides: &Overrides) -> Build {
    let loaded = crate::runbook::load_file(path);
    let plan = match loaded.runbook {
        None => Err(PlanError::Invalid {
            path: path.display().to_string(),
            errors: loaded.diagnostics.iter().filter(|d| d.is_error()).count(),
        }),
        Some(runbook) => {
            let sha = hex(&Sha256::digest(loaded.file.text.as_bytes()));
            resolve(
                runbook,
                &path.display().to_string(),
                &sha,
                overrides,
                &|name| std::env::var(name).ok(),
            )
        }
    };
    Build {
        file: loaded.file,
        diagnostics: loaded.diagnostics,
        plan,
    }
}

/// Each declared secret's value from its environment variable (empty when
/// optional and unset).
fn read_secrets(
    runbook: &Runbook,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, PlanError> {
    let mut secret_values: IndexMap<String, String> = IndexMap::new();
    for (name, spec) in &runbook.secrets {
        match lookup(&spec.env) {
            Some(v) if !v.is_empty() && v.len() < crate::secrets::MIN_SECRET_LEN => {
                return Err(PlanError::SecretTooShort {
                    name: name.clone(),
                    var: spec.env.clone(),
                    len: v.chars().count(),
                });
            }
            Some(v) => {
                secret_values.insert(name.clone(), v);
            }
            None if spec.required => {
                return Err(PlanError::MissingSecret {
                    name: name.clone(),
                    var: spec.env.clone(),
                });
            }
            None => {
                secret_values.insert(name.clone(), String::new());
            }
        }
    }
    Ok(secret_values)
}

/// Resolve templates and order steps. `lookup` reads environment variables
/// (a parameter so tests need not touch the process environment).
pub fn resolve(
    mut runbook: Runbook,
    runbook_path: &str,
    runbook_sha256: &str,
    overrides: &Overrides,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Plan, PlanError> {
    let overlay = match &overrides.env {
        Some(name) => match runbook.envs.get(name) {
            Some(o) => Some(o.clone()),
            None => {
                return Err(PlanError::UnknownEnv {
                    name: name.clone(),
                    help: crate::diag::did_you_mean(name, runbook.envs.keys().map(String::as_str))
                        .or_else(|| {
                            Some(if runbook.envs.is_empty() {
                                "the runbook declares no `[env.NAME]` overlays".into()
                            } else {
                                format!("declared: {}", crate::diag::code_list(runbook.envs.keys()))
                            })
                        }),
                });
            }
        },
        None => None,
    };

    // Secrets first: variables may use them.
    let secret_values = read_secrets(&runbook, lookup)?;

    let (vars, var_pieces) = variables(
        &runbook,
        overlay.as_ref(),
        overrides,
        &secret_values,
        lookup,
    )?;

    let resolver = Resolver {
        vars: &var_pieces,
        secrets: &secret_values,
        lookup,
    };
    resolve_runbook(&mut runbook, &resolver)?;
    // The env's hypercare is the plan's.
    runbook.hypercare = crate::runbook::model::Hypercare::overlaid(
        runbook.hypercare.as_ref(),
        overlay.as_ref().and_then(|o| o.hypercare.as_ref()),
    );

    let needs: Vec<(&str, &[String])> = runbook
        .steps
        .iter()
        .map(|s| (s.id.as_str(), s.needs.as_slice()))
        .collect();
    let waves = crate::dag::waves(&needs).map_err(|cycle| PlanError::Template {
        place: "steps".into(),
        message: format!("dependency cycle: {}", cycle.join(" -> ")),
    })?;
    let secret_env = secret_values
        .iter()
        .map(|(name, value)| (secret_env_name(name), value.clone()))
        .collect();
    // Webhook URLs carry their credentials in the path (Slack), a
    // PagerDuty routing key is one: mask them like secrets (not the public
    // Events API address).
    let masker = Masker::new(
        secret_values
            .values()
            .map(String::as_str)
            .chain(
                runbook
                    .notify
                    .values()
                    .map(|n| n.url.as_str())
                    .filter(|u| *u != crate::runbook::model::PAGERDUTY_URL),
            )
            .chain(
                runbook
                    .notify
                    .values()
                    .filter_map(|n| n.routing_key.as_deref()),
            ),
    );
    let schedule = overlay
        .as_ref()
        .and_then(|o| o.schedule.clone())
        .unwrap_or_else(|| runbook.schedule.clone());
    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        hash: String::new(),
        runbook_path: runbook_path.to_string(),
        runbook_sha256: runbook_sha256.to_string(),
        env: overrides.env.clone(),
        production: overlay.map_or(runbook.production, |o| o.production),
        vars,
        waves,
        schedule,
        runbook,
        masker,
        secret_env,
        var_pieces,
    };
    plan.hash = plan.compute_hash();
    Ok(plan)
}

/// Every variable: `[vars]`, overlaid by the env's overlay, overridden by
/// `--set`; as text and as pieces (see [`Piece`]).
type Variables = (IndexMap<String, String>, IndexMap<String, Vec<Piece>>);

fn variables(
    runbook: &Runbook,
    overlay: Option<&crate::runbook::model::EnvOverlay>,
    overrides: &Overrides,
    secrets: &IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Variables, PlanError> {
    let mut raw_vars = runbook.vars.clone();
    if let Some(o) = overlay {
        for (k, v) in &o.vars {
            raw_vars.insert(k.clone(), v.clone());
        }
    }
    let mut from_set = BTreeSet::new();
    for set in &overrides.set {
        let Some((key, value)) = set.split_once('=') else {
            return Err(PlanError::BadSet(set.clone()));
        };
        let key = key.trim();
        if !raw_vars.contains_key(key) {
            return Err(PlanError::UnknownSet {
                key: key.to_string(),
                help: crate::diag::did_you_mean(key, raw_vars.keys().map(String::as_str)),
            });
        }
        raw_vars.insert(key.to_string(), value.to_string());
        from_set.insert(key.to_string());
    }
    let mut vars = IndexMap::new();
    let mut var_pieces = IndexMap::new();
    for (k, v) in &raw_vars {
        let place = if from_set.contains(k) {
            format!("`--set {k}=...`")
        } else {
            format!("variable `{k}`")
        };
        let pieces = var_pieces_of(v, &place, secrets, lookup)?;
        vars.insert(k.clone(), joined(&pieces, secrets));
        var_pieces.insert(k.clone(), pieces);
    }
    Ok((vars, var_pieces))
}
