//! The resolved plan: templates filled in for one environment, steps ordered
//! into waves, and a hash that a later `run --plan` compares against.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::condition::Condition;
use crate::diag::{Diagnostic, SourceFile};
use crate::runbook::model::{Action, Auth, Check, Probe, Runbook, SourceKind};
use crate::runbook::shell::{self, Context, MAX_COMMAND_BYTES};
use crate::runbook::template::{self, Namespace, Reference};
use crate::secrets::Masker;

/// Its old path: validation names the variable too, so it lives in `runbook::shell`.
pub use crate::runbook::shell::secret_env_name;

pub const PLAN_FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The runbook did not load or validate; the diagnostics say why.
    #[error("`{path}` is invalid ({errors} error(s))")]
    Invalid { path: String, errors: usize },
    #[error("secret `{name}` needs environment variable `{var}`, which is not set")]
    MissingSecret { name: String, var: String },
    #[error(
        "secret `{name}` (environment variable `{var}`) is only {len} character(s): too short to mask in output without mangling it, so it would be shown; real keys and tokens are longer"
    )]
    SecretTooShort {
        name: String,
        var: String,
        len: usize,
    },
    #[error("unknown environment `{name}`{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownEnv { name: String, help: Option<String> },
    #[error("`--set {0}` is not of the form KEY=VALUE")]
    BadSet(String),
    #[error("`--set {key}=...` names no variable of the runbook{}", .help.as_ref().map(|h| format!(" ({h})")).unwrap_or_default())]
    UnknownSet { key: String, help: Option<String> },
    #[error("in {place}: {message}")]
    Template { place: String, message: String },
    #[error(
        "the runbook changed since the plan `{plan}` was made (plan hash {expected}, now {actual}); review it again with `cutover plan`"
    )]
    Changed {
        plan: String,
        expected: String,
        actual: String,
    },
    #[error("failed to read plan `{path}`: {message}")]
    BadPlanFile { path: String, message: String },
}

/// A runbook resolved for one environment, ready to execute.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub format_version: u32,
    /// SHA-256 over the masked, resolved plan (this struct without `hash`).
    pub hash: String,
    pub runbook_path: String,
    /// SHA-256 of the runbook file's bytes.
    pub runbook_sha256: String,
    pub env: Option<String>,
    pub production: bool,
    /// Every variable after overlays and `--set`.
    pub vars: IndexMap<String, String>,
    /// Steps grouped into waves: every step of a wave only needs steps of earlier waves.
    pub waves: Vec<Vec<String>>,
    /// The runbook with every template resolved. Secrets in commands appear as
    /// `${CUTOVER_SECRET_<NAME>}` references (the value is passed in the environment);
    /// elsewhere they are real values, masked whenever shown.
    pub runbook: Runbook,
    /// Masks every secret value (plain, URL-encoded, base64).
    #[serde(skip)]
    pub masker: Masker,
    /// `(CUTOVER_SECRET_<NAME>, value)` for the environment of step commands.
    #[serde(skip)]
    pub secret_env: Vec<(String, String)>,
    /// Every variable as text and the secrets it uses, so that in a shell
    /// command a secret inside a variable comes from the environment too.
    #[serde(skip)]
    pub(crate) var_pieces: IndexMap<String, Vec<Piece>>,
}

/// A piece of a resolved variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    /// `{{ secrets.NAME }}`
    Secret(String),
}

/// Where a plan's variables come from besides the runbook: the `[env.NAME]`
/// overlay to apply, and `KEY=VALUE` overrides (`--set`), in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub env: Option<String>,
    pub set: Vec<String>,
}

/// A runbook file built into a plan: the file and what loading it found
/// (errors and warnings, for the caller to show), and the plan, or why
/// there is none.
#[derive(Debug)]
pub struct Build {
    pub file: SourceFile,
    pub diagnostics: Vec<Diagnostic>,
    pub plan: Result<Plan, PlanError>,
}

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
    // Webhook URLs carry their credentials in the path (Slack): mask them like secrets.
    let masker = Masker::new(
        secret_values
            .values()
            .map(String::as_str)
            .chain(runbook.notify.values().map(|n| n.url.as_str())),
    );
    let mut plan = Plan {
        format_version: PLAN_FORMAT_VERSION,
        hash: String::new(),
        runbook_path: runbook_path.to_string(),
        runbook_sha256: runbook_sha256.to_string(),
        env: overrides.env.clone(),
        production: overlay.map_or(runbook.production, |o| o.production),
        vars,
        waves,
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

/// The pieces of variable value `text`: its `{{ env.X }}` filled in, its
/// `{{ secrets.X }}` kept apart; a variable naming another is an error
/// (`validate` points at it in the file; here it can only come from `--set`).
fn var_pieces_of(
    text: &str,
    place: &str,
    secrets: &IndexMap<String, String>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<Piece>, PlanError> {
    let refs = template::references(text).map_err(|e| PlanError::Template {
        place: place.to_string(),
        message: e.message,
    })?;
    let mut pieces = Vec::new();
    let mut last = 0;
    for r in &refs {
        pieces.push(Piece::Text(text[last..r.range.start].to_string()));
        match r.namespace {
            Namespace::Vars => {
                return Err(PlanError::Template {
                    place: place.to_string(),
                    message: format!(
                        "a variable cannot refer to other variables (`{{{{ vars.{} }}}}`)",
                        r.name
                    ),
                });
            }
            Namespace::Secrets => {
                secret_value(secrets, &r.name, place)?;
                pieces.push(Piece::Secret(r.name.clone()));
            }
            Namespace::Env => pieces.push(Piece::Text(env_value(lookup, &r.name, place)?)),
        }
        last = r.range.end;
    }
    pieces.push(Piece::Text(text[last..].to_string()));
    pieces.retain(|p| !matches!(p, Piece::Text(t) if t.is_empty()));
    Ok(pieces)
}

/// A variable's value: its pieces with the secrets' values.
fn joined(pieces: &[Piece], secrets: &IndexMap<String, String>) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.as_str(),
            Piece::Secret(name) => secrets.get(name).map_or("", String::as_str),
        })
        .collect()
}

/// A variable's value as one word of a shell command at `context`: its
/// text quoted, its secrets read from their environment variables.
fn shell_word(pieces: &[Piece], context: Context) -> String {
    match pieces {
        [] => return shell::quote("", context),
        [Piece::Text(text)] => return shell::quote(text, context),
        _ => {}
    }
    let mut out = String::new();
    for (i, piece) in pieces.iter().enumerate() {
        // Past the first piece the word has begun: something precedes.
        let context = match context {
            Context::Unquoted(word) if i > 0 => Context::Unquoted(shell::Word {
                start: false,
                after_name: true,
                ..word
            }),
            other => other,
        };
        match piece {
            Piece::Text(t) => out.push_str(&shell::quote(t, context)),
            Piece::Secret(name) => out.push_str(&shell::expand(&secret_env_name(name), context)),
        }
    }
    out
}

fn secret_value(
    secrets: &IndexMap<String, String>,
    name: &str,
    place: &str,
) -> Result<String, PlanError> {
    secrets
        .get(name)
        .cloned()
        .ok_or_else(|| PlanError::Template {
            place: place.to_string(),
            message: format!("undefined secret `{name}`"),
        })
}

fn env_value(
    lookup: &dyn Fn(&str) -> Option<String>,
    name: &str,
    place: &str,
) -> Result<String, PlanError> {
    lookup(name).ok_or_else(|| PlanError::Template {
        place: place.to_string(),
        message: format!(
            "environment variable `{name}` is not set (used as `{{{{ env.{name} }}}}`)"
        ),
    })
}

impl From<template::TemplateError> for PlanError {
    fn from(e: template::TemplateError) -> Self {
        PlanError::Template {
            place: "a template".into(),
            message: e.message,
        }
    }
}

struct Resolver<'a> {
    vars: &'a IndexMap<String, Vec<Piece>>,
    secrets: &'a IndexMap<String, String>,
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    /// Fill the templates of one string. In shell commands (`shell`) every
    /// value is quoted for where it stands, so it arrives as data (see
    /// `runbook::shell`), and a secret becomes a reference to its
    /// environment variable, so the value never appears in a logged command
    /// line or in `ps`.
    fn fill(&self, text: &mut String, shell: bool, place: &str) -> Result<(), PlanError> {
        if !text.contains("{{") {
            return Ok(());
        }
        let bad = |message: String| PlanError::Template {
            place: place.to_string(),
            message,
        };
        let refs = template::references(text).map_err(|e| bad(e.message))?;
        let contexts = if shell {
            shell::contexts(text, &refs).map_err(|e| bad(format!("{} ({})", e.message, e.help)))?
        } else {
            Vec::new()
        };
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for (i, r) in refs.iter().enumerate() {
            out.push_str(&text[last..r.range.start]);
            out.push_str(&self.value(r, contexts.get(i).copied(), place)?);
            last = r.range.end;
        }
        out.push_str(&text[last..]);
        if shell && out.len() > MAX_COMMAND_BYTES {
            return Err(bad(format!(
                "the command is {} bytes once its templates are filled, over the limit of {} KiB",
                out.len(),
                MAX_COMMAND_BYTES / 1024
            )));
        }
        *text = out;
        Ok(())
    }

    /// The text that replaces `r`: quoted for `context` in a shell command
    /// (`None`: not a shell command).
    fn value(
        &self,
        r: &Reference,
        context: Option<Context>,
        place: &str,
    ) -> Result<String, PlanError> {
        Ok(match (r.namespace, context) {
            (Namespace::Vars, _) => {
                let pieces = self.vars.get(&r.name).ok_or_else(|| PlanError::Template {
                    place: place.to_string(),
                    message: format!("undefined variable `{}`", r.name),
                })?;
                match context {
                    Some(c) => shell_word(pieces, c),
                    None => joined(pieces, self.secrets),
                }
            }
            (Namespace::Secrets, Some(c)) => {
                secret_value(self.secrets, &r.name, place)?;
                shell::expand(&secret_env_name(&r.name), c)
            }
            (Namespace::Secrets, None) => secret_value(self.secrets, &r.name, place)?,
            (Namespace::Env, c) => {
                let value = env_value(self.lookup, &r.name, place)?;
                c.map_or(value.clone(), |c| shell::quote(&value, c))
            }
        })
    }
}

fn resolve_action(action: &mut Action, r: &Resolver<'_>, place: &str) -> Result<(), PlanError> {
    match action {
        Action::Run { command } => r.fill(command, true, place),
        Action::Http(h) => {
            r.fill(&mut h.url, false, place)?;
            for v in h.headers.values_mut() {
                r.fill(v, false, place)?;
            }
            if let Some(b) = &mut h.body {
                r.fill(b, false, place)?;
            }
            Ok(())
        }
        Action::Manual { instructions } => r.fill(instructions, false, place),
    }
}

fn resolve_check(
    check: &mut Check,
    r: &Resolver<'_>,
    place: &str,
    command_source: bool,
) -> Result<(), PlanError> {
    match &mut check.probe {
        Probe::Query { query } => r.fill(query, command_source, place)?,
        Probe::Monitor { .. } => {}
        Probe::Http { url, .. } => r.fill(url, false, place)?,
    }
    if check.condition_text.contains("{{") {
        r.fill(&mut check.condition_text, false, place)?;
        check.condition =
            Condition::parse(&check.condition_text).map_err(|e| PlanError::Template {
                place: place.to_string(),
                message: format!(
                    "condition `{}` after filling templates: {e}",
                    check.condition_text
                ),
            })?;
    }
    Ok(())
}

fn resolve_runbook(rb: &mut Runbook, r: &Resolver<'_>) -> Result<(), PlanError> {
    for req in &mut rb.requires {
        r.fill(req, false, "`requires`")?;
    }
    let mut command_sources = BTreeSet::new();
    for (name, source) in &mut rb.sources {
        let place = format!("source `{name}`");
        for v in source.headers.values_mut() {
            r.fill(v, false, &place)?;
        }
        match &mut source.kind {
            SourceKind::Prometheus { url, auth }
            | SourceKind::Http {
                url: Some(url),
                auth,
            } => {
                r.fill(url, false, &place)?;
                resolve_auth(auth.as_mut(), r, &place)?;
            }
            SourceKind::Http { url: None, auth } => resolve_auth(auth.as_mut(), r, &place)?,
            SourceKind::Datadog {
                url,
                api_key,
                app_key,
                ..
            } => {
                r.fill(url, false, &place)?;
                r.fill(api_key, false, &place)?;
                if let Some(k) = app_key {
                    r.fill(k, false, &place)?;
                }
            }
            SourceKind::Command { shell } => {
                r.fill(shell, false, &place)?;
                command_sources.insert(name.clone());
            }
        }
    }
    for n in rb.notify.values_mut() {
        r.fill(&mut n.url, false, &format!("notify `{}`", n.name))?;
    }
    for t in &mut rb.triggers {
        let is_command = command_sources.contains(&t.check.source);
        resolve_check(&mut t.check, r, &format!("trigger `{}`", t.id), is_command)?;
    }
    for step in &mut rb.steps {
        let place = format!("step `{}`", step.id);
        if let Some(d) = &mut step.description {
            r.fill(d, false, &place)?;
        }
        resolve_action(&mut step.action, r, &place)?;
        if let Some(rollback) = &mut step.rollback {
            resolve_action(rollback, r, &format!("rollback of {place}"))?;
        }
        for v in step.env.values_mut() {
            r.fill(v, false, &place)?;
        }
        if let Some(w) = &mut step.workdir {
            r.fill(w, false, &place)?;
        }
        if let Some(a) = &mut step.approval {
            for who in &mut a.approvers {
                r.fill(who, false, &place)?;
            }
        }
        for g in &mut step.gates {
            let is_command = command_sources.contains(&g.check.source);
            resolve_check(
                &mut g.check,
                r,
                &format!("gate `{}.{}`", step.id, g.id),
                is_command,
            )?;
        }
    }
    Ok(())
}

#[expect(
    clippy::needless_pass_by_value,
    reason = "an Option of a reference is passed by value"
)]
fn resolve_auth(auth: Option<&mut Auth>, r: &Resolver<'_>, place: &str) -> Result<(), PlanError> {
    match auth {
        Some(Auth::Basic { username, password }) => {
            r.fill(username, false, place)?;
            r.fill(password, false, place)
        }
        Some(Auth::Bearer { token }) => r.fill(token, false, place),
        None => Ok(()),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

impl Plan {
    /// The plan as JSON with every secret masked: what `plan --format json`
    /// prints. Strings are masked in the tree, before they are serialized.
    pub fn to_masked_json(&self) -> serde_json::Value {
        self.masker.masked_json(self)
    }

    /// Fill the templates of a query typed on the command line (`cutover
    /// query`) as the plan fills a gate's query; `shell`: for a command source.
    pub(crate) fn fill_query(
        &self,
        text: &str,
        shell: bool,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String, PlanError> {
        let secrets: IndexMap<String, String> = self
            .runbook
            .secrets
            .keys()
            .map(|name| {
                let var = secret_env_name(name);
                let value = self
                    .secret_env
                    .iter()
                    .find(|(k, _)| *k == var)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                (name.clone(), value)
            })
            .collect();
        let resolver = Resolver {
            vars: &self.var_pieces,
            secrets: &secrets,
            lookup,
        };
        let mut text = text.to_string();
        resolver.fill(&mut text, shell, "the query")?;
        Ok(text)
    }

    fn compute_hash(&self) -> String {
        let mut value = self.to_masked_json();
        value["hash"] = serde_json::Value::String(String::new());
        let text = serde_json::to_string(&value).expect("serializes");
        format!("sha256:{}", hex(&Sha256::digest(text.as_bytes())))
    }

    /// Refuse to go on if the runbook changed since `plan_file` was reviewed.
    pub fn check_against(&self, plan_file: &Path) -> Result<(), PlanError> {
        let bad = |message: String| PlanError::BadPlanFile {
            path: plan_file.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(plan_file).map_err(|e| bad(e.to_string()))?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("not a plan JSON file: {e}")))?;
        let expected = value
            .get("hash")
            .and_then(serde_json::Value::as_str)
            .ok_or_else(|| {
                bad("it has no `hash` (write it with `cutover plan --format json -o FILE`)".into())
            })?;
        if expected == self.hash {
            Ok(())
        } else {
            Err(PlanError::Changed {
                plan: plan_file.display().to_string(),
                expected: expected.to_string(),
                actual: self.hash.clone(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan_of(text: &str, secret: &str, set: &[&str]) -> Result<Plan, PlanError> {
        let loaded = crate::runbook::load_text(Path::new("rb.toml"), text.to_string());
        let runbook = loaded
            .runbook
            .unwrap_or_else(|| panic!("{:?}", loaded.diagnostics));
        let args = Overrides {
            env: None,
            set: set.iter().map(|s| (*s).to_string()).collect(),
        };
        let secret = secret.to_string();
        resolve(runbook, "rb.toml", "", &args, &move |name| {
            (name == "TOKEN").then(|| secret.clone())
        })
    }

    const RUNBOOK: &str = "[runbook]\nname = \"x\"\n[secrets]\ntok = { env = \"TOKEN\" }\n\
        [vars]\nauth = \"Bearer {{ secrets.tok }}\"\nname = \"web\"\n\
        [[step]]\nid = \"s\"\nrun = \"curl -H {{ vars.auth }} -d '{{ vars.name }}' \\\"{{ secrets.tok }}\\\"\"\n\
        http_unused = 1\n";

    fn runbook() -> String {
        RUNBOOK.replace("http_unused = 1\n", "dry_run = \"run\"\n[[step]]\nid = \"h\"\nhttp = { url = \"http://127.0.0.1:9/?t={{ secrets.tok }}\", headers = { A = \"{{ vars.auth }}\" } }\nrollback = \"true\"\n")
    }

    #[test]
    fn masked_json_masks_secrets_that_json_escapes_and_never_panics() {
        for secret in [
            "quo\"te-secret",
            "back\\slash",
            "new\nline-x",
            "trailing\\",
            "nön-äscii",
        ] {
            let plan = plan_of(&runbook(), secret, &[]).unwrap();
            let text = serde_json::to_string(&plan.to_masked_json()).unwrap();
            let escaped = serde_json::to_string(secret).unwrap();
            assert!(
                !text.contains(&escaped[1..escaped.len() - 1]),
                "{secret:?}: {text}"
            );
            assert!(text.contains("?t=***"), "{text}");
            assert!(text.contains("\"A\":\"Bearer ***\""), "{text}");
        }
    }

    #[test]
    fn shell_commands_quote_values_and_read_secrets_from_the_environment() {
        let plan = plan_of(&runbook(), "s3cret", &["name=it's"]).unwrap();
        let Action::Run { command } = &plan.runbook.steps[0].action else {
            panic!("a run step");
        };
        assert_eq!(
            command,
            r#"curl -H 'Bearer '"${CUTOVER_SECRET_TOK}" -d 'it'\''s' "${CUTOVER_SECRET_TOK}""#
        );
        // Outside shell commands a variable holds the secret's value (masked when shown).
        assert_eq!(plan.vars["auth"], "Bearer s3cret");
    }

    #[test]
    fn a_set_value_naming_a_variable_is_refused_with_its_place() {
        let e = plan_of(&runbook(), "s3cret", &["name={{ vars.auth }}"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "in `--set name=...`: a variable cannot refer to other variables (`{{ vars.auth }}`)"
        );
    }
}
