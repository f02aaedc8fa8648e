//! Webhooks (`[notify.NAME]`): the run tells people about itself. Which
//! records are worth a message and what it says is `describe::notification`;
//! delivery runs in background tasks, [`ATTEMPTS`] tries with a short
//! [`TIMEOUT`] each, so a webhook that is down or slow never delays a step.
//! A delivery that fails for good is journaled as `notify_failed` (masked:
//! webhook URLs are secrets and never appear in it). Dry runs notify no one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::channels::{Page, page, payload};
use super::step::Msg;
pub(crate) use crate::describe::{Notification, notification};
use crate::event::{Event, Record};
use crate::journal::RunState;
use crate::runbook::model::{Notify, NotifyKind};
use crate::secrets::Masker;

/// Tries per message.
pub(crate) const ATTEMPTS: u32 = 3;
/// Per try: a webhook slower than this counts as failed.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);
/// Waits between tries.
const BACKOFF: [Duration; 2] = [Duration::from_millis(300), Duration::from_secs(1)];
/// At the end of the run, how long to wait for messages still on their way.
pub(crate) const DRAIN: Duration = Duration::from_secs(3);

/// The request body for `target`, masked. Strings are masked in the tree,
/// before serializing: JSON escapes a secret holding `"`, `\` or a control
/// character, and the escaped text would no longer match. A PagerDuty
/// routing key goes in after masking: it is a secret, and the one place it
/// belongs.
fn masked_body(
    target: &Notify,
    n: &Notification,
    record: &Record,
    page: Option<Page>,
    masker: &Masker,
) -> String {
    let mut body = payload(target.kind, n, record, page);
    masker.mask_json(&mut body);
    if let (NotifyKind::Pagerduty, Some(key)) = (target.kind, &target.routing_key) {
        body["routing_key"] = Value::String(key.clone());
    }
    body.to_string()
}

/// Sends notifications in the background; failures come back as events.
pub(crate) struct Notifier {
    targets: Vec<Notify>,
    client: reqwest::Client,
    masker: Arc<Masker>,
    run_ref: String,
    tx: UnboundedSender<Msg>,
    enabled: bool,
    /// Deliveries on their way: webhook, about what, tries started so far, task.
    inflight: Vec<InFlight>,
}

struct InFlight {
    notify: String,
    about: &'static str,
    /// Tries started (the one under way included).
    tries: Arc<AtomicU32>,
    handle: JoinHandle<()>,
}

impl Notifier {
    pub(crate) fn new(
        targets: Vec<Notify>,
        masker: Arc<Masker>,
        run_ref: String,
        tx: UnboundedSender<Msg>,
        enabled: bool,
    ) -> Self {
        Notifier {
            targets,
            client: reqwest::Client::new(),
            masker,
            run_ref,
            tx,
            enabled,
            inflight: Vec::new(),
        }
    }

    /// A record was journaled (and folded into `state`): send what it
    /// deserves to every target that wants it.
    pub(crate) fn observe(&mut self, record: &Record, state: &RunState) {
        if !self.enabled || self.targets.is_empty() {
            return;
        }
        let Some(n) = notification(record, &self.run_ref, state) else {
            return;
        };
        self.inflight.retain(|d| !d.handle.is_finished());
        let page = page(record, state);
        for target in &self.targets {
            if !target.wants(n.about) || (target.kind == NotifyKind::Pagerduty && page.is_none()) {
                continue;
            }
            let body = masked_body(target, &n, record, page, &self.masker);
            let tries = Arc::new(AtomicU32::new(0));
            let handle = tokio::spawn(deliver(
                self.client.clone(),
                target.clone(),
                n.about,
                body,
                self.masker.clone(),
                self.tx.clone(),
                tries.clone(),
            ));
            self.inflight.push(InFlight {
                notify: target.name.clone(),
                about: n.about,
                tries,
                handle,
            });
        }
    }

    /// The run ended: give messages on their way up to [`DRAIN`], then
    /// name the ones still undelivered (as `notify_failed` events).
    pub(crate) async fn drain(&mut self) -> Vec<Event> {
        self.drain_within(DRAIN).await
    }

    async fn drain_within(&mut self, within: Duration) -> Vec<Event> {
        let deadline = tokio::time::Instant::now() + within;
        let mut undelivered = Vec::new();
        for mut d in self.inflight.drain(..) {
            if tokio::time::timeout_at(deadline, &mut d.handle)
                .await
                .is_err()
            {
                d.handle.abort();
                // A try still waiting for its answer counts: it was made.
                let attempts = d.tries.load(Ordering::SeqCst);
                undelivered.push(Event::NotifyFailed {
                    notify: d.notify,
                    about: d.about.to_string(),
                    attempts,
                    detail: if attempts == 0 {
                        "still undelivered when the run ended (not tried yet)".into()
                    } else {
                        format!(
                            "still undelivered when the run ended (try {attempts} of {ATTEMPTS} had no answer yet)"
                        )
                    },
                });
            }
        }
        undelivered
    }
}

async fn deliver(
    client: reqwest::Client,
    target: Notify,
    about: &'static str,
    body: String,
    masker: Arc<Masker>,
    tx: UnboundedSender<Msg>,
    tries: Arc<AtomicU32>,
) {
    let mut last_error = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(BACKOFF[(attempt as usize - 1).min(BACKOFF.len() - 1)]).await;
        }
        tries.store(attempt + 1, Ordering::SeqCst);
        let sent = client
            .post(&target.url)
            .header("Content-Type", "application/json")
            .body(body.clone())
            .timeout(TIMEOUT)
            .send()
            .await;
        match sent {
            Ok(resp) if resp.status().is_success() => return,
            Ok(resp) => last_error = format!("HTTP {}", resp.status().as_u16()),
            // `without_url`: the webhook URL is a secret.
            Err(e) => {
                last_error = if e.is_timeout() {
                    format!("no answer within {}s", TIMEOUT.as_secs())
                } else {
                    // The cause chain says what went wrong (refused, reset, DNS).
                    let e = e.without_url();
                    let mut text = e.to_string();
                    let mut source = std::error::Error::source(&e);
                    while let Some(cause) = source {
                        let cause_text = cause.to_string();
                        if !text.contains(&cause_text) {
                            text.push_str(": ");
                            text.push_str(&cause_text);
                        }
                        source = cause.source();
                    }
                    text
                };
            }
        }
    }
    let _ = tx.send(Msg::Event(Event::NotifyFailed {
        notify: target.name.clone(),
        about: about.to_string(),
        attempts: ATTEMPTS,
        detail: masker.mask(&last_error),
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Outcome, RollbackReason, RunFinished, StepState};
    use crate::runbook::model::NOTIFY_EVENTS;

    fn rec(event: Event) -> Record {
        Record {
            seq: 3,
            ts: "2026-11-25T21:03:14.451Z".into(),
            run_id: "r1".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event,
        }
    }

    /// A run whose plan gives step `switch` an owner and team `leads` members.
    fn state() -> RunState {
        let plan = serde_json::json!({"runbook": {
            "name": "pay",
            "teams": {"leads": ["carol", "dan"]},
            "steps": [{"id": "switch", "owner": "team:dba"}, {"id": "check"}],
        }});
        let mut started = rec(Event::RunStarted(crate::event::RunStarted {
            plan_hash: "h".into(),
            rehearsal: false,
            runbook_name: "pay".into(),
            runbook_path: "pay.toml".into(),
            runbook_sha256: "s".into(),
            change: None,
            env: None,
            production: false,
            dry_run: false,
            pid: 1,
            set: vec![],
            plan,
        }));
        started.seq = 1;
        RunState::replay([&started])
    }

    fn told(event: Event) -> Notification {
        notification(&rec(event), "r1", &state()).expect("notified")
    }

    fn finished(outcome: Outcome) -> Event {
        Event::RunFinished(RunFinished {
            outcome,
            exit_code: 0,
            dry_run: false,
            failed_steps: vec![],
            queries_ok: None,
            message: "ok".into(),
        })
    }

    #[test]
    fn approval_pending_carries_the_exact_command_and_the_owner() {
        let n = told(Event::ApprovalRequested {
            step: "switch".into(),
            min: 2,
            approvers: vec!["team:sre".into()],
        });
        assert_eq!(n.about, "approval_pending");
        assert!(
            n.text
                .contains("cutover approve r1 switch --reason \"...\""),
            "{}",
            n.text
        );
        assert!(n.text.contains("from team:sre"), "{}", n.text);
        assert_eq!(n.owner.as_deref(), Some("team:dba"));
        assert_eq!(
            n.command.as_deref(),
            Some("cutover approve r1 switch --reason \"...\"")
        );
    }

    #[test]
    fn every_event_the_issue_names_has_its_kind_and_words() {
        let cases = [
            (
                Event::StepState {
                    step: "check".into(),
                    state: StepState::AwaitingOperator,
                    detail: Some("confirm the DNS TTL".into()),
                },
                "manual_pending",
                "cutover done r1 check",
            ),
            (
                Event::StepState {
                    step: "switch".into(),
                    state: StepState::Failed,
                    detail: Some("exit 3".into()),
                },
                "step_failed",
                "step `switch` FAILED: exit 3",
            ),
            (
                Event::Milestone {
                    name: "traffic-switched".into(),
                    at: None,
                    step: None,
                },
                "milestone",
                "milestone `traffic-switched` marked by op@host",
            ),
            (
                Event::ApprovalGranted {
                    step: "switch".into(),
                    reason: None,
                    auto: false,
                    identity: None,
                },
                "approval_granted",
                "step `switch` approved by op@host",
            ),
            (
                Event::ApprovalRejected {
                    step: "switch".into(),
                    reason: Some("p99 too high".into()),
                    identity: None,
                },
                "approval_rejected",
                "REJECTED by op@host: p99 too high",
            ),
            (
                Event::ApprovalEscalated {
                    step: "switch".into(),
                    waited_ms: 600_000,
                    to: vec!["team:leads".into()],
                },
                "approval_escalated",
                "ESCALATED to team:leads (carol, dan)",
            ),
            (
                Event::ApprovalReminder {
                    step: "switch".into(),
                    waited_ms: 600_000,
                    approvers: vec!["alice".into()],
                },
                "approval_pending",
                "REMINDER: step `switch` has waited 10m00s",
            ),
            (
                Event::Paused {
                    reason: crate::event::PauseReason::ManualStep,
                    step: Some("check".into()),
                    hint: String::new(),
                },
                "paused",
                "cutover resume r1",
            ),
            (
                Event::RunResumed { pid: 1 },
                "resumed",
                "resumed by op@host",
            ),
            (
                Event::Note {
                    text: "DBA confirms lag < 1s".into(),
                },
                "note",
                "note by op@host: DBA confirms lag < 1s",
            ),
        ];
        for (event, about, words) in cases {
            let n = told(event);
            assert_eq!(n.about, about, "{}", n.text);
            assert!(n.text.contains(words), "{about}: {}", n.text);
            assert!(NOTIFY_EVENTS.contains(&n.about), "{}", n.about);
        }
    }

    #[test]
    fn only_some_records_notify() {
        let quiet = Event::GateStarted {
            step: "s".into(),
            gate: "g".into(),
            when: "after".into(),
            source: "p".into(),
            query: "q".into(),
            condition: "< 1".into(),
            shadow: false,
        };
        assert!(notification(&rec(quiet), "r1", &state()).is_none());
        let n = told(Event::RollbackFinished {
            ok: false,
            failed: vec!["a".into()],
        });
        assert_eq!(n.about, "rollback_finished");
        assert!(n.text.contains("FAILED for a"));
    }

    #[test]
    fn notes_are_opt_in_and_pagerduty_hears_only_pages() {
        let channel = |kind, events: &[&str]| Notify {
            name: "c".into(),
            kind,
            url: "http://127.0.0.1:9/".into(),
            routing_key: None,
            events: events.iter().map(ToString::to_string).collect(),
        };
        assert!(!channel(NotifyKind::Slack, &[]).wants("note"));
        assert!(channel(NotifyKind::Slack, &[]).wants("milestone"));
        assert!(channel(NotifyKind::Slack, &["note"]).wants("note"));
        assert!(!channel(NotifyKind::Slack, &["note"]).wants("paused"));
        assert!(channel(NotifyKind::Pagerduty, &[]).wants("trigger_fired"));
        assert!(!channel(NotifyKind::Pagerduty, &[]).wants("approval_pending"));
    }

    #[test]
    fn every_kind_sent_is_a_known_filter_name() {
        let records = [
            Event::TriggerFired {
                trigger: "t".into(),
                action: "notify".into(),
                condition: "> 1".into(),
                value: Some(2.0),
                held_ms: 0,
            },
            Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec![],
                partial: vec![],
            },
            Event::RollbackFinished {
                ok: true,
                failed: vec![],
            },
            finished(Outcome::Completed),
        ];
        for event in records {
            let n = told(event);
            assert!(NOTIFY_EVENTS.contains(&n.about), "{}", n.about);
        }
    }

    /// A webhook that accepts the connection and never answers.
    async fn silent_webhook() -> (String, tokio::task::JoinHandle<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((conn, _)) = listener.accept().await {
                held.push(conn);
            }
        });
        (format!("http://{addr}/hook"), task)
    }

    #[tokio::test]
    async fn a_try_still_in_flight_at_the_end_is_counted() {
        let (url, server) = silent_webhook().await;
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut notifier = Notifier::new(
            vec![Notify {
                name: "pager".into(),
                kind: NotifyKind::Generic,
                url,
                routing_key: None,
                events: Vec::new(),
            }],
            Arc::new(Masker::default()),
            "r1".into(),
            tx,
            true,
        );
        notifier.observe(
            &rec(Event::RollbackStarted {
                reason: RollbackReason::Operator,
                steps: vec![],
                partial: vec![],
            }),
            &state(),
        );
        // Well within the first try's timeout: one request is on its way.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let undelivered = notifier.drain_within(Duration::from_millis(200)).await;
        server.abort();
        assert_eq!(undelivered.len(), 1);
        let Event::NotifyFailed {
            notify,
            about,
            attempts,
            detail,
        } = &undelivered[0]
        else {
            panic!("not a notify_failed event");
        };
        assert_eq!(notify, "pager");
        assert_eq!(about, "rollback_started");
        assert_eq!(*attempts, 1, "{detail}");
        assert!(detail.contains("try 1 of 3"), "{detail}");
        assert!(!detail.contains("127.0.0.1"), "{detail}");
    }

    fn target(kind: NotifyKind) -> Notify {
        Notify {
            name: "t".into(),
            kind,
            url: "http://127.0.0.1:9/".into(),
            routing_key: Some("R0UT1NGKEY".into()),
            events: vec![],
        }
    }

    #[test]
    fn a_secret_json_escapes_is_masked_in_a_webhook_body() {
        let secret = "a\"b\\c\nd-é-secret\\";
        let masker = Masker::new([secret, "R0UT1NGKEY"]);
        let r = rec(Event::RunFinished(RunFinished {
            outcome: Outcome::Failed,
            exit_code: 1,
            dry_run: false,
            failed_steps: vec![secret.into()],
            queries_ok: None,
            message: format!("step failed: {secret}"),
        }));
        let n = notification(&r, "r1", &state()).unwrap();
        for kind in [
            NotifyKind::Slack,
            NotifyKind::Generic,
            NotifyKind::Pagerduty,
        ] {
            let body = masked_body(&target(kind), &n, &r, Some(Page::Trigger), &masker);
            let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
            let text = parsed["text"]
                .as_str()
                .or_else(|| parsed["payload"]["summary"].as_str())
                .unwrap();
            assert!(text.ends_with("step failed: ***"), "{body}");
            let escaped = serde_json::to_string(secret).unwrap();
            assert!(!body.contains(&escaped[1..escaped.len() - 1]), "{body}");
            assert!(!body.contains("secret"), "{body}");
        }
    }

    #[test]
    fn slack_sections_generic_shape_and_pagerduty_events() {
        let r = rec(Event::ApprovalRequested {
            step: "switch".into(),
            min: 1,
            approvers: vec![],
        });
        let n = notification(&r, "r1", &state()).unwrap();
        let slack = payload(NotifyKind::Slack, &n, &r, None);
        assert!(slack["text"].as_str().unwrap().contains("waits for 1"));
        let blocks = slack["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "section");
        let fields: Vec<&str> = blocks[1]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["text"].as_str().unwrap())
            .collect();
        assert_eq!(
            fields,
            ["*Run*\n`r1`", "*Step*\n`switch`", "*Owner*\nteam:dba"]
        );
        assert_eq!(
            blocks[2]["text"]["text"],
            "*To act*\n```cutover approve r1 switch --reason \"...\"```"
        );
        let generic = payload(NotifyKind::Generic, &n, &r, None);
        assert_eq!(generic["event"], "approval_pending");
        assert_eq!(generic["data"]["step"], "switch");
        assert_eq!(generic["run_id"], "r1");
        assert_eq!(generic["owner"], "team:dba");

        let fired = rec(Event::TriggerFired {
            trigger: "errors".into(),
            action: "rollback".into(),
            condition: "> 0.02".into(),
            value: Some(0.05),
            held_ms: 0,
        });
        let n = notification(&fired, "r1", &state()).unwrap();
        let body: Value = serde_json::from_str(&masked_body(
            &target(NotifyKind::Pagerduty),
            &n,
            &fired,
            Some(Page::Trigger),
            &Masker::new(["R0UT1NGKEY"]),
        ))
        .unwrap();
        assert_eq!(body["routing_key"], "R0UT1NGKEY", "{body}");
        assert_eq!(body["event_action"], "trigger");
        assert_eq!(body["dedup_key"], "cutover/r1");
        assert_eq!(body["payload"]["severity"], "critical");
        assert_eq!(body["payload"]["source"], "host");
        assert!(
            body["payload"]["summary"]
                .as_str()
                .unwrap()
                .contains("trigger `errors` FIRED")
        );
        let done = rec(finished(Outcome::Completed));
        let n = notification(&done, "r1", &state()).unwrap();
        let resolve = payload(NotifyKind::Pagerduty, &n, &done, Some(Page::Resolve));
        assert_eq!(
            resolve,
            serde_json::json!({"event_action": "resolve", "dedup_key": "cutover/r1"})
        );
    }

    #[test]
    fn pagerduty_resolves_only_a_run_that_paged() {
        let mut s = state();
        let done = rec(finished(Outcome::Completed));
        assert_eq!(page(&done, &s), None, "nothing to resolve");
        let fired = rec(Event::TriggerFired {
            trigger: "t".into(),
            action: "notify".into(),
            condition: "> 1".into(),
            value: Some(2.0),
            held_ms: 0,
        });
        s.apply(&fired);
        assert_eq!(page(&fired, &s), Some(Page::Trigger));
        assert_eq!(page(&done, &s), Some(Page::Resolve));
        let failed = rec(Event::RollbackFinished {
            ok: false,
            failed: vec!["a".into()],
        });
        assert_eq!(page(&failed, &s), Some(Page::Trigger));
    }
}
