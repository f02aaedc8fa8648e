//! OS signals (SIGINT, SIGTERM) turned into scheduler messages.
//!
//! Steps run in their own process groups, so a terminal's Ctrl-C reaches only
//! cutover, which decides: the first signal journals `interrupted` and stops
//! the run (in-flight groups get SIGTERM, grace, SIGKILL); a second one
//! kills them at once. (The pause menu of issue 6 builds on this.)

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;

use super::step::Msg;

/// Forward SIGINT and SIGTERM to the scheduler until the handles are aborted.
pub(crate) fn listen(tx: &UnboundedSender<Msg>) -> Vec<JoinHandle<()>> {
    let mut handles = Vec::new();
    for (kind, name) in [
        (SignalKind::interrupt(), "SIGINT"),
        (SignalKind::terminate(), "SIGTERM"),
        (SignalKind::hangup(), "SIGHUP"),
    ] {
        let Ok(mut stream) = signal(kind) else {
            tracing::warn!("cannot listen for {name}");
            continue;
        };
        let tx = tx.clone();
        handles.push(tokio::spawn(async move {
            while stream.recv().await.is_some() {
                if tx.send(Msg::Interrupt(name)).is_err() {
                    return;
                }
            }
        }));
    }
    handles
}
