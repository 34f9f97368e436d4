//! `rawget echo-server`: a concurrent TCP echo server on tokio.
//!
//! Owns the listening socket, one task per connection, the connection limit,
//! the idle timeout, the shutdown on SIGINT/SIGTERM and the summary.
//!
//! Memory is bounded by design rather than by tuning:
//! - A connection that has sent nothing owns no buffer at all. Reads go into
//!   one 64 KiB buffer per runtime thread, borrowed only for the duration of
//!   a single poll, so 10,000 idle clients cost their task and socket only.
//! - What a read brings in is written straight back in the same poll. Only
//!   when the client does not take it (its receive window is full) is the
//!   rest copied into a per-connection buffer, and that connection is not
//!   read again until the buffer is written out. A client that writes and
//!   never reads therefore stalls in the kernel's socket buffers (TCP flow
//!   control) while the server holds at most one read's worth (64 KiB) for it.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io::{self, Write};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, Sleep};

use crate::cli::EchoServerArgs;
use crate::{Error, ErrorKind};

/// Size of the per-thread read buffer. Measured as server CPU time for
/// 3,000 echoes of 1 MiB: 16 KiB cost about 1.6x the CPU of 64 KiB (more
/// read/write pairs per byte); 256 KiB was no better than 64 KiB. It also
/// bounds what the server holds for a client that does not read.
const READ_BUF: usize = 64 * 1024;

/// Listen backlog: large enough for 10,000 clients connecting at once
/// (Linux caps it at `net.core.somaxconn`, 4096 by default).
const BACKLOG: u32 = 4096;

/// Writes one -v line to stderr. A stderr that cannot be written (say a
/// pipe whose reader has gone) loses the line: unlike `eprintln!`, which
/// panics, it must not take down the server and every connection with it.
/// The line goes out in one write, so lines from two threads do not mix.
macro_rules! vlog {
    ($($arg:tt)*) => {{
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = io::stderr().write_all(line.as_bytes());
    }};
}

thread_local! {
    /// The read buffer shared by every connection on this runtime thread.
    /// Borrowed only inside one `poll`, never across an `.await`.
    static READ_BUFFER: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_BUF].into_boxed_slice());
}

/// Counters for the summary, shared by the accept loop and every connection.
#[derive(Debug, Default)]
struct Stats {
    /// Connections accepted and served.
    served: AtomicU64,
    /// Connections closed at once because of `--max-connections`.
    refused: AtomicU64,
    /// Connections open now.
    open: AtomicUsize,
    /// Most connections open at once.
    peak: AtomicUsize,
    /// Bytes received from clients.
    bytes_in: AtomicU64,
    /// Bytes written back to clients.
    bytes_out: AtomicU64,
}

/// Runs the server until SIGINT or SIGTERM, then prints the summary.
pub fn run(args: &EchoServerArgs) -> crate::Result<()> {
    let idle = match args.idle_timeout {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            return Err(Error::new(
                ErrorKind::Usage,
                format!("--idle-timeout must be a positive number of seconds, not {s}"),
            ))
        }
    };
    if args.max_connections == Some(0) {
        return Err(Error::new(
            ErrorKind::Usage,
            "--max-connections must be at least 1",
        ));
    }
    let addrs = super::resolve(&args.listen)?;
    super::raise_nofile_limit();

    let rt = runtime()?;
    let stats = Arc::new(Stats::default());
    let config = Config {
        idle,
        max: args.max_connections,
        verbose: args.verbose,
    };
    let outcome = rt.block_on(serve(&args.listen, addrs, config, Arc::clone(&stats)));
    // Dropping the runtime drops every connection task, which closes its
    // socket and adds its byte counts to `stats` (see `Conn::drop`).
    drop(rt);
    let signal = outcome?;

    let mut out = io::stdout().lock();
    writeln!(
        out,
        "{signal}: {} connections served, peak {} concurrent, {} refused, {} bytes echoed",
        stats.served.load(Ordering::Relaxed),
        stats.peak.load(Ordering::Relaxed),
        stats.refused.load(Ordering::Relaxed),
        stats.bytes_out.load(Ordering::Relaxed),
    )
    .and_then(|()| out.flush())
    .map_err(super::stdout_error)
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
    super::runtime("RAWGET_ECHO_THREADS")
}

/// What every connection needs to know.
#[derive(Debug, Clone, Copy)]
struct Config {
    idle: Option<Duration>,
    max: Option<usize>,
    verbose: bool,
}

/// Binds, prints the listening line, and accepts until a signal arrives.
/// Returns the signal's name.
async fn serve(
    listen: &str,
    addrs: Vec<SocketAddr>,
    config: Config,
    stats: Arc<Stats>,
) -> crate::Result<&'static str> {
    let listener = bind(listen, &addrs)?;
    let local = listener.local_addr().map_err(|e| {
        Error::new(ErrorKind::Connect, format!("could not listen on {listen}"))
            .with_source(super::clean(e))
    })?;
    // Signals are hooked before the listening line, so a script that reads
    // the line and sends SIGTERM at once still gets the summary.
    let signal_err = |e: io::Error| {
        Error::new(ErrorKind::Connect, "could not install signal handlers").with_source(e)
    };
    let mut shutdown = Shutdown::new().map_err(signal_err)?;

    let mut out = io::stdout().lock();
    writeln!(out, "listening on {local}")
        .and_then(|()| out.flush())
        .map_err(super::stdout_error)?;
    drop(out);

    // While accept is failing for want of a resource: when to try again.
    // The sleep is a branch of the select, so a signal still ends the
    // server at once.
    let mut backoff: Option<Instant> = None;
    // Whether the last accept failed that way (one -v line per burst).
    let mut burst = false;
    loop {
        tokio::select! {
            biased;
            name = shutdown.recv() => return Ok(name),
            () = tokio::time::sleep_until(backoff.unwrap_or_else(Instant::now)),
                if backoff.is_some() => backoff = None,
            accepted = listener.accept(), if backoff.is_none() => match accepted {
                Ok((stream, peer)) => {
                    burst = false;
                    admit(stream, peer, config, &stats);
                }
                Err(e) => {
                    if let Some(wait) = accept_failed(&e, &mut burst, config.verbose) {
                        backoff = Some(Instant::now() + wait);
                    }
                }
            },
        }
    }
}

/// Binds the first address that works, with `SO_REUSEADDR` (a restarted
/// server must not wait for TIME_WAIT) and a deep backlog.
fn bind(listen: &str, addrs: &[SocketAddr]) -> crate::Result<TcpListener> {
    let mut last = None;
    for &addr in addrs {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        };
        let bound = socket.and_then(|s| {
            s.set_reuseaddr(true)?;
            s.bind(addr)?;
            s.listen(BACKLOG)
        });
        match bound {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    let mut err = Error::new(ErrorKind::Connect, format!("could not listen on {listen}"));
    if let Some(e) = last {
        err = err.with_source(super::clean(e));
    }
    Err(err)
}

/// How long accept rests after failing for want of a resource.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// What stops the server: SIGTERM or SIGINT on Unix, Ctrl-C elsewhere.
struct Shutdown {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn new() -> io::Result<Shutdown> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Shutdown {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Shutdown {})
    }

    /// Waits for the next stop request and names it.
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                biased;
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            // An error here means no Ctrl-C handler: wait for ever then.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "Ctrl-C"
        }
    }
}

/// `ENONET` (machine not on the network) exists on Linux only; accept(2)
/// there lists it among the errors to treat like `EAGAIN`.
fn is_enonet(e: &io::Error) -> bool {
    #[cfg(target_os = "linux")]
    return e.raw_os_error() == Some(libc::ENONET);
    #[cfg(not(target_os = "linux"))]
    return {
        let _ = e;
        false
    };
}

/// The errno values accept(2) reports for one connection's trouble (the
/// network errors Linux says to treat like `EAGAIN`); Unix only, where
/// accept reports errno values.
#[cfg(unix)]
fn transient_errno(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EINTR
                | libc::EPROTO
                | libc::EPERM
                | libc::ENETDOWN
                | libc::ENETUNREACH
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::EHOSTUNREACH
                | libc::EOPNOTSUPP
                | libc::ETIMEDOUT
        )
    ) || is_enonet(e)
}

#[cfg(not(unix))]
fn transient_errno(_: &io::Error) -> bool {
    false
}

/// Decides what a failed accept means for the accept loop: `None` to go on
/// accepting at once, or how long to back off.
///
/// A connection that died in the queue (`ECONNABORTED`, and the network
/// errors Linux's accept(2) says to treat like `EAGAIN`) is one client's
/// problem: log it with -v and go on. Anything else, above all running out
/// of descriptors (`EMFILE`, `ENFILE`) or memory (`ENOBUFS`, `ENOMEM`),
/// would fail again at once, and the pending connection stays queued, so
/// retrying at once would spin a core: back off, and log once per burst of
/// failures (`burst` is cleared by the next successful accept), not once
/// per retry.
fn accept_failed(e: &io::Error, burst: &mut bool, verbose: bool) -> Option<Duration> {
    let transient = transient_errno(e)
        || matches!(
            e.kind(),
            io::ErrorKind::ConnectionAborted
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::Interrupted
                | io::ErrorKind::WouldBlock
        );
    if transient {
        if verbose {
            vlog!("accept: {}; continuing", super::clean_ref(e));
        }
        return None;
    }
    if verbose && !*burst {
        vlog!("accept: {}; backing off", super::clean_ref(e));
    }
    *burst = true;
    Some(ACCEPT_BACKOFF)
}

/// Starts serving an accepted client, or refuses it when the server is full.
fn admit(stream: TcpStream, peer: SocketAddr, config: Config, stats: &Arc<Stats>) {
    let open = stats.open.load(Ordering::Relaxed);
    if config.max.is_some_and(|max| open >= max) {
        stats.refused.fetch_add(1, Ordering::Relaxed);
        if config.verbose {
            vlog!(
                "refused {peer}: {open} connections open (--max-connections {})",
                config.max.unwrap_or(0)
            );
        }
        // Dropping the socket closes it with a FIN: a clean refusal.
        return;
    }
    // Ping-pong latency: without this, Nagle holds a small echo back until
    // the client's delayed ACK (40 ms) whenever a reply is split.
    let _ = stream.set_nodelay(true);
    // Only this loop adds to `open`, so the check above cannot be overtaken
    // by another admission; but connections close on other threads with the
    // multi-thread scheduler, so the count must be incremented atomically,
    // never stored: a store would wipe out a close made since the load, and
    // the count would creep up until `--max-connections` refused everyone.
    let open = stats.open.fetch_add(1, Ordering::Relaxed) + 1;
    stats.peak.fetch_max(open, Ordering::Relaxed);
    stats.served.fetch_add(1, Ordering::Relaxed);
    if config.verbose {
        vlog!("open {peer} ({open} open)");
    }
    let conn = Conn {
        stats: Arc::clone(stats),
        peer,
        verbose: config.verbose,
        opened: std::time::Instant::now(),
        bytes_in: 0,
        bytes_out: 0,
        end: None,
    };
    tokio::spawn(echo(stream, conn, config.idle));
}

/// Why a connection ended, for the -v log.
#[derive(Debug)]
enum End {
    ClientClosed,
    Idle,
    Failed(io::Error),
}

/// One connection's bookkeeping. Its `Drop` runs however the task ends,
/// including when the runtime is dropped at shutdown, so counts are never
/// lost and every open has its close in the -v log.
struct Conn {
    stats: Arc<Stats>,
    peer: SocketAddr,
    verbose: bool,
    opened: std::time::Instant,
    bytes_in: u64,
    bytes_out: u64,
    end: Option<End>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        let s = &self.stats;
        let open = s.open.fetch_sub(1, Ordering::Relaxed).saturating_sub(1);
        s.bytes_in.fetch_add(self.bytes_in, Ordering::Relaxed);
        s.bytes_out.fetch_add(self.bytes_out, Ordering::Relaxed);
        if self.verbose {
            let why = match &self.end {
                None => "server shutdown".to_string(),
                Some(End::ClientClosed) => "closed by client".to_string(),
                Some(End::Idle) => "idle timeout".to_string(),
                Some(End::Failed(e)) => format!("error: {}", super::clean_ref(e)),
            };
            vlog!(
                "close {}: {} bytes in, {} bytes out, {:.3} s, {why} ({open} open)",
                self.peer,
                self.bytes_in,
                self.bytes_out,
                self.opened.elapsed().as_secs_f64(),
            );
        }
    }
}

/// The connection task: echo until the client closes, goes silent, or fails.
async fn echo(mut stream: TcpStream, mut conn: Conn, idle: Option<Duration>) {
    let mut timer = idle.map(IdleTimer::new);
    let end = echo_loop(&mut stream, &mut conn, &mut timer).await;
    conn.end = Some(end);
}

async fn echo_loop(stream: &mut TcpStream, conn: &mut Conn, timer: &mut Option<IdleTimer>) -> End {
    // Bytes read but not yet taken by the client. Empty (and unallocated)
    // except while the client is not reading.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let step = poll_fn(|cx| {
            if let Poll::Ready(r) = poll_read_echo(stream, cx, &mut pending) {
                return Poll::Ready(r.map(Some));
            }
            poll_idle(timer, cx).map(|()| Ok(None))
        })
        .await;
        match step {
            Err(e) => return End::Failed(e),
            Ok(None) => return End::Idle,
            Ok(Some(None)) => {
                // The client half-closed: everything it sent is echoed
                // (nothing is pending), so close our side too.
                let _ = stream.shutdown().await;
                return End::ClientClosed;
            }
            Ok(Some(Some((read, written)))) => {
                conn.bytes_in += read as u64;
                conn.bytes_out += written as u64;
                if let Some(t) = timer {
                    t.touch();
                }
            }
        }
        if pending.is_empty() {
            continue;
        }
        // Backpressure: the client is not taking its echo. Read nothing more
        // from it until this is written; the kernel's buffers then fill and
        // TCP flow control stops the client.
        let mut off = 0;
        let flushed = poll_fn(|cx| {
            while off < pending.len() {
                match Pin::new(&mut *stream).poll_write(cx, &pending[off..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero)))
                    }
                    Poll::Ready(Ok(n)) => {
                        off += n;
                        conn.bytes_out += n as u64;
                        if let Some(t) = timer.as_mut() {
                            t.touch();
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return poll_idle(timer, cx).map(|()| Ok(false)),
                }
            }
            Poll::Ready(Ok(true))
        })
        .await;
        match flushed {
            Ok(true) => pending = Vec::new(),
            Ok(false) => return End::Idle,
            Err(e) => return End::Failed(e),
        }
    }
}

/// Reads once into the thread's buffer and writes it straight back.
///
/// `Ready(Ok(None))` is end of input; `Ready(Ok(Some((read, written))))`
/// says how much came in and how much went out at once; the rest is
/// appended to `pending`.
fn poll_read_echo(
    stream: &mut TcpStream,
    cx: &mut Context<'_>,
    pending: &mut Vec<u8>,
) -> Poll<io::Result<Option<(usize, usize)>>> {
    READ_BUFFER.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut rb = ReadBuf::new(&mut buf[..]);
        ready!(Pin::new(&mut *stream).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        if n == 0 {
            return Poll::Ready(Ok(None));
        }
        let data = &buf[..n];
        let written = match Pin::new(&mut *stream).poll_write(cx, data) {
            Poll::Ready(Ok(w)) => w,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => 0,
        };
        if written < n {
            pending.extend_from_slice(&data[written..]);
        }
        Poll::Ready(Ok(Some((n, written))))
    })
}

/// `Ready` when the connection's idle timer has run out; always `Pending`
/// without `--idle-timeout`.
fn poll_idle(timer: &mut Option<IdleTimer>, cx: &mut Context<'_>) -> Poll<()> {
    match timer {
        Some(t) => {
            if t.poll_expired(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        }
        None => Poll::Pending,
    }
}

/// `--idle-timeout`: fires when no byte has moved for the limit.
///
/// Activity only records the time; the timer is re-armed when it fires
/// early. That keeps the timer wheel out of the per-message path.
struct IdleTimer {
    limit: Duration,
    last: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl IdleTimer {
    fn new(limit: Duration) -> IdleTimer {
        let now = Instant::now();
        IdleTimer {
            limit,
            last: now,
            sleep: Box::pin(tokio::time::sleep_until(now + limit)),
        }
    }

    fn touch(&mut self) {
        self.last = Instant::now();
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return false;
            }
            let deadline = self.last + self.limit;
            if deadline <= Instant::now() {
                return true;
            }
            self.sleep.as_mut().reset(deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_descriptors_backs_off_and_marks_the_burst() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            let mut burst = false;
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(accept_failed(&e, &mut burst, false), Some(ACCEPT_BACKOFF));
            assert!(burst);
            assert_eq!(accept_failed(&e, &mut burst, false), Some(ACCEPT_BACKOFF));
        }
    }

    #[test]
    fn a_connection_aborted_in_the_queue_does_not_stop_accepting() {
        for errno in [libc::ECONNABORTED, libc::EINTR, libc::EPROTO, libc::EPERM] {
            let mut burst = false;
            let e = io::Error::from_raw_os_error(errno);
            assert_eq!(accept_failed(&e, &mut burst, false), None);
            assert!(!burst);
        }
    }
}
