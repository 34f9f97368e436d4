//! TLS for the echo server and client (`--tls`): the acceptor built from
//! `--cert`/`--key`, the connector built from `-k`/`--cacert`, and the name
//! the client sends and verifies.
//!
//! Both sides are native-tls (OpenSSL on Linux), as in fetch, wrapped for
//! tokio by `tokio-native-tls`; the connector and acceptor are built once
//! per process and shared by every connection.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::{Error, ErrorKind};

/// The largest TLS record on the wire (16 KiB of data plus header, padding
/// and tag, rounded up): one socket read of this much serves OpenSSL a
/// whole record.
const RECORD: usize = 16 * 1024 + 512;

thread_local! {
    /// Where [`ReadAhead`] reads the socket into; borrowed only inside one
    /// `poll_read`.
    static AHEAD: RefCell<Box<[u8]>> = RefCell::new(vec![0; RECORD].into_boxed_slice());
}

/// The TCP stream under TLS, read ahead.
///
/// OpenSSL (under native-tls, which does not turn on its own read-ahead)
/// reads a record in two calls: its 5-byte header, then its body, each a
/// `read(2)`. This reads the socket once into a per-thread buffer, gives
/// OpenSSL what it asked for and keeps only the rest, so a ping-pong echo
/// costs one read less (three system calls instead of four per direction).
/// An idle connection owns no buffer: the rest is kept only while it is
/// not yet taken (a small allocation, freed when drained).
#[derive(Debug)]
pub struct ReadAhead<S> {
    inner: S,
    rest: Vec<u8>,
    pos: usize,
}

impl<S> ReadAhead<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> ReadAhead<S> {
        ReadAhead {
            inner,
            rest: Vec::new(),
            pos: 0,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ReadAhead<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pos < this.rest.len() {
            let n = buf.remaining().min(this.rest.len() - this.pos);
            buf.put_slice(&this.rest[this.pos..this.pos + n]);
            this.pos += n;
            if this.pos == this.rest.len() {
                this.rest = Vec::new();
                this.pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() >= RECORD {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        AHEAD.with(|ahead| {
            let mut ahead = ahead.borrow_mut();
            let mut rb = ReadBuf::new(&mut ahead[..]);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut rb))?;
            let got = rb.filled();
            let n = buf.remaining().min(got.len());
            buf.put_slice(&got[..n]);
            if n < got.len() {
                this.rest = got[n..].to_vec();
            }
            Poll::Ready(Ok(()))
        })
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ReadAhead<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// The server's acceptor from a PEM certificate chain and a PEM PKCS#8 key.
/// A file that cannot be read, or that is not what it should be, is exit 26
/// naming the file.
pub fn acceptor(cert: &Path, key: &Path) -> crate::Result<tokio_native_tls::TlsAcceptor> {
    let read = |path: &Path, what: &str| {
        std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("could not read {what} {}", path.display()),
            )
            .with_source(super::clean(e))
        })
    };
    let cert_pem = read(cert, "--cert")?;
    let key_pem = read(key, "--key")?;
    key_matches(&cert_pem, &key_pem).map_err(|why| {
        Error::new(
            ErrorKind::ReadInput,
            format!(
                "could not use --cert {} with --key {}: {why}",
                cert.display(),
                key.display()
            ),
        )
    })?;
    let identity = native_tls::Identity::from_pkcs8(&cert_pem, &key_pem).map_err(|e| {
        Error::new(
            ErrorKind::ReadInput,
            format!(
                "could not use --cert {} with --key {} (PEM certificate and PKCS#8 key)",
                cert.display(),
                key.display()
            ),
        )
        .with_source(e)
    })?;
    let acceptor = native_tls::TlsAcceptor::new(identity)
        .map_err(|e| Error::new(ErrorKind::Tls, "could not set up TLS").with_source(e))?;
    Ok(acceptor.into())
}

/// Whether the key is the private half of the certificate's public key.
/// native-tls does not check (OpenSSL's `SSL_CTX_check_private_key` is not
/// called), and a mismatch would only show as every handshake failing.
#[cfg(target_os = "linux")]
fn key_matches(cert_pem: &[u8], key_pem: &[u8]) -> Result<(), String> {
    let cert = openssl::x509::X509::from_pem(cert_pem)
        .map_err(|_| "no PEM certificate in --cert".to_string())?;
    let key = openssl::pkey::PKey::private_key_from_pem(key_pem)
        .map_err(|_| "no PEM private key in --key".to_string())?;
    let public = cert
        .public_key()
        .map_err(|_| "the certificate's public key cannot be read".to_string())?;
    if public.public_eq(&key) {
        Ok(())
    } else {
        Err("the key does not belong to the certificate".to_string())
    }
}

/// Elsewhere the TLS library says so at the first handshake.
#[cfg(not(target_os = "linux"))]
fn key_matches(_cert_pem: &[u8], _key_pem: &[u8]) -> Result<(), String> {
    Ok(())
}

/// The client's connector: `-k` verifies nothing; `--cacert FILE` trusts
/// the certificates in FILE instead of the system's, as in fetch (one
/// function for both).
pub fn connector(
    insecure: bool,
    cacert: Option<&Path>,
) -> crate::Result<tokio_native_tls::TlsConnector> {
    Ok(crate::transport::tls_connector(insecure, cacert, (None, None))?.into())
}

/// The name to send as SNI and verify: `--servername`, else the host part
/// of `ADDR` (`[::1]:7007` gives `::1`; native-tls checks an IP literal
/// against the certificate's IP names and sends no SNI for it).
pub fn server_name(addr: &str, servername: Option<&str>) -> String {
    if let Some(name) = servername {
        return name.to_string();
    }
    let host = addr.rsplit_once(':').map_or(addr, |(host, _)| host);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .to_string()
}

/// A failed client handshake, classified as in fetch (a certificate that
/// does not verify is exit 60 saying why, anything else exit 35), with
/// `what` naming the server.
pub fn handshake_error(what: String, e: native_tls::Error) -> Error {
    let why = crate::transport::classify_tls(e);
    Error::new(why.kind(), what).with_source(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_ahead_serves_small_reads_from_one_socket_read() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (mut far, near) = tokio::io::duplex(4096);
            let record: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
            far.write_all(&record).await.unwrap();
            let mut ra = ReadAhead::new(near);
            // As OpenSSL reads: a 5-byte header, then the body.
            let mut head = [0u8; 5];
            ra.read_exact(&mut head).await.unwrap();
            assert_eq!(ra.rest.len(), 995, "one read took the whole record");
            let mut body = vec![0u8; 995];
            ra.read_exact(&mut body).await.unwrap();
            assert_eq!([&head[..], &body[..]].concat(), record);
            assert_eq!(ra.rest.capacity(), 0, "drained: no buffer kept");
            far.write_all(b"xy").await.unwrap();
            drop(far);
            let mut tail = Vec::new();
            ra.read_to_end(&mut tail).await.unwrap();
            assert_eq!(tail, b"xy");
        });
    }

    #[test]
    fn server_name_is_the_host_of_the_address() {
        assert_eq!(server_name("127.0.0.1:7007", None), "127.0.0.1");
        assert_eq!(server_name("[::1]:7007", None), "::1");
        assert_eq!(server_name("localhost:443", None), "localhost");
        assert_eq!(
            server_name("127.0.0.1:7007", Some("rawget.test")),
            "rawget.test"
        );
    }
}
