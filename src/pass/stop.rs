//! The stop signal of a pass, and its one owner of SIGTERM and SIGINT.
//!
//! Signals never interrupt a Trello write: [`Stop::watch_signals`] turns
//! SIGTERM (or Ctrl-C) into the shared flag, which a running pass checks
//! between stages and between actions, finishing the action in hand
//! (journal settled, state flushed). The daemon waits on [`Stop::raised`]
//! between passes; `colisync once` only lets the pass see the flag.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::Notify;

/// Raised by SIGTERM; read by the pass between actions.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    flag: Arc<AtomicBool>,
    raised: Arc<Notify>,
}

impl Stop {
    pub fn raise(&self) {
        self.flag.store(true, Ordering::SeqCst);
        self.raised.notify_waiters();
    }

    /// The shared flag, for `plan::ApplyOptions::stop`.
    pub(crate) fn flag(&self) -> Arc<AtomicBool> {
        self.flag.clone()
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Resolves once the flag is raised (at once if it already is).
    pub(crate) async fn raised(&self) {
        loop {
            let notified = self.raised.notified();
            tokio::pin!(notified);
            // Registered before the check: a raise in between still wakes.
            notified.as_mut().enable();
            if self.is_raised() {
                return;
            }
            notified.await;
        }
    }

    /// Raises the flag on SIGTERM or SIGINT for as long as the returned
    /// guard lives. The one place colisync listens for them.
    pub fn watch_signals(&self) -> std::io::Result<SignalWatch> {
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let stop = self.clone();
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("stop requested: finishing the current action, then stopping");
            stop.raise();
        });
        Ok(SignalWatch(task))
    }
}

/// Stops listening for the signals when dropped.
#[derive(Debug)]
pub struct SignalWatch(tokio::task::JoinHandle<()>);

impl Drop for SignalWatch {
    fn drop(&mut self) {
        self.0.abort();
    }
}
