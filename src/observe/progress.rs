//! The progress bar on stderr: bytes, total when known, rate, time left.
//!
//! Shown only when stderr is a terminal, the body goes to a file and `-s`
//! (or `-v`, whose lines it would garble) is not given; never on a pipe.
//! Redrawn at most ten times a second, so a fast transfer pays one clock
//! read per buffer and nothing else. Rendering is a pure function, tested
//! on its own.

use std::time::{Duration, Instant};

use crate::output::diag;

/// Time between redraws.
const REDRAW: Duration = Duration::from_millis(100);

/// A progress bar that draws itself when enabled.
#[derive(Debug)]
pub struct Progress {
    enabled: bool,
    start: Instant,
    last: Option<Instant>,
    total: Option<u64>,
    done: u64,
}

impl Progress {
    /// A bar that draws when `enabled` (the options decide: stderr is a
    /// terminal and the body goes to a file).
    pub fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            start: Instant::now(),
            last: None,
            total: None,
            done: 0,
        }
    }

    /// Starts a new body of `total` bytes (when known).
    pub fn start(&mut self, total: Option<u64>) {
        self.start = Instant::now();
        self.total = total;
        self.done = 0;
    }

    /// Counts `n` more body bytes and redraws if it is time.
    pub fn advance(&mut self, n: u64) {
        self.done += n;
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self.last.is_none_or(|l| now.duration_since(l) >= REDRAW) {
            self.last = Some(now);
            self.draw();
        }
    }

    /// Draws the final state and ends the line.
    pub fn finish(&mut self) {
        if self.enabled && self.last.is_some() {
            self.draw();
            diag::write(b"\n");
            self.last = None;
        }
    }

    fn draw(&self) {
        let line = render(
            self.done,
            self.total,
            self.start.elapsed(),
            terminal_width(),
        );
        diag::write(format!("\r{line}\x1b[K").as_bytes());
    }
}

fn terminal_width() -> usize {
    // SAFETY: winsize is a plain C struct, for which all zeroes is valid.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills a winsize; a failure leaves it zeroed.
    let ok = unsafe { libc::ioctl(2, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

/// One line of progress, at most `width` columns.
pub fn render(done: u64, total: Option<u64>, elapsed: Duration, width: usize) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 { done as f64 / secs } else { 0.0 };
    let mut line = match total {
        Some(total) if total > 0 => {
            let fraction = (done as f64 / total as f64).min(1.0);
            let left = if rate > 0.0 && done < total {
                format!("{} left", duration((total - done) as f64 / rate))
            } else {
                duration(secs)
            };
            let text = format!(
                " {:>3.0}%  {} / {}  {}/s  {left}",
                fraction * 100.0,
                bytes(done),
                bytes(total),
                bytes(rate as u64)
            );
            let bar_width = width.saturating_sub(text.len() + 2).min(40);
            let filled = (fraction * bar_width as f64) as usize;
            format!(
                "[{}{}]{text}",
                "#".repeat(filled),
                "-".repeat(bar_width - filled)
            )
        }
        _ => format!(
            "{}  {}/s  {}",
            bytes(done),
            bytes(rate as u64),
            duration(secs)
        ),
    };
    line.truncate(width.saturating_sub(1));
    line
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn duration(secs: f64) -> String {
    let s = secs.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_total() {
        let line = render(512 << 20, Some(1 << 30), Duration::from_secs(2), 100);
        assert!(
            line.starts_with("[####################--------------------]  50%"),
            "{line}"
        );
        assert!(
            line.contains("512.0 MiB / 1.0 GiB  256.0 MiB/s  2s left"),
            "{line}"
        );
        assert!(line.len() < 100);
    }

    #[test]
    fn complete_and_narrow() {
        let line = render(1000, Some(1000), Duration::from_millis(500), 80);
        assert!(line.contains("100%  1000 B / 1000 B"), "{line}");
        assert!(!line.contains("left"));
        assert!(render(5, Some(10), Duration::from_secs(1), 20).len() <= 19);
    }

    #[test]
    fn unknown_total() {
        assert_eq!(
            render(3 << 20, None, Duration::from_secs(90), 80),
            "3.0 MiB  34.1 KiB/s  1m30s"
        );
    }

    #[test]
    fn units_and_durations() {
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(duration(3725.0), "1h02m");
    }

    #[test]
    fn disabled_bar_only_counts() {
        let mut p = Progress {
            enabled: false,
            start: Instant::now(),
            last: None,
            total: None,
            done: 0,
        };
        p.advance(10);
        p.finish();
        assert_eq!((p.done, p.last), (10, None));
    }
}
