//! Raw client sockets for the tests that speak to a server themselves:
//! every socket has read and write timeouts, so a silent peer fails a test
//! rather than hanging it.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

/// How long any single wait may take before it is a failure.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Socket read and write timeout for clients that expect an answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// Connects with [`IO_TIMEOUT`] on the connect, reads and writes.
pub fn try_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

/// As [`try_connect`]; panics naming the address when it cannot.
pub fn connect(addr: SocketAddr) -> TcpStream {
    try_connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Sends `msg` and reads exactly its length back.
pub fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    s.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    s.read_exact(&mut back).unwrap();
    back
}

/// Reads until EOF or an error; returns the bytes and the error, if any.
pub fn read_to_end(stream: &mut TcpStream) -> (Vec<u8>, Option<io::Error>) {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (data, None),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (data, Some(e)),
        }
    }
}

/// Sends `request` to `addr`, reads the whole reply, expects a clean EOF.
pub fn exchange(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(request).unwrap();
    let (data, err) = read_to_end(&mut stream);
    assert!(err.is_none(), "unexpected read error {err:?}");
    data
}

/// An address on 127.0.0.1 that nothing listens on (bound, then released),
/// for connections that must be refused.
pub fn closed_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
}

/// Waits until `done` holds, polling, at most [`LIMIT`]; a failure names
/// `what`. For what a server thread records after the client has gone.
#[track_caller]
pub fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + LIMIT;
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        thread::sleep(Duration::from_millis(5));
    }
}
