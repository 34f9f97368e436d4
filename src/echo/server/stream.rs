//! The stream echo server: TCP, TLS over TCP (`--tls`) or a Unix domain
//! socket (`--unix`), one tokio task per connection.
//!
//! Owns the listening socket, the accept loop, the connection limit, the
//! idle timeout and the lifetime limit, and the echo loop. The echo loop is
//! generic over the stream, so TCP, TLS and Unix run the same code, each
//! compiled for its own type (no dynamic dispatch on the per-message path).
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
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_native_tls::TlsAcceptor;

use crate::echo::tls::ReadAhead;

use super::{listen_error, say, Signals};
use crate::cli::EchoServerArgs;
use crate::echo::seconds;
use crate::{Error, ErrorKind};

/// Size of the per-thread read buffer. Measured as server CPU time for
/// 3,000 echoes of 1 MiB: 16 KiB cost about 1.6x the CPU of 64 KiB (more
/// read/write pairs per byte); 256 KiB was no better than 64 KiB. It also
/// bounds what the server holds for a client that does not read.
const READ_BUF: usize = 64 * 1024;

/// Listen backlog: large enough for 10,000 clients connecting at once
/// (Linux caps it at `net.core.somaxconn`, 4096 by default).
const BACKLOG: u32 = 4096;

/// Longest a TLS handshake may take (less when `--idle-timeout` or
/// `--max-lifetime` is shorter): a client that connects and never says
/// hello must not hold its slot.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);

/// Longest the server waits to send its close (FIN, or TLS close_notify,
/// which is a write and can block on a client that does not read).
const CLOSE_LIMIT: Duration = Duration::from_secs(5);

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
    /// TLS handshakes that failed or timed out.
    handshakes_failed: AtomicU64,
    /// Connections open now.
    open: AtomicUsize,
    /// Most connections open at once.
    peak: AtomicUsize,
    /// Bytes received from clients.
    bytes_in: AtomicU64,
    /// Bytes written back to clients.
    bytes_out: AtomicU64,
}

/// Runs the stream server until SIGINT or SIGTERM, then prints the summary.
pub(super) fn run(args: &EchoServerArgs) -> crate::Result<()> {
    let idle = seconds("--idle-timeout", args.idle_timeout)?;
    let lifetime = seconds("--max-lifetime", args.max_lifetime)?;
    if args.max_connections == Some(0) {
        return Err(Error::new(
            ErrorKind::Usage,
            "--max-connections must be at least 1",
        ));
    }
    let place = match &args.unix {
        Some(path) => Place::Unix(path.clone()),
        None => Place::Ip(super::super::resolve(&args.listen)?),
    };
    let tls = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) if args.tls => Some(super::super::tls::acceptor(cert, key)?),
        _ => None,
    };
    super::super::raise_nofile_limit();

    let rt = super::runtime()?;
    let stats = Arc::new(Stats::default());
    let config = Config {
        idle,
        lifetime,
        max: args.max_connections,
        verbose: args.verbose,
    };
    let outcome = rt.block_on(serve(&args.listen, place, tls, config, Arc::clone(&stats)));
    // Dropping the runtime drops every connection task, which closes its
    // socket and adds its byte counts to `stats` (see `Conn::drop`); and
    // the listener, which removes a Unix socket's file.
    drop(rt);
    let signal = outcome?;

    let failed = match args.tls {
        true => format!(
            ", {} TLS handshakes failed",
            stats.handshakes_failed.load(Ordering::Relaxed)
        ),
        false => String::new(),
    };
    say(format_args!(
        "{signal}: {} connections served, peak {} concurrent, {} refused, {} bytes echoed{failed}",
        stats.served.load(Ordering::Relaxed),
        stats.peak.load(Ordering::Relaxed),
        stats.refused.load(Ordering::Relaxed),
        stats.bytes_out.load(Ordering::Relaxed),
    ))
}

/// What every connection needs to know.
#[derive(Debug, Clone, Copy)]
struct Config {
    idle: Option<Duration>,
    lifetime: Option<Duration>,
    max: Option<usize>,
    verbose: bool,
}

/// Where the server listens.
enum Place {
    /// `--listen`'s addresses.
    Ip(Vec<SocketAddr>),
    /// `--unix PATH` (refused before listening where there are none).
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(PathBuf),
}

/// The listening socket.
enum Listener {
    Tcp(TcpListener),
    /// The file is held only to be removed when the listener goes.
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, #[allow(dead_code)] SocketFile),
}

/// An accepted client, before any TLS.
enum Accepted {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(tokio::net::UnixStream),
}

impl Listener {
    async fn accept(&self, unix_seq: &mut u64) -> io::Result<(Accepted, Peer)> {
        #[cfg(not(unix))]
        let _ = unix_seq;
        match self {
            Listener::Tcp(l) => {
                let (s, peer) = l.accept().await?;
                Ok((Accepted::Tcp(s), Peer::Ip(peer)))
            }
            #[cfg(unix)]
            Listener::Unix(l, _) => {
                let (s, _) = l.accept().await?;
                *unix_seq += 1;
                let pid = s.peer_cred().ok().and_then(|c| c.pid());
                Ok((Accepted::Unix(s), Peer::Unix { n: *unix_seq, pid }))
            }
        }
    }
}

/// A Unix socket's file, removed when the server stops.
#[cfg(unix)]
struct SocketFile(PathBuf);

#[cfg(unix)]
impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Who a connection is, for the -v log.
#[derive(Debug, Clone, Copy)]
enum Peer {
    Ip(SocketAddr),
    /// Unix clients are usually unnamed: the n-th accepted, and its process
    /// id when the kernel says (`SO_PEERCRED`).
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix {
        n: u64,
        pid: Option<i32>,
    },
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Peer::Ip(a) => write!(f, "{a}"),
            Peer::Unix { n, pid: Some(pid) } => write!(f, "unix#{n} pid {pid}"),
            Peer::Unix { n, pid: None } => write!(f, "unix#{n}"),
        }
    }
}

/// Binds, prints the listening line, and accepts until a signal arrives.
/// Returns the signal's name.
async fn serve(
    listen: &str,
    place: Place,
    tls: Option<TlsAcceptor>,
    config: Config,
    stats: Arc<Stats>,
) -> crate::Result<&'static str> {
    let (listener, local) = match place {
        Place::Ip(addrs) => {
            let l = bind(listen, &addrs)?;
            let local = l.local_addr().map_err(|e| listen_error(listen, Some(e)))?;
            (Listener::Tcp(l), local.to_string())
        }
        #[cfg(not(unix))]
        Place::Unix(_) => {
            return Err(Error::new(
                ErrorKind::Usage,
                "--unix needs Unix domain sockets (a Unix system)",
            ))
        }
        #[cfg(unix)]
        Place::Unix(path) => {
            let l = bind_unix(&path)?;
            let shown = path.display().to_string();
            (Listener::Unix(l, SocketFile(path)), shown)
        }
    };
    let mut signals = Signals::hook()?;
    say(format_args!("listening on {local}"))?;
    let tls = tls.map(Arc::new);

    // While accept is failing for want of a resource: when to try again.
    // The sleep is a branch of the select, so a signal still ends the
    // server at once.
    let mut backoff: Option<Instant> = None;
    // Whether the last accept failed that way (one -v line per burst).
    let mut burst = false;
    let mut unix_seq = 0;
    loop {
        tokio::select! {
            biased;
            name = signals.recv() => return Ok(name),
            () = tokio::time::sleep_until(backoff.unwrap_or_else(Instant::now)),
                if backoff.is_some() => backoff = None,
            accepted = listener.accept(&mut unix_seq), if backoff.is_none() => match accepted {
                Ok((stream, peer)) => {
                    burst = false;
                    admit(stream, peer, config, &stats, tls.as_ref());
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
    Err(listen_error(listen, last))
}

/// Binds a Unix socket at `path`. A socket file left by a server that is
/// gone (nothing accepts on it) is replaced; a live one, or any other file,
/// is "Address already in use" (exit 7), as for a TCP port.
#[cfg(unix)]
fn bind_unix(path: &Path) -> crate::Result<tokio::net::UnixListener> {
    let shown = path.display().to_string();
    match tokio::net::UnixListener::bind(path) {
        Ok(l) => Ok(l),
        Err(e) if e.kind() == io::ErrorKind::AddrInUse => {
            use std::os::unix::fs::FileTypeExt;
            let is_socket =
                std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
            let live = std::os::unix::net::UnixStream::connect(path).is_ok();
            if !is_socket || live {
                return Err(listen_error(&shown, Some(e)));
            }
            std::fs::remove_file(path).map_err(|e| listen_error(&shown, Some(e)))?;
            tokio::net::UnixListener::bind(path).map_err(|e| listen_error(&shown, Some(e)))
        }
        Err(e) => Err(listen_error(&shown, Some(e))),
    }
}

/// How long accept rests after failing for want of a resource.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// `ENONET` (machine not on the network) exists on Linux only; accept(2)
/// there lists it among the errors to treat like `EAGAIN`.
#[cfg(unix)]
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
            vlog!("accept: {}; continuing", crate::echo::clean_ref(e));
        }
        return None;
    }
    if verbose && !*burst {
        vlog!("accept: {}; backing off", crate::echo::clean_ref(e));
    }
    *burst = true;
    Some(ACCEPT_BACKOFF)
}

/// Starts serving an accepted client, or refuses it when the server is full.
fn admit(
    stream: Accepted,
    peer: Peer,
    config: Config,
    stats: &Arc<Stats>,
    tls: Option<&Arc<TlsAcceptor>>,
) {
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
    let timers = Timers::new(config.idle, config.lifetime);
    match (stream, tls) {
        (Accepted::Tcp(s), None) => {
            // Ping-pong latency: without this, Nagle holds a small echo back
            // until the client's delayed ACK (40 ms) whenever a reply is split.
            let _ = s.set_nodelay(true);
            tokio::spawn(echo(s, conn, timers));
        }
        (Accepted::Tcp(s), Some(tls)) => {
            let _ = s.set_nodelay(true);
            let limit = [config.idle, config.lifetime]
                .into_iter()
                .flatten()
                .fold(HANDSHAKE_LIMIT, Duration::min);
            tokio::spawn(tls_echo(s, Arc::clone(tls), limit, conn, timers));
        }
        #[cfg(unix)]
        (Accepted::Unix(s), _) => {
            tokio::spawn(echo(s, conn, timers));
        }
    }
}

/// Why a connection ended, for the -v log.
#[derive(Debug)]
enum End {
    ClientClosed,
    Idle,
    Lifetime,
    Handshake(String),
    Failed(io::Error),
}

/// One connection's bookkeeping. Its `Drop` runs however the task ends,
/// including when the runtime is dropped at shutdown, so counts are never
/// lost and every open has its close in the -v log.
struct Conn {
    stats: Arc<Stats>,
    peer: Peer,
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
        if let Some(End::Handshake(_)) = self.end {
            s.handshakes_failed.fetch_add(1, Ordering::Relaxed);
        }
        if self.verbose {
            let why = match &self.end {
                None => "server shutdown".to_string(),
                Some(End::ClientClosed) => "closed by client".to_string(),
                Some(End::Idle) => "idle timeout".to_string(),
                Some(End::Lifetime) => "max lifetime".to_string(),
                Some(End::Handshake(e)) => format!("TLS handshake failed: {e}"),
                Some(End::Failed(e)) => format!("error: {}", crate::echo::clean_ref(e)),
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

/// The TLS connection task: the handshake, bounded by `limit`, then the
/// same echo as for TCP inside TLS.
async fn tls_echo(
    tcp: TcpStream,
    tls: Arc<TlsAcceptor>,
    limit: Duration,
    mut conn: Conn,
    timers: Option<Timers>,
) {
    match tokio::time::timeout(limit, tls.accept(ReadAhead::new(tcp))).await {
        Ok(Ok(stream)) => echo(stream, conn, timers).await,
        Ok(Err(e)) => conn.end = Some(End::Handshake(e.to_string())),
        Err(_) => {
            conn.end = Some(End::Handshake(format!(
                "no handshake within {} s",
                limit.as_secs_f64()
            )))
        }
    }
}

/// The connection task: echo until the client closes, goes silent, runs
/// out its lifetime, or fails.
async fn echo<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    mut conn: Conn,
    mut timers: Option<Timers>,
) {
    let end = echo_loop(&mut stream, &mut conn, &mut timers).await;
    if let End::ClientClosed = end {
        // Everything the client sent is echoed (nothing is pending): close
        // our side too (a FIN; inside TLS, close_notify first).
        let _ = tokio::time::timeout(CLOSE_LIMIT, stream.shutdown()).await;
    }
    conn.end = Some(end);
}

/// What one poll of a connection came to.
enum Step {
    /// Read this many bytes, wrote this many straight back.
    Moved(usize, usize),
    /// The client half-closed.
    Eof,
    /// A timer ran out.
    Timer(End),
}

async fn echo_loop<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    conn: &mut Conn,
    timers: &mut Option<Timers>,
) -> End {
    // Bytes read but not yet taken by the client. Empty (and unallocated)
    // except while the client is not reading.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let step = poll_fn(|cx| {
            if let Poll::Ready(r) = poll_read_echo(stream, cx, &mut pending) {
                return Poll::Ready(r);
            }
            poll_timers(timers, cx).map(|end| Ok(Step::Timer(end)))
        })
        .await;
        match step {
            Err(e) => return End::Failed(e),
            Ok(Step::Timer(end)) => return end,
            Ok(Step::Eof) => return End::ClientClosed,
            Ok(Step::Moved(read, written)) => {
                conn.bytes_in += read as u64;
                conn.bytes_out += written as u64;
                if let Some(t) = timers {
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
                        if let Some(t) = timers.as_mut() {
                            t.touch();
                        }
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return poll_timers(timers, cx).map(|end| Ok(Some(end))),
                }
            }
            Poll::Ready(Ok(None))
        })
        .await;
        match flushed {
            Ok(None) => pending = Vec::new(),
            Ok(Some(end)) => return end,
            Err(e) => return End::Failed(e),
        }
    }
}

/// Reads once into the thread's buffer and writes it straight back.
///
/// `Ready(Ok(Step::Eof))` is end of input; `Ready(Ok(Step::Moved(read,
/// written)))` says how much came in and how much went out at once; the
/// rest is appended to `pending`.
fn poll_read_echo<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    cx: &mut Context<'_>,
    pending: &mut Vec<u8>,
) -> Poll<io::Result<Step>> {
    READ_BUFFER.with(|buf| {
        let mut buf = buf.borrow_mut();
        let mut rb = ReadBuf::new(&mut buf[..]);
        ready!(Pin::new(&mut *stream).poll_read(cx, &mut rb))?;
        let n = rb.filled().len();
        if n == 0 {
            return Poll::Ready(Ok(Step::Eof));
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
        Poll::Ready(Ok(Step::Moved(n, written)))
    })
}

/// `Ready(why)` when a connection timer has run out; always `Pending`
/// without `--idle-timeout` and `--max-lifetime`.
fn poll_timers(timers: &mut Option<Timers>, cx: &mut Context<'_>) -> Poll<End> {
    match timers {
        Some(t) => t.poll_expired(cx),
        None => Poll::Pending,
    }
}

/// `--idle-timeout` (no byte has moved for the limit) and `--max-lifetime`
/// (the connection is that old, whatever it does), on one timer.
///
/// Activity only records the time; the timer is re-armed when it fires
/// early. That keeps the timer wheel out of the per-message path.
struct Timers {
    idle: Option<Duration>,
    /// When the connection's lifetime runs out.
    end_of_life: Option<Instant>,
    last: Instant,
    sleep: Pin<Box<Sleep>>,
}

impl Timers {
    /// `None` when neither limit is set: nothing to poll.
    fn new(idle: Option<Duration>, lifetime: Option<Duration>) -> Option<Timers> {
        if idle.is_none() && lifetime.is_none() {
            return None;
        }
        let now = Instant::now();
        let end_of_life = lifetime.map(|l| now + l);
        let mut t = Timers {
            idle,
            end_of_life,
            last: now,
            sleep: Box::pin(tokio::time::sleep_until(now)),
        };
        let first = t.next_deadline();
        t.sleep.as_mut().reset(first);
        Some(t)
    }

    fn touch(&mut self) {
        if self.idle.is_some() {
            self.last = Instant::now();
        }
    }

    /// The earlier of the idle deadline and the end of life.
    fn next_deadline(&self) -> Instant {
        let idle = self.idle.map(|l| self.last + l);
        match (idle, self.end_of_life) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            // `new` makes no timers without a limit.
            (None, None) => self.last + Duration::from_secs(1 << 30),
        }
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<End> {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            let now = Instant::now();
            if self.end_of_life.is_some_and(|t| t <= now) {
                return Poll::Ready(End::Lifetime);
            }
            if self.idle.is_some_and(|l| self.last + l <= now) {
                return Poll::Ready(End::Idle);
            }
            let next = self.next_deadline();
            self.sleep.as_mut().reset(next);
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

    #[test]
    fn peers_are_named_for_the_log() {
        let ip = Peer::Ip("127.0.0.1:5000".parse().unwrap());
        assert_eq!(ip.to_string(), "127.0.0.1:5000");
        let unix = Peer::Unix {
            n: 3,
            pid: Some(42),
        };
        assert_eq!(unix.to_string(), "unix#3 pid 42");
        assert_eq!(Peer::Unix { n: 4, pid: None }.to_string(), "unix#4");
    }
}
