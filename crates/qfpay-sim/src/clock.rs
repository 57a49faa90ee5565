//! The simulated clock: real time multiplied by the time scale, plus whatever tests added.

use std::sync::Mutex;
use std::time::Instant;

/// Simulated Unix time, in seconds with a fraction.
pub struct Clock {
    started: Instant,
    start_unix: f64,
    scale: f64,
    advanced: Mutex<f64>,
}

impl Clock {
    /// A clock at `start_unix` running `scale` times faster than real time.
    pub fn new(start_unix: i64, scale: f64) -> Self {
        Clock { started: Instant::now(), start_unix: start_unix as f64, scale, advanced: Mutex::new(0.0) }
    }

    /// Now, in simulated Unix seconds.
    pub fn now(&self) -> f64 {
        let advanced = *self.advanced.lock().unwrap_or_else(|e| e.into_inner());
        self.start_unix + self.started.elapsed().as_secs_f64() * self.scale + advanced
    }

    /// Now, whole seconds.
    pub fn now_secs(&self) -> i64 {
        self.now().floor() as i64
    }

    /// Real time since start.
    pub fn real_elapsed(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: f64) {
        *self.advanced.lock().unwrap_or_else(|e| e.into_inner()) += seconds;
    }
}
