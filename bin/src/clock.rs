//! The wall clock, injected wherever time is needed.

use chrono::{DateTime, Utc};
use quay_ports::clock::Clock;

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        #[expect(
            clippy::disallowed_methods,
            reason = "the composition root owns the wall clock"
        )]
        Utc::now()
    }
}
