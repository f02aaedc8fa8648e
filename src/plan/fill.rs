//! Filling templates: a variable's value as text and secrets kept apart
//! (`Piece`), and every string of the runbook filled in, a shell command's
//! values quoted for where they stand and its secrets read from the
//! environment.

use std::collections::BTreeSet;

use indexmap::IndexMap;

use super::model::{Plan, PlanError};
use crate::condition::Condition;
use crate::runbook::model::{Action, Auth, Check, Probe, Runbook, SourceKind};
use crate::runbook::shell::{self, Context, MAX_COMMAND_BYTES, secret_env_name};
use crate::runbook::template::{self, Namespace, Reference};

/// A piece of a resolved variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    /// `{{ secrets.NAME }}`
    Secret(String),
}

/// The pieces of variable value `text`: its `{{ env.X }}` filled in, its
/// `{{ secrets.X }}` kept apart; a variable naming another is an error
/// (`validate` points at it in the file; here it can only come from `--set`).
pub(super) fn var_pieces_of(
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
pub(super) fn joined(pieces: &[Piece], secrets: &IndexMap<String, String>) -> String {
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

/// What templates are filled with: the variables as pieces, the secrets'
/// values, the environment.
pub(super) struct Resolver<'a> {
    pub(super) vars: &'a IndexMap<String, Vec<Piece>>,
    pub(super) secrets: &'a IndexMap<String, String>,
    pub(super) lookup: &'a dyn Fn(&str) -> Option<String>,
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

pub(super) fn resolve_runbook(rb: &mut Runbook, r: &Resolver<'_>) -> Result<(), PlanError> {
    for req in &mut rb.requires {
        r.fill(req, false, "`requires`")?;
    }
    if let Some(url) = &mut rb.journal_url {
        r.fill(url, false, "`[journal] url`")?;
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
        if let Some(key) = &mut n.routing_key {
            r.fill(key, false, &format!("notify `{}`", n.name))?;
        }
    }
    for t in &mut rb.triggers {
        let is_command = command_sources.contains(&t.check.source);
        resolve_check(&mut t.check, r, &format!("trigger `{}`", t.id), is_command)?;
    }
    for o in &mut rb.outcomes {
        let is_command = command_sources.contains(&o.check.source);
        resolve_check(
            &mut o.check,
            r,
            &format!("outcome `{}`", o.name),
            is_command,
        )?;
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

impl Plan {
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
}
