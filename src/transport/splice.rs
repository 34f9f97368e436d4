//! Zero-copy body transfer on Linux: socket → pipe → output with splice(2).
//!
//! Used for plain-http bodies that need no transformation (Content-Length
//! or close-delimited, no `--save-raw`): the kernel moves the socket's pages
//! into a pipe and from the pipe into the output file, so the body never
//! passes through user space. When the output cannot take a splice (a
//! terminal, some file systems) the caller falls back to read and write;
//! bytes already in the pipe are drained by read(2) so nothing is lost.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use super::pace::Pace;
use super::poll::{ready, Interest};
use crate::error::is_timeout;

/// Largest pipe asked for: the default pipe-max-size, so no privilege is needed.
const PIPE_SIZE: libc::c_int = 1 << 20;

/// How a splice run ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// `limit` bytes were moved.
    Limit,
    /// The peer closed the connection.
    Eof,
    /// The output does not take splices: fall back to read/write. Any bytes
    /// that were already in the pipe have been written with `write_all`.
    Unsupported,
}

/// Why a splice run stopped early.
#[derive(Debug)]
pub enum Failure {
    /// Reading the socket failed.
    Recv(io::Error),
    /// Writing the output failed.
    Write(io::Error),
}

/// Whether `socket` has bytes (or its end) to read now; false when it
/// cannot tell, as `Stream::readable_now` (the splice works on the raw
/// descriptor while the stream is borrowed to re-arm its timeouts).
fn readable_now(socket: RawFd) -> bool {
    // SAFETY: `socket` is open for the whole of `Pipe::run` (its contract),
    // and the borrow ends with this call.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(socket) };
    ready(&[&fd], Interest::Readable, Some(std::time::Duration::ZERO))
        .is_ok_and(|r| r.contains(&true))
}

/// A pipe kept for the whole transfer.
pub struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    capacity: usize,
}

impl Pipe {
    /// A pipe as large as allowed without privileges.
    pub fn new() -> io::Result<Pipe> {
        let mut fds = [0; 2];
        // SAFETY: pipe2 fills two descriptors that we then own.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors were just created and are owned here only.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: F_SETPIPE_SZ on our own pipe; failure leaves the default size.
        let size = unsafe { libc::fcntl(write.as_raw_fd(), libc::F_SETPIPE_SZ, PIPE_SIZE) };
        let capacity = if size > 0 { size as usize } else { 64 * 1024 };
        Ok(Pipe {
            read,
            write,
            capacity,
        })
    }

    /// Moves up to `limit` bytes (all until EOF when `None`) from `socket`
    /// to `out`, calling `moved` after each batch reaches the output.
    /// `before_read` runs before every socket read, to re-arm the socket's
    /// timeouts; a read that times out goes back to it, so it must fail once
    /// the deadline has passed. `pace` naps before a socket read that
    /// would wait while the body streams (`pace.rs`).
    /// `socket` and `out` must stay open for the call.
    pub fn run(
        &self,
        socket: RawFd,
        out: RawFd,
        mut limit: Option<u64>,
        pace: &mut Pace,
        mut before_read: impl FnMut() -> io::Result<()>,
        mut moved: impl FnMut(u64),
    ) -> Result<End, Failure> {
        loop {
            if limit == Some(0) {
                return Ok(End::Limit);
            }
            let want = limit.map_or(self.capacity, |l| l.min(self.capacity as u64) as usize);
            before_read().map_err(Failure::Recv)?;
            pace.wait(|| readable_now(socket));
            // SAFETY: splice(2) with null offsets touches no memory of ours;
            // `socket` is the caller's open descriptor and the pipe's write
            // end is open for as long as `self`.
            let n = unsafe {
                libc::splice(
                    socket,
                    std::ptr::null_mut(),
                    self.write.as_raw_fd(),
                    std::ptr::null_mut(),
                    want,
                    libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE,
                )
            };
            if n < 0 {
                let e = io::Error::last_os_error();
                // A socket timeout is the deadline's early wake-up (see
                // stream.rs): `before_read` re-arms, or fails once time is up.
                if e.kind() == io::ErrorKind::Interrupted || is_timeout(&e) {
                    continue;
                }
                return Err(Failure::Recv(e));
            }
            if n == 0 {
                return Ok(End::Eof);
            }
            pace.took(n as usize);
            let mut in_pipe = n as usize;
            while in_pipe > 0 {
                // SAFETY: as the splice above: null offsets, the pipe's read
                // end open for as long as `self`, `out` the caller's.
                let m = unsafe {
                    libc::splice(
                        self.read.as_raw_fd(),
                        std::ptr::null_mut(),
                        out,
                        std::ptr::null_mut(),
                        in_pipe,
                        libc::SPLICE_F_MOVE | libc::SPLICE_F_MORE,
                    )
                };
                if m < 0 {
                    let e = io::Error::last_os_error();
                    match e.raw_os_error() {
                        Some(libc::EINTR) => continue,
                        Some(libc::EINVAL) => {
                            self.drain_by_copy(out, in_pipe).map_err(Failure::Write)?;
                            moved(in_pipe as u64);
                            if let Some(l) = &mut limit {
                                *l -= in_pipe as u64;
                            }
                            return Ok(End::Unsupported);
                        }
                        _ => return Err(Failure::Write(e)),
                    }
                }
                if m == 0 {
                    return Err(Failure::Write(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "output took no bytes",
                    )));
                }
                in_pipe -= m as usize;
                moved(m as u64);
                if let Some(l) = &mut limit {
                    *l -= m as u64;
                }
            }
        }
    }

    /// Writes `n` bytes waiting in the pipe to `out` the ordinary way.
    fn drain_by_copy(&self, out: RawFd, mut n: usize) -> io::Result<()> {
        use std::io::{Read, Write};
        let mut buf = vec![0; n.min(64 * 1024)];
        // SAFETY: the pipe's read end is open for as long as `self`, which
        // outlives this call; ManuallyDrop keeps the File from closing it.
        let mut pipe = std::mem::ManuallyDrop::new(unsafe {
            std::fs::File::from_raw_fd(self.read.as_raw_fd())
        });
        // SAFETY: `out` is the caller's open descriptor for the whole call
        // (as `run` requires); ManuallyDrop keeps the File from closing it.
        let mut out = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(out) });
        while n > 0 {
            let take = n.min(buf.len());
            pipe.read_exact(&mut buf[..take])?;
            out.write_all(&buf[..take])?;
            n -= take;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};

    #[test]
    fn moves_a_limited_body_and_leaves_the_rest() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let writer = std::thread::spawn(move || {
            server.write_all(&body).unwrap();
            server.write_all(b"EXTRA").unwrap();
            body
        });
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let file = std::fs::File::create(&path).unwrap();
        let pipe = Pipe::new().unwrap();
        let mut total = 0;
        let end = pipe
            .run(
                client.as_raw_fd(),
                file.as_raw_fd(),
                Some(300_000),
                &mut Pace::new(true),
                || Ok(()),
                |n| total += n,
            )
            .unwrap();
        let body = writer.join().unwrap();
        assert_eq!((end, total), (End::Limit, 300_000));
        assert_eq!(std::fs::read(&path).unwrap(), body);
        let mut rest = [0; 5];
        client.read_exact(&mut rest).unwrap();
        assert_eq!(&rest, b"EXTRA");
    }

    #[test]
    fn until_eof() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"all of it").unwrap();
        drop(server);
        let dir = tempfile::tempdir().unwrap();
        let file = std::fs::File::create(dir.path().join("out")).unwrap();
        let end = Pipe::new()
            .unwrap()
            .run(
                client.as_raw_fd(),
                file.as_raw_fd(),
                None,
                &mut Pace::default(),
                || Ok(()),
                |_| {},
            )
            .unwrap();
        assert_eq!(end, End::Eof);
        assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"all of it");
    }

    #[test]
    fn an_output_that_refuses_splice_gets_the_piped_bytes_by_copy() {
        // Linux refuses to splice into a file opened for appending (EINVAL):
        // what is already in the pipe must still reach the output, counted.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"first bytes").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"old:").unwrap();
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        let mut moved = 0;
        let end = Pipe::new()
            .unwrap()
            .run(
                client.as_raw_fd(),
                file.as_raw_fd(),
                None,
                &mut Pace::default(),
                || Ok(()),
                |n| moved += n,
            )
            .unwrap();
        assert_eq!((end, moved), (End::Unsupported, 11));
        assert_eq!(std::fs::read(&path).unwrap(), b"old:first bytes");
    }
}
