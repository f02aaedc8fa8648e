//! Webhooks (`[notify.NAME]`): the run tells people about itself. Which
//! records are worth a message and what it says is `describe::notification`;
//! delivery runs in background tasks, [`ATTEMPTS`] tries with a short
//! [`TIMEOUT`] each, so a webhook that is down or slow never delays a step.
//! A delivery that fails for good is journaled as `notify_failed` (masked:
//! webhook URLs are secrets and never appear in it). Dry runs notify no one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::step::Msg;
pub(crate) use crate::describe::{Notification, notification};
use crate::event::{Event, Record};
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

/// The request body for a webhook of `kind`.
pub(crate) fn payload(kind: NotifyKind, n: &Notification, record: &Record) -> Value {
    match kind {
        NotifyKind::Slack => json!({ "text": n.text }),
        NotifyKind::Generic => {
            let (_, data) = record.event.to_parts();
            json!({
                "event": n.about,
                "text": n.text,
                "run_id": record.run_id,
                "seq": record.seq,
                "ts": record.ts,
                "actor": record.who(),
                "data": data,
            })
        }
    }
}

/// The request body for a webhook of `kind`, masked. Strings are masked in
/// the tree, before serializing: JSON escapes a secret holding `"`, `\` or a
/// control character, and the escaped text would no longer match.
fn masked_body(kind: NotifyKind, n: &Notification, record: &Record, masker: &Masker) -> String {
    let mut body = payload(kind, n, record);
    masker.mask_json(&mut body);
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

    /// A record was journaled: send what it deserves to every target that wants it.
    pub(crate) fn observe(&mut self, record: &Record) {
        if !self.enabled || self.targets.is_empty() {
            return;
        }
        let Some(n) = notification(record, &self.run_ref) else {
            return;
        };
        self.inflight.retain(|d| !d.handle.is_finished());
        for target in &self.targets {
            if !target.events.is_empty() && !target.events.iter().any(|e| e == n.about) {
                continue;
            }
            let body = masked_body(target.kind, &n, record, &self.masker);
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
    use crate::event::RollbackReason;

    fn rec(event: Event) -> Record {
        Record {
            seq: 3,
            ts: "t".into(),
            run_id: "r1".into(),
            actor: "op@host".into(),
            on_behalf: None,
            event,
        }
    }

    #[test]
    fn approval_pending_carries_the_exact_command() {
        let n = notification(
            &rec(Event::ApprovalRequested {
                step: "switch".into(),
                min: 2,
                approvers: vec!["team:sre".into()],
            }),
            "r1",
        )
        .unwrap();
        assert_eq!(n.about, "approval_pending");
        assert!(
            n.text
                .contains("cutover approve r1 switch --reason \"...\""),
            "{}",
            n.text
        );
        assert!(n.text.contains("from team:sre"), "{}", n.text);
    }

    #[test]
    fn only_some_records_notify() {
        assert!(notification(&rec(Event::Note { text: "x".into() }), "r1").is_none());
        let n = notification(
            &rec(Event::RollbackFinished {
                ok: false,
                failed: vec!["a".into()],
            }),
            "r1",
        )
        .unwrap();
        assert_eq!(n.about, "rollback_finished");
        assert!(n.text.contains("FAILED for a"));
    }

    #[test]
    fn every_kind_sent_is_a_known_filter_name() {
        use crate::event::{Outcome, RunFinished};
        let records = [
            Event::ApprovalRequested {
                step: "s".into(),
                min: 1,
                approvers: vec![],
            },
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
            Event::RunFinished(RunFinished {
                outcome: Outcome::Completed,
                exit_code: 0,
                dry_run: false,
                failed_steps: vec![],
                queries_ok: None,
                message: "ok".into(),
            }),
        ];
        for event in records {
            let n = notification(&rec(event), "r1").unwrap();
            assert!(
                crate::runbook::model::NOTIFY_EVENTS.contains(&n.about),
                "{}",
                n.about
            );
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
                events: Vec::new(),
            }],
            Arc::new(Masker::default()),
            "r1".into(),
            tx,
            true,
        );
        notifier.observe(&rec(Event::RollbackStarted {
            reason: RollbackReason::Operator,
            steps: vec![],
            partial: vec![],
        }));
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

    #[test]
    fn a_secret_json_escapes_is_masked_in_a_webhook_body() {
        let secret = "a\"b\\c\nd-é-secret\\";
        let masker = Masker::new([secret]);
        let r = rec(Event::RunFinished(crate::event::RunFinished {
            outcome: crate::event::Outcome::Failed,
            exit_code: 1,
            dry_run: false,
            failed_steps: vec![secret.into()],
            queries_ok: None,
            message: format!("step failed: {secret}"),
        }));
        let n = notification(&r, "r1").unwrap();
        for kind in [NotifyKind::Slack, NotifyKind::Generic] {
            let body = masked_body(kind, &n, &r, &masker);
            let parsed: Value = serde_json::from_str(&body).expect("valid JSON");
            assert!(
                parsed["text"]
                    .as_str()
                    .unwrap()
                    .ends_with("step failed: ***"),
                "{body}"
            );
            let escaped = serde_json::to_string(secret).unwrap();
            assert!(!body.contains(&escaped[1..escaped.len() - 1]), "{body}");
            assert!(!body.contains("secret"), "{body}");
        }
    }

    #[test]
    fn slack_and_generic_shapes() {
        let r = rec(Event::RollbackStarted {
            reason: RollbackReason::Operator,
            steps: vec!["b".into(), "a".into()],
            partial: vec!["b".into()],
        });
        let n = notification(&r, "r1").unwrap();
        let slack = payload(NotifyKind::Slack, &n, &r);
        assert_eq!(slack.as_object().unwrap().len(), 1);
        assert!(slack["text"].as_str().unwrap().contains("ROLLBACK"));
        let generic = payload(NotifyKind::Generic, &n, &r);
        assert_eq!(generic["event"], "rollback_started");
        assert_eq!(generic["data"]["steps"][0], "b");
        assert_eq!(generic["run_id"], "r1");
    }
}
