//! A TLS test server on loopback for the HTTPS tests: native-tls's acceptor
//! with a certificate and key from `fixtures/tls/`, a thread per client, and
//! a [`TlsPlan`] saying what to send and how to end the connection.
//!
//! Every blocking call is bounded: the handshake by [`HANDSHAKE_LIMIT`],
//! reading the request, each write and [`TlsEnd::Hang`] by
//! [`TlsPlan::hang_limit`], the drain after the close by [`DRAIN_LIMIT`];
//! dropping the [`TlsServer`] stops the accept loop, wakes every client
//! thread within [`POLL`] (except one still in its handshake) and joins them.
#![allow(dead_code)]

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use native_tls::{Identity, TlsAcceptor, TlsStream};

/// Bound on each client's TLS handshake (socket read and write timeouts).
pub const HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// After the server's last byte and its TCP FIN, how long it keeps reading
/// (and discarding) what the client still sends before closing, so that
/// closing with unread bytes never turns into a RST that could destroy the
/// response in the client's receive buffer.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// How often blocked loops look whether the server was dropped.
pub const POLL: Duration = Duration::from_millis(50);

/// How the connection ends once the response (or its cut) is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsEnd {
    /// A clean TLS close: close_notify (`TlsStream::shutdown`), then the TCP
    /// FIN, a bounded drain, and the close.
    CloseNotify,
    /// A truncation as an attacker (or a broken server) makes it: the TCP FIN
    /// and close with no close_notify first.
    DropWithoutCloseNotify,
    /// Keep the connection open, reading and discarding, until the client
    /// closes, [`TlsPlan::hang_limit`] passes, or the server is dropped.
    Hang,
}

/// What the server does with each client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPlan {
    /// The bytes to send inside TLS, verbatim.
    pub response: Vec<u8>,
    /// Send only the first this many bytes of `response`.
    pub cut: Option<usize>,
    /// How the connection ends after sending.
    pub end: TlsEnd,
    /// Read (and record) the request head, up to `\r\n\r\n`, before
    /// replying. When false the reply (if any) and the end follow the
    /// handshake at once and nothing is recorded.
    pub read_request: bool,
    /// Bound on reading the request, on each write and on [`TlsEnd::Hang`].
    pub hang_limit: Duration,
}

impl TlsPlan {
    /// Reads the request, sends `response` whole, ends with close_notify;
    /// a 10 s `hang_limit`.
    pub fn new(response: impl Into<Vec<u8>>) -> TlsPlan {
        TlsPlan {
            response: response.into(),
            cut: None,
            end: TlsEnd::CloseNotify,
            read_request: true,
            hang_limit: Duration::from_secs(10),
        }
    }

    /// Completes the handshake, then closes (close_notify) at once: no
    /// reply, and the request is not read.
    pub fn silent() -> TlsPlan {
        TlsPlan::new(Vec::new()).read_request(false)
    }

    /// Sends only the first `n` bytes of the response.
    pub fn cut(mut self, n: usize) -> Self {
        self.cut = Some(n);
        self
    }

    /// Ends the connection this way.
    pub fn end(mut self, end: TlsEnd) -> Self {
        self.end = end;
        self
    }

    /// Whether to read the request head before replying.
    pub fn read_request(mut self, read: bool) -> Self {
        self.read_request = read;
        self
    }

    /// Bounds reading the request, each write and [`TlsEnd::Hang`].
    pub fn hang_limit(mut self, d: Duration) -> Self {
        self.hang_limit = d;
        self
    }

    fn bytes(&self) -> &[u8] {
        let n = self
            .cut
            .map_or(self.response.len(), |c| c.min(self.response.len()));
        &self.response[..n]
    }
}

/// `fixtures/tls/NAME` (NAME itself when it is absolute).
pub fn tls_fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("tls")
        .join(name)
}

#[derive(Default)]
struct Shared {
    requests: Mutex<Vec<Vec<u8>>>,
    recorded: Condvar,
    handshakes: AtomicUsize,
    snis: Mutex<Vec<Option<String>>>,
    failures: Mutex<Vec<String>>,
    stop: AtomicBool,
}

/// A TLS server on loopback; stops (and joins its threads) when dropped.
pub struct TlsServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Serves `plan` to every client on 127.0.0.1 (a free port) with the
    /// certificate `fixtures/tls/CERT` and key `fixtures/tls/KEY` (an
    /// absolute path is taken as it is); panics when it cannot. When CERT
    /// holds several certificates, the first is the server's and the others
    /// are sent after it as its chain.
    pub fn start(cert: &str, key: &str, plan: TlsPlan) -> TlsServer {
        TlsServer::try_start("127.0.0.1:0", cert, key, plan).expect("start TLS server")
    }

    /// As [`TlsServer::start`] on `listen` (e.g. `[::1]:0`); the error when
    /// the address cannot be bound.
    pub fn try_start(listen: &str, cert: &str, key: &str, plan: TlsPlan) -> io::Result<TlsServer> {
        let cert = std::fs::read(tls_fixture_path(cert))?;
        let key = std::fs::read(tls_fixture_path(key))?;
        let identity = Identity::from_pkcs8(&cert, &key).map_err(io::Error::other)?;
        let acceptor = Arc::new(TlsAcceptor::new(identity).map_err(io::Error::other)?);
        let listener = TcpListener::bind(listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let plan = Arc::new(plan);
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(listener, acceptor, plan, shared))
        };
        Ok(TlsServer {
            addr,
            shared,
            accept: Some(accept),
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The request heads recorded so far, in the order they completed.
    pub fn requests(&self) -> Vec<Vec<u8>> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// Waits up to `timeout` until `n` requests are recorded; returns those
    /// recorded by then (as text), so a test asserts on what it got.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        let mut got = self.shared.requests.lock().unwrap();
        while got.len() < n {
            let Some(left) = deadline.checked_duration_since(Instant::now()) else {
                break;
            };
            got = self.shared.recorded.wait_timeout(got, left).unwrap().0;
        }
        got.iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }

    /// The server name (SNI) of each ClientHello, in the order the
    /// connections came; `None` when the client sent none (as it must not
    /// for an IP address, RFC 6066 section 3) or the hello was unreadable.
    pub fn snis(&self) -> Vec<Option<String>> {
        self.shared.snis.lock().unwrap().clone()
    }

    /// How many TLS handshakes completed.
    pub fn handshakes(&self) -> usize {
        self.shared.handshakes.load(Ordering::SeqCst)
    }

    /// The server's side of every handshake that failed (e.g. the client
    /// refused the certificate), as text.
    pub fn handshake_failures(&self) -> Vec<String> {
        self.shared.failures.lock().unwrap().clone()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    acceptor: Arc<TlsAcceptor>,
    plan: Arc<TlsPlan>,
    shared: Arc<Shared>,
) {
    let mut clients: Vec<JoinHandle<()>> = Vec::new();
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((tcp, _)) => {
                let (acceptor, plan, shared) = (
                    Arc::clone(&acceptor),
                    Arc::clone(&plan),
                    Arc::clone(&shared),
                );
                clients.push(std::thread::spawn(move || {
                    let _ = serve(tcp, &acceptor, &plan, &shared);
                }));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::sleep(POLL / 5),
            Err(_) => std::thread::sleep(POLL / 5),
        }
        clients.retain(|c| !c.is_finished());
    }
    for c in clients {
        let _ = c.join();
    }
}

fn stopped(shared: &Shared) -> bool {
    shared.stop.load(Ordering::SeqCst)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

fn serve(
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    plan: &TlsPlan,
    shared: &Shared,
) -> io::Result<()> {
    tcp.set_nonblocking(false)?;
    tcp.set_nodelay(true)?;
    tcp.set_read_timeout(Some(HANDSHAKE_LIMIT))?;
    tcp.set_write_timeout(Some(HANDSHAKE_LIMIT))?;
    let sni = peek_sni(&tcp, Instant::now() + HANDSHAKE_LIMIT);
    shared.snis.lock().unwrap().push(sni);
    tcp.set_read_timeout(Some(HANDSHAKE_LIMIT))?;
    let mut tls = match acceptor.accept(tcp) {
        Ok(tls) => tls,
        Err(e) => {
            shared.failures.lock().unwrap().push(e.to_string());
            return Ok(());
        }
    };
    shared.handshakes.fetch_add(1, Ordering::SeqCst);
    let limit = Instant::now() + plan.hang_limit;

    if plan.read_request {
        let request = read_head(&mut tls, limit, shared);
        shared.requests.lock().unwrap().push(request);
        shared.recorded.notify_all();
    }

    tls.get_ref().set_write_timeout(Some(plan.hang_limit))?;
    let bytes = plan.bytes();
    if !bytes.is_empty() {
        tls.write_all(bytes)?;
        tls.flush()?;
    }

    match plan.end {
        TlsEnd::CloseNotify => {
            let _ = tls.shutdown();
            close(tls, shared);
        }
        TlsEnd::DropWithoutCloseNotify => close(tls, shared),
        TlsEnd::Hang => {
            tls.get_ref().set_read_timeout(Some(POLL))?;
            let mut buf = [0u8; 4096];
            while Instant::now() < limit && !stopped(shared) {
                match tls.read(&mut buf) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if is_timeout(&e) => {}
                    Err(_) => break,
                }
            }
            // Closed without close_notify: the hang is what the test is about.
            let _ = tls.get_ref().shutdown(Shutdown::Both);
        }
    }
    Ok(())
}

/// The SNI host name in the client's first TLS record (its ClientHello),
/// looked at with `peek` so that the acceptor still reads it all. Leaves a
/// short read timeout on `tcp`.
fn peek_sni(tcp: &TcpStream, limit: Instant) -> Option<String> {
    let mut buf = vec![0u8; 5 + (1 << 14)];
    tcp.set_read_timeout(Some(POLL)).ok()?;
    let record = loop {
        match tcp.peek(&mut buf) {
            Ok(0) => return None,
            Ok(n) if n >= 5 => {
                let need = 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
                if buf[0] != 22 || need > buf.len() {
                    return None; // not a handshake record
                }
                if n >= need {
                    break &buf[5..need];
                }
            }
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return None,
        }
        if Instant::now() >= limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    client_hello_sni(record)
}

/// The host_name in the server_name extension of a ClientHello handshake
/// message (RFC 8446 section 4.1.2, RFC 6066 section 3).
fn client_hello_sni(msg: &[u8]) -> Option<String> {
    struct Cursor<'a>(&'a [u8]);
    impl<'a> Cursor<'a> {
        fn take(&mut self, n: usize) -> Option<&'a [u8]> {
            if self.0.len() < n {
                return None;
            }
            let (a, b) = self.0.split_at(n);
            self.0 = b;
            Some(a)
        }
        fn num(&mut self, n: usize) -> Option<usize> {
            Some(
                self.take(n)?
                    .iter()
                    .fold(0, |v, &b| v << 8 | usize::from(b)),
            )
        }
        fn vec(&mut self, len_bytes: usize) -> Option<Cursor<'a>> {
            let n = self.num(len_bytes)?;
            Some(Cursor(self.take(n)?))
        }
    }
    let mut c = Cursor(msg);
    if c.num(1)? != 1 {
        return None; // not a ClientHello
    }
    let mut hello = c.vec(3)?;
    hello.take(2 + 32)?; // legacy_version, random
    hello.vec(1)?; // legacy_session_id
    hello.vec(2)?; // cipher_suites
    hello.vec(1)?; // legacy_compression_methods
    let mut exts = hello.vec(2)?;
    while !exts.0.is_empty() {
        let kind = exts.num(2)?;
        let mut body = exts.vec(2)?;
        if kind == 0 {
            let mut list = body.vec(2)?;
            while !list.0.is_empty() {
                let name_type = list.num(1)?;
                let name = list.vec(2)?;
                if name_type == 0 {
                    return Some(String::from_utf8_lossy(name.0).into_owned());
                }
            }
        }
    }
    None
}

/// Reads up to and including `\r\n\r\n`, or what came by `limit`.
fn read_head(tls: &mut TlsStream<TcpStream>, limit: Instant, shared: &Shared) -> Vec<u8> {
    let _ = tls.get_ref().set_read_timeout(Some(POLL));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        if Instant::now() >= limit || stopped(shared) {
            break;
        }
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => {}
            Err(_) => break,
        }
    }
    got
}

/// The TCP FIN, then a bounded drain of raw bytes (below TLS: whatever the
/// client still sends, a close_notify of its own included), then the close.
/// No close_notify is sent here: dropping a native-tls stream never sends one.
fn close(tls: TlsStream<TcpStream>, shared: &Shared) {
    let mut tcp: &TcpStream = tls.get_ref();
    let _ = tcp.shutdown(Shutdown::Write);
    let _ = tcp.set_read_timeout(Some(POLL));
    let until = Instant::now() + DRAIN_LIMIT;
    let mut buf = [0u8; 4096];
    while Instant::now() < until && !stopped(shared) {
        match tcp.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => break,
        }
    }
    drop(tls);
}
