//! What one worker of a timed run saw, shared by the call runs and the screening stream.

use std::time::Duration;

/// What one worker saw.
#[derive(Default)]
pub(super) struct Worker {
    pub(super) latencies_ns: Vec<u64>,
    pub(super) reply_bytes: usize,
    pub(super) errors: u64,
    pub(super) first_error: Option<String>,
    pub(super) ran_out: bool,
}

/// A latency in whole nanoseconds, saturating.
pub(super) fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
