//! The echo server and client (`rawget echo-server`, `rawget echo-client`)
//! over TCP, UDP, TLS and Unix domain sockets.
//!
//! This is the only part of rawget that runs on tokio: the server holds
//! thousands of sockets on two cores, which wants an event loop rather than a
//! thread per connection. The stream client modes and the load generators
//! are asynchronous too (one task drives both directions of a TLS stream);
//! the interactive UDP client is a blocking std socket.
//!
//! This module holds what the server and client share: resolving an address
//! the way the user typed it, the `--timeout` flag, raising the open-file
//! limit, the runtime, and turning `io::Error`s into one-line messages.
//!
//! - [`server`]: both servers (stream and UDP)
//! - [`client`]: the stream client's interactive modes and the dispatch
//! - [`bench`]: the stream load generator and `--handshakes`
//! - [`udp_client`], [`udp_bench`]: the UDP client and its load generator
//! - `dial`: how the client reaches a stream server (TCP, TLS, Unix)
//! - [`tls`]: the acceptor and connector

pub mod bench;
pub mod client;
pub(crate) mod dial;
pub mod server;
pub mod tls;
pub mod udp_bench;
pub mod udp_client;

use std::time::Duration;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use crate::{Error, ErrorKind};

/// Resolves `addr` (`HOST:PORT`, `IP:PORT` or `[IPv6]:PORT`) to its socket
/// addresses.
///
/// A string that cannot be an address at all is a usage error (exit 2); a
/// host name that does not resolve is exit 6, as in fetch.
pub fn resolve(addr: &str) -> crate::Result<Vec<SocketAddr>> {
    match addr.to_socket_addrs() {
        Ok(addrs) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(Error::new(
                    ErrorKind::Resolve,
                    format!("could not resolve {addr}: no addresses"),
                ))
            } else {
                Ok(addrs)
            }
        }
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Err(Error::new(
            ErrorKind::Usage,
            format!("bad address {addr:?} (expected HOST:PORT)"),
        )
        .with_source(clean(e))),
        Err(e) => Err(
            Error::new(ErrorKind::Resolve, format!("could not resolve {addr}"))
                .with_source(clean(e)),
        ),
    }
}

/// A number of seconds from a flag (`--timeout`, `--idle-timeout`,
/// `--max-lifetime`): positive and finite, else exit 2.
pub(crate) fn seconds(flag: &str, value: Option<f64>) -> crate::Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(s) if s.is_finite() && s > 0.0 && s < 1e9 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => Err(Error::new(
            ErrorKind::Usage,
            format!("{flag} must be a positive number of seconds, not {s}"),
        )),
    }
}

/// No descriptor limit to raise off Unix (Windows' socket handles have none
/// this low).
#[cfg(not(unix))]
pub fn raise_nofile_limit() -> u64 {
    0
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new
/// soft limit.
///
/// Every connection is a file descriptor, and the usual soft limit (1,024)
/// is far below the 10,000 connections the server is meant to hold. Failure
/// is not fatal: the old limit stays and accept reports `EMFILE` later.
#[cfg(unix)]
pub fn raise_nofile_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass, which outlives the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur < lim.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct we pass.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            return raised.rlim_cur;
        }
    }
    lim.rlim_cur
}

/// The same error without std's ` (os error N)` suffix, so the one-line
/// message reads `…: Address already in use`.
pub(crate) fn clean(e: io::Error) -> io::Error {
    if e.raw_os_error().is_some() {
        io::Error::new(e.kind(), clean_ref(&e))
    } else {
        e
    }
}

/// The text of `e` without std's ` (os error N)` suffix.
pub(crate) fn clean_ref(e: &io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => text[..i].to_string(),
        _ => text,
    }
}

/// Wraps a failure to write our own stdout: a closed pipe (`… | head`) ends
/// the program quietly, anything else is exit 23.
pub(crate) fn stdout_error(e: io::Error) -> Error {
    if crate::error::is_reset(&e) {
        Error::quiet(ErrorKind::Write)
    } else {
        Error::new(ErrorKind::Write, "could not write to stdout").with_source(clean(e))
    }
}

/// A tokio runtime: current-thread, or multi-thread with N workers when the
/// environment variable `threads_var` says N > 1 (server and load generator
/// each have their own variable; see their `runtime` for why one thread is
/// the default). `None`: always one thread (the interactive client).
pub(crate) fn runtime(threads_var: Option<&str>) -> crate::Result<tokio::runtime::Runtime> {
    let threads = threads_var
        .and_then(|var| std::env::var(var).ok())
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    let built = if threads > 1 {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    built.map_err(|e| {
        crate::Error::new(crate::ErrorKind::Connect, "could not start the event loop")
            .with_source(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_address_is_usage_error() {
        let err = resolve("no-port-here").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        let err = resolve("127.0.0.1:99999").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
    }

    #[test]
    fn literal_address_resolves_without_dns() {
        let addrs = resolve("127.0.0.1:7007").unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:7007".parse::<SocketAddr>().unwrap()]);
    }

    #[test]
    fn clean_strips_os_error_suffix() {
        let e = clean(io::Error::from_raw_os_error(libc::EADDRINUSE));
        assert_eq!(e.to_string(), "Address already in use");
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        let plain = clean(io::Error::other("x (os error 3)"));
        assert_eq!(plain.to_string(), "x (os error 3)");
    }

    #[test]
    fn nofile_limit_is_raised_to_hard() {
        let soft = raise_nofile_limit();
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the rlimit it is given, which lives here.
        let got = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
        assert_eq!(got, 0);
        assert_eq!(soft, lim.rlim_cur);
        assert_eq!(lim.rlim_cur, lim.rlim_max);
    }

    #[test]
    fn closed_pipe_on_stdout_is_quiet() {
        assert!(stdout_error(io::Error::from(io::ErrorKind::BrokenPipe)).is_quiet());
        let e = stdout_error(io::Error::from(io::ErrorKind::PermissionDenied));
        assert_eq!(e.kind(), ErrorKind::Write);
        assert!(!e.is_quiet());
    }
}
