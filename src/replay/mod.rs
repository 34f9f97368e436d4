//! The replay server: serves saved raw HTTP responses byte for byte.
//!
//! This module owns [`Server`], a small synchronous server (std sockets, one
//! thread per client) that the integration tests use to put exact bytes on
//! the wire, with the misbehaviour a real server can show: responses split
//! into pieces and delays, cut short, ended by a reset, or left hanging;
//! over plain TCP or over TLS ([`Plan::tls`], native-tls's acceptor), where
//! it also records each client's SNI and handshake and can end without
//! close_notify. It also owns `rawget replay`, which runs the same server
//! from the command line for a file such as one written by `rawget
//! --save-raw`, with `--cert` and `--key` for TLS.
//!
//! It is synchronous on purpose: a test server must be predictable, and one
//! thread per client keeps the order of writes, sleeps and closes exactly as
//! the [`Plan`] says.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use native_tls::{TlsAcceptor, TlsStream};

mod tls;

use crate::cli::ReplayArgs;
use crate::error::{is_reset, is_timeout, Error, ErrorKind};

/// Largest request recorded per client; more is not read. Requests in tests
/// are small, and the cap keeps a misbehaving client from filling memory.
const MAX_REQUEST: usize = 4 * 1024 * 1024;

/// How long, at most, the drain after [`End::Close`] waits for the client to
/// close its side.
const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How long, at most, [`End::Reset`] waits for the sent bytes to leave the
/// send queue before resetting.
const RESET_WAIT: Duration = Duration::from_secs(5);

/// How often a hanging connection looks whether the server was dropped.
const HANG_POLL: Duration = Duration::from_millis(50);

/// How a connection ends after the response (or the part of it that is sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// An orderly close: FIN after the last byte (`shutdown(Write)`), then a
    /// short drain of what the client still sends, then close. Over TLS the
    /// close_notify alert goes first, as a clean TLS close.
    Close,
    /// Over TLS, the FIN (and the drain and close) without close_notify
    /// first: a truncation as an attacker or a careless server makes it,
    /// which a client must not take for the end of a close-delimited body
    /// (RFC 9112 section 9.8). Over plain TCP the same as [`End::Close`].
    CloseWithoutNotify,
    /// An abortive close: `SO_LINGER {on, 0}` then close, so the kernel sends
    /// RST and the client's next read fails with `ECONNRESET`.
    Reset,
    /// Keep the connection open, reading and discarding, until the client
    /// closes, [`Plan::hang_limit`] passes, or the [`Server`] is dropped;
    /// then close (over TLS without close_notify: the hang is the point).
    Hang,
}

/// A server identity for TLS: the certificate chain the server presents and
/// its private key, loaded once into an acceptor that every client shares.
#[derive(Clone)]
pub struct Identity {
    acceptor: Arc<TlsAcceptor>,
}

impl Identity {
    /// From PEM: `cert` holds the server's certificate, then any chain
    /// certificates it sends after it; `key` is its private key (PKCS#8,
    /// `BEGIN PRIVATE KEY`).
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Identity, native_tls::Error> {
        let identity = native_tls::Identity::from_pkcs8(cert, key)?;
        let acceptor = TlsAcceptor::new(identity)?;
        Ok(Identity {
            acceptor: Arc::new(acceptor),
        })
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// What the server does with each client: the bytes and how to send them.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The bytes to send, verbatim.
    pub response: Vec<u8>,
    /// Write in pieces of this many bytes, each its own `write(2)` with
    /// `TCP_NODELAY` set; `None` (or 0) writes everything at once.
    pub piece: Option<usize>,
    /// Sleep before the first piece and between pieces.
    pub delay: Duration,
    /// Send only the first this many bytes of `response`.
    pub cut: Option<usize>,
    /// How the connection ends after sending.
    pub end: End,
    /// Read the request head (and a `Content-Length` body) before replying.
    /// When false the reply starts at once and nothing is recorded.
    pub read_request: bool,
    /// Upper bound for reading the request, for each blocked write (a
    /// client that stops reading), and for [`End::Hang`], so that no client
    /// thread lives forever. A request still incomplete at the limit is
    /// recorded as it is and answered anyway.
    pub hang_limit: Duration,
    /// Speak TLS with this identity: the handshake first (bounded by 5 s),
    /// then the request and the response inside it. `None`: plain TCP.
    pub tls: Option<Identity>,
}

impl Plan {
    /// Sends `response` in one write after reading the request, then closes:
    /// no pieces, no delay, no cut, [`End::Close`], a 30 s `hang_limit`.
    pub fn new(response: impl Into<Vec<u8>>) -> Plan {
        Plan {
            response: response.into(),
            piece: None,
            delay: Duration::ZERO,
            cut: None,
            end: End::Close,
            read_request: true,
            hang_limit: Duration::from_secs(30),
            tls: None,
        }
    }

    /// Writes in pieces of `n` bytes (0 means all at once).
    pub fn piece(mut self, n: usize) -> Self {
        self.piece = Some(n);
        self
    }

    /// Sleeps `d` before the first piece and between pieces.
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }

    /// Sends only the first `n` bytes of the response.
    pub fn cut(mut self, n: usize) -> Self {
        self.cut = Some(n);
        self
    }

    /// Ends the connection this way after sending.
    pub fn end(mut self, end: End) -> Self {
        self.end = end;
        self
    }

    /// Whether to read the request before replying.
    pub fn read_request(mut self, read: bool) -> Self {
        self.read_request = read;
        self
    }

    /// Bounds reading the request and [`End::Hang`] by `d`.
    pub fn hang_limit(mut self, d: Duration) -> Self {
        self.hang_limit = d;
        self
    }

    /// Serves over TLS with `identity`.
    pub fn tls(mut self, identity: Identity) -> Self {
        self.tls = Some(identity);
        self
    }

    /// The bytes actually sent: `response` shortened by `cut`.
    fn bytes(&self) -> &[u8] {
        let n = self
            .cut
            .map_or(self.response.len(), |c| c.min(self.response.len()));
        &self.response[..n]
    }
}

/// Which plan each client gets.
#[derive(Debug)]
enum Plans {
    /// Every client gets the same plan.
    Same(Arc<Plan>),
    /// Client number i (from 0) gets plan i.
    Each(Vec<Arc<Plan>>),
}

impl Plans {
    fn get(&self, i: usize) -> Option<Arc<Plan>> {
        match self {
            Plans::Same(p) => Some(Arc::clone(p)),
            Plans::Each(v) => v.get(i).cloned(),
        }
    }
}

/// State shared by the [`Server`] handle, the accept thread and the client threads.
#[derive(Debug, Default)]
struct Shared {
    /// Set by `Drop`: stop accepting and stop hanging.
    stop: AtomicBool,
    /// Clients accepted.
    hits: AtomicUsize,
    /// The requests recorded so far, in order of recording.
    requests: Mutex<Vec<Vec<u8>>>,
    /// Signalled whenever a request is recorded.
    recorded: Condvar,
    /// Client threads not yet known to be finished, for [`Server::join`].
    clients: Mutex<Vec<JoinHandle<()>>>,
    /// TLS handshakes completed.
    handshakes: AtomicUsize,
    /// The SNI of each TLS client's hello, in the order they came.
    snis: Mutex<Vec<Option<String>>>,
    /// The server's side of each TLS handshake that failed.
    handshake_failures: Mutex<Vec<String>>,
}

impl Shared {
    fn requests(&self) -> MutexGuard<'_, Vec<Vec<u8>>> {
        // A client thread that panicked while holding the lock left the list
        // intact (it only pushes), so the poisoned data is still good.
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn clients(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        self.clients.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn snis(&self) -> MutexGuard<'_, Vec<Option<String>>> {
        self.snis.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn handshake_failures(&self) -> MutexGuard<'_, Vec<String>> {
        self.handshake_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A running replay server. Dropping it stops accepting new clients;
/// clients already connected finish their plan (a hanging one stops hanging).
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds `listen` (port 0 picks a free port) and serves `plan` to each
    /// client on its own thread, until `count` clients were accepted
    /// (`None`: until dropped).
    pub fn start(listen: &str, plan: Plan, count: Option<usize>) -> io::Result<Server> {
        Server::spawn(listen, Plans::Same(Arc::new(plan)), count, false)
    }

    /// Binds `listen` and serves `plans[i]` to the i-th client (counting from
    /// 0), then stops accepting: a redirect followed by its target, a failure
    /// followed by a success, with one client per connection.
    pub fn start_sequence(listen: &str, plans: Vec<Plan>) -> io::Result<Server> {
        let count = plans.len();
        let plans = Plans::Each(plans.into_iter().map(Arc::new).collect());
        Server::spawn(listen, plans, Some(count), false)
    }

    fn spawn(listen: &str, plans: Plans, count: Option<usize>, log: bool) -> io::Result<Server> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name(format!("replay-accept-{}", addr.port()))
                .spawn(move || accept_loop(listener, plans, count, log, &shared))?
        };
        Ok(Server {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address the server listens on, with the port the kernel chose.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The exact request bytes received from each client so far, in the
    /// order they were recorded. A request is recorded before its response is
    /// sent; clients served with `read_request(false)` are not in the list.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.shared.requests().clone()
    }

    /// Waits until `n` requests are recorded or `timeout` passes, then
    /// returns what is recorded (possibly fewer than `n`).
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        let mut requests = self.shared.requests();
        while requests.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            requests = self
                .shared
                .recorded
                .wait_timeout(requests, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        requests.clone()
    }

    /// How many clients were accepted.
    pub fn hits(&self) -> usize {
        self.shared.hits.load(Ordering::SeqCst)
    }

    /// The server name (SNI) in each TLS client's ClientHello, in the order
    /// they came; `None` when the client sent none (as it must not for an IP
    /// address, RFC 6066 section 3) or the hello could not be read.
    pub fn snis(&self) -> Vec<Option<String>> {
        self.shared.snis().clone()
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.shared.handshakes.load(Ordering::SeqCst)
    }

    /// The server's side of every TLS handshake that failed (the client
    /// refused the certificate, or spoke no TLS), as text.
    pub fn handshake_failures(&self) -> Vec<String> {
        self.shared.handshake_failures().clone()
    }

    /// Waits until the server stopped accepting (after `count` clients) and
    /// every client was served. Without a `count` this waits forever, which
    /// is what `rawget replay` without `--count` wants.
    pub fn join(mut self) {
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
        // The accept thread has ended, so no client thread is added any more.
        let clients = std::mem::take(&mut *self.shared.clients());
        for client in clients {
            let _ = client.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        hang_up_listener(self.addr, self.accept.take());
    }
}

/// Wakes the accept thread, blocked in `accept(2)`, by connecting to it; it
/// sees the stop flag and returns, closing the listener. If the wake-up
/// connection fails the thread is left to end at its next client rather than
/// blocking the caller.
fn hang_up_listener(addr: SocketAddr, accept: Option<JoinHandle<()>>) {
    let Some(accept) = accept else { return };
    if accept.is_finished() {
        let _ = accept.join();
        return;
    }
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let woke =
        TcpStream::connect_timeout(&SocketAddr::new(ip, addr.port()), Duration::from_secs(1));
    if woke.is_ok() || accept.is_finished() {
        let _ = accept.join();
    }
}

fn accept_loop(
    listener: TcpListener,
    plans: Plans,
    count: Option<usize>,
    log: bool,
    shared: &Arc<Shared>,
) {
    let mut accepted = 0usize;
    while count.is_none_or(|c| accepted < c) {
        let (stream, peer) = match listener.accept() {
            Ok(client) => client,
            Err(_) if shared.stopped() => return,
            Err(_) => {
                // EMFILE and friends: back off rather than spin, and retry.
                thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        if shared.stopped() {
            return;
        }
        let Some(plan) = plans.get(accepted) else {
            return;
        };
        accepted += 1;
        let number = shared.hits.fetch_add(1, Ordering::SeqCst) + 1;
        let client_shared = Arc::clone(shared);
        let spawned = thread::Builder::new()
            .name(format!("replay-client-{number}"))
            .spawn(move || {
                let report = serve(stream, &plan, &client_shared);
                if log {
                    // Through diag: a closed stderr must not kill the client thread.
                    crate::output::diag::line(format_args!("{}", report.line(number, peer)));
                }
            });
        let mut clients = shared.clients();
        clients.retain(|c| !c.is_finished());
        if let Ok(handle) = spawned {
            clients.push(handle);
        }
    }
}

/// What happened with one client, for `-v`.
#[derive(Default)]
struct Report {
    /// Over TLS: the SNI seen, or why the handshake failed.
    tls: Option<String>,
    request_line: Option<String>,
    sent: usize,
    outcome: String,
}

impl Report {
    fn line(&self, number: usize, peer: SocketAddr) -> String {
        let tls = self
            .tls
            .as_deref()
            .map_or(String::new(), |t| format!("{t}, "));
        let request = match &self.request_line {
            Some(line) => format!("{line:?}"),
            None => "(request not read)".to_string(),
        };
        format!(
            "replay: client {number} {peer}: {tls}{request}, sent {} bytes, {}",
            self.sent, self.outcome
        )
    }
}

/// One client's connection: plain TCP, or TLS over it.
enum Conn {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl Conn {
    /// The TCP socket, for timeouts, the FIN, the reset and the drain
    /// below TLS.
    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(tcp) => tcp,
            Conn::Tls(tls) => tls.get_ref(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.read(buf),
            Conn::Tls(tls) => tls.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(tcp) => tcp.write(buf),
            Conn::Tls(tls) => tls.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(tcp) => tcp.flush(),
            Conn::Tls(tls) => tls.flush(),
        }
    }
}

/// Serves one client according to `plan`.
fn serve(stream: TcpStream, plan: &Plan, shared: &Shared) -> Report {
    let mut report = Report::default();
    let mut conn = match &plan.tls {
        None => Conn::Plain(stream),
        Some(identity) => {
            let (sni, handshake) = tls::handshake(stream, identity);
            shared.snis().push(sni.clone());
            match handshake {
                Ok(tls) => {
                    shared.handshakes.fetch_add(1, Ordering::SeqCst);
                    report.tls = Some(match &sni {
                        Some(name) => format!("TLS, SNI {name:?}"),
                        None => "TLS, no SNI".to_string(),
                    });
                    Conn::Tls(Box::new(tls))
                }
                Err(e) => {
                    report.tls = Some(format!("TLS handshake failed ({e})"));
                    report.outcome = "closed".to_string();
                    shared.handshake_failures().push(e);
                    return report;
                }
            }
        }
    };
    if plan.read_request {
        let request = read_request(&mut conn, plan.hang_limit);
        report.request_line = Some(request_line(&request));
        // Recorded before the reply, so a client that has seen the whole
        // response can rely on `requests()` already holding its request.
        shared.requests().push(request);
        shared.recorded.notify_all();
    }

    if let Err(e) = send(&mut conn, plan, &mut report.sent) {
        // The client went away mid-response: nothing left to end.
        report.outcome = if is_reset(&e) {
            format!("client closed during the response ({e})")
        } else {
            format!("write failed: {e}")
        };
        return report;
    }
    report.outcome = end(conn, plan, shared);
    report
}

/// Ends the connection as the plan says; returns what happened, for `-v`.
fn end(mut conn: Conn, plan: &Plan, shared: &Shared) -> String {
    match (plan.end, &mut conn) {
        (End::Close, Conn::Tls(tls)) => {
            // close_notify; the client's own, if it sends one, is drained.
            let notified = tls.shutdown();
            close(conn.tcp());
            match notified {
                Ok(()) => "closed with close_notify".to_string(),
                Err(e) => format!("close_notify failed ({e}), closed"),
            }
        }
        (End::CloseWithoutNotify, Conn::Tls(_)) => {
            close(conn.tcp());
            "closed without close_notify".to_string()
        }
        (End::Close | End::CloseWithoutNotify, Conn::Plain(_)) => {
            close(conn.tcp());
            "closed".to_string()
        }
        (End::Reset, _) => match wait_sent(conn.tcp(), plan.hang_limit.min(RESET_WAIT))
            .and_then(|()| set_linger_zero(conn.tcp()))
        {
            Ok(()) => "reset".to_string(),
            Err(e) => format!("reset failed ({e}), closed"),
        },
        (End::Hang, _) => {
            drain(conn.tcp(), Instant::now() + plan.hang_limit, Some(shared));
            "hung up".to_string()
        }
    }
}

/// The FIN, then a bounded drain of what the client still sends (below TLS:
/// raw bytes), so that closing with unread bytes never turns into a RST that
/// could destroy the response in the client's receive buffer.
fn close(tcp: &TcpStream) {
    let _ = tcp.shutdown(Shutdown::Write);
    drain(tcp, Instant::now() + DRAIN_LIMIT, None);
}

/// Writes the plan's bytes: one `write_all`, or pieces with a sleep before
/// each. Over TLS each piece is its own record.
fn send(conn: &mut Conn, plan: &Plan, sent: &mut usize) -> io::Result<()> {
    let bytes = plan.bytes();
    // A client that stops reading must not pin this thread forever.
    conn.tcp()
        .set_write_timeout(Some(plan.hang_limit).filter(|d| !d.is_zero()))?;
    let piece = plan.piece.filter(|&n| n > 0).unwrap_or(bytes.len().max(1));
    if plan.piece.is_some() {
        // Without NODELAY, Nagle would merge small pieces into one segment.
        conn.tcp().set_nodelay(true)?;
    }
    if bytes.is_empty() && !plan.delay.is_zero() {
        // "Close after a delay" still waits.
        thread::sleep(plan.delay);
    }
    for chunk in bytes.chunks(piece) {
        if !plan.delay.is_zero() {
            thread::sleep(plan.delay);
        }
        conn.write_all(chunk)?;
        *sent += chunk.len();
    }
    conn.flush()
}

/// Reads a request head (up to an empty line, CRLF or bare LF) and the
/// `Content-Length` body after it, bounded by `limit` in time and
/// [`MAX_REQUEST`] in size. Returns exactly the bytes read, complete or not.
fn read_request(conn: &mut Conn, limit: Duration) -> Vec<u8> {
    let deadline = Instant::now() + limit;
    let mut buf = Vec::new();
    let mut want: Option<usize> = None;
    let mut chunk = [0u8; 8192];
    loop {
        if want.is_none() {
            if let Some(head_end) = head_end(&buf) {
                let body = content_length(&buf[..head_end]).unwrap_or(0);
                want = Some(head_end.saturating_add(body).min(MAX_REQUEST));
            }
        }
        if want.is_some_and(|w| buf.len() >= w) || buf.len() >= MAX_REQUEST {
            return buf;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || conn.tcp().set_read_timeout(Some(left)).is_err() {
            return buf;
        }
        // Never read past the cap (a request beyond it is cut, not stored).
        let room = (MAX_REQUEST - buf.len()).min(chunk.len());
        match conn.read(&mut chunk[..room]) {
            Ok(0) => return buf,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return buf,
        }
    }
}

/// The offset just past the empty line that ends a head, if it has arrived.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = memchr::memmem::find(buf, b"\r\n\r\n").map(|i| i + 4);
    let lf = memchr::memmem::find(buf, b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The first valid `Content-Length` value in a request head.
fn content_length(head: &[u8]) -> Option<usize> {
    head.split(|&b| b == b'\n').skip(1).find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        let (name, value) = (&line[..colon], &line[colon + 1..]);
        if !name.eq_ignore_ascii_case(b"content-length") {
            return None;
        }
        std::str::from_utf8(value).ok()?.trim().parse().ok()
    })
}

/// The request's first line, for the log.
fn request_line(request: &[u8]) -> String {
    let end = memchr::memchr2(b'\r', b'\n', request).unwrap_or(request.len());
    let line = String::from_utf8_lossy(&request[..end.min(200)]);
    line.into_owned()
}

/// Reads and discards until EOF, an error, `deadline`, or (when `shared` is
/// given) the server being dropped. Over TLS it reads below TLS: records are
/// discarded unread.
fn drain(mut stream: &TcpStream, deadline: Instant, shared: Option<&Shared>) {
    let mut sink = [0u8; 8192];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || shared.is_some_and(Shared::stopped) {
            return;
        }
        // Short slices when hanging, so a dropped server is noticed.
        let slice = if shared.is_some() {
            left.min(HANG_POLL)
        } else {
            left
        };
        if stream.set_read_timeout(Some(slice)).is_err() {
            return;
        }
        match stream.read(&mut sink) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) => {}
            Err(_) => return,
        }
    }
}

/// Waits (bounded by `limit`) until the kernel's send queue is empty, since
/// an abortive close discards what is still queued and the plan says the
/// reset comes *after* the data. Linux only; elsewhere it returns at once.
#[cfg(target_os = "linux")]
fn wait_sent(stream: &TcpStream, limit: Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let deadline = Instant::now() + limit;
    loop {
        let mut queued: libc::c_int = 0;
        // SAFETY: TIOCOUTQ (SIOCOUTQ) writes one int, the bytes not yet
        // acknowledged, into `queued`; the fd is open for the life of `stream`.
        let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCOUTQ, &mut queued) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        if queued == 0 || Instant::now() >= deadline {
            return Ok(());
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[cfg(not(target_os = "linux"))]
fn wait_sent(_stream: &TcpStream, _limit: Duration) -> io::Result<()> {
    Ok(())
}

/// Makes the coming close abortive: with `SO_LINGER {on, 0}` the kernel
/// discards unsent data and sends RST instead of FIN.
#[cfg(unix)]
fn set_linger_zero(stream: &TcpStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open for the life of `stream`; the option value is a
    // valid `linger` and its exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(linger).cast::<libc::c_void>(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(unix))]
fn set_linger_zero(_stream: &TcpStream) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_LINGER is only set on unix",
    ))
}

/// `rawget replay FILE`: serves FILE's bytes to each client until killed, or
/// until `--count` clients were served.
pub fn run(args: &ReplayArgs) -> crate::Result<()> {
    if args.piece == Some(0) {
        return Err(Error::new(ErrorKind::Usage, "--piece must be at least 1"));
    }
    let response = std::fs::read(&args.file).map_err(|e| {
        Error::new(
            ErrorKind::ReadInput,
            format!("cannot read {}", args.file.display()),
        )
        .with_source(e)
    })?;
    let mut plan = Plan::new(response)
        .delay(Duration::from_millis(args.delay))
        .read_request(!args.no_read)
        .end(if args.reset {
            End::Reset
        } else if args.hang {
            End::Hang
        } else if args.no_close_notify {
            End::CloseWithoutNotify
        } else {
            End::Close
        });
    plan.piece = args.piece;
    plan.cut = args.cut;
    if let (Some(cert), Some(key)) = (&args.cert, &args.key) {
        plan = plan.tls(load_identity(cert, key)?);
    }

    // A bad address is a usage error; a good one that cannot be bound is a
    // connect-class failure (in use, not ours).
    if std::net::ToSocketAddrs::to_socket_addrs(args.listen.as_str()).is_err() {
        return Err(Error::new(
            ErrorKind::Usage,
            format!("--listen {}: not an address:port", args.listen),
        ));
    }
    let server = Server::spawn(
        &args.listen,
        Plans::Same(Arc::new(plan)),
        args.count,
        args.verbose,
    )
    .map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("cannot listen on {}", args.listen),
        )
        .with_source(e)
    })?;

    // Scripts and tests wait for this line to learn the port, so it goes out
    // at once rather than when the buffer fills.
    let mut out = io::stdout().lock();
    writeln!(out, "listening on {}", server.addr())
        .and_then(|()| out.flush())
        .map_err(|e| Error::new(ErrorKind::Write, "cannot write to stdout").with_source(e))?;
    drop(out);

    server.join();
    Ok(())
}

/// The identity in the PEM files `cert` and `key`, for `--cert` and
/// `--key`: a file that cannot be read, or that holds no usable certificate
/// and key, is a local input that cannot be used (exit 26, as for
/// `--cacert`).
fn load_identity(cert: &Path, key: &Path) -> crate::Result<Identity> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("cannot read {}", path.display()),
            )
            .with_source(e)
        })
    };
    Identity::from_pem(&read(cert)?, &read(key)?).map_err(|e| {
        Error::new(
            ErrorKind::ReadInput,
            format!(
                "cannot use {} and {} as a TLS certificate and key",
                cert.display(),
                key.display()
            ),
        )
        .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_end_takes_the_first_terminator() {
        assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
        assert_eq!(head_end(b"GET / HTTP/1.1\n\nbody"), Some(16));
        assert_eq!(head_end(b"GET / HTTP/1.1\r\nHost: x\r\n"), None);
    }

    #[test]
    fn content_length_is_found_case_insensitively() {
        let head = b"POST / HTTP/1.1\r\nHost: x\r\ncontent-LENGTH:  12 \r\n\r\n";
        assert_eq!(content_length(head), Some(12));
        assert_eq!(content_length(b"GET / HTTP/1.1\r\n\r\n"), None);
        assert_eq!(
            content_length(b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"),
            None
        );
    }

    #[test]
    fn cut_never_exceeds_the_response() {
        assert_eq!(Plan::new("abc").cut(2).bytes(), b"ab");
        assert_eq!(Plan::new("abc").cut(9).bytes(), b"abc");
    }

    #[test]
    fn request_line_stops_at_the_line_end() {
        assert_eq!(request_line(b"GET / HTTP/1.1\r\nHost: x"), "GET / HTTP/1.1");
        assert_eq!(request_line(b""), "");
    }
}
