//! `--unix-socket PATH` and `--abstract-unix-socket NAME`: the connection
//! goes to a Unix socket instead of the URL's host, as curl's (Docker's API
//! socket is the usual use). The URL still gives Host, the request target
//! and, for https, TLS with the URL's name; so no name is resolved and no
//! proxy is used.

use std::os::unix::net::UnixStream;

use super::{ConnectOptions, UnixSocket};
use crate::error::{Error, ErrorKind, Result};
use crate::observe::trace::Trace;

impl UnixSocket {
    /// The socket as shown in messages: its path, or `@NAME` for an
    /// abstract one (as `ss` shows them).
    pub fn shown(&self) -> String {
        match self {
            UnixSocket::Path(p) => p.display().to_string(),
            UnixSocket::Abstract(name) => format!("@{name}"),
        }
    }
}

/// Connects to `socket`; a failure is exit 7 naming the socket.
pub fn connect_unix(
    socket: &UnixSocket,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<UnixStream> {
    // A local connect does not wait on the network, but time may be up.
    opts.remaining()?;
    trace.step(|| format!("trying {} (unix socket)", socket.shown()));
    let connected = match socket {
        UnixSocket::Path(path) => UnixStream::connect(path),
        UnixSocket::Abstract(name) => abstract_connect(name),
    };
    let stream = connected.map_err(|e| {
        Error::new(
            ErrorKind::Connect,
            format!("could not connect to unix socket {}", socket.shown()),
        )
        .with_source(e)
    })?;
    trace.step(|| format!("connected to {} (unix socket)", socket.shown()));
    Ok(stream)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_connect(name: &str) -> std::io::Result<UnixStream> {
    use std::os::linux::net::SocketAddrExt;
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())?;
    UnixStream::connect_addr(&addr)
}

/// The options refuse `--abstract-unix-socket` off Linux; this is not
/// reached there.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_connect(_: &str) -> std::io::Result<UnixStream> {
    Err(std::io::ErrorKind::Unsupported.into())
}
