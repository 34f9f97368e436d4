//! `rawget echo-client --bench`: the load generator.
//!
//! Owns the ping-pong connections, the check of every echoed byte, the
//! latency percentiles and the report (text or `--json`).
//!
//! Each connection sends one message, reads its echo in full, compares it
//! and only then sends the next, so the message rate measures round trips,
//! not buffering. Every connection is established and has had one warm-up
//! echo (checked, not counted) before the clock starts (a barrier), so
//! connection set-up and a server's accept speed are not part of the rate.
//! Each message carries its sequence number, so a stale or reordered echo
//! is caught as a mismatch.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

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
enum Limit {
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
        if self.seconds > 0.0 {
            self.messages as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// Echoed payload per second, one direction, in MiB.
    pub fn mib_per_sec(&self) -> f64 {
        self.messages_per_sec() * self.size as f64 / (1024.0 * 1024.0)
    }

    /// The human-readable report, one figure per line.
    pub fn text(&self) -> String {
        let us = |ns: u64| ns as f64 / 1000.0;
        let [p50, p90, p99, max] = self.latency_ns;
        format!(
            "connections  {}\nmessages     {}\nsize         {} B\nseconds      {:.3}\n\
             messages/s   {:.0}\nMiB/s        {:.2}\nlatency p50  {:.1} us\n\
             latency p90  {:.1} us\nlatency p99  {:.1} us\nlatency max  {:.1} us\n",
            self.connections,
            self.messages,
            self.size,
            self.seconds,
            self.messages_per_sec(),
            self.mib_per_sec(),
            us(p50),
            us(p90),
            us(p99),
            us(max),
        )
    }

    /// The same report as one JSON object on one line.
    pub fn json(&self) -> String {
        let us = |ns: u64| ns as f64 / 1000.0;
        let [p50, p90, p99, max] = self.latency_ns;
        format!(
            "{{\"connections\":{},\"messages\":{},\"size\":{},\"seconds\":{:.6},\
             \"messages_per_sec\":{:.1},\"mib_per_sec\":{:.3},\
             \"latency_us\":{{\"p50\":{:.3},\"p90\":{:.3},\"p99\":{:.3},\"max\":{:.3}}}}}\n",
            self.connections,
            self.messages,
            self.size,
            self.seconds,
            self.messages_per_sec(),
            self.mib_per_sec(),
            us(p50),
            us(p90),
            us(p99),
            us(max),
        )
    }
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

/// Runs the bench the flags describe and prints its report.
pub fn run(args: &EchoClientArgs) -> crate::Result<()> {
    let usage = |msg: &str| Err(Error::new(ErrorKind::Usage, msg.to_string()));
    if args.connections == 0 {
        return usage("--connections must be at least 1");
    }
    if args.size == 0 {
        return usage("--size must be at least 1");
    }
    let limit = match (args.messages, args.duration) {
        (Some(0), _) => return usage("--messages must be at least 1"),
        (Some(m), _) => Limit::Messages(m),
        (None, Some(d)) if d.is_finite() && d > 0.0 && d < 1e9 => {
            Limit::Duration(Duration::from_secs_f64(d))
        }
        (None, Some(_)) => return usage("--duration must be a positive number of seconds"),
        (None, None) => Limit::Duration(DEFAULT_DURATION),
    };
    let hold = match args.hold {
        None => None,
        Some(h) if (0.0..1e9).contains(&h) => Some(Duration::from_secs_f64(h)),
        Some(_) => return usage("--hold must be a number of seconds"),
    };
    let addrs = super::resolve(&args.addr)?;
    super::raise_nofile_limit();

    let rt = runtime()?;
    let (report, streams) =
        rt.block_on(bench(&args.addr, addrs, args.connections, args.size, limit))?;
    let text = if args.json {
        report.json()
    } else {
        report.text()
    };
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(super::stdout_error)?;
    drop(out);
    if let Some(hold) = hold {
        rt.block_on(async { tokio::time::sleep(hold).await });
    }
    drop(streams);
    Ok(())
}

/// The load generator's runtime: one thread by default. On two cores the
/// server under test needs the other one, and a single-threaded generator
/// treats every server the same. `RAWGET_BENCH_THREADS=N` (N > 1) uses the
/// multi-thread scheduler, for machines with cores to spare.
fn runtime() -> crate::Result<tokio::runtime::Runtime> {
    super::runtime("RAWGET_BENCH_THREADS")
}

/// What one connection brings back.
struct ConnResult {
    messages: u64,
    latency_ns: Vec<u64>,
    stream: TcpStream,
}

async fn bench(
    addr: &str,
    addrs: Vec<SocketAddr>,
    connections: usize,
    size: usize,
    limit: Limit,
) -> crate::Result<(Report, Vec<TcpStream>)> {
    // The first connection finds the address that answers; the rest use it.
    let mut first = None;
    let mut last_err = None;
    for sa in addrs {
        match TcpStream::connect(sa).await {
            Ok(s) => {
                first = Some((s, sa));
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some((first, sa)) = first else {
        let mut err = Error::new(ErrorKind::Connect, format!("could not connect to {addr}"));
        if let Some(e) = last_err {
            err = err.with_source(super::clean(e));
        }
        return Err(err);
    };

    let start_line = Arc::new(Barrier::new(connections));
    // Set by the first connection through the barrier, before it sends.
    let started: Arc<OnceLock<Instant>> = Arc::default();
    let slots = Arc::new(Semaphore::new(CONNECTS_IN_FLIGHT));
    let addr: Arc<str> = Arc::from(addr);
    let mut set = JoinSet::new();
    let mut first = Some(first);
    for id in 0..connections {
        let stream = first.take();
        let (start_line, slots, addr) = (start_line.clone(), slots.clone(), addr.clone());
        let started = started.clone();
        set.spawn(async move {
            // The connect slot is held until the first echo is back: the
            // server has then accepted this connection, so servers that
            // accept slowly (a fork per connection) are not flooded.
            let slot = slots.acquire().await;
            let stream = match stream {
                Some(s) => s,
                None => TcpStream::connect(sa).await.map_err(|e| {
                    Error::new(
                        ErrorKind::Connect,
                        format!("could not connect to {addr} (connection {})", id + 1),
                    )
                    .with_source(super::clean(e))
                })?,
            };
            // Ping-pong: each message is one small write that must leave now.
            let _ = stream.set_nodelay(true);
            let mut pinger = Pinger::new(stream, id, size, addr);
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

fn joined(
    done: Result<crate::Result<ConnResult>, tokio::task::JoinError>,
) -> crate::Result<ConnResult> {
    done.unwrap_or_else(|e| {
        Err(Error::new(ErrorKind::Recv, "a bench connection failed").with_source(e))
    })
}

/// The message for connection `id`: a pattern that differs per connection,
/// so one connection's echo arriving on another is a mismatch.
fn pattern(id: usize, size: usize) -> Vec<u8> {
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
struct Pinger {
    stream: TcpStream,
    id: usize,
    msg: Vec<u8>,
    echo: Vec<u8>,
    /// Messages sent so far, the warm-up included.
    sent: u64,
    addr: Arc<str>,
}

impl Pinger {
    fn new(stream: TcpStream, id: usize, size: usize, addr: Arc<str>) -> Pinger {
        Pinger {
            stream,
            id,
            msg: pattern(id, size),
            // One byte of room beyond the echo: a read that does not fill
            // the buffer tells tokio the socket is drained, which saves a
            // read that would only return EAGAIN before the next echo (one
            // syscall in four per round trip). A server sending more than
            // it was sent is caught by the same byte.
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
        // Write and read at once: a message larger than the socket buffers
        // would otherwise deadlock (the echo fills our receive buffer while
        // we are still writing).
        let (mut rd, mut wr) = self.stream.split();
        let size = self.msg.len();
        let echo = &mut self.echo;
        let read_echo = async move {
            let mut got = 0;
            while got < size {
                match rd.read(&mut echo[got..]).await? {
                    0 => return Err(io::Error::from(io::ErrorKind::UnexpectedEof)),
                    k => got += k,
                }
            }
            Ok(got)
        };
        let (written, read) = tokio::join!(wr.write_all(&self.msg), read_echo);
        if let Err(e) = written {
            return Err(Error::new(
                ErrorKind::Recv,
                format!("connection {conn}: could not send message {n} to {addr}"),
            )
            .with_source(super::clean(e)));
        }
        if let Err(e) = &read {
            let what = if e.kind() == io::ErrorKind::UnexpectedEof {
                format!(
                    "connection {conn}: {addr} closed the connection before echoing message {n}"
                )
            } else {
                format!("connection {conn}: could not read the echo of message {n}")
            };
            let e = io::Error::new(e.kind(), super::clean_ref(e));
            return Err(Error::new(ErrorKind::Recv, what).with_source(e));
        }
        if read.is_ok_and(|got| got > size) {
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
    async fn run(mut self, limit: Limit) -> crate::Result<ConnResult> {
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
