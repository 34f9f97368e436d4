//! The wire view on stderr: `-v` lines and `--timing`.
//!
//! `* ` lines narrate connection steps, `> ` lines are the request exactly
//! as sent, `< ` lines each response head as received. Bytes that are not
//! printable are shown escaped (`\x1b`, `\r` at a line end is dropped), so a
//! hostile server cannot write control sequences to the user's terminal.
//! Everything goes out through [`crate::output::diag`], so a stderr that
//! cannot be written loses the lines, never the fetch.

use std::time::{Duration, Instant};

use crate::observe::wire_trace::{Kind, WireTrace};
use crate::output::diag;

/// Where the time went, measured from the start of the fetch.
#[derive(Debug, Clone, Default)]
pub struct Timings {
    /// Name resolution done.
    pub dns: Option<Duration>,
    /// TCP connected (to the proxy, through one).
    pub connect: Option<Duration>,
    /// TCP connected to the proxy (through a proxy only).
    pub proxy_connect: Option<Duration>,
    /// TLS handshake with an https proxy done.
    pub proxy_tls: Option<Duration>,
    /// The proxy's 2xx reply to CONNECT received: the tunnel is up.
    pub tunnel: Option<Duration>,
    /// TLS handshake done.
    pub tls: Option<Duration>,
    /// Request written.
    pub sent: Option<Duration>,
    /// First response byte read.
    pub first_byte: Option<Duration>,
    /// Everything done.
    pub total: Option<Duration>,
    /// Bytes received, heads and framing included.
    pub received: u64,
    /// Body bytes written.
    pub body: u64,
}

/// Writes the wire view when asked for; otherwise every call is a no-op.
#[derive(Debug)]
pub struct Trace {
    verbose: bool,
    timing: bool,
    start: Instant,
    /// Measured times, filled in as the fetch goes: of the hop under way
    /// (from the fetch's start), and after [`Trace::summary`] of the whole.
    pub timings: Timings,
    /// When the hop under way started, from the fetch's start; `None`
    /// before [`Trace::begin_hop`] (a driver that has no hops).
    hop_start: Option<Duration>,
    /// The hops done, each timed from its own start (`total` is its
    /// length), so that a later hop's DNS lookup never appears before an
    /// earlier hop's first byte.
    pub hops: Vec<Timings>,
    /// `--trace FILE` / `--trace-ascii FILE`: every byte, in curl's
    /// layout. Behind a lock because steps are reported through `&Trace`.
    wire: Option<std::sync::Mutex<WireTrace>>,
    /// Dim the prefixes (`--color`, a terminal).
    colour: bool,
}

impl Trace {
    /// A trace that prints steps when `verbose`, times when `timing`.
    pub fn new(verbose: bool, timing: bool) -> Trace {
        Trace {
            verbose,
            timing,
            start: Instant::now(),
            timings: Timings::default(),
            hop_start: None,
            hops: Vec::new(),
            wire: None,
            colour: false,
        }
    }

    /// Dims the `* `, `> `, `< ` prefixes (stderr is a terminal).
    pub fn with_colour(mut self, colour: bool) -> Trace {
        self.colour = colour;
        self
    }

    fn prefix(&self, p: &'static [u8]) -> std::borrow::Cow<'static, [u8]> {
        if self.colour {
            crate::output::colour::dim(p).into()
        } else {
            p.into()
        }
    }

    /// Also writes every byte, and each step as an info line, to `wire`.
    pub fn with_wire(mut self, wire: Option<WireTrace>) -> Trace {
        self.wire = wire.map(std::sync::Mutex::new);
        self
    }

    /// Whether `--trace` sees the bytes (then nothing may bypass user
    /// space: no splice).
    pub fn wants_bytes(&self) -> bool {
        self.wire.is_some()
    }

    fn wire(&self, f: impl FnOnce(&mut WireTrace)) {
        if let Some(wire) = &self.wire {
            // A poisoned lock only means a panic elsewhere; the trace goes on.
            let mut wire = wire.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut wire);
        }
    }

    /// Body bytes as received (chunked framing included), for `--trace`.
    pub fn body_received(&self, bytes: &[u8]) {
        self.wire(|w| w.block(Kind::RecvData, bytes));
    }

    /// `< ` lines for trailers under `-v`; `--trace` already has their
    /// bytes, read with the body.
    pub fn trailers(&self, bytes: &[u8]) {
        if self.verbose {
            diag::write(&prefixed(&self.prefix(b"< "), bytes));
        }
    }

    /// Starts a new hop's clock (a request, redirects each their own);
    /// the hop before is kept in [`Trace::hops`].
    pub fn begin_hop(&mut self) {
        self.end_hop();
        self.hop_start = Some(self.elapsed());
    }

    /// Moves the hop under way into [`Trace::hops`], its times made
    /// relative to its own start.
    fn end_hop(&mut self) {
        let Some(offset) = self.hop_start.take() else {
            return;
        };
        let mut t = std::mem::take(&mut self.timings);
        let own = |d: Option<Duration>| d.map(|d| d.saturating_sub(offset));
        (t.dns, t.connect, t.tls, t.sent, t.first_byte) = (
            own(t.dns),
            own(t.connect),
            own(t.tls),
            own(t.sent),
            own(t.first_byte),
        );
        (t.proxy_connect, t.proxy_tls, t.tunnel) =
            (own(t.proxy_connect), own(t.proxy_tls), own(t.tunnel));
        t.total = Some(self.elapsed().saturating_sub(offset));
        self.hops.push(t);
    }

    /// Whether `-v` is on.
    pub fn verbose(&self) -> bool {
        self.verbose
    }

    /// Time since the fetch started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// A `* ` step line.
    pub fn step(&self, msg: impl FnOnce() -> String) {
        if !self.verbose && self.wire.is_none() {
            return;
        }
        let msg = msg();
        if self.verbose {
            let star = self.prefix(b"* ");
            diag::line(format_args!("{}{msg}", String::from_utf8_lossy(&star)));
        }
        self.wire(|w| w.info(&msg));
    }

    /// `> ` lines: the request exactly as sent.
    pub fn request(&self, bytes: &[u8]) {
        if self.verbose {
            diag::write(&prefixed(&self.prefix(b"> "), bytes));
        }
        self.wire(|w| w.sent(bytes));
    }

    /// `> ` lines too: request body bytes written after the head; `--trace`
    /// shows them as data.
    pub fn request_body(&self, bytes: &[u8]) {
        if self.verbose {
            diag::write(&prefixed(&self.prefix(b"> "), bytes));
        }
        self.wire(|w| w.sent_data(bytes));
    }

    /// `< ` lines: a response head as received.
    pub fn response(&self, bytes: &[u8]) {
        if self.verbose {
            diag::write(&prefixed(&self.prefix(b"< "), bytes));
        }
        self.wire(|w| w.head(bytes));
    }

    /// Counts `n` bytes received (heads and framing included).
    pub fn received(&mut self, n: u64) {
        self.first_byte();
        self.timings.received += n;
    }

    /// Records the first byte's arrival.
    pub fn first_byte(&mut self) {
        if self.timings.first_byte.is_none() {
            self.timings.first_byte = Some(self.elapsed());
        }
    }

    /// Ends the last hop and makes [`Trace::timings`] the whole: its
    /// total, every byte received, the body (`body`); the steps are the
    /// hop's when there was one hop, and absent with several (each hop has
    /// its own in [`Trace::hops`]). Prints the timing summary when
    /// `--timing` or `-v` asked for it: a line per hop when there were
    /// several, then the whole.
    pub fn summary(&mut self, body: u64) {
        self.end_hop();
        let total = self.elapsed();
        self.timings = match self.hops.as_slice() {
            [] => Timings {
                total: Some(total),
                ..std::mem::take(&mut self.timings)
            },
            [one] => Timings {
                total: Some(total),
                ..one.clone()
            },
            hops => Timings {
                total: Some(total),
                received: hops.iter().map(|h| h.received).sum(),
                ..Timings::default()
            },
        };
        self.timings.body = body;
        if !(self.timing || self.verbose) {
            return;
        }
        let ms = |d: Option<Duration>| {
            d.map_or("-".to_owned(), |d| {
                format!("{:.3} ms", d.as_secs_f64() * 1000.0)
            })
        };
        if self.hops.len() > 1 {
            let mut lines = String::new();
            for (i, h) in self.hops.iter().enumerate() {
                lines.push_str(&format!(
                    "* hop {}: dns {}, connect {}, tls {}, sent {}, first byte {}, total {}\n",
                    i + 1,
                    ms(h.dns),
                    ms(h.connect),
                    ms(h.tls),
                    ms(h.sent),
                    ms(h.first_byte),
                    ms(h.total)
                ));
            }
            diag::write(lines.as_bytes());
        }
        let t = &self.timings;
        let total = t.total.unwrap_or_default().as_secs_f64();
        let rate = if total > 0.0 {
            t.received as f64 / total / (1024.0 * 1024.0)
        } else {
            0.0
        };
        // Through a proxy: its steps, between the connect and the origin's TLS.
        let mut proxy = String::new();
        for (name, at) in [("proxy tls:  ", t.proxy_tls), ("tunnel:     ", t.tunnel)] {
            if at.is_some() {
                proxy.push_str(&format!("* {name}{}\n", ms(at)));
            }
        }
        // One write for the whole summary, so it is not torn apart.
        let summary = format!(
            "* dns:        {}\n\
             * connect:    {}\n\
             {proxy}\
             * tls:        {}\n\
             * sent:       {}\n\
             * first byte: {}\n\
             * total:      {}\n\
             * received:   {} bytes ({} body)\n\
             * throughput: {rate:.1} MiB/s\n",
            ms(t.dns),
            ms(t.connect),
            ms(t.tls),
            ms(t.sent),
            ms(t.first_byte),
            ms(t.total),
            t.received,
            t.body,
        );
        diag::write(summary.as_bytes());
    }
}

/// Splits `bytes` into lines, each prefixed and escaped; a trailing CR is
/// part of the line ending and not shown.
pub fn prefixed(prefix: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16 + 8);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        out.extend_from_slice(prefix);
        for &b in line {
            if b == b' ' || b == b'\t' || b.is_ascii_graphic() {
                out.push(b);
            } else {
                out.extend(std::ascii::escape_default(b));
            }
        }
        out.push(b'\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_and_escapes() {
        assert_eq!(
            prefixed(b"< ", b"HTTP/1.1 200 OK\r\nA: \x1b[31mred\r\n\r\n"),
            b"< HTTP/1.1 200 OK\n< A: \\x1b[31mred\n< \n".to_vec()
        );
        assert_eq!(prefixed(b"> ", b"a\nb"), b"> a\n> b\n".to_vec());
        assert_eq!(
            prefixed(b"> ", b"caf\xc3\xa9\r\n"),
            b"> caf\\xc3\\xa9\n".to_vec()
        );
    }
}
