//! Connecting to a name's addresses: happy eyeballs (RFC 8305).
//!
//! Owns the order the addresses are tried in ([`interleave`], pure) and the
//! race itself ([`connect`]): the first attempt starts at once, the next
//! one when the current has not connected within the attempt delay
//! (`--happy-eyeballs-timeout-ms`, 200 ms as curl) or as soon as it fails;
//! the first to connect wins and every other attempt is closed at once. A
//! black-holed first address (SYNs dropped) so costs the delay, not the
//! kernel's two minutes of SYN retries. Attempts are non-blocking sockets
//! waited on together with poll(2), so no thread is left connecting.

use std::io;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use super::poll::{self, Interest};
use super::{timed_out, ConnectOptions};
use crate::error::{is_timeout, Error, ErrorKind, Result};
use crate::observe::trace::Trace;

/// RFC 8305 §8 recommends 250 ms; curl uses 200 ms, and so does rawget.
pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(200);

/// RFC 8305 §4: the addresses in the order they are tried. The family of
/// the first address comes first, then the families alternate (IPv6,
/// IPv4, IPv6, ...), each family keeping the resolver's order.
pub fn interleave(addrs: &[SocketAddr]) -> Vec<SocketAddr> {
    let Some(first) = addrs.first() else {
        return Vec::new();
    };
    let (mut same, mut other): (Vec<SocketAddr>, Vec<SocketAddr>) =
        addrs.iter().partition(|a| a.is_ipv6() == first.is_ipv6());
    same.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(addrs.len());
    loop {
        match (same.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// One connection attempt in flight.
struct Attempt {
    addr: SocketAddr,
    socket: Socket,
    /// When `--connect-timeout` gives up on it.
    expires: Option<Instant>,
}

/// Connects to the first of `addrs` to accept, racing them as RFC 8305
/// says; the winner is a blocking socket with `TCP_NODELAY`.
pub fn connect(addrs: &[SocketAddr], opts: &ConnectOptions, trace: &Trace) -> Result<TcpStream> {
    let order = interleave(addrs);
    let delay = opts.attempt_delay.unwrap_or(DEFAULT_ATTEMPT_DELAY);
    let mut next = 0;
    let mut next_start = Instant::now();
    let mut running: Vec<Attempt> = Vec::new();
    let mut last: Option<(SocketAddr, io::Error)> = None;
    loop {
        let now = Instant::now();
        // Start the next attempt when it is due, or when nothing is running.
        if next < order.len() && (now >= next_start || running.is_empty()) {
            let addr = order[next];
            next += 1;
            match begin(addr, (next, order.len()), opts, trace) {
                Ok(attempt) => running.push(attempt),
                Err(e) => last = Some((addr, e)),
            }
            next_start = now + delay;
            continue;
        }
        if running.is_empty() {
            return Err(failed(addrs.len(), last));
        }
        let due = (next < order.len()).then_some(next_start);
        let wake = wake_at(&running, due, opts.deadline);
        let ready = wait(&running, wake.map(|w| w.saturating_duration_since(now)))?;
        let now = Instant::now();
        for i in (0..running.len()).rev() {
            let Some(failure) = outcome(&running[i], ready[i], now) else {
                continue;
            };
            let attempt = running.swap_remove(i);
            let addr = attempt.addr;
            let Some(e) = failure else {
                for loser in &running {
                    trace.step(|| format!("{}: abandoned, {addr} won", loser.addr));
                }
                // Dropping the others closes them: losers do not linger.
                drop(running);
                return won(attempt, trace);
            };
            trace.step(|| format!("{addr}: {e}"));
            last = Some((addr, e));
            // RFC 8305 §5: a failed attempt starts the next at once.
            next_start = now;
        }
        if opts.deadline.is_some_and(|d| now >= d) {
            return Err(timed_out());
        }
        if next < order.len() && now >= next_start && !running.is_empty() {
            let waiting: Vec<String> = running.iter().map(|a| a.addr.to_string()).collect();
            trace.step(|| {
                format!(
                    "{}: no answer in {} ms, racing the next address",
                    waiting.join(", "),
                    delay.as_millis()
                )
            });
        }
    }
}

/// Starts attempt `n.0` of `n.1`, to `addr`, and says so under `-v`.
fn begin(
    addr: SocketAddr,
    n: (usize, usize),
    opts: &ConnectOptions,
    trace: &Trace,
) -> io::Result<Attempt> {
    if n.0 > 1 {
        trace.step(|| format!("trying {addr} (attempt {} of {})", n.0, n.1));
    } else {
        trace.step(|| format!("trying {addr}"));
    }
    let now = Instant::now();
    start(addr)
        .map(|socket| Attempt {
            addr,
            socket,
            expires: opts.connect_timeout.map(|t| now + t),
        })
        .inspect_err(|e| trace.step(|| format!("{addr}: {e}")))
}

/// When to wake: the first of an attempt's `--connect-timeout`, the next
/// attempt's start (`due`), the `--max-time` deadline; `None`: no bound.
fn wake_at(
    running: &[Attempt],
    due: Option<Instant>,
    deadline: Option<Instant>,
) -> Option<Instant> {
    running
        .iter()
        .filter_map(|a| a.expires)
        .chain(due)
        .chain(deadline)
        .min()
}

/// What became of an attempt: `None` still running, `Some(None)`
/// connected, `Some(Some(e))` failed.
fn outcome(attempt: &Attempt, ready: bool, now: Instant) -> Option<Option<io::Error>> {
    if ready {
        return Some(match attempt.socket.take_error() {
            Ok(None) => None,
            // A reset (not a refusal) comes only once the handshake has
            // completed: the connection was made, and its use fails as
            // with a blocking connect (a reset at once is the server's
            // answer, exit 35 or 56, not exit 7).
            Ok(Some(e)) if e.kind() == io::ErrorKind::ConnectionReset => None,
            Ok(Some(e)) | Err(e) => Some(e),
        });
    }
    attempt.expires.filter(|e| now >= *e).map(|_| {
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            "connection timed out (--connect-timeout)",
        ))
    })
}

/// A non-blocking socket with its connect under way.
fn start(addr: SocketAddr) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_nonblocking(true)?;
    match socket.connect(&SockAddr::from(addr)) {
        Ok(()) => Ok(socket),
        Err(e) if in_progress(&e) => Ok(socket),
        Err(e) => Err(e),
    }
}

/// A non-blocking connect under way: EINPROGRESS on Unix, WSAEWOULDBLOCK
/// (WouldBlock) on Windows.
fn in_progress(e: &io::Error) -> bool {
    #[cfg(unix)]
    return e.raw_os_error() == Some(libc::EINPROGRESS);
    #[cfg(not(unix))]
    return e.kind() == io::ErrorKind::WouldBlock;
}

/// The winner, made a blocking socket for the rest of the fetch.
fn won(attempt: Attempt, trace: &Trace) -> Result<TcpStream> {
    let addr = attempt.addr;
    let setup = |e: io::Error| {
        Error::new(ErrorKind::Connect, format!("could not connect to {addr}")).with_source(e)
    };
    attempt.socket.set_nonblocking(false).map_err(setup)?;
    let stream = TcpStream::from(attempt.socket);
    // The request goes out in one write; no reason to wait for more.
    let _ = stream.set_nodelay(true);
    trace.step(|| format!("connected to {addr}"));
    Ok(stream)
}

/// Waits up to `timeout` (`None`: without end) for attempts to finish;
/// which ones did.
fn wait(running: &[Attempt], timeout: Option<Duration>) -> Result<Vec<bool>> {
    let sockets: Vec<&Socket> = running.iter().map(|a| &a.socket).collect();
    poll::ready(&sockets, Interest::Writable, timeout).map_err(|e| {
        Error::new(ErrorKind::Connect, "could not wait for the connection").with_source(e)
    })
}

/// The error once every attempt has failed: the last one's cause.
fn failed(count: usize, last: Option<(SocketAddr, io::Error)>) -> Error {
    let Some((addr, e)) = last else {
        return Error::new(ErrorKind::Connect, "could not connect: no addresses");
    };
    let kind = if is_timeout(&e) {
        ErrorKind::Timeout
    } else {
        ErrorKind::Connect
    };
    let msg = if count == 1 {
        format!("could not connect to {addr}")
    } else {
        format!("could not connect to any of {count} addresses (last tried {addr})")
    };
    Error::new(kind, msg).with_source(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    fn addrs(list: &[&str]) -> Vec<SocketAddr> {
        list.iter().map(|a| a.parse().unwrap()).collect()
    }

    #[test]
    fn families_alternate_from_the_first() {
        let got = interleave(&addrs(&[
            "[::1]:1",
            "[::2]:1",
            "[::3]:1",
            "10.0.0.1:1",
            "10.0.0.2:1",
        ]));
        assert_eq!(
            got,
            addrs(&["[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1"])
        );
        let got = interleave(&addrs(&["10.0.0.1:1", "[::1]:1", "10.0.0.2:1"]));
        assert_eq!(got, addrs(&["10.0.0.1:1", "[::1]:1", "10.0.0.2:1"]));
        assert!(interleave(&[]).is_empty());
    }

    /// A port that refuses: bound, then the listener dropped.
    fn refusing() -> SocketAddr {
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    #[test]
    fn connect_refused_names_the_address() {
        let addr = refusing();
        let e = connect(
            &[addr],
            &ConnectOptions::default(),
            &Trace::new(false, false),
        )
        .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert_eq!(e.to_string(), format!("could not connect to {addr}"));
    }

    #[test]
    fn a_refusal_moves_on_at_once() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = listener.local_addr().unwrap();
        let bad = refusing();
        // A delay far longer than the test may take: only moving on at the
        // refusal can connect in time.
        let opts = ConnectOptions {
            attempt_delay: Some(Duration::from_secs(60)),
            deadline: Some(Instant::now() + Duration::from_secs(20)),
            ..ConnectOptions::default()
        };
        let stream = connect(&[bad, good], &opts, &Trace::new(false, false)).unwrap();
        assert_eq!(stream.peer_addr().unwrap(), good);
        let e = connect(&[bad, refusing()], &opts, &Trace::new(false, false)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Connect);
        assert!(e
            .to_string()
            .starts_with("could not connect to any of 2 addresses"));
    }
}
