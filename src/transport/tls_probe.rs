//! A second look at a server whose handshake failed: what the user needs to
//! know and native-tls cannot say. native-tls gives no certificate when
//! verification fails, and no sign that the server asked for a client
//! certificate when a TLS 1.2 server then aborts with handshake_failure.
//!
//! So, only on those failures, [`probe`] makes one more connection to the
//! same address and handshakes with OpenSSL directly (the openssl crate,
//! native-tls's own backend on Linux), verifying nothing and offering no
//! certificate, over a socket that keeps the server's bytes: the chain the
//! server sent comes from OpenSSL, a CertificateRequest from the plaintext
//! TLS 1.2 flight ([`certificate_request_in`]). One connection in the
//! success path stays one; a failure costs a second handshake, bounded by
//! the deadline and [`PROBE_LIMIT`]. Off Linux there is no probe.

// Off Linux the probe is a stub, and what it would use goes unused.
#![cfg_attr(not(target_os = "linux"), allow(dead_code))]

use std::net::SocketAddr;
use std::time::Duration;

use super::ConnectOptions;

/// The longest a probe may take, whatever `-m` leaves.
pub(super) const PROBE_LIMIT: Duration = Duration::from_secs(5);

/// What the second handshake saw.
#[derive(Debug, Default)]
pub(super) struct Probe {
    /// Every certificate the server sent, leaf first, each as
    /// [`certificate_lines`](super::certificate_lines).
    pub chain: Vec<Vec<String>>,
    /// The server sent a CertificateRequest (seen in TLS 1.2 only, where it
    /// is not encrypted).
    pub asked_for_certificate: bool,
}

/// Handshakes again with `addr` (SNI `host`), verifying nothing; `None`
/// when no second connection or handshake could be made.
#[cfg(target_os = "linux")]
pub(super) fn probe(addr: SocketAddr, host: &str, opts: &ConnectOptions) -> Option<Probe> {
    use openssl::ssl::{HandshakeError, Ssl, SslContext, SslMethod, SslVerifyMode, SslVersion};
    let limit = match opts.remaining().ok()? {
        Some(left) => left.min(PROBE_LIMIT),
        None => PROBE_LIMIT,
    };
    let tcp = std::net::TcpStream::connect_timeout(&addr, limit).ok()?;
    tcp.set_read_timeout(Some(limit)).ok()?;
    tcp.set_write_timeout(Some(limit)).ok()?;
    let version = |p: native_tls::Protocol| match p {
        native_tls::Protocol::Tlsv13 => Some(SslVersion::TLS1_3),
        _ => Some(SslVersion::TLS1_2),
    };
    let mut ctx = SslContext::builder(SslMethod::tls_client()).ok()?;
    ctx.set_verify(SslVerifyMode::NONE);
    ctx.set_min_proto_version(opts.tls_min.map_or(Some(SslVersion::TLS1_2), version))
        .ok()?;
    ctx.set_max_proto_version(opts.tls_max.and_then(version))
        .ok()?;
    let mut ssl = Ssl::new(&ctx.build()).ok()?;
    if host.parse::<std::net::IpAddr>().is_err() {
        ssl.set_hostname(host).ok()?;
    }
    let chain = |s: &openssl::ssl::SslRef| -> Vec<Vec<String>> {
        s.peer_cert_chain()
            .map(|stack| {
                stack
                    .iter()
                    .filter_map(|c| c.to_der().ok())
                    .map(|der| super::certificate_lines(&der))
                    .collect()
            })
            .unwrap_or_default()
    };
    match ssl.connect(Recorder::new(tcp)) {
        Ok(s) => Some(Probe {
            chain: chain(s.ssl()),
            asked_for_certificate: certificate_request_in(&s.get_ref().seen),
        }),
        Err(HandshakeError::Failure(mid)) => Some(Probe {
            chain: chain(mid.ssl()),
            asked_for_certificate: certificate_request_in(&mid.get_ref().seen),
        }),
        Err(_) => None,
    }
}

/// No probe off Linux: native-tls is all there is.
#[cfg(not(target_os = "linux"))]
pub(super) fn probe(_addr: SocketAddr, _host: &str, _opts: &ConnectOptions) -> Option<Probe> {
    None
}

/// The most of the server's bytes a [`Recorder`] keeps: a first flight
/// with a long chain fits.
const SEEN_LIMIT: usize = 64 * 1024;

/// A socket that keeps the first bytes it reads.
#[derive(Debug)]
struct Recorder {
    tcp: std::net::TcpStream,
    seen: Vec<u8>,
}

impl Recorder {
    fn new(tcp: std::net::TcpStream) -> Recorder {
        Recorder {
            tcp,
            seen: Vec::new(),
        }
    }
}

impl std::io::Read for Recorder {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.tcp.read(buf)?;
        let keep = n.min(SEEN_LIMIT.saturating_sub(self.seen.len()));
        self.seen.extend_from_slice(&buf[..keep]);
        Ok(n)
    }
}

impl std::io::Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tcp.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.tcp.flush()
    }
}

/// Whether the server's bytes hold a CertificateRequest (handshake message
/// 13, RFC 5246 section 7.4.4) in the plaintext handshake records before
/// its ChangeCipherSpec. TLS 1.3 encrypts everything after the
/// ServerHello, so there it is never seen (the server's alert 116 says it
/// instead).
pub(super) fn certificate_request_in(flight: &[u8]) -> bool {
    // RFC 5246 section 6.2.1: type (22 handshake, 20 ChangeCipherSpec),
    // version, 16-bit length, fragment. Handshake messages may span
    // records, so the fragments are joined first.
    let mut handshake = Vec::new();
    let mut rest = flight;
    while let [kind, _, _, hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some(fragment) = tail.get(..len) else {
            break;
        };
        match kind {
            22 => handshake.extend_from_slice(fragment),
            21 => {} // an alert between records: keep looking
            _ => break,
        }
        rest = &tail[len..];
    }
    // Section 7.4: type, 24-bit length, body.
    let mut msgs = &handshake[..];
    while let [kind, a, b, c, tail @ ..] = msgs {
        if *kind == 13 {
            return true;
        }
        let len = usize::from(*a) << 16 | usize::from(*b) << 8 | usize::from(*c);
        let Some(next) = tail.get(len..) else {
            break;
        };
        msgs = next;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A handshake record holding `msgs` (type, body) in order.
    fn record(msgs: &[(u8, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, m) in msgs {
            body.push(*kind);
            body.extend(&(m.len() as u32).to_be_bytes()[1..]);
            body.extend(*m);
        }
        let mut rec = vec![22, 3, 3];
        rec.extend((body.len() as u16).to_be_bytes());
        rec.extend(body);
        rec
    }

    #[test]
    fn a_certificate_request_is_found_in_the_flight() {
        let hello = [0u8; 40];
        let with = record(&[(2, &hello), (11, &[1; 300]), (13, &[1, 1, 0, 0]), (14, &[])]);
        assert!(certificate_request_in(&with));
        let without = record(&[(2, &hello), (11, &[1; 300]), (14, &[])]);
        assert!(!certificate_request_in(&without));
        // Split across two records, after an unrelated first one.
        let (a, b) = with.split_at(60);
        let mut split = a.to_vec();
        split[3..5].copy_from_slice(&((a.len() - 5) as u16).to_be_bytes());
        split.extend([22, 3, 3]);
        split.extend(((b.len()) as u16).to_be_bytes());
        split.extend(b);
        assert!(certificate_request_in(&split));
    }

    #[test]
    fn a_flight_cut_anywhere_never_panics() {
        let with = record(&[(2, &[0; 40]), (13, &[1, 1, 0, 0])]);
        for cut in 0..with.len() {
            let _ = certificate_request_in(&with[..cut]);
        }
        assert!(!certificate_request_in(b"HTTP/1.1 200 OK\r\n\r\n"));
        // Encrypted TLS 1.3 records (application data) hide it.
        assert!(!certificate_request_in(&[23, 3, 3, 0, 4, 13, 0, 0, 0]));
    }
}
