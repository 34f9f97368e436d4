//! The connection once it is up: [`Stream`], plain or TLS over a
//! [`Socket`] (`socket.rs`: TCP, a Unix socket, or, for TLS inside an https
//! proxy's TLS, the proxy's own stream, each read and write held to the
//! `--max-time` deadline); and [`EofWatch`], the socket under TLS that
//! reads ahead and notes the peer's FIN.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::poll::Interest;
use super::socket::{Socket, Timed};
use super::tls_info::TlsInfo;
#[cfg(test)]
use crate::error::is_timeout;

/// The TCP stream under TLS, reading ahead and noting when the peer's FIN
/// arrives.
///
/// Read-ahead: OpenSSL reads a record's 5-byte header, then its body, two
/// system calls per 16 KiB record; serving both from one large read here
/// cuts the calls by an order of magnitude.
///
/// FIN: OpenSSL as native-tls sets it up reports a TCP close without
/// close_notify as a clean end of stream; close_notify itself ends the TLS
/// stream without a further socket read. So "TLS says end of stream and the
/// socket saw EOF" means the peer closed without close_notify: a possible
/// truncation.
#[derive(Debug)]
pub struct EofWatch {
    socket: Timed,
    eof: bool,
    /// The first bytes the server sent, its ServerHello, kept until the
    /// handshake takes them ([`EofWatch::take_hello`]).
    hello: Option<Vec<u8>>,
    ahead: Vec<u8>,
    pos: usize,
    len: usize,
}

/// Read-ahead buffer under TLS: several full records.
const AHEAD: usize = 128 * 1024;

/// How much of the server's first flight is kept to read its ServerHello.
const HELLO_CAPTURE: usize = 4096;

/// The largest TLS record on the wire: 16 KiB of data plus header, padding
/// and tag, rounded up.
pub const TLS_RECORD: usize = 16 * 1024 + 512;

impl EofWatch {
    /// Reads `socket` for TLS, every socket call held to `deadline` (the
    /// handshake's too).
    pub(super) fn new(socket: Socket, deadline: Option<Instant>) -> EofWatch {
        EofWatch {
            socket: Timed::new(socket, deadline),
            eof: false,
            hello: Some(Vec::new()),
            ahead: vec![0; AHEAD],
            pos: 0,
            len: 0,
        }
    }

    /// The server's first bytes, for [`TlsInfo`]; nothing is kept after.
    pub(super) fn take_hello(&mut self) -> Vec<u8> {
        self.hello.take().unwrap_or_default()
    }

    /// Bytes already read ahead: what TLS can decrypt without blocking.
    fn pending(&self) -> usize {
        self.len - self.pos
    }
}

impl Read for EofWatch {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pos == self.len {
            if buf.len() >= AHEAD {
                let n = self.socket.read(buf)?;
                self.eof |= n == 0;
                return Ok(n);
            }
            let n = self.socket.read(&mut self.ahead)?;
            if n == 0 {
                self.eof = true;
                return Ok(0);
            }
            (self.pos, self.len) = (0, n);
            if let Some(hello) = &mut self.hello {
                let take = n.min(HELLO_CAPTURE.saturating_sub(hello.len()));
                hello.extend_from_slice(&self.ahead[..take]);
            }
        }
        let n = buf.len().min(self.len - self.pos);
        buf[..n].copy_from_slice(&self.ahead[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for EofWatch {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.socket.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}

enum Inner {
    Plain(Timed),
    Tls(Box<native_tls::TlsStream<EofWatch>>),
}

/// A connection to the server, plain or TLS, held to the `--max-time`
/// deadline.
pub struct Stream {
    inner: Inner,
    /// What the TLS handshake settled, read once (TLS only).
    tls_info: Option<TlsInfo>,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("tls", &self.is_tls())
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// A plain TCP stream.
    pub fn tcp(tcp: TcpStream, deadline: Option<Instant>) -> Stream {
        Stream::plain(Socket::Tcp(tcp), deadline)
    }

    /// A plain stream over `socket`.
    pub fn plain(socket: Socket, deadline: Option<Instant>) -> Stream {
        Stream {
            inner: Inner::Plain(Timed::new(socket, deadline)),
            tls_info: None,
        }
    }

    /// A TLS stream whose handshake is done and settled `info`; the
    /// deadline is the one its [`EofWatch`] was made with.
    pub(super) fn tls(tls: Box<native_tls::TlsStream<EofWatch>>, info: TlsInfo) -> Stream {
        Stream {
            inner: Inner::Tls(tls),
            tls_info: Some(info),
        }
    }

    /// The TCP socket of a plain stream, given back (a CONNECT tunnel is
    /// set up in plain TCP, then TLS goes through it); `None` otherwise.
    pub fn into_tcp(self) -> Option<TcpStream> {
        match self.into_socket() {
            Socket::Tcp(t) => Some(t),
            _ => None,
        }
    }

    /// What a tunnel set up on this stream runs over: a plain stream's
    /// socket, or the TLS stream itself (an https proxy's).
    pub fn into_socket(self) -> Socket {
        match self.inner {
            Inner::Plain(t) => t.socket,
            Inner::Tls(_) => Socket::Tunnel(Box::new(self)),
        }
    }

    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// The local and the peer's address of the socket (for `-w`).
    /// (Both `None` over a Unix socket.)
    pub fn addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        self.socket().socket.addrs()
    }

    pub(super) fn socket(&self) -> &Timed {
        match &self.inner {
            Inner::Plain(t) => t,
            Inner::Tls(t) => &t.get_ref().socket,
        }
    }

    fn socket_mut(&mut self) -> &mut Timed {
        match &mut self.inner {
            Inner::Plain(t) => t,
            Inner::Tls(t) => &mut t.get_mut().socket,
        }
    }

    /// The socket of a plain TCP or Unix stream (for splice, which reads
    /// both), `None` under TLS or over a tunnel.
    #[cfg(target_os = "linux")]
    pub fn tcp_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        match &self.inner {
            Inner::Plain(Timed {
                socket: Socket::Tcp(s),
                ..
            }) => Some(s.as_raw_fd()),
            Inner::Plain(Timed {
                socket: Socket::Unix(s),
                ..
            }) => Some(s.as_raw_fd()),
            _ => None,
        }
    }

    /// Bytes a TLS stream holds read ahead, decryptable without blocking
    /// (0 for plain TCP, where one large read takes everything queued).
    pub fn tls_pending(&self) -> usize {
        match &self.inner {
            Inner::Plain(_) => 0,
            Inner::Tls(t) => t.get_ref().pending(),
        }
    }

    /// Arms the socket timeout with the time left; `Err(TimedOut)` when none
    /// is. Reads and writes arm themselves; a caller that uses the socket
    /// behind the stream's back (splice) calls this before each use, and
    /// again after a timeout, which is then failed or re-armed.
    pub fn arm(&mut self) -> io::Result<()> {
        self.socket_mut().arm()
    }

    /// Whether the peer sent something within `wait` (bytes TLS already
    /// holds count at once): the `Expect: 100-continue` wait, which must
    /// not read, so that nothing is consumed or left half-read on a timeout.
    pub fn readable_within(&self, wait: Duration) -> io::Result<bool> {
        if self.tls_pending() > 0 {
            return Ok(true);
        }
        let ready = super::poll::ready(&[&self.socket().socket], Interest::Readable, Some(wait))?;
        Ok(ready.contains(&true))
    }

    /// Whether there are bytes (or the end) to read without waiting: TLS's
    /// read-ahead, or the socket's queue; false when it cannot tell.
    pub fn readable_now(&self) -> bool {
        self.readable_within(Duration::ZERO).unwrap_or(false)
    }

    /// Waits up to `timeout` (`None`: without end) until the socket can
    /// be read (`read`) or written (`write`): `rawget send --pipeline`
    /// writes and reads in turn on one thread. With neither, it only
    /// sleeps. Whether the socket was ready.
    pub fn wait(&self, read: bool, write: bool, timeout: Option<Duration>) -> io::Result<bool> {
        let interest = match (read, write) {
            (true, true) => Interest::Both,
            (true, false) => Interest::Readable,
            (false, true) => Interest::Writable,
            (false, false) => {
                std::thread::sleep(timeout.unwrap_or(Duration::from_millis(10)));
                return Ok(false);
            }
        };
        let ready = super::poll::ready(&[&self.socket().socket], interest, timeout)?;
        Ok(ready.contains(&true))
    }

    /// Makes every socket call return at once (`WouldBlock`) rather than
    /// wait (`rawget send --pipeline`, which polls); TLS then reports
    /// `WouldBlock` too, and a write is retried with the same bytes. The
    /// deadline is then the caller's to keep: set it to `None` first, or
    /// a `WouldBlock` is taken for an early wake-up and retried at once.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.socket().socket.set_nonblocking(on)
    }

    /// Holds every later read and write to `at` instead (`None`: no limit):
    /// `rawget send` waits a bounded time for stray bytes after the last
    /// response, never past `--max-time`.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        self.socket_mut().set_deadline(at);
    }

    /// What the TLS handshake settled (TLS only).
    pub fn tls_info(&self) -> Option<&TlsInfo> {
        self.tls_info.as_ref()
    }

    /// The peer certificate summary for `--report` (TLS only): the protocol
    /// line, then the certificate's.
    pub fn certificate(&self) -> Option<Vec<String>> {
        self.tls_info.as_ref()?.summary()
    }

    /// Closes the connection without waiting for the peer.
    pub fn close(&mut self) {
        self.socket_mut().socket.shutdown();
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Also a TLS read that TLS serves from what it has read ahead, with
        // no socket call, fails once the deadline has passed.
        self.arm()?;
        match &mut self.inner {
            Inner::Plain(t) => t.read(buf),
            Inner::Tls(t) => match t.read(buf) {
                Ok(0) if t.get_ref().eof && !buf.is_empty() => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "TLS connection closed without close_notify",
                )),
                other => other,
            },
        }
    }
}

impl Write for Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.arm()?;
        match &mut self.inner {
            Inner::Plain(t) => t.write(buf),
            Inner::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Plain(t) => t.flush(),
            Inner::Tls(t) => t.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// A connected pair whose server side never reads or writes.
    fn stalled() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, server)
    }

    /// Runs `op` on a stalled stream under a 600 ms deadline (long enough
    /// for several early wake-ups) and checks it failed as a timeout, not
    /// before the deadline and not 50 ms after it (issue 11 item 17).
    fn ends_at_the_deadline(op: impl FnOnce(&mut Stream) -> io::Result<()>) {
        let (client, _server) = stalled();
        let deadline = Instant::now() + Duration::from_millis(600);
        let mut stream = Stream::tcp(client, Some(deadline));
        let e = op(&mut stream).unwrap_err();
        let ended = Instant::now();
        assert!(is_timeout(&e), "{e}");
        assert!(ended >= deadline, "{:?} early", deadline - ended);
        assert!(
            ended - deadline < Duration::from_millis(50),
            "{:?} late",
            ended - deadline
        );
    }

    #[test]
    fn a_stalled_read_ends_at_the_deadline() {
        ends_at_the_deadline(|s| s.read(&mut [0; 16]).map(drop));
    }

    #[test]
    fn a_stalled_write_ends_at_the_deadline() {
        // More than the socket buffers hold, so the write blocks.
        ends_at_the_deadline(|s| s.write_all(&vec![0; 64 << 20]));
    }

    /// The same check for a stream made by `make` from a stalled client
    /// socket and the deadline.
    fn ends_at_the_deadline_over(
        make: impl FnOnce(Option<Instant>) -> Stream,
        op: impl FnOnce(&mut Stream) -> io::Result<()>,
    ) {
        let deadline = Instant::now() + Duration::from_millis(300);
        let mut stream = make(Some(deadline));
        let e = op(&mut stream).unwrap_err();
        let ended = Instant::now();
        assert!(is_timeout(&e), "{e}");
        assert!(ended >= deadline, "{:?} early", deadline - ended);
        assert!(ended - deadline < Duration::from_millis(50), "late");
    }

    #[test]
    fn a_stalled_unix_socket_ends_at_the_deadline() {
        let (client, _server) = std::os::unix::net::UnixStream::pair().unwrap();
        let make = |d| Stream::plain(Socket::Unix(client), d);
        ends_at_the_deadline_over(make, |s| s.read(&mut [0; 16]).map(drop));
        let (client, _server) = std::os::unix::net::UnixStream::pair().unwrap();
        let make = |d| Stream::plain(Socket::Unix(client), d);
        ends_at_the_deadline_over(make, |s| s.write_all(&vec![0; 64 << 20]));
    }

    #[test]
    fn a_stalled_tunnel_ends_at_the_deadline_once() {
        // A stream over another stream (TLS inside an https proxy's TLS is
        // one): the stream below keeps the deadline, and its timeout is
        // final, not re-armed forever above it.
        let (client, _server) = stalled();
        let make = |d| {
            let below = Stream::tcp(client, d);
            Stream::plain(Socket::Tunnel(Box::new(below)), d)
        };
        ends_at_the_deadline_over(make, |s| s.read(&mut [0; 16]).map(drop));
    }
}
