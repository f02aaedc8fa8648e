//! Effects: what the scheduler does once the events that decided it are
//! durable (spawn a command, gates or a rollback step, signal groups, arm a
//! trigger watcher, release a task waiting for durability), and how it stops
//! everything when the journal cannot be written.

use std::time::Duration;

use tokio::sync::{mpsc, watch};

use super::process::KillLevel;
use super::scheduler::{Effect, Scheduler};
use super::step::{Msg, run_gates, run_rollback, run_step};

impl Scheduler {
    pub(super) fn perform(&mut self) {
        for effect in std::mem::take(&mut self.effects) {
            match effect {
                Effect::Ack(ack) => {
                    let _ = ack.send(());
                }
                Effect::Exec(id) => {
                    let (kill_tx, kill_rx) = watch::channel(KillLevel::None);
                    self.tasks.kills.insert(id.clone(), kill_tx);
                    tokio::spawn(run_step(self.steps[&id].clone(), self.ctx.clone(), kill_rx));
                }
                Effect::Rollback(id) => {
                    let (kill_tx, kill_rx) = watch::channel(KillLevel::None);
                    self.tasks.kills.insert(format!("rollback:{id}"), kill_tx);
                    tokio::spawn(run_rollback(
                        self.steps[&id].clone(),
                        self.ctx.clone(),
                        kill_rx,
                    ));
                }
                Effect::Gates(id, when) => {
                    let handle = tokio::spawn(run_gates(
                        self.steps[&id].clone(),
                        when,
                        self.signals.clone(),
                        self.baselines.clone(),
                        self.ctx.masker.clone(),
                        self.ctx.tx.clone(),
                        self.opts.dry_run,
                    ));
                    self.tasks.gates.insert(id, handle);
                }
                Effect::Kill(level) => {
                    for (id, kill) in &self.tasks.kills {
                        // A graceful stop never touches a rollback in progress.
                        if level == KillLevel::Graceful && id.starts_with("rollback:") {
                            continue;
                        }
                        let _ = kill.send(level);
                    }
                }
                Effect::Arm(id) => {
                    let Some(trigger) = self.triggers.iter().find(|t| t.id == id).cloned() else {
                        continue;
                    };
                    let (up_tx, mut up_rx) = mpsc::unbounded_channel();
                    let tx = self.ctx.tx.clone();
                    let baseline = self.baselines.get(&id).copied();
                    let watch = self.signals.watch(&trigger, baseline, up_tx);
                    let tid = id.clone();
                    let handle = tokio::spawn(async move {
                        let forward = async {
                            while let Some(update) = up_rx.recv().await {
                                if tx
                                    .send(Msg::Trigger {
                                        trigger: tid.clone(),
                                        update,
                                    })
                                    .is_err()
                                {
                                    return;
                                }
                            }
                        };
                        tokio::join!(watch, forward);
                    });
                    if let Some(old) = self.tasks.watchers.insert(id, handle) {
                        old.abort();
                    }
                }
            }
        }
    }

    pub(super) async fn emergency_stop(&mut self) {
        for kill in self.tasks.kills.values() {
            let _ = kill.send(KillLevel::Now);
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !self.tasks.kills.is_empty() {
            let msg = tokio::select! {
                m = self.rx.recv() => m,
                () = tokio::time::sleep_until(deadline) => return,
            };
            match msg {
                Some(Msg::Phase { step, .. }) => {
                    self.tasks.kills.remove(&step);
                }
                Some(Msg::RollbackDone { step, .. }) => {
                    self.tasks.kills.remove(&format!("rollback:{step}"));
                }
                Some(Msg::Durable(_, ack)) => drop(ack),
                Some(_) => {}
                None => return,
            }
        }
    }

    pub(super) fn stop_background(&mut self) {
        for (_, h) in self.tasks.watchers.drain() {
            h.abort();
        }
        for (_, h) in self.tasks.gates.drain() {
            h.abort();
        }
    }
}
