//! TLS for the replay server: the server's [`Identity`] (its certificate
//! and key, loaded once into an acceptor), the handshake with one client,
//! bounded in time, and the server name (SNI) its ClientHello asked for,
//! which native-tls's acceptor does not tell.

use std::fmt;
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use native_tls::{HandshakeError, TlsAcceptor, TlsStream};

use crate::error::is_timeout;

/// Bound on each client's TLS handshake (its socket's read and write
/// timeouts), so a client that stalls in it cannot pin a thread.
const HANDSHAKE_LIMIT: Duration = Duration::from_secs(5);

/// The largest TLS record: a 5-byte header and 2^14 bytes of payload (RFC
/// 8446 section 5.1). The ClientHello is looked for in the first one.
const MAX_RECORD: usize = 5 + (1 << 14);

/// How often the first record is peeked at while it arrives.
const PEEK_POLL: Duration = Duration::from_millis(2);

/// A server identity for TLS: the certificate chain the server presents and
/// its private key, loaded once into an acceptor that every client shares.
#[derive(Clone)]
pub struct Identity {
    acceptor: Arc<TlsAcceptor>,
}

impl Identity {
    /// From PEM: `cert` holds the server's certificate, then any chain
    /// certificates it sends after it; `key` is its private key (PKCS#8,
    /// `BEGIN PRIVATE KEY`).
    pub fn from_pem(cert: &[u8], key: &[u8]) -> Result<Identity, native_tls::Error> {
        let identity = native_tls::Identity::from_pkcs8(cert, key)?;
        let acceptor = TlsAcceptor::new(identity)?;
        Ok(Identity {
            acceptor: Arc::new(acceptor),
        })
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity").finish_non_exhaustive()
    }
}

/// Runs the server's side of the handshake on `tcp` (which is left with
/// NODELAY and 5 s timeouts). Returns the SNI the ClientHello carried,
/// whatever became of the handshake, and the TLS stream or why it failed.
pub(super) fn handshake(
    tcp: TcpStream,
    identity: &Identity,
) -> (Option<String>, Result<TlsStream<TcpStream>, String>) {
    let deadline = Instant::now() + HANDSHAKE_LIMIT;
    if let Err(e) = tcp
        .set_nodelay(true)
        .and_then(|()| tcp.set_write_timeout(Some(HANDSHAKE_LIMIT)))
    {
        return (None, Err(e.to_string()));
    }
    let sni = peek_sni(&tcp, deadline);
    if let Err(e) = tcp.set_read_timeout(Some(HANDSHAKE_LIMIT)) {
        return (sni, Err(e.to_string()));
    }
    let result = match identity.acceptor.accept(tcp) {
        Ok(tls) => Ok(tls),
        Err(HandshakeError::Failure(e)) => Err(e.to_string()),
        Err(HandshakeError::WouldBlock(_)) => Err(format!(
            "the client did not finish the handshake within {HANDSHAKE_LIMIT:?}"
        )),
    };
    (sni, result)
}

/// The SNI host name in the client's first TLS record, looked at with
/// `peek` so that the acceptor still reads all of it; `None` when there is
/// none, the record is not a handshake, or it did not arrive by `deadline`.
/// Leaves a short read timeout on `tcp`.
fn peek_sni(tcp: &TcpStream, deadline: Instant) -> Option<String> {
    let mut buf = vec![0u8; MAX_RECORD];
    tcp.set_read_timeout(Some(PEEK_POLL)).ok()?;
    loop {
        match tcp.peek(&mut buf) {
            Ok(0) => return None,
            Ok(n) if n >= 5 => {
                // ContentType handshake (22), then version, then length.
                let need = 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
                if buf[0] != 22 || need > buf.len() {
                    return None;
                }
                if n >= need {
                    return client_hello_sni(&buf[5..need]);
                }
            }
            Ok(_) => {}
            Err(e) if is_timeout(&e) => {}
            Err(_) => return None,
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(PEEK_POLL);
    }
}

/// The host_name in the server_name extension of a ClientHello handshake
/// message (RFC 8446 section 4.1.2, RFC 6066 section 3). Every length is
/// checked against what is left: a short or lying hello gives `None`.
fn client_hello_sni(msg: &[u8]) -> Option<String> {
    let mut c = Cursor(msg);
    if c.num(1)? != 1 {
        return None; // not a ClientHello
    }
    let mut hello = c.vec(3)?;
    hello.take(2 + 32)?; // legacy_version, random
    hello.vec(1)?; // legacy_session_id
    hello.vec(2)?; // cipher_suites
    hello.vec(1)?; // legacy_compression_methods
    let mut exts = hello.vec(2)?;
    while !exts.0.is_empty() {
        let kind = exts.num(2)?;
        let mut body = exts.vec(2)?;
        if kind == 0 {
            // server_name: a list of (name_type, name); host_name is 0.
            let mut list = body.vec(2)?;
            while !list.0.is_empty() {
                let name_type = list.num(1)?;
                let name = list.vec(2)?;
                if name_type == 0 {
                    return Some(String::from_utf8_lossy(name.0).into_owned());
                }
            }
        }
    }
    None
}

/// The unread rest of a TLS structure.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    /// The next `n` bytes.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }

    /// A big-endian number of `n` bytes.
    fn num(&mut self, n: usize) -> Option<usize> {
        Some(
            self.take(n)?
                .iter()
                .fold(0, |v, &b| v << 8 | usize::from(b)),
        )
    }

    /// A vector with a length prefix of `len_bytes` bytes.
    fn vec(&mut self, len_bytes: usize) -> Option<Cursor<'a>> {
        let n = self.num(len_bytes)?;
        Some(Cursor(self.take(n)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello with one cipher suite and the extensions given.
    fn hello(extensions: &[u8]) -> Vec<u8> {
        let mut body = vec![3, 3];
        body.extend_from_slice(&[7; 32]); // random
        body.push(0); // no session id
        body.extend_from_slice(&[0, 2, 0x13, 0x01]); // TLS_AES_128_GCM_SHA256
        body.extend_from_slice(&[1, 0]); // null compression
        body.extend_from_slice(&(extensions.len() as u16).to_be_bytes());
        body.extend_from_slice(extensions);
        let mut msg = vec![1];
        msg.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        msg.extend_from_slice(&body);
        msg
    }

    /// A server_name extension naming `host`.
    fn server_name(host: &str) -> Vec<u8> {
        let n = host.len() as u16;
        let mut ext = vec![0, 0];
        ext.extend_from_slice(&(n + 5).to_be_bytes());
        ext.extend_from_slice(&(n + 3).to_be_bytes());
        ext.push(0); // host_name
        ext.extend_from_slice(&n.to_be_bytes());
        ext.extend_from_slice(host.as_bytes());
        ext
    }

    #[test]
    fn sni_is_found_after_other_extensions() {
        // supported_versions (43) first, then server_name.
        let mut exts = vec![0, 43, 0, 3, 2, 3, 4];
        exts.extend_from_slice(&server_name("rawget.test"));
        assert_eq!(
            client_hello_sni(&hello(&exts)).as_deref(),
            Some("rawget.test")
        );
        assert_eq!(client_hello_sni(&hello(&[0, 43, 0, 3, 2, 3, 4])), None);
    }

    #[test]
    fn every_cut_of_a_hello_is_none_not_a_panic() {
        let msg = hello(&server_name("localhost"));
        for cut in 0..msg.len() {
            // The outer length says more than there is: nothing is read.
            assert_eq!(client_hello_sni(&msg[..cut]), None, "cut at {cut}");
        }
        assert_eq!(client_hello_sni(&msg).as_deref(), Some("localhost"));
        let mut server_hello = msg;
        server_hello[0] = 2;
        assert_eq!(client_hello_sni(&server_hello), None);
    }
}
