//! One step's work outside the scheduler: its action (with retries, timeout
//! and kill handling) and its gates. These run as tasks and only send
//! messages; every decision is the scheduler's.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::probe::Signals;
use super::process::{CommandOutcome, KillLevel, Piece, run_shell};
use crate::event::{AttemptResult, Event, GateResultKind, Phase, PipeHolder, Stream};
use crate::runbook::model::{Action, GateWhen, HttpAction, Step};
use crate::secrets::Masker;

/// Messages from tasks to the scheduler.
#[derive(Debug)]
pub(crate) enum Msg {
    /// Journal and show this (buffered; durable before the next decision).
    Event(Event),
    /// Journal this and answer only once it is durable (before a command starts).
    Durable(Event, oneshot::Sender<()>),
    Phase {
        step: String,
        result: PhaseResult,
    },
    RollbackDone {
        step: String,
        result: ActionResult,
        duration_ms: u64,
    },
    Trigger {
        trigger: String,
        update: super::probe::TriggerUpdate,
    },
    /// A line the person typed; `None`: their input ended.
    Answer(Option<String>),
    Interrupt(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PhaseResult {
    Gates {
        when: GateWhen,
        verdict: GatesVerdict,
    },
    Exec(ActionResult),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum GatesVerdict {
    Pass,
    Fail(String),
    Inconclusive(String),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionResult {
    pub ok: bool,
    pub killed: bool,
    pub exit_code: Option<i32>,
    pub detail: Option<String>,
}

/// What every action task needs.
#[derive(Clone)]
pub(crate) struct ActionCtx {
    pub env: Arc<Vec<(String, String)>>,
    /// The runbook's directory: a step's `workdir` is relative to it. Without
    /// `workdir`, commands run where cutover runs (as command sources do).
    pub runbook_dir: PathBuf,
    pub masker: Arc<Masker>,
    pub tx: mpsc::UnboundedSender<Msg>,
    /// The HTTP client of `http` steps, built by the first one (building
    /// one loads the TLS roots: a run without HTTP steps never pays it).
    pub http: Arc<std::sync::OnceLock<reqwest::Client>>,
}

/// Run a step's action with its retries; journals attempts and output.
pub(crate) async fn run_step(step: Step, ctx: ActionCtx, kill: watch::Receiver<KillLevel>) {
    let attempts = step.retries.attempts + 1;
    let mut last = ActionResult {
        ok: false,
        killed: false,
        exit_code: None,
        detail: None,
    };
    for attempt in 1..=attempts {
        let (ack_tx, ack_rx) = oneshot::channel();
        let started = Event::AttemptStarted {
            step: step.id.clone(),
            attempt,
            attempts,
            action: ctx.masker.mask(&describe(&step.action)),
        };
        if ctx.tx.send(Msg::Durable(started, ack_tx)).is_err() || ack_rx.await.is_err() {
            return;
        }
        let begun = Instant::now();
        last = run_action(&step, &step.action, Phase::Step, &ctx, kill.clone()).await;
        let result = if last.ok {
            AttemptResult::Succeeded
        } else if last.killed {
            AttemptResult::Killed
        } else if last
            .detail
            .as_deref()
            .is_some_and(|d| d.starts_with("timed out"))
        {
            AttemptResult::TimedOut
        } else {
            AttemptResult::Failed
        };
        let _ = ctx.tx.send(Msg::Event(Event::AttemptFinished {
            step: step.id.clone(),
            attempt,
            result,
            exit_code: last.exit_code,
            duration_ms: begun.elapsed().as_millis() as u64,
            detail: last.detail.clone(),
        }));
        if last.ok || last.killed || attempt == attempts {
            break;
        }
        let mut kill = kill.clone();
        let stop = tokio::select! {
            () = tokio::time::sleep(step.retries.backoff) => false,
            _ = kill.wait_for(|k| *k > KillLevel::None) => true,
        };
        if stop {
            last.killed = true;
            break;
        }
    }
    let _ = ctx.tx.send(Msg::Phase {
        step: step.id.clone(),
        result: PhaseResult::Exec(last),
    });
}

/// Run a step's rollback action once.
pub(crate) async fn run_rollback(step: Step, ctx: ActionCtx, kill: watch::Receiver<KillLevel>) {
    let begun = Instant::now();
    let result = match &step.rollback {
        Some(action) => run_action(&step, action, Phase::Rollback, &ctx, kill).await,
        None => ActionResult {
            ok: true,
            killed: false,
            exit_code: None,
            detail: None,
        },
    };
    let _ = ctx.tx.send(Msg::RollbackDone {
        step: step.id.clone(),
        result,
        duration_ms: begun.elapsed().as_millis() as u64,
    });
}

/// A one-line description of an action (masked by the caller).
pub(crate) fn describe(action: &Action) -> String {
    match action {
        Action::Run { command } => command.clone(),
        Action::Http(h) => format!("{} {}", h.method, h.url),
        Action::Manual { instructions } => instructions.clone(),
    }
}

async fn run_action(
    step: &Step,
    action: &Action,
    phase: Phase,
    ctx: &ActionCtx,
    kill: watch::Receiver<KillLevel>,
) -> ActionResult {
    match action {
        Action::Run { command } => run_command(step, command, phase, ctx, kill).await,
        Action::Http(http) => run_http(step, http, phase, ctx, kill).await,
        Action::Manual { .. } => ActionResult {
            ok: false,
            killed: false,
            exit_code: None,
            detail: Some("a manual action cannot run unattended".into()),
        },
    }
}

/// Run a step's (or its rollback's) command; journals its output, and a
/// warning when a process it detached kept the output open.
async fn run_command(
    step: &Step,
    command: &str,
    phase: Phase,
    ctx: &ActionCtx,
    kill: watch::Receiver<KillLevel>,
) -> ActionResult {
    let (line_tx, mut line_rx) = mpsc::unbounded_channel::<Piece>();
    let forward = {
        let tx = ctx.tx.clone();
        let masker = ctx.masker.clone();
        let id = step.id.clone();
        tokio::spawn(async move {
            let send = |stream, line| {
                let _ = tx.send(Msg::Event(Event::Output {
                    step: id.clone(),
                    stream,
                    phase,
                    line,
                }));
            };
            // A long line comes in pieces: mask across them, so that a
            // secret cut in two by a piece boundary is still masked.
            let (mut stdout, mut stderr) = (masker.stream(), masker.stream());
            while let Some(piece) = line_rx.recv().await {
                let masking = match piece.stream {
                    Stream::Stdout => &mut stdout,
                    Stream::Stderr => &mut stderr,
                };
                if let Some(line) = masking.piece(&piece.text, piece.end) {
                    send(piece.stream, line);
                }
            }
            for (stream, mut masking) in [(Stream::Stdout, stdout), (Stream::Stderr, stderr)] {
                let rest = masking.finish();
                if !rest.is_empty() {
                    send(stream, rest);
                }
            }
        })
    };
    let mut env: Vec<(String, String)> = step
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.extend(ctx.env.iter().cloned());
    let workdir = match &step.workdir {
        Some(w) => ctx.runbook_dir.join(w),
        None => PathBuf::from("."),
    };
    // Journaled as soon as the group exists (sent before any output
    // line): what `cutover resume` needs to stop it after a crash.
    let on_start = {
        let tx = ctx.tx.clone();
        let id = step.id.clone();
        move |process| {
            let _ = tx.send(Msg::Event(Event::ProcessStarted {
                step: id,
                phase,
                process,
            }));
        }
    };
    let finished = run_shell(
        command,
        &env,
        &workdir,
        step.timeout,
        step.grace,
        kill,
        line_tx,
        on_start,
    )
    .await;
    // Every sender of the output is gone once `run_shell` returns,
    // held pipes or not, so this ends.
    let _ = forward.await;
    if let Some(holders) = finished.abandoned {
        let _ = ctx.tx.send(Msg::Event(Event::OutputAbandoned {
            step: step.id.clone(),
            phase,
            holders: holders
                .into_iter()
                .map(|h| PipeHolder {
                    command: ctx.masker.mask(&h.command),
                    ..h
                })
                .collect(),
        }));
    }
    from_outcome(finished.outcome, step.timeout, &ctx.masker)
}

fn from_outcome(
    outcome: CommandOutcome,
    timeout: Option<Duration>,
    masker: &Masker,
) -> ActionResult {
    let (ok, killed, exit_code, detail) = match outcome {
        CommandOutcome::Exited { code: Some(0), .. } => (true, false, Some(0), None),
        CommandOutcome::Exited { code: Some(c), .. } => (
            false,
            false,
            Some(c),
            Some(format!("exited with status {c}")),
        ),
        CommandOutcome::Exited { signal, .. } => (
            false,
            false,
            None,
            Some(format!("killed by signal {}", signal.unwrap_or_default())),
        ),
        CommandOutcome::TimedOut => (
            false,
            false,
            None,
            Some(format!(
                "timed out after {}",
                humantime::format_duration(timeout.unwrap_or_default())
            )),
        ),
        CommandOutcome::Killed => (false, true, None, Some("stopped by the engine".into())),
        CommandOutcome::SpawnFailed(e) => (false, false, None, Some(masker.mask(&e))),
    };
    ActionResult {
        ok,
        killed,
        exit_code,
        detail,
    }
}

/// Body lines journaled for an HTTP step, at most.
const HTTP_BODY_LINES: usize = 50;
/// How much of a step's HTTP response body is read (the status decides).
const HTTP_BODY_BYTES: usize = 1024 * 1024;

async fn run_http(
    step: &Step,
    http: &HttpAction,
    phase: Phase,
    ctx: &ActionCtx,
    mut kill: watch::Receiver<KillLevel>,
) -> ActionResult {
    let fail = |detail: String| ActionResult {
        ok: false,
        killed: false,
        exit_code: None,
        detail: Some(ctx.masker.mask(&detail)),
    };
    let Ok(method) = reqwest::Method::from_bytes(http.method.as_bytes()) else {
        return fail(format!("bad HTTP method `{}`", http.method));
    };
    let client = ctx.http.get_or_init(reqwest::Client::new);
    let mut request = client.request(method, &http.url);
    for (k, v) in &http.headers {
        request = request.header(k, v);
    }
    if let Some(body) = &http.body {
        request = request.body(body.clone());
    }
    if let Some(t) = step.timeout {
        request = request.timeout(t);
    }
    let send = async {
        let mut response = request.send().await?;
        let status = response.status();
        let (body, more) = crate::signals::read_capped(&mut response, HTTP_BODY_BYTES)
            .await
            .unwrap_or_default();
        let mut text = String::from_utf8_lossy(&body).into_owned();
        if more {
            // The cut may fall inside a secret: drop the unfinished last line
            // rather than show part of one.
            text.truncate(text.rfind('\n').unwrap_or(0));
            let _ = write!(
                text,
                "\n(the body goes on past {} KiB; the rest was not read)",
                HTTP_BODY_BYTES / 1024
            );
        }
        Ok::<_, reqwest::Error>((status, text))
    };
    let (status, body) = tokio::select! {
        r = send => match r {
            Ok(x) => x,
            Err(e) if e.is_timeout() => return fail(format!("timed out: {e}")),
            Err(e) => return fail(format!("request failed: {e}")),
        },
        _ = kill.wait_for(|k| *k > KillLevel::None) => {
            return ActionResult { ok: false, killed: true, exit_code: None, detail: Some("stopped by the engine".into()) };
        }
    };
    let send_line = |line: String| {
        let _ = ctx.tx.send(Msg::Event(Event::Output {
            step: step.id.clone(),
            stream: Stream::Stdout,
            phase,
            line: ctx.masker.mask(&line),
        }));
    };
    send_line(format!("HTTP {status}"));
    for line in body.lines().take(HTTP_BODY_LINES) {
        send_line(line.to_string());
    }
    let code = status.as_u16();
    let expected = if http.expect_status.is_empty() {
        status.is_success()
    } else {
        http.expect_status.contains(&code)
    };
    if expected {
        ActionResult {
            ok: true,
            killed: false,
            exit_code: Some(i32::from(code)),
            detail: None,
        }
    } else {
        ActionResult {
            exit_code: Some(i32::from(code)),
            ..fail(format!("unexpected HTTP status {code}"))
        }
    }
}

/// Evaluate a step's gates of one kind, one after the other; journals each.
pub(crate) async fn run_gates(
    step: Step,
    when: GateWhen,
    signals: Arc<dyn Signals>,
    baselines: Arc<BTreeMap<String, f64>>,
    masker: Arc<Masker>,
    tx: mpsc::UnboundedSender<Msg>,
    dry_run: bool,
) {
    let mut verdict = GatesVerdict::Pass;
    for gate in step.gates(when) {
        // A dry run learns whether the query works, not whether the change
        // went well: one measurement, whatever it says, ends the gate.
        let dry;
        let gate = if dry_run {
            let mut g = gate.clone();
            g.count = 1;
            g.failure_limit = 0;
            g.error_limit = 0;
            g.inconclusive_limit = 0;
            dry = g;
            &dry
        } else {
            gate
        };
        let key = format!("{}.{}", step.id, gate.id);
        let _ = tx.send(Msg::Event(Event::GateStarted {
            step: step.id.clone(),
            gate: gate.id.clone(),
            when: match when {
                GateWhen::Before => "before".into(),
                GateWhen::After => "after".into(),
            },
            source: gate.check.source.clone(),
            query: masker.mask(&gate.check.probe.describe()),
            condition: gate.check.condition_text.clone(),
            shadow: gate.shadow,
        }));
        let (m_tx, mut m_rx) = mpsc::unbounded_channel();
        let forward = {
            let tx = tx.clone();
            let (step_id, gate_id) = (step.id.clone(), gate.id.clone());
            tokio::spawn(async move {
                while let Some(measurement) = m_rx.recv().await {
                    let _ = tx.send(Msg::Event(Event::GateMeasurement {
                        step: step_id.clone(),
                        gate: gate_id.clone(),
                        measurement,
                    }));
                }
            })
        };
        let outcome = signals.gate(gate, baselines.get(&key).copied(), m_tx).await;
        let _ = forward.await;
        let _ = tx.send(Msg::Event(Event::GateFinished {
            step: step.id.clone(),
            gate: gate.id.clone(),
            result: outcome.result,
            shadow: gate.shadow,
            detail: outcome.detail.as_deref().map(|d| masker.mask(d)),
        }));
        if gate.shadow {
            continue;
        }
        let why = format!(
            "gate `{}` {}{}",
            gate.id,
            match outcome.result {
                GateResultKind::Pass => "passed",
                GateResultKind::Fail => "failed",
                GateResultKind::Inconclusive => "was inconclusive",
                GateResultKind::Error => "could not be evaluated",
            },
            outcome
                .detail
                .map(|d| format!(": {}", masker.mask(&d)))
                .unwrap_or_default()
        );
        match outcome.result {
            GateResultKind::Pass => {}
            GateResultKind::Inconclusive => {
                verdict = GatesVerdict::Inconclusive(why);
                break;
            }
            GateResultKind::Fail | GateResultKind::Error => {
                verdict = GatesVerdict::Fail(why);
                break;
            }
        }
    }
    let _ = tx.send(Msg::Phase {
        step: step.id.clone(),
        result: PhaseResult::Gates { when, verdict },
    });
}
