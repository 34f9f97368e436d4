//! `rawget echo-client --udp`: one datagram per line (or per `--message`),
//! each waited for before the next is sent.
//!
//! Owns the client's UDP socket (connected, so only the server's datagrams
//! are taken and an ICMP "port unreachable" comes back as "Connection
//! refused"), the wait for each echo with `--timeout` (default 1 s), and the
//! dispatch of `--udp --bench` to [`super::udp_bench`].
//!
//! Exit codes: nothing listening (refused), 7; no echo within the timeout,
//! 28; an echo that differs, 8; a line or message too long for one
//! datagram, 2.

use std::io::{self, BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::cli::EchoClientArgs;
use crate::{Error, ErrorKind};

/// The largest UDP payload over IPv4 (65,535 less the IP and UDP headers).
pub const MAX_DATAGRAM: usize = 65_507;

/// How long to wait for each echo unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the UDP client in the mode the flags select.
pub fn run(args: &EchoClientArgs, timeout: Option<Duration>) -> crate::Result<()> {
    let timeout = timeout.unwrap_or(DEFAULT_TIMEOUT);
    if args.bench {
        return super::udp_bench::run(args, timeout);
    }
    let server = *super::resolve(&args.addr)?.first().ok_or_else(|| {
        Error::new(
            ErrorKind::Resolve,
            format!("could not resolve {}", args.addr),
        )
    })?;
    let socket = connect(server, &args.addr)?;
    let mut client = Client {
        socket,
        addr: &args.addr,
        timeout,
        echo: vec![0u8; MAX_DATAGRAM + 1],
        sent: 0,
    };
    let mut out = io::stdout().lock();
    if args.message.is_empty() {
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
                    return Err(
                        Error::new(ErrorKind::ReadInput, "could not read stdin").with_source(e)
                    )
                }
            }
            let echo = client.round_trip(&line, "line")?;
            out.write_all(echo)
                .and_then(|()| out.flush())
                .map_err(super::stdout_error)?;
        }
    }
    for message in &args.message {
        let echo = client.round_trip(message.as_bytes(), "message")?;
        out.write_all(echo)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(super::stdout_error)?;
    }
    Ok(())
}

/// The local address for a socket that talks to `server`: the same
/// loopback address for a loopback server (the socket is then never open
/// to other hosts, even before it is connected), else any address of the
/// same family.
pub fn local_for(server: SocketAddr) -> SocketAddr {
    let ip = match server.ip() {
        ip if ip.is_loopback() => ip,
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    SocketAddr::new(ip, 0)
}

/// A UDP socket connected to `server`.
fn connect(server: SocketAddr, shown: &str) -> crate::Result<UdpSocket> {
    UdpSocket::bind(local_for(server))
        .and_then(|s| s.connect(server).map(|()| s))
        .map_err(|e| {
            Error::new(ErrorKind::Connect, format!("could not connect to {shown}"))
                .with_source(super::clean(e))
        })
}

/// The error for a failed send or receive: "Connection refused" (the
/// server's host said nothing listens there) is exit 7, anything else 56.
pub fn io_error(what: String, e: io::Error) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::ConnectionRefused => ErrorKind::Connect,
        _ => ErrorKind::Recv,
    };
    Error::new(kind, what).with_source(super::clean(e))
}

/// The interactive client: one datagram out, its echo back.
struct Client<'a> {
    socket: UdpSocket,
    addr: &'a str,
    timeout: Duration,
    /// One byte longer than any datagram, so an oversized one is seen.
    echo: Vec<u8>,
    /// Datagrams sent so far.
    sent: u64,
}

impl Client<'_> {
    /// Sends `data` as one datagram and waits for its echo; `what` names it
    /// in messages ("line", "message").
    fn round_trip(&mut self, data: &[u8], what: &str) -> crate::Result<&[u8]> {
        self.sent += 1;
        let n = self.sent;
        if data.len() > MAX_DATAGRAM {
            return Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "{what} {n} is {} bytes; a UDP datagram holds at most {MAX_DATAGRAM}",
                    data.len()
                ),
            ));
        }
        let addr = self.addr;
        self.socket
            .send(data)
            .map_err(|e| io_error(format!("could not send {what} {n} to {addr}"), e))?;
        let deadline = Instant::now() + self.timeout;
        let got = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(self.timed_out(what, n));
            }
            // A zero timeout would mean "block forever".
            let _ = self
                .socket
                .set_read_timeout(Some(left.max(Duration::from_millis(1))));
            match self.socket.recv(&mut self.echo) {
                Ok(got) => break got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if crate::error::is_timeout(&e) => return Err(self.timed_out(what, n)),
                Err(e) => return Err(io_error(format!("no echo of {what} {n} from {addr}"), e)),
            }
        };
        let echo = &self.echo[..got];
        if echo != data {
            return Err(super::client::mismatch(n as usize, data, echo));
        }
        Ok(echo)
    }

    fn timed_out(&self, what: &str, n: u64) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "no echo of {what} {n} from {} within {} s",
                self.addr,
                self.timeout.as_secs_f64()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loopback_server_keeps_the_client_on_loopback() {
        let v4: SocketAddr = "127.0.0.1:7".parse().unwrap();
        assert_eq!(local_for(v4), "127.0.0.1:0".parse().unwrap());
        let v6: SocketAddr = "[::1]:7".parse().unwrap();
        assert_eq!(local_for(v6), "[::1]:0".parse().unwrap());
        let far: SocketAddr = "192.0.2.1:7".parse().unwrap();
        assert_eq!(local_for(far), "0.0.0.0:0".parse().unwrap());
    }

    #[test]
    fn refused_is_exit_7_and_other_failures_56() {
        let e = io_error("x".into(), io::ErrorKind::ConnectionRefused.into());
        assert_eq!(e.kind(), ErrorKind::Connect);
        let e = io_error("x".into(), io::ErrorKind::PermissionDenied.into());
        assert_eq!(e.kind(), ErrorKind::Recv);
    }
}
