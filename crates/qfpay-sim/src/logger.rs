//! The request log, written by a thread of its own so the simulator never waits on it.
//!
//! Handlers run on the async runtime; a `println!` there blocks a runtime thread whenever
//! stdout is a pipe nobody reads (a full pipe) and panics when stdout is closed. Here a line
//! is handed over through a bounded channel instead: when the writer falls behind and the
//! channel is full, the line is dropped and counted (`/sim/stats`), and a write that fails is
//! ignored. Either way the answer is the same.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;

/// Lines that may wait for the writer; past this, new lines are dropped.
const QUEUE_LINES: usize = 1024;

/// A handle on the log writer. Cheap to share; lines are never waited on.
#[derive(Debug)]
pub struct Logger {
    sender: Option<SyncSender<String>>,
    dropped: Arc<AtomicU64>,
}

impl Logger {
    /// A logger that writes to stdout from a thread of its own.
    pub fn stdout() -> Self {
        let (sender, receiver) = sync_channel::<String>(QUEUE_LINES);
        let spawned = std::thread::Builder::new().name("qfpay-sim-log".into()).spawn(move || {
            for line in receiver {
                // A closed or broken stdout must not stop the simulator: the line is lost.
                let _ = std::io::stdout().lock().write_all(line.as_bytes());
            }
        });
        // Without a thread (the system refused one) the simulator runs on, unlogged.
        Logger { sender: spawned.ok().map(|_| sender), dropped: Arc::default() }
    }

    /// A logger that writes nothing (tests that drive the router in-process).
    pub fn off() -> Self {
        Logger { sender: None, dropped: Arc::default() }
    }

    /// Hands a line to the writer, or drops and counts it when the writer is behind.
    pub fn line(&self, mut text: String) {
        let Some(sender) = &self.sender else { return };
        text.push('\n');
        match sender.try_send(text) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Lines dropped because the writer was behind (or gone).
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_drops_and_counts_without_waiting() {
        let (sender, receiver) = sync_channel::<String>(2);
        let logger = Logger { sender: Some(sender), dropped: Arc::default() };
        let started = std::time::Instant::now();
        for i in 0..10 {
            logger.line(format!("line {i}"));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "never waits");
        assert_eq!(logger.dropped(), 8);
        drop(receiver);
        logger.line("after the writer is gone".into());
        assert_eq!(logger.dropped(), 9);
        Logger::off().line("nowhere".into());
    }
}
