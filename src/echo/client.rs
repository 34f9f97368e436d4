//! `rawget echo-client`: talk to an echo server from the terminal or a pipe.
//!
//! Owns the two interactive modes over a stream (TCP, TLS or a Unix
//! socket), `--message` and stdin, and the dispatch to the other modes:
//! `--bench` is [`super::bench`], `--udp` is [`super::udp_client`].
//!
//! The stream modes are one implementation, generic over the stream, on a
//! current-thread tokio runtime: one task drives both directions (a TLS
//! stream cannot be read on one thread and written on another), and a
//! plain thread reads stdin, since a terminal cannot be polled.
//!
//! Failures and their exit codes (see docs/echo.md):
//! refused or unreachable server, 7; the server closed or reset the
//! connection before every echo came back, 56; an echo that differs from
//! what was sent, 8; no echo within `--timeout`, 28.

use std::collections::VecDeque;
use std::io::{self, BufRead, Write};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::bench::{exchange, ExchangeError};
use super::dial::{with_dialer, Dial};
use crate::cli::EchoClientArgs;
use crate::{Error, ErrorKind};

/// Most bytes sent from stdin and not yet echoed. No more stdin is taken
/// beyond it, so a server that never echoes cannot make the client buffer
/// the whole input.
const MAX_IN_FLIGHT: usize = 4 << 20;

/// `--message` gives up (exit 28) when no echo arrives for this long,
/// unless `--timeout` says otherwise: a server that accepts and never
/// answers should not hang a script.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines the stdin thread may read ahead of the sender.
const LINES_AHEAD: usize = 64;

/// Runs the client in the mode the flags select.
pub fn run(args: &EchoClientArgs) -> crate::Result<()> {
    if args.bench && !args.message.is_empty() {
        return Err(Error::new(
            ErrorKind::Usage,
            "--message and --bench cannot be used together",
        ));
    }
    let timeout = super::seconds("--timeout", args.timeout)?;
    if args.udp {
        return super::udp_client::run(args, timeout);
    }
    if args.bench {
        return super::bench::run(args);
    }
    let target = super::dial::target(args)?;
    let rt = super::runtime(None)?;
    rt.block_on(async {
        with_dialer!(target, &args.addr, |dial, stream| {
            if args.message.is_empty() {
                stdin_mode(stream, dial.shown(), dial.half_closes()).await
            } else {
                let limit = timeout.unwrap_or(MESSAGE_TIMEOUT);
                message_mode(stream, dial.shown(), &args.message, limit).await
            }
        })
    })
}

/// `--message TEXT`…: send each, read its echo back, print it, compare.
async fn message_mode<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    addr: &str,
    messages: &[String],
    limit: Duration,
) -> crate::Result<()> {
    let mut out = io::stdout().lock();
    let mut echo = Vec::new();
    for (i, message) in messages.iter().enumerate() {
        let sent = message.as_bytes();
        echo.clear();
        echo.resize(sent.len() + 1, 0);
        let n = i + 1;
        let got = match tokio::time::timeout(limit, exchange(&mut stream, sent, &mut echo)).await {
            Ok(Ok(got)) => got,
            Ok(Err(ExchangeError::Send(e))) => {
                return Err(recv_error(
                    format!("could not send message {n} to {addr}"),
                    e,
                ))
            }
            Ok(Err(ExchangeError::Recv(e))) => {
                return Err(recv_error(
                    format!("could not read the echo of message {n} from {addr}"),
                    e,
                ))
            }
            Ok(Err(ExchangeError::Closed(got))) => {
                return Err(Error::new(
                    ErrorKind::Recv,
                    format!(
                    "{addr} closed the connection after {got} of {} echoed bytes of message {n}",
                    sent.len(),
                ),
                ))
            }
            Err(_) => {
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "no echo of message {n} from {addr} within {} s",
                        limit.as_secs_f64()
                    ),
                ))
            }
        };
        let echo = &echo[..got];
        out.write_all(echo)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(super::stdout_error)?;
        if echo != sent {
            return Err(mismatch(n, sent, echo));
        }
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.shutdown()).await;
    Ok(())
}

/// Starts the thread that reads stdin a line at a time (the last line may
/// lack its newline) and hands the lines over; the channel closes at end
/// of input. The thread is left blocked in `read` if the client ends first.
fn read_stdin_lines() -> mpsc::Receiver<io::Result<Vec<u8>>> {
    let (tx, rx) = mpsc::channel(LINES_AHEAD);
    std::thread::spawn(move || {
        let stdin = io::stdin();
        let mut input = stdin.lock();
        loop {
            let mut line = Vec::new();
            let item = match input.read_until(b'\n', &mut line) {
                Ok(0) => return,
                Ok(_) => Ok(line),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
            let failed = item.is_err();
            if tx.blocking_send(item).is_err() || failed {
                return;
            }
        }
    });
    rx
}

/// Without `--message`: send stdin line by line, print echoes as they come.
///
/// Echoes appear as soon as they return whether stdin is a pipe or a
/// person typing, and are checked against what was sent. At end of input
/// the write side is half-closed and the client exits when every byte is
/// back; without `half_close` (TLS, see [`Dial::half_closes`]) the close
/// waits until every byte is back. If the echoes fail first, the client
/// exits without waiting for more input.
async fn stdin_mode<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    addr: &str,
    half_close: bool,
) -> crate::Result<()> {
    let mut lines = read_stdin_lines();
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut out = io::stdout();
    // Bytes sent (or being sent) and not yet echoed, oldest first.
    let mut in_flight: VecDeque<u8> = VecDeque::new();
    // The line being written, and how much of it is out.
    let (mut line, mut off) = (Vec::new(), 0);
    let mut input_done = false;
    let mut closed = false;
    let mut buf = vec![0u8; 64 * 1024];
    let mut echoed: u64 = 0;
    loop {
        let writing = off < line.len();
        if input_done && !writing && !closed && (half_close || in_flight.is_empty()) {
            let _ = tokio::time::timeout(Duration::from_secs(5), wr.shutdown()).await;
            closed = true;
        }
        if closed && in_flight.is_empty() {
            return Ok(());
        }
        tokio::select! {
            next = lines.recv(), if !input_done && !writing && in_flight.len() < MAX_IN_FLIGHT => {
                match next {
                    None => input_done = true,
                    Some(Ok(next)) => {
                        in_flight.extend(&next);
                        (line, off) = (next, 0);
                    }
                    Some(Err(e)) => {
                        return Err(Error::new(ErrorKind::ReadInput, "could not read stdin")
                            .with_source(e))
                    }
                }
            }
            wrote = wr.write(&line[off..]), if writing => match wrote {
                Ok(0) => {
                    return Err(recv_error(
                        format!("could not send to {addr}"),
                        io::ErrorKind::WriteZero.into(),
                    ))
                }
                Ok(n) => off += n,
                Err(e) => return Err(recv_error(format!("could not send to {addr}"), e)),
            },
            read = rd.read(&mut buf) => {
                let n = read.map_err(|e| recv_error(format!("could not read echoes from {addr}"), e))?;
                if n == 0 {
                    return Err(Error::new(
                        ErrorKind::Recv,
                        format!(
                            "{addr} closed the connection with {} sent bytes not echoed",
                            in_flight.len()
                        ),
                    ));
                }
                let got = &buf[..n];
                if got.len() > in_flight.len() {
                    return Err(Error::new(
                        ErrorKind::BadResponse,
                        format!(
                            "{addr} sent {} bytes more than it was sent, after {echoed} echoed bytes",
                            got.len() - in_flight.len()
                        ),
                    ));
                }
                out.write_all(got)
                    .and_then(|()| out.flush())
                    .map_err(super::stdout_error)?;
                if let Some(at) = in_flight.drain(..n).zip(got).position(|(a, &b)| a != b) {
                    return Err(Error::new(
                        ErrorKind::BadResponse,
                        format!(
                            "echo differs from what was sent at byte {}",
                            echoed + at as u64
                        ),
                    ));
                }
                echoed += n as u64;
            }
        }
    }
}

/// A send or receive failure: a reset is the server's doing (56).
fn recv_error(what: String, e: io::Error) -> Error {
    Error::new(ErrorKind::Recv, what).with_source(super::clean(e))
}

/// The echo of message `n` is not what was sent (exit 8).
pub(crate) fn mismatch(n: usize, sent: &[u8], got: &[u8]) -> Error {
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
