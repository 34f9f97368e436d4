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

/// The width of the terminal on stderr; 80 off Unix, as when it cannot
/// be asked.
#[cfg(not(unix))]
fn terminal_width() -> usize {
    80
}

#[cfg(unix)]
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

/// A rate measured over less than this is noise (the first buffer of a
/// fast transfer "arrives" at GiB/s): none is shown before it.
pub const MIN_RATE_WINDOW: Duration = Duration::from_millis(500);

/// One line of progress, at most `width - 1` columns (the last column
/// would wrap on some terminals). Fields are dropped whole, least useful
/// first (time, rate, bytes, then the bar), never cut mid-word.
pub fn render(done: u64, total: Option<u64>, elapsed: Duration, width: usize) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = (elapsed >= MIN_RATE_WINDOW && secs > 0.0).then(|| done as f64 / secs);
    let room = width.saturating_sub(1);
    // Fields in the order shown, each with its priority (0 kept longest).
    let mut fields: Vec<(u8, String)> = Vec::new();
    let mut fraction = None;
    match total {
        Some(total) if total > 0 => {
            let f = (done as f64 / total as f64).min(1.0);
            fraction = Some(f);
            fields.push((0, format!("{:>3.0}%", f * 100.0)));
            fields.push((1, format!("{} / {}", bytes(done), bytes(total))));
            if let Some(rate) = rate {
                fields.push((3, format!("{}/s", bytes(rate as u64))));
            }
            let time = match rate {
                Some(rate) if rate > 0.0 && done < total => {
                    format!("{} left", duration((total - done) as f64 / rate))
                }
                _ => duration(secs),
            };
            fields.push((4, time));
        }
        _ => {
            fields.push((0, bytes(done)));
            if let Some(rate) = rate {
                fields.push((3, format!("{}/s", bytes(rate as u64))));
            }
            fields.push((4, duration(secs)));
        }
    }
    let text = |fields: &[(u8, String)]| {
        fields
            .iter()
            .map(|(_, f)| f.as_str())
            .collect::<Vec<_>>()
            .join("  ")
    };
    while text(&fields).len() > room {
        let Some(drop) = (0..fields.len()).max_by_key(|&i| (fields[i].0, i)) else {
            break;
        };
        fields.remove(drop);
    }
    let text = text(&fields);
    if text.len() > room {
        return String::new();
    }
    // The bar takes what room is left, up to 40 columns, and only when it
    // can show something (at least 10 columns inside its brackets).
    let bar_width = room.saturating_sub(text.len() + 3).min(40);
    match fraction {
        Some(f) if bar_width >= 10 => {
            let filled = (f * bar_width as f64) as usize;
            format!(
                "[{}{}] {text}",
                "#".repeat(filled),
                "-".repeat(bar_width - filled)
            )
        }
        _ => text,
    }
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
    fn no_rate_before_half_a_second_of_measurement() {
        // The first buffer of a fast transfer: 1 MiB in 0.1 ms.
        let early = render(1 << 20, Some(1 << 30), Duration::from_micros(100), 100);
        assert!(!early.contains("/s"), "{early}");
        assert!(!early.contains("left"), "{early}");
        let early = render(1 << 20, None, Duration::from_millis(499), 100);
        assert_eq!(early, "1.0 MiB  0s");
        let measured = render(1 << 20, None, MIN_RATE_WINDOW, 100);
        assert_eq!(measured, "1.0 MiB  2.0 MiB/s  1s");
    }

    #[test]
    fn every_width_fits_and_no_field_is_cut() {
        let known = ["50%", "512.0 MiB / 1.0 GiB", "256.0 MiB/s", "2s left"];
        let unknown = ["3.0 MiB", "34.1 KiB/s", "1m30s"];
        for width in 0..=120 {
            for (line, whole) in [
                (
                    render(512 << 20, Some(1 << 30), Duration::from_secs(2), width),
                    &known[..],
                ),
                (
                    render(3 << 20, None, Duration::from_secs(90), width),
                    &unknown[..],
                ),
            ] {
                assert!(line.len() < width.max(1), "width {width}: {line:?}");
                let text = line.rsplit("] ").next().unwrap_or(&line);
                for field in text.split("  ").filter(|f| !f.is_empty()) {
                    assert!(
                        whole.contains(&field.trim_start()),
                        "width {width}: {field:?} is cut in {line:?}"
                    );
                }
            }
        }
        // The percentage and the bytes outlast the rate and the time.
        assert_eq!(
            render(512 << 20, Some(1 << 30), Duration::from_secs(2), 30),
            " 50%  512.0 MiB / 1.0 GiB"
        );
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
