//! `rawget echo-client --bench` over a stream (TCP, TLS, Unix): the load
//! generator, and with `--handshakes` the TLS handshake generator.
//!
//! Owns the ping-pong connections, the one function that sends a message
//! and reads its echo ([`exchange`], also used by `--message`), the check of
//! every echoed byte, the latency percentiles and the reports (text or
//! `--json`). Generic over [`Dial`], so TCP runs its own compiled copy.
//!
//! Each connection sends one message, reads its echo in full, compares it
//! and only then sends the next, so the message rate measures round trips,
//! not buffering. Every connection is established and has had one warm-up
//! echo (checked, not counted) before the clock starts (a barrier), so
//! connection set-up and a server's accept speed are not part of the rate.
//! Each message carries its sequence number, so a stale or reordered echo
//! is caught as a mismatch.

use std::future::poll_fn;
use std::io::{self, Write};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::dial::{with_dialer, Dial};
use crate::cli::EchoClientArgs;
use crate::{Error, ErrorKind};

/// How long a bench runs when neither `--messages` nor `--duration` is given.
const DEFAULT_DURATION: Duration = Duration::from_secs(5);

/// Connection attempts in flight at once: enough to open 10,000 connections
/// in about a second, few enough not to overflow the server's SYN backlog
/// (a dropped SYN costs a one-second retransmit).
const CONNECTS_IN_FLIGHT: usize = 256;

/// When each connection stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    Messages(u64),
    Duration(Duration),
}

/// The outcome of a bench run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Connections that ran.
    pub connections: usize,
    /// Message size in bytes.
    pub size: usize,
    /// Round trips completed, over all connections.
    pub messages: u64,
    /// Wall time from the start signal to the last connection's finish.
    pub seconds: f64,
    /// Round-trip latencies in nanoseconds: p50, p90, p99, max.
    pub latency_ns: [u64; 4],
}

impl Report {
    /// Round trips per second.
    pub fn messages_per_sec(&self) -> f64 {
        per_sec(self.messages, self.seconds)
    }

    /// Echoed payload per second, one direction, in MiB.
    pub fn mib_per_sec(&self) -> f64 {
        self.messages_per_sec() * self.size as f64 / (1024.0 * 1024.0)
    }

    /// The human-readable report, one figure per line.
    pub fn text(&self) -> String {
        format!(
            "connections  {}\nmessages     {}\nsize         {} B\nseconds      {:.3}\n\
             messages/s   {:.0}\nMiB/s        {:.2}\n{}",
            self.connections,
            self.messages,
            self.size,
            self.seconds,
            self.messages_per_sec(),
            self.mib_per_sec(),
            latency_text(self.latency_ns),
        )
    }

    /// The same report as one JSON object on one line.
    pub fn json(&self) -> String {
        format!(
            "{{\"connections\":{},\"messages\":{},\"size\":{},\"seconds\":{:.6},\
             \"messages_per_sec\":{:.1},\"mib_per_sec\":{:.3},{}}}\n",
            self.connections,
            self.messages,
            self.size,
            self.seconds,
            self.messages_per_sec(),
            self.mib_per_sec(),
            latency_json(self.latency_ns),
        )
    }
}

/// The outcome of a `--handshakes` run.
#[derive(Debug, Clone, PartialEq)]
pub struct HandshakeReport {
    /// Connections handshaking at once.
    pub connections: usize,
    /// Handshakes completed (connect, TLS handshake, close_notify), over
    /// all connections.
    pub handshakes: u64,
    /// Wall time from the start signal to the last connection's finish.
    pub seconds: f64,
    /// Connect-plus-handshake times in nanoseconds: p50, p90, p99, max.
    pub latency_ns: [u64; 4],
}

impl HandshakeReport {
    /// Handshakes per second.
    pub fn handshakes_per_sec(&self) -> f64 {
        per_sec(self.handshakes, self.seconds)
    }

    /// The human-readable report, one figure per line.
    pub fn text(&self) -> String {
        format!(
            "connections  {}\nhandshakes   {}\nseconds      {:.3}\nhandshakes/s {:.0}\n{}",
            self.connections,
            self.handshakes,
            self.seconds,
            self.handshakes_per_sec(),
            latency_text(self.latency_ns),
        )
    }

    /// The same report as one JSON object on one line.
    pub fn json(&self) -> String {
        format!(
            "{{\"connections\":{},\"handshakes\":{},\"seconds\":{:.6},\
             \"handshakes_per_sec\":{:.1},{}}}\n",
            self.connections,
            self.handshakes,
            self.seconds,
            self.handshakes_per_sec(),
            latency_json(self.latency_ns),
        )
    }
}

/// `count` per `seconds`; 0 for no time at all.
pub(crate) fn per_sec(count: u64, seconds: f64) -> f64 {
    if seconds > 0.0 {
        count as f64 / seconds
    } else {
        0.0
    }
}

/// The four latency lines of a text report.
pub(crate) fn latency_text([p50, p90, p99, max]: [u64; 4]) -> String {
    let us = |ns: u64| ns as f64 / 1000.0;
    format!(
        "latency p50  {:.1} us\nlatency p90  {:.1} us\nlatency p99  {:.1} us\nlatency max  {:.1} us\n",
        us(p50),
        us(p90),
        us(p99),
        us(max)
    )
}

/// The `"latency_us":{…}` member of a JSON report.
pub(crate) fn latency_json([p50, p90, p99, max]: [u64; 4]) -> String {
    let us = |ns: u64| ns as f64 / 1000.0;
    format!(
        "\"latency_us\":{{\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}",
        us(p50),
        us(p90),
        us(p99),
        us(max)
    )
}

/// p50, p90, p99 and max of `samples` (nearest rank); sorts them.
pub fn percentiles(samples: &mut [u64]) -> [u64; 4] {
    if samples.is_empty() {
        return [0; 4];
    }
    samples.sort_unstable();
    let rank = |p: f64| {
        let r = (p * samples.len() as f64).ceil() as usize;
        samples[r.clamp(1, samples.len()) - 1]
    };
    [
        rank(0.50),
        rank(0.90),
        rank(0.99),
        samples[samples.len() - 1],
    ]
}

/// When each connection stops, from `--messages` or `--duration`.
pub(crate) fn limit(args: &EchoClientArgs) -> crate::Result<Limit> {
    let usage = |msg: &str| Err(Error::new(ErrorKind::Usage, msg.to_string()));
    match (args.messages, args.duration) {
        (Some(0), _) => usage("--messages must be at least 1"),
        (Some(m), _) => Ok(Limit::Messages(m)),
        (None, Some(d)) if d.is_finite() && d > 0.0 && d < 1e9 => {
            Ok(Limit::Duration(Duration::from_secs_f64(d)))
        }
        (None, Some(_)) => usage("--duration must be a positive number of seconds"),
        (None, None) => Ok(Limit::Duration(DEFAULT_DURATION)),
    }
}

/// Prints a report on stdout.
pub(crate) fn print(text: &str) -> crate::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(super::stdout_error)
}

/// Runs the bench the flags describe and prints its report.
pub fn run(args: &EchoClientArgs) -> crate::Result<()> {
    let usage = |msg: &str| Err(Error::new(ErrorKind::Usage, msg.to_string()));
    if args.connections == 0 {
        return usage("--connections must be at least 1");
    }
    if args.size == 0 {
        return usage("--size must be at least 1");
    }
    let limit = limit(args)?;
    let hold = match args.hold {
        None => None,
        Some(h) if (0.0..1e9).contains(&h) => Some(Duration::from_secs_f64(h)),
        Some(_) => return usage("--hold must be a number of seconds"),
    };
    let target = super::dial::target(args)?;
    super::raise_nofile_limit();

    let rt = runtime()?;
    let (connections, size, json) = (args.connections, args.size, args.json);
    rt.block_on(async {
        with_dialer!(target, &args.addr, |dial, first| {
            if args.handshakes {
                let report = handshakes(dial, first, connections, limit).await?;
                print(&if json { report.json() } else { report.text() })
            } else {
                let (report, streams) = bench(dial, first, connections, size, limit).await?;
                print(&if json { report.json() } else { report.text() })?;
                if let Some(hold) = hold {
                    tokio::time::sleep(hold).await;
                }
                drop(streams);
                Ok(())
            }
        })
    })
}

/// The load generator's runtime: one thread by default. On two cores the
/// server under test needs the other one, and a single-threaded generator
/// treats every server the same. `RAWGET_BENCH_THREADS=N` (N > 1) uses the
/// multi-thread scheduler, for machines with cores to spare.
pub(crate) fn runtime() -> crate::Result<tokio::runtime::Runtime> {
    super::runtime(Some("RAWGET_BENCH_THREADS"))
}

/// What one connection brings back.
struct ConnResult<S> {
    messages: u64,
    latency_ns: Vec<u64>,
    stream: S,
}

async fn bench<D: Dial>(
    dial: D,
    first: D::Stream,
    connections: usize,
    size: usize,
    limit: Limit,
) -> crate::Result<(Report, Vec<D::Stream>)> {
    let start_line = Arc::new(Barrier::new(connections));
    // Set by the first connection through the barrier, before it sends.
    let started: Arc<OnceLock<Instant>> = Arc::default();
    let slots = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let dial = Arc::new(dial);
    let mut set = JoinSet::new();
    let mut first = Some(first);
    for id in 0..connections {
        let stream = first.take();
        let (start_line, slots, dial) = (start_line.clone(), slots.clone(), dial.clone());
        let started = started.clone();
        set.spawn(async move {
            // The connect slot is held until the first echo is back: the
            // server has then accepted this connection, so servers that
            // accept slowly (a fork per connection) are not flooded.
            let slot = slots.acquire().await;
            let stream = match stream {
                Some(s) => s,
                None => dial.dial().await.map_err(|e| in_connection(id, e))?,
            };
            let mut pinger = Pinger::new(stream, id, size, Arc::from(dial.shown()));
            pinger.round_trip().await?;
            drop(slot);
            start_line.wait().await;
            started.get_or_init(Instant::now);
            pinger.run(limit).await
        });
    }

    // The first failure ends the bench: dropping the set aborts the rest
    // (including those still waiting at the barrier).
    let mut messages = 0;
    let mut latency_ns = Vec::new();
    let mut streams = Vec::with_capacity(connections);
    while let Some(done) = set.join_next().await {
        let r = joined(done)?;
        messages += r.messages;
        if latency_ns.is_empty() {
            latency_ns = r.latency_ns;
        } else {
            latency_ns.extend_from_slice(&r.latency_ns);
        }
        streams.push(r.stream);
    }
    let seconds = started
        .get()
        .map_or(0.0, |start| start.elapsed().as_secs_f64());
    let report = Report {
        connections,
        size,
        messages,
        seconds,
        latency_ns: percentiles(&mut latency_ns),
    };
    Ok((report, streams))
}

/// A failure to open connection `id` (counted from 0), named in the message.
fn in_connection(id: usize, e: Error) -> Error {
    let kind = e.kind();
    Error::new(kind, format!("connection {}", id + 1)).with_source(e)
}

/// `--handshakes`: each connection slot connects, shakes hands, sends
/// close_notify and closes, again and again; the first connection (made
/// before the clock starts) is the warm-up.
async fn handshakes<D: Dial>(
    dial: D,
    first: D::Stream,
    connections: usize,
    limit: Limit,
) -> crate::Result<HandshakeReport> {
    let _ = close(first).await;
    let dial = Arc::new(dial);
    let start = Instant::now();
    let deadline = match limit {
        Limit::Duration(d) => Some(start + d),
        Limit::Messages(_) => None,
    };
    let mut set = JoinSet::new();
    for id in 0..connections {
        let dial = dial.clone();
        set.spawn(async move {
            let mut latency_ns = Vec::new();
            let mut done: u64 = 0;
            loop {
                let now = Instant::now();
                match (limit, deadline) {
                    (Limit::Messages(m), _) if done >= m => break,
                    (_, Some(d)) if now >= d => break,
                    _ => {}
                }
                let stream = dial.dial().await.map_err(|e| in_connection(id, e))?;
                latency_ns.push(now.elapsed().as_nanos() as u64);
                let _ = close(stream).await;
                done += 1;
            }
            Ok::<_, Error>((done, latency_ns))
        });
    }
    let mut total = 0;
    let mut latency_ns = Vec::new();
    while let Some(done) = set.join_next().await {
        let (n, lat) = done.unwrap_or_else(|e| {
            Err(Error::new(ErrorKind::Recv, "a bench connection failed").with_source(e))
        })?;
        total += n;
        latency_ns.extend_from_slice(&lat);
    }
    Ok(HandshakeReport {
        connections,
        handshakes: total,
        seconds: start.elapsed().as_secs_f64(),
        latency_ns: percentiles(&mut latency_ns),
    })
}

/// Closes a stream cleanly (inside TLS: close_notify first), bounded.
async fn close<S: AsyncWrite + Unpin>(mut stream: S) -> io::Result<()> {
    tokio::time::timeout(Duration::from_secs(5), stream.shutdown())
        .await
        .unwrap_or(Ok(()))
}

fn joined<S>(
    done: Result<crate::Result<ConnResult<S>>, tokio::task::JoinError>,
) -> crate::Result<ConnResult<S>> {
    done.unwrap_or_else(|e| {
        Err(Error::new(ErrorKind::Recv, "a bench connection failed").with_source(e))
    })
}

/// How an [`exchange`] failed.
#[derive(Debug)]
pub(crate) enum ExchangeError {
    /// Writing the message failed.
    Send(io::Error),
    /// Reading the echo failed.
    Recv(io::Error),
    /// The server closed after this many echoed bytes.
    Closed(usize),
}

/// Sends `msg` and reads its echo into `echo`, writing and reading at once
/// (a message larger than the socket buffers would otherwise deadlock: the
/// echo fills our receive buffer while we are still writing). Returns how
/// many bytes came back: `msg.len()`, or more when the server sent more
/// than it was sent.
///
/// `echo` should be at least one byte longer than `msg`: a read that does
/// not fill the buffer tells tokio the socket is drained, which saves a
/// read that would only return EAGAIN before the next echo (one syscall in
/// four per round trip), and the same byte catches a server that sends
/// more than it was sent.
///
/// One poll drives both directions of one stream, so it works for any
/// stream (TLS cannot be split into halves without a lock) and costs TCP
/// nothing over split halves.
pub(crate) async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    msg: &[u8],
    echo: &mut [u8],
) -> Result<usize, ExchangeError> {
    let (mut written, mut got) = (0, 0);
    poll_fn(|cx| {
        while written < msg.len() {
            match Pin::new(&mut *stream).poll_write(cx, &msg[written..]) {
                Poll::Ready(Ok(0)) => {
                    return Poll::Ready(Err(ExchangeError::Send(io::ErrorKind::WriteZero.into())))
                }
                Poll::Ready(Ok(n)) => written += n,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(ExchangeError::Send(e))),
                Poll::Pending => break,
            }
        }
        while got < msg.len() {
            let mut rb = ReadBuf::new(&mut echo[got..]);
            match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) if rb.filled().is_empty() => {
                    return Poll::Ready(Err(ExchangeError::Closed(got)))
                }
                Poll::Ready(Ok(())) => got += rb.filled().len(),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(ExchangeError::Recv(e))),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(got))
    })
    .await
}

/// The message for connection `id`: a pattern that differs per connection,
/// so one connection's echo arriving on another is a mismatch.
pub(crate) fn pattern(id: usize, size: usize) -> Vec<u8> {
    (0..size)
        .map(|i| (i.wrapping_mul(7) ^ id.wrapping_mul(31)) as u8)
        .collect()
}

/// Writes the sequence number into the first bytes of the message.
fn stamp(msg: &mut [u8], id: usize, seq: u64) {
    let tag = (seq ^ (id as u64).rotate_left(32)).to_le_bytes();
    let n = msg.len().min(tag.len());
    msg[..n].copy_from_slice(&tag[..n]);
}

/// One bench connection and its message.
struct Pinger<S> {
    stream: S,
    id: usize,
    msg: Vec<u8>,
    echo: Vec<u8>,
    /// Messages sent so far, the warm-up included.
    sent: u64,
    addr: Arc<str>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Pinger<S> {
    fn new(stream: S, id: usize, size: usize, addr: Arc<str>) -> Pinger<S> {
        Pinger {
            stream,
            id,
            msg: pattern(id, size),
            // One byte of room beyond the echo (see `exchange`).
            echo: vec![0u8; size + 1],
            sent: 0,
            addr,
        }
    }

    /// Sends the next message and checks its echo, byte for byte.
    async fn round_trip(&mut self) -> crate::Result<()> {
        let (conn, n, addr) = (self.id + 1, self.sent + 1, &self.addr);
        stamp(&mut self.msg, self.id, self.sent);
        self.sent += 1;
        let size = self.msg.len();
        let got = match exchange(&mut self.stream, &self.msg, &mut self.echo).await {
            Ok(got) => got,
            Err(ExchangeError::Send(e)) => {
                return Err(Error::new(
                    ErrorKind::Recv,
                    format!("connection {conn}: could not send message {n} to {addr}"),
                )
                .with_source(super::clean(e)))
            }
            Err(ExchangeError::Closed(_)) => {
                return Err(Error::new(
                    ErrorKind::Recv,
                    format!(
                        "connection {conn}: {addr} closed the connection before echoing message {n}"
                    ),
                ))
            }
            Err(ExchangeError::Recv(e)) => {
                return Err(Error::new(
                    ErrorKind::Recv,
                    format!("connection {conn}: could not read the echo of message {n}"),
                )
                .with_source(super::clean(e)))
            }
        };
        if got > size {
            return Err(Error::new(
                ErrorKind::BadResponse,
                format!("connection {conn}: {addr} sent more than message {n} back"),
            ));
        }
        if self.echo[..size] != self.msg[..] {
            let at = self
                .echo
                .iter()
                .zip(&self.msg)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(Error::new(
                ErrorKind::BadResponse,
                format!("connection {conn}: echo of message {n} differs at byte {at}"),
            ));
        }
        Ok(())
    }

    /// Ping-pong until the limit, timing each round trip.
    async fn run(mut self, limit: Limit) -> crate::Result<ConnResult<S>> {
        let mut latency_ns = Vec::with_capacity(match limit {
            Limit::Messages(m) => m.min(1 << 20) as usize,
            Limit::Duration(_) => 4096,
        });
        let mut now = Instant::now();
        let deadline = match limit {
            Limit::Duration(d) => Some(now + d),
            Limit::Messages(_) => None,
        };
        let mut done: u64 = 0;
        loop {
            match (limit, deadline) {
                (Limit::Messages(m), _) if done >= m => break,
                (_, Some(d)) if now >= d => break,
                _ => {}
            }
            let sent_at = now;
            self.round_trip().await?;
            now = Instant::now();
            latency_ns.push(now.duration_since(sent_at).as_nanos() as u64);
            done += 1;
        }
        Ok(ConnResult {
            messages: done,
            latency_ns,
            stream: self.stream,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v: Vec<u64> = (1..=100).rev().collect();
        assert_eq!(percentiles(&mut v), [50, 90, 99, 100]);
        let mut one = vec![7];
        assert_eq!(percentiles(&mut one), [7, 7, 7, 7]);
        assert_eq!(percentiles(&mut []), [0, 0, 0, 0]);
    }

    fn sample() -> Report {
        Report {
            connections: 2,
            size: 1024 * 1024,
            messages: 10,
            seconds: 2.0,
            latency_ns: [1500, 2500, 9000, 12000],
        }
    }

    #[test]
    fn rates_follow_messages_size_and_time() {
        let r = sample();
        assert_eq!(r.messages_per_sec(), 5.0);
        assert_eq!(r.mib_per_sec(), 5.0);
    }

    #[test]
    fn text_report_has_every_figure() {
        let t = sample().text();
        for line in [
            "connections  2",
            "messages     10",
            "messages/s   5",
            "MiB/s        5.00",
            "latency p50  1.5 us",
            "latency p90  2.5 us",
            "latency p99  9.0 us",
            "latency max  12.0 us",
        ] {
            assert!(t.lines().any(|l| l == line), "{line:?} missing in\n{t}");
        }
    }

    #[test]
    fn json_report_is_one_object() {
        let j = sample().json();
        assert_eq!(
            j,
            "{\"connections\":2,\"messages\":10,\"size\":1048576,\"seconds\":2.000000,\
             \"messages_per_sec\":5.0,\"mib_per_sec\":5.000,\
             \"latency_us\":{\"p50\":1.500,\"p90\":2.500,\"p99\":9.000,\"max\":12.000}}\n"
        );
    }

    #[test]
    fn messages_differ_by_connection_and_sequence() {
        let mut a = pattern(1, 64);
        let mut b = pattern(2, 64);
        stamp(&mut a, 1, 0);
        stamp(&mut b, 2, 0);
        assert_ne!(a, b);
        let before = a.clone();
        stamp(&mut a, 1, 1);
        assert_ne!(a, before);
        let mut tiny = pattern(0, 3);
        stamp(&mut tiny, 0, 5);
        assert_eq!(tiny.len(), 3);
    }
}
