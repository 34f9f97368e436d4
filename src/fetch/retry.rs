//! `--retry N`, as curl does it: a failed attempt is tried again, up to N
//! times, when it timed out (exit 28) or ended on an HTTP 408, 429, 500,
//! 502, 503 or 504; with `--retry-connrefused` also when the connection
//! was refused, with `--retry-all-errors` after any failure. Between
//! attempts rawget waits `--retry-delay`, else the response's
//! `Retry-After` (delta-seconds), else 1 s doubling each time (at most 10
//! minutes), never past `--retry-max-time`. Each attempt opens its outputs
//! afresh (the safe `-o` left FILE as it was, so it starts over; `-C -`
//! resumes from what FILE holds then) and has the whole of `-m`. stderr
//! says which attempt failed, why, and when the next starts.

use std::time::{Duration, Instant};

use crate::error::{one_line, Error, ErrorKind, Result};
use crate::options::{Options, RetryPlan};
use crate::output::diag;
use crate::response::head::Head;

use super::{attempt, Fetch};

/// HTTP statuses curl retries (RFC 9110: 408 Request Timeout, 429 Too
/// Many Requests, and the 5xx a retry may cure).
const TRANSIENT: [u16; 6] = [408, 429, 500, 502, 503, 504];

/// The longest backoff, as curl's.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// A final status worth retrying, and its `Retry-After`.
#[derive(Debug, Clone)]
pub(super) struct Transient {
    retry_after: Option<Duration>,
}

impl Fetch<'_> {
    /// With an attempt left, a transient status ends this attempt before
    /// any byte of its body is written.
    pub(super) fn check_transient(&mut self, head: &Head) -> Result<()> {
        if !self.retry_left || !TRANSIENT.contains(&head.status) {
            return Ok(());
        }
        let retry_after = head
            .values("Retry-After")
            .next()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        self.transient = Some(Transient { retry_after });
        Err(Error::new(
            ErrorKind::HttpFail,
            format!("HTTP {} {}", head.status, head.reason.escape_debug()),
        ))
    }
}

/// Runs the fetch, retrying as the plan says.
pub(super) fn run(opts: &Options) -> Result<()> {
    let plan = &opts.retry;
    let started = Instant::now();
    let mut next = opts.clone();
    let mut backoff = Duration::from_secs(1);
    let mut n = 0u32;
    loop {
        n += 1;
        // --retry-max-time bounds when a retry may start; the first
        // attempt is not one.
        let within = plan
            .max_time
            .is_none_or(|max| n == 1 || started.elapsed() < max);
        let left = n <= plan.count && within;
        let (result, transient) = attempt(&next, left);
        let Err(e) = result else {
            return Ok(());
        };
        if !left || !(transient.is_some() || worth_retrying(&e, plan)) {
            return Err(e);
        }
        let mut wait = match (plan.delay, transient.as_ref().and_then(|t| t.retry_after)) {
            (Some(d), _) => d,
            (None, Some(after)) => after,
            (None, None) => backoff,
        };
        backoff = (backoff * 2).min(MAX_BACKOFF);
        if let Some(max) = plan.max_time {
            wait = wait.min(max.saturating_sub(started.elapsed()));
        }
        if !opts.report.silent {
            let retries = plan.count + 1 - n;
            diag::line(format_args!(
                "rawget: warning: attempt {n} failed: {}; retrying in {} s ({retries} {} left)",
                one_line(&e),
                seconds(wait),
                if retries == 1 { "retry" } else { "retries" }
            ));
        }
        std::thread::sleep(wait);
        next = opts.next_attempt();
    }
}

/// Whether a failure other than a transient status is retried.
fn worth_retrying(e: &Error, plan: &RetryPlan) -> bool {
    plan.all_errors
        || e.kind() == ErrorKind::Timeout
        || (plan.connrefused && e.kind() == ErrorKind::Connect && refused(e))
}

/// Whether the connection was refused (ECONNREFUSED somewhere in the chain).
fn refused(e: &Error) -> bool {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return true;
            }
        }
        next = err.source();
    }
    // The connect error names each refused address in its message.
    e.to_string().contains("refused")
}

/// A wait as a short number of seconds: `1`, `0.25`.
fn seconds(d: Duration) -> String {
    let s = format!("{:.3}", d.as_secs_f64());
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
