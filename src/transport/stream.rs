//! The connection once it is up: [`Stream`], TCP or TLS; the `--max-time`
//! deadline on every socket read and write (`Deadline`, kept to a jiffy or
//! two); and [`EofWatch`], the socket under TLS that reads ahead and notes
//! the peer's FIN.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use super::poll::Interest;
use super::tls_info::TlsInfo;
use crate::error::is_timeout;

/// The `--max-time` deadline, kept by socket timeouts (`SO_RCVTIMEO`,
/// `SO_SNDTIMEO`) on every socket read and write.
///
/// Linux does not keep a socket timeout to the millisecond: the wait sleeps
/// on the kernel's timer wheel, which rounds a timeout up to the granularity
/// of the level it falls in, up to 1/8 of it: one jiffy (4 ms at HZ=250)
/// under 64 jiffies, 32 ms up to about 2 s, 256 ms from 2 s to 16 s. Arming
/// the whole time left made `-m 2.1` end 204 ms late (issue 11 item 17). So
/// while more than [`FINE`] is left a wait is armed for half of it, wakes
/// early and re-arms; only the last [`FINE`], on the wheel's finest level, is
/// armed exactly. A stall wakes about log2(time left / 50 ms) times and ends
/// within a jiffy or two of the deadline.
#[derive(Debug)]
struct Deadline {
    /// When `--max-time` runs out; `None`: no limit, no socket timeout.
    at: Option<Instant>,
    /// Until when the timeout armed last cannot carry a wait past `at`;
    /// calls before then skip the two `setsockopt`s, so a fast transfer arms
    /// at most every [`REARM`].
    armed_until: Option<Instant>,
}

/// The last stretch before the deadline, armed exactly: short enough for
/// the timer wheel's finest level (under 64 jiffies even at HZ=1000).
const FINE: Duration = Duration::from_millis(50);

/// The longest an armed timeout is trusted before re-arming: a fast
/// transfer makes two `setsockopt` calls per 50 ms, not two per read.
const REARM: Duration = Duration::from_millis(50);

impl Deadline {
    fn new(at: Option<Instant>) -> Deadline {
        Deadline {
            at,
            armed_until: None,
        }
    }

    /// Arms `tcp`'s timeouts for the time left; `Err(TimedOut)` when none is.
    fn arm(&mut self, tcp: &TcpStream) -> io::Result<()> {
        let Some(at) = self.at else {
            return Ok(());
        };
        let now = Instant::now();
        if self.armed_until.is_some_and(|until| now < until) {
            return Ok(());
        }
        let left = at.checked_duration_since(now).filter(|d| !d.is_zero());
        let left =
            left.ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "deadline passed"))?;
        // A wait for half the time left, started within its first quarter,
        // ends by 13/16 of it (the wheel adds at most an eighth of the wait)
        // plus a jiffy or two: before the deadline. Nor can it time out
        // within that quarter, so a call that timed out always finds the
        // arming stale and re-arms.
        let (wait, trusted) = if left > FINE {
            (left / 2, (left / 4).min(REARM))
        } else {
            (left, Duration::ZERO)
        };
        tcp.set_read_timeout(Some(wait))?;
        tcp.set_write_timeout(Some(wait))?;
        self.armed_until = Some(now + trusted);
        Ok(())
    }

    /// Runs one socket call under the deadline: a timeout before the
    /// deadline was an early wake-up, so it re-arms and calls again; once the
    /// deadline has passed, `Err(TimedOut)`.
    fn run<T>(
        &mut self,
        tcp: &TcpStream,
        mut call: impl FnMut(&TcpStream) -> io::Result<T>,
    ) -> io::Result<T> {
        loop {
            self.arm(tcp)?;
            match call(tcp) {
                Err(e) if is_timeout(&e) && self.at.is_some() => self.armed_until = None,
                other => return other,
            }
        }
    }
}

/// A TCP socket whose every read and write is held to the deadline.
#[derive(Debug)]
struct Timed {
    tcp: TcpStream,
    deadline: Deadline,
}

impl Timed {
    fn new(tcp: TcpStream, deadline: Option<Instant>) -> Timed {
        Timed {
            tcp,
            deadline: Deadline::new(deadline),
        }
    }

    fn arm(&mut self) -> io::Result<()> {
        self.deadline.arm(&self.tcp)
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.deadline.run(&self.tcp, |mut tcp| tcp.read(buf))
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.deadline.run(&self.tcp, |mut tcp| tcp.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

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
    /// Reads `tcp` for TLS, every socket call held to `deadline` (the
    /// handshake's too).
    pub(super) fn new(tcp: TcpStream, deadline: Option<Instant>) -> EofWatch {
        EofWatch {
            socket: Timed::new(tcp, deadline),
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
    Tcp(Timed),
    Tls(Box<native_tls::TlsStream<EofWatch>>),
}

/// A connection to the server, TCP or TLS, held to the `--max-time` deadline.
pub struct Stream {
    inner: Inner,
    /// What the TLS handshake settled, read once (TLS only).
    tls_info: Option<TlsInfo>,
}

impl Stream {
    /// A plain TCP stream.
    pub fn tcp(tcp: TcpStream, deadline: Option<Instant>) -> Stream {
        Stream {
            inner: Inner::Tcp(Timed::new(tcp, deadline)),
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
    /// set up in plain TCP, then TLS goes through it); `None` under TLS.
    pub fn into_tcp(self) -> Option<TcpStream> {
        match self.inner {
            Inner::Tcp(t) => Some(t.tcp),
            Inner::Tls(_) => None,
        }
    }

    /// Whether this is a TLS stream.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// The local and the peer's address of the socket (for `-w`).
    pub fn addrs(&self) -> (Option<std::net::SocketAddr>, Option<std::net::SocketAddr>) {
        let tcp = &self.socket().tcp;
        (tcp.local_addr().ok(), tcp.peer_addr().ok())
    }

    fn socket(&self) -> &Timed {
        match &self.inner {
            Inner::Tcp(t) => t,
            Inner::Tls(t) => &t.get_ref().socket,
        }
    }

    fn socket_mut(&mut self) -> &mut Timed {
        match &mut self.inner {
            Inner::Tcp(t) => t,
            Inner::Tls(t) => &mut t.get_mut().socket,
        }
    }

    /// The socket of a plain TCP stream (for splice), `None` under TLS.
    #[cfg(target_os = "linux")]
    pub fn tcp_fd(&self) -> Option<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        match &self.inner {
            Inner::Tcp(t) => Some(t.tcp.as_raw_fd()),
            Inner::Tls(_) => None,
        }
    }

    /// Bytes a TLS stream holds read ahead, decryptable without blocking
    /// (0 for plain TCP, where one large read takes everything queued).
    pub fn tls_pending(&self) -> usize {
        match &self.inner {
            Inner::Tcp(_) => 0,
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
        let ready = super::poll::ready(&[&self.socket().tcp], Interest::Readable, Some(wait))?;
        Ok(ready.contains(&true))
    }

    /// A second handle on a plain TCP stream's socket, held to the same
    /// deadline, for a writer on another thread: `rawget send --pipeline`
    /// writes while it reads, so that a long pipeline cannot stall with
    /// both sides' buffers full. `None` under TLS, whose stream is one
    /// state machine.
    pub fn try_clone_writer(&self) -> Option<io::Result<Stream>> {
        match &self.inner {
            Inner::Tcp(t) => Some(t.tcp.try_clone().map(|c| Stream::tcp(c, t.deadline.at))),
            Inner::Tls(_) => None,
        }
    }

    /// Holds every later read and write to `at` instead (`None`: no limit):
    /// `rawget send` waits a bounded time for stray bytes after the last
    /// response, never past `--max-time`.
    pub fn set_deadline(&mut self, at: Option<Instant>) {
        self.socket_mut().deadline = Deadline::new(at);
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
        let _ = self.socket().tcp.shutdown(Shutdown::Both);
    }
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Also a TLS read that TLS serves from what it has read ahead, with
        // no socket call, fails once the deadline has passed.
        self.arm()?;
        match &mut self.inner {
            Inner::Tcp(t) => t.read(buf),
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
            Inner::Tcp(t) => t.write(buf),
            Inner::Tls(t) => t.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.inner {
            Inner::Tcp(t) => t.flush(),
            Inner::Tls(t) => t.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
}
