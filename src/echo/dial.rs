//! How the echo client reaches a stream server: TCP, TLS over TCP, or a
//! Unix domain socket, chosen once from the flags.
//!
//! Owns the [`Dial`] trait (open one more connection of the same kind), its
//! three implementations, and the first connection, which finds the address
//! that answers. The client modes and the bench are generic over `Dial`, so
//! each transport's per-message code is compiled for its own stream type.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;

use super::tls::ReadAhead;
use crate::cli::EchoClientArgs;
use crate::{Error, ErrorKind};

/// Opens connections of one kind to one server.
pub(crate) trait Dial: Send + Sync + 'static {
    /// The connected stream.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// One more connection (and, for TLS, its handshake).
    fn dial(&self) -> impl Future<Output = crate::Result<Self::Stream>> + Send;

    /// The server as the user named it, for messages.
    fn shown(&self) -> &str;

    /// Whether the stream can be half-closed: the client says "no more
    /// input" and still reads the echoes. True for TCP and Unix sockets.
    /// Inside TLS the close is close_notify, which many servers (ncat, for
    /// one) take as the end of the whole connection, echoes in flight
    /// included; so over TLS the client sends it only once every echo is
    /// back.
    fn half_closes(&self) -> bool {
        true
    }
}

/// The transport the flags chose, before the first connection.
pub(crate) enum Target {
    Tcp(Vec<SocketAddr>),
    Tls {
        addrs: Vec<SocketAddr>,
        connector: tokio_native_tls::TlsConnector,
        name: String,
    },
    #[cfg_attr(not(unix), allow(dead_code))]
    Unix(PathBuf),
}

/// Reads the transport from the flags (resolving the address, loading
/// `--cacert`), without connecting.
pub(crate) fn target(args: &EchoClientArgs) -> crate::Result<Target> {
    if let Some(path) = &args.unix {
        return Ok(Target::Unix(path.clone()));
    }
    let addrs = super::resolve(&args.addr)?;
    if args.tls {
        let connector = super::tls::connector(args.insecure, args.cacert.as_deref())?;
        let name = super::tls::server_name(&args.addr, args.servername.as_deref());
        return Ok(Target::Tls {
            addrs,
            connector,
            name,
        });
    }
    Ok(Target::Tcp(addrs))
}

/// Connects the first connection for `target` and runs `$body` with the
/// dialer `$dial` and the stream `$stream`, whichever the transport (one
/// monomorphised copy of the body each). Use inside an async block.
macro_rules! with_dialer {
    ($target:expr, $shown:expr, |$dial:ident, $stream:ident| $body:expr) => {
        match $target {
            $crate::echo::dial::Target::Tcp(addrs) => {
                let ($dial, $stream) = $crate::echo::dial::TcpDial::first(&addrs, $shown).await?;
                $body
            }
            $crate::echo::dial::Target::Tls {
                addrs,
                connector,
                name,
            } => {
                let ($dial, $stream) =
                    $crate::echo::dial::TlsDial::first(&addrs, $shown, connector, name).await?;
                $body
            }
            #[cfg(unix)]
            $crate::echo::dial::Target::Unix(path) => {
                let ($dial, $stream) = $crate::echo::dial::UnixDial::first(path).await?;
                $body
            }
            #[cfg(not(unix))]
            $crate::echo::dial::Target::Unix(_) => {
                return Err($crate::echo::dial::no_unix_sockets());
            }
        }
    };
}
pub(crate) use with_dialer;

/// The connect failure for `shown`: exit 7 with the cause.
fn connect_error(shown: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Connect, format!("could not connect to {shown}"))
        .with_source(super::clean(e))
}

/// Plain TCP to the address that answered first.
pub(crate) struct TcpDial {
    addr: SocketAddr,
    shown: Arc<str>,
}

impl TcpDial {
    /// Connects to the first of `addrs` that accepts.
    pub(crate) async fn first(
        addrs: &[SocketAddr],
        shown: &str,
    ) -> crate::Result<(TcpDial, TcpStream)> {
        let mut last = None;
        for &addr in addrs {
            match TcpStream::connect(addr).await {
                Ok(s) => {
                    // Ping-pong: each message is one small write that must leave now.
                    let _ = s.set_nodelay(true);
                    let dial = TcpDial {
                        addr,
                        shown: Arc::from(shown),
                    };
                    return Ok((dial, s));
                }
                Err(e) => last = Some(e),
            }
        }
        let mut err = Error::new(ErrorKind::Connect, format!("could not connect to {shown}"));
        if let Some(e) = last {
            err = err.with_source(super::clean(e));
        }
        Err(err)
    }
}

impl Dial for TcpDial {
    type Stream = TcpStream;

    async fn dial(&self) -> crate::Result<TcpStream> {
        let s = TcpStream::connect(self.addr)
            .await
            .map_err(|e| connect_error(&self.shown, e))?;
        let _ = s.set_nodelay(true);
        Ok(s)
    }

    fn shown(&self) -> &str {
        &self.shown
    }
}

/// TLS over TCP: connect, then the handshake with SNI and verification.
pub(crate) struct TlsDial {
    tcp: TcpDial,
    connector: tokio_native_tls::TlsConnector,
    name: String,
}

impl TlsDial {
    /// Connects to the first of `addrs` that accepts and shakes hands.
    pub(crate) async fn first(
        addrs: &[SocketAddr],
        shown: &str,
        connector: tokio_native_tls::TlsConnector,
        name: String,
    ) -> crate::Result<(TlsDial, tokio_native_tls::TlsStream<ReadAhead<TcpStream>>)> {
        let (tcp, stream) = TcpDial::first(addrs, shown).await?;
        let dial = TlsDial {
            tcp,
            connector,
            name,
        };
        let stream = dial.handshake(stream).await?;
        Ok((dial, stream))
    }

    async fn handshake(
        &self,
        tcp: TcpStream,
    ) -> crate::Result<tokio_native_tls::TlsStream<ReadAhead<TcpStream>>> {
        self.connector
            .connect(&self.name, ReadAhead::new(tcp))
            .await
            .map_err(|e| super::tls::handshake_error(format!("{}", self.tcp.shown), e))
    }
}

impl Dial for TlsDial {
    type Stream = tokio_native_tls::TlsStream<ReadAhead<TcpStream>>;

    async fn dial(&self) -> crate::Result<Self::Stream> {
        let tcp = self.tcp.dial().await?;
        self.handshake(tcp).await
    }

    fn shown(&self) -> &str {
        self.tcp.shown()
    }

    fn half_closes(&self) -> bool {
        false
    }
}

/// `--unix` where there are no Unix domain sockets: exit 2.
#[cfg(not(unix))]
pub(crate) fn no_unix_sockets() -> Error {
    Error::new(
        ErrorKind::Usage,
        "--unix needs Unix domain sockets (a Unix system)",
    )
}

/// A Unix domain socket.
#[cfg(unix)]
pub(crate) struct UnixDial {
    path: PathBuf,
    shown: String,
}

#[cfg(unix)]
impl UnixDial {
    /// Connects to the socket at `path`.
    pub(crate) async fn first(path: PathBuf) -> crate::Result<(UnixDial, UnixStream)> {
        let dial = UnixDial {
            shown: path.display().to_string(),
            path,
        };
        let s = dial.dial().await?;
        Ok((dial, s))
    }
}

#[cfg(unix)]
impl Dial for UnixDial {
    type Stream = UnixStream;

    async fn dial(&self) -> crate::Result<UnixStream> {
        UnixStream::connect(&self.path)
            .await
            .map_err(|e| connect_error(&self.shown, e))
    }

    fn shown(&self) -> &str {
        &self.shown
    }
}
