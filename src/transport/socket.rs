//! The socket layer under a [`Stream`]: [`Socket`], what it runs over (TCP,
//! a Unix socket, or another stream for TLS inside an https proxy's TLS),
//! and `Timed`, the `--max-time` deadline on every socket read and write
//! (`Deadline`, kept to a jiffy or two).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::stream::Stream;
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
pub(super) struct Deadline {
    /// When `--max-time` runs out; `None`: no limit, no socket timeout.
    pub(super) at: Option<Instant>,
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

    /// Arms the socket's timeouts for the time left; `Err(TimedOut)` when
    /// none is. A tunnel's stream keeps the deadline itself.
    fn arm(&mut self, socket: &Socket) -> io::Result<()> {
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
        socket.set_timeouts(wait)?;
        self.armed_until = Some(now + trusted);
        Ok(())
    }

    /// Runs one socket call under the deadline: a timeout before the
    /// deadline was an early wake-up, so it re-arms and calls again; once the
    /// deadline has passed, `Err(TimedOut)`.
    fn run<T>(
        &mut self,
        socket: &mut Socket,
        mut call: impl FnMut(&mut Socket) -> io::Result<T>,
    ) -> io::Result<T> {
        if let Socket::Tunnel(_) = socket {
            // The stream below re-arms and times out on its own; its
            // timeout is final.
            return call(socket);
        }
        loop {
            self.arm(socket)?;
            match call(socket) {
                Err(e) if is_timeout(&e) && self.at.is_some() => self.armed_until = None,
                other => return other,
            }
        }
    }
}

/// What a [`Stream`] runs over.
#[derive(Debug)]
pub enum Socket {
    /// A TCP connection.
    Tcp(TcpStream),
    /// `--unix-socket` / `--abstract-unix-socket`.
    #[cfg(unix)]
    Unix(UnixStream),
    /// Another stream: TLS to the origin inside the TLS to an https proxy
    /// (read and written in place, no copy; that stream keeps the deadline).
    Tunnel(Box<Stream>),
}

impl From<TcpStream> for Socket {
    fn from(tcp: TcpStream) -> Socket {
        Socket::Tcp(tcp)
    }
}

impl Socket {
    fn set_timeouts(&self, wait: Duration) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => {
                s.set_read_timeout(Some(wait))?;
                s.set_write_timeout(Some(wait))
            }
            #[cfg(unix)]
            Socket::Unix(s) => {
                s.set_read_timeout(Some(wait))?;
                s.set_write_timeout(Some(wait))
            }
            Socket::Tunnel(_) => Ok(()),
        }
    }

    /// The file descriptor data arrives on (a tunnel's: the socket below).
    #[cfg(unix)]
    pub(super) fn raw_fd(&self) -> std::os::fd::RawFd {
        use std::os::fd::AsRawFd;
        match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
            Socket::Tunnel(s) => s.socket().socket.raw_fd(),
        }
    }

    /// Non-blocking calls (`rawget send --pipeline`'s poll loop); a
    /// tunnel's are those of the socket below.
    pub(super) fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_nonblocking(on),
            #[cfg(unix)]
            Socket::Unix(s) => s.set_nonblocking(on),
            Socket::Tunnel(s) => s.set_nonblocking(on),
        }
    }

    pub(super) fn addrs(&self) -> (Option<SocketAddr>, Option<SocketAddr>) {
        match self {
            Socket::Tcp(s) => (s.local_addr().ok(), s.peer_addr().ok()),
            #[cfg(unix)]
            Socket::Unix(_) => (None, None),
            Socket::Tunnel(s) => s.addrs(),
        }
    }

    pub(super) fn shutdown(&mut self) {
        match self {
            Socket::Tcp(s) => drop(s.shutdown(Shutdown::Both)),
            #[cfg(unix)]
            Socket::Unix(s) => drop(s.shutdown(Shutdown::Both)),
            Socket::Tunnel(s) => s.close(),
        }
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for Socket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.raw_fd()
    }
}

#[cfg(windows)]
impl std::os::windows::io::AsRawSocket for Socket {
    fn as_raw_socket(&self) -> std::os::windows::io::RawSocket {
        match self {
            Socket::Tcp(s) => s.as_raw_socket(),
            Socket::Tunnel(s) => s.socket().socket.as_raw_socket(),
        }
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.read(buf),
            Socket::Tunnel(s) => s.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => s.write(buf),
            Socket::Tunnel(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.flush(),
            #[cfg(unix)]
            Socket::Unix(s) => s.flush(),
            Socket::Tunnel(s) => s.flush(),
        }
    }
}

/// A socket whose every read and write is held to the deadline.
#[derive(Debug)]
pub(super) struct Timed {
    pub(super) socket: Socket,
    pub(super) deadline: Deadline,
}

impl Timed {
    pub(super) fn new(socket: Socket, deadline: Option<Instant>) -> Timed {
        Timed {
            socket,
            deadline: Deadline::new(deadline),
        }
    }

    pub(super) fn arm(&mut self) -> io::Result<()> {
        self.deadline.arm(&self.socket)
    }

    pub(super) fn set_deadline(&mut self, at: Option<Instant>) {
        self.deadline = Deadline::new(at);
        if let Socket::Tunnel(s) = &mut self.socket {
            s.set_deadline(at);
        }
    }
}

impl Read for Timed {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.deadline.run(&mut self.socket, |s| s.read(buf))
    }
}

impl Write for Timed {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.deadline.run(&mut self.socket, |s| s.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.socket.flush()
    }
}
