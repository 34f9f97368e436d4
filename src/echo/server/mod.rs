//! `rawget echo-server`: the echo server on tokio, over a stream (TCP, TLS,
//! a Unix socket; [`stream`]) or UDP datagrams ([`udp`]).
//!
//! This module owns what every transport shares: checking the flags, the
//! `listening on …` line, the SIGINT/SIGTERM hooks and the summary line.
//! The transports own their sockets, their per-peer work and their counters.

use std::io::{self, Write};

#[cfg(unix)]
use tokio::signal::unix::{signal, Signal, SignalKind};
#[cfg(windows)]
use tokio::signal::windows::{ctrl_break, ctrl_c, CtrlBreak, CtrlC};

use crate::cli::EchoServerArgs;
use crate::{Error, ErrorKind};

/// Writes one -v line to stderr. A stderr that cannot be written (say a
/// pipe whose reader has gone) loses the line: unlike `eprintln!`, which
/// panics, it must not take down the server and every connection with it.
/// The line goes out in one write, so lines from two threads do not mix.
macro_rules! vlog {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    }};
}

mod stream;
mod udp;

/// Runs the server the flags describe until SIGINT or SIGTERM, then prints
/// the summary.
pub fn run(args: &EchoServerArgs) -> crate::Result<()> {
    if args.udp {
        udp::run(args)
    } else {
        stream::run(args)
    }
}

/// SIGTERM and SIGINT, hooked before the listening line is printed, so a
/// script that reads the line and sends SIGTERM at once still gets the
/// summary. On Windows: Ctrl-Break and Ctrl-C, named as the signals they
/// stand for, so the summary reads the same.
#[cfg(unix)]
struct Signals {
    term: Signal,
    int: Signal,
}
#[cfg(windows)]
struct Signals {
    term: CtrlBreak,
    int: CtrlC,
}

impl Signals {
    /// Hooks both signals (inside the runtime).
    fn hook() -> crate::Result<Signals> {
        let err = |e: io::Error| {
            Error::new(ErrorKind::Connect, "could not install signal handlers").with_source(e)
        };
        #[cfg(unix)]
        return Ok(Signals {
            term: signal(SignalKind::terminate()).map_err(err)?,
            int: signal(SignalKind::interrupt()).map_err(err)?,
        });
        #[cfg(windows)]
        return Ok(Signals {
            term: ctrl_break().map_err(err)?,
            int: ctrl_c().map_err(err)?,
        });
    }

    /// Waits for either; returns its name for the summary.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            biased;
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// Prints one line on stdout and flushes it: `listening on …` first, the
/// summary last.
fn say(line: std::fmt::Arguments<'_>) -> crate::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(line)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(super::stdout_error)
}

/// A failure to listen on `what` (exit 7), with the cause.
fn listen_error(what: impl std::fmt::Display, e: Option<io::Error>) -> Error {
    let err = Error::new(ErrorKind::Connect, format!("could not listen on {what}"));
    match e {
        Some(e) => err.with_source(super::clean(e)),
        None => err,
    }
}

/// Builds the runtime. A single current-thread runtime by default. On this
/// two-core machine the multi-thread scheduler (2 workers) used the same
/// server CPU per message within noise (about 4.8 us per 64 B echo, i.e.
/// three syscalls: epoll_wait, recvfrom, sendto) and did not raise
/// throughput, because the clients need the other core; one thread has no
/// cross-thread wake-ups and keeps the per-thread read buffer single.
/// `RAWGET_ECHO_THREADS=N` (N > 1) selects the multi-thread scheduler with
/// N workers, for machines with cores to spare.
fn runtime() -> crate::Result<tokio::runtime::Runtime> {
    super::runtime(Some("RAWGET_ECHO_THREADS"))
}
