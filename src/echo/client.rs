//! `rawget echo-client`: talk to an echo server from the terminal or a pipe.
//!
//! Owns the two interactive modes, `--message` and stdin, on a blocking std
//! socket (one connection needs no event loop); `--bench` is handed to
//! [`super::bench`].
//!
//! Failures and their exit codes (see docs/echo.md):
//! refused or unreachable server, 7; the server closed or reset the
//! connection before every echo came back, 56; an echo that differs from
//! what was sent, 8.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use crate::cli::EchoClientArgs;
use crate::{Error, ErrorKind};

/// Most bytes sent from stdin and not yet echoed. The stdin reader waits
/// beyond it, so a server that never echoes cannot make the client buffer
/// the whole input.
const MAX_IN_FLIGHT: usize = 4 << 20;

/// `--message` gives up (exit 28) when no echo byte arrives for this long:
/// a server that accepts and never answers should not hang a script.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the client in the mode the flags select.
pub fn run(args: &EchoClientArgs) -> crate::Result<()> {
    if args.bench {
        if !args.message.is_empty() {
            return Err(Error::new(
                ErrorKind::Usage,
                "--message and --bench cannot be used together",
            ));
        }
        return super::bench::run(args);
    }
    let stream = super::connect_std(&args.addr)?;
    let _ = stream.set_nodelay(true);
    if args.message.is_empty() {
        stdin_mode(stream, &args.addr)
    } else {
        message_mode(stream, &args.addr, &args.message)
    }
}

/// `--message TEXT`…: send each, read its echo back, print it, compare.
fn message_mode(mut stream: TcpStream, addr: &str, messages: &[String]) -> crate::Result<()> {
    let _ = stream.set_read_timeout(Some(MESSAGE_TIMEOUT));
    let mut out = io::stdout().lock();
    let mut echo = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let sent = message.as_bytes();
        stream
            .write_all(sent)
            .map_err(|e| recv_error(format!("could not send message {} to {addr}", i + 1), e))?;
        echo.clear();
        echo.resize(sent.len(), 0);
        let mut got = 0;
        while got < sent.len() {
            match stream.read(&mut echo[got..]) {
                Ok(0) => {
                    return Err(Error::new(
                        ErrorKind::Recv,
                        format!(
                        "{addr} closed the connection after {got} of {} echoed bytes of message {}",
                        sent.len(),
                        i + 1
                    ),
                    ))
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if crate::error::is_timeout(&e) => {
                    return Err(Error::new(
                        ErrorKind::Timeout,
                        format!(
                            "no echo of message {} from {addr} within {} s",
                            i + 1,
                            MESSAGE_TIMEOUT.as_secs()
                        ),
                    ))
                }
                Err(e) => {
                    return Err(recv_error(
                        format!("could not read the echo of message {} from {addr}", i + 1),
                        e,
                    ))
                }
            }
        }
        out.write_all(&echo)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(super::stdout_error)?;
        if echo != sent {
            return Err(mismatch(i + 1, sent, &echo));
        }
    }
    let _ = stream.shutdown(Shutdown::Write);
    Ok(())
}

/// What the stdin sender and the echo reader share.
#[derive(Default)]
struct InFlight {
    /// Bytes sent and not yet echoed, oldest first.
    bytes: VecDeque<u8>,
    /// Stdin is exhausted (or failed): nothing more will be queued.
    input_done: bool,
    /// The reader has stopped; the sender must not wait for it.
    reader_done: bool,
    /// Why the sender stopped early, if it did.
    sender_error: Option<Error>,
}

type Shared = (Mutex<InFlight>, Condvar);

fn lock(shared: &Shared) -> std::sync::MutexGuard<'_, InFlight> {
    shared.0.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Without `--message`: send stdin line by line, print echoes as they come.
///
/// A sender thread forwards stdin; this thread prints whatever the server
/// sends back and checks it against what was sent, so echoes appear as soon
/// as they return whether stdin is a pipe or a person typing. At end of
/// input the write side is half-closed and the client exits when every byte
/// is back. If the echoes fail first, the client exits without waiting for
/// more input.
fn stdin_mode(stream: TcpStream, addr: &str) -> crate::Result<()> {
    let shared: Arc<Shared> = Arc::default();
    let send_stream = stream
        .try_clone()
        .map_err(|e| Error::new(ErrorKind::Recv, "could not clone the socket").with_source(e))?;
    {
        let shared = Arc::clone(&shared);
        let addr = addr.to_string();
        std::thread::spawn(move || {
            let sent = send_stdin(&send_stream, &addr, &shared);
            let mut state = lock(&shared);
            state.input_done = true;
            shared.1.notify_all();
            match sent {
                Ok(()) => {
                    // Every echo is already back: wake the reader, which may
                    // be blocked in read() on a server that keeps the
                    // connection open after our half-close.
                    if state.bytes.is_empty() {
                        let _ = send_stream.shutdown(Shutdown::Read);
                    }
                    drop(state);
                    let _ = send_stream.shutdown(Shutdown::Write);
                }
                Err(e) => {
                    state.sender_error = Some(e);
                    drop(state);
                    let _ = send_stream.shutdown(Shutdown::Both);
                }
            }
        });
    }
    let echoed = read_echoes(&stream, addr, &shared);
    let mut state = lock(&shared);
    state.reader_done = true;
    shared.1.notify_all();
    match (echoed, state.sender_error.take()) {
        (Ok(()), None) => Ok(()),
        (Ok(()), Some(e)) => Err(e),
        // A failed stdin explains the rest; a failed send is better told by
        // the reader (early close, reset).
        (Err(_), Some(e)) if e.kind() == ErrorKind::ReadInput => Err(e),
        (Err(e), _) => Err(e),
    }
}

/// Sends stdin a line at a time (the last line may lack its newline).
fn send_stdin(mut stream: &TcpStream, addr: &str, shared: &Shared) -> crate::Result<()> {
    let stdin = io::stdin();
    let mut input = stdin.lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(Error::new(ErrorKind::ReadInput, "could not read stdin").with_source(e))
            }
        }
        {
            let mut state = lock(shared);
            while state.bytes.len() >= MAX_IN_FLIGHT && !state.reader_done {
                state = shared.1.wait(state).unwrap_or_else(PoisonError::into_inner);
            }
            if state.reader_done {
                return Ok(());
            }
            state.bytes.extend(&line);
        }
        stream
            .write_all(&line)
            .map_err(|e| recv_error(format!("could not send to {addr}"), e))?;
    }
}

/// The reader thread: print echoes, check them, stop once all are back.
fn read_echoes(mut stream: &TcpStream, addr: &str, shared: &Shared) -> crate::Result<()> {
    let mut out = io::stdout();
    let mut buf = vec![0u8; 64 * 1024];
    let mut echoed: u64 = 0;
    loop {
        let n = match stream.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(recv_error(format!("could not read echoes from {addr}"), e)),
        };
        let mut state = lock(shared);
        if n == 0 {
            if state.input_done && state.bytes.is_empty() {
                return Ok(());
            }
            return Err(Error::new(
                ErrorKind::Recv,
                format!(
                    "{addr} closed the connection with {} sent bytes not echoed",
                    state.bytes.len()
                ),
            ));
        }
        let got = &buf[..n];
        if got.len() > state.bytes.len() {
            return Err(Error::new(
                ErrorKind::BadResponse,
                format!(
                    "{addr} sent {} bytes more than it was sent, after {echoed} echoed bytes",
                    got.len() - state.bytes.len()
                ),
            ));
        }
        let expected: Vec<u8> = state.bytes.drain(..n).collect();
        shared.1.notify_all();
        let all_back = state.input_done && state.bytes.is_empty();
        drop(state);
        out.write_all(got)
            .and_then(|()| out.flush())
            .map_err(super::stdout_error)?;
        if expected != got {
            let at = expected
                .iter()
                .zip(got)
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            return Err(Error::new(
                ErrorKind::BadResponse,
                format!(
                    "echo differs from what was sent at byte {}",
                    echoed + at as u64
                ),
            ));
        }
        echoed += n as u64;
        if all_back {
            return Ok(());
        }
    }
}

/// A send or receive failure: a reset is the server's doing (56).
fn recv_error(what: String, e: io::Error) -> Error {
    Error::new(ErrorKind::Recv, what).with_source(super::clean(e))
}

/// The echo of message `n` is not what was sent (exit 8).
fn mismatch(n: usize, sent: &[u8], got: &[u8]) -> Error {
    let show = |b: &[u8]| {
        let mut s = b.escape_ascii().to_string();
        if s.len() > 60 {
            s.truncate(57);
            s.push_str("...");
        }
        s
    };
    Error::new(
        ErrorKind::BadResponse,
        format!(
            "echo of message {n} differs: sent \"{}\", got \"{}\"",
            show(sent),
            show(got)
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_names_both_sides_escaped() {
        let e = mismatch(2, b"hi\n", b"h\xffi");
        assert_eq!(e.kind(), ErrorKind::BadResponse);
        assert_eq!(
            e.to_string(),
            r#"echo of message 2 differs: sent "hi\n", got "h\xffi""#
        );
    }

    #[test]
    fn mismatch_truncates_long_messages() {
        let long = vec![b'a'; 500];
        let e = mismatch(1, &long, b"b").to_string();
        assert!(e.len() < 200, "{e}");
        assert!(e.contains("..."), "{e}");
    }
}
