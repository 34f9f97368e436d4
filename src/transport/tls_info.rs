//! What the TLS handshake settled, for the user: [`TlsInfo`], computed once
//! when the handshake completes and held by the [`Stream`](super::Stream):
//! the protocol and cipher suite read from the server's ServerHello, and the
//! peer certificate in a few lines (subject, issuer, validity, names).

use super::stream::EofWatch;
use crate::observe::trace::Trace;

/// The negotiated protocol and cipher suite, read from the server's
/// ServerHello as it crossed the wire (RFC 8446 section 4.1.3; native-tls
/// does not report them). TLS 1.3 names itself in the supported_versions
/// extension; earlier versions in the legacy version field.
pub fn server_hello(bytes: &[u8]) -> Option<String> {
    let u16_at = |b: &[u8], i: usize| Some(u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]));
    // Record: type 22 (handshake), version, length; then the handshake
    // message: type 2 (ServerHello), 24-bit length.
    if bytes.first() != Some(&22) || bytes.get(5) != Some(&2) {
        return None;
    }
    let msg = bytes.get(9..)?;
    let mut version = u16_at(msg, 0)?;
    let session_len = usize::from(*msg.get(34)?);
    let mut i = 35 + session_len;
    let cipher = u16_at(msg, i)?;
    i += 3; // cipher suite, compression method
    let extensions_end = i + 2 + usize::from(u16_at(msg, i)?);
    i += 2;
    while i + 4 <= extensions_end {
        let (kind, len) = (u16_at(msg, i)?, usize::from(u16_at(msg, i + 2)?));
        if kind == 0x002b && len == 2 {
            version = u16_at(msg, i + 4)?;
        }
        i += 4 + len;
    }
    let version = match version {
        0x0304 => "TLSv1.3".to_owned(),
        0x0303 => "TLSv1.2".to_owned(),
        0x0302 => "TLSv1.1".to_owned(),
        0x0301 => "TLSv1.0".to_owned(),
        v => format!("version 0x{v:04x}"),
    };
    let cipher = match cipher {
        0x1301 => "TLS_AES_128_GCM_SHA256".to_owned(),
        0x1302 => "TLS_AES_256_GCM_SHA384".to_owned(),
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256".to_owned(),
        0xc02b => "ECDHE-ECDSA-AES128-GCM-SHA256".to_owned(),
        0xc02c => "ECDHE-ECDSA-AES256-GCM-SHA384".to_owned(),
        0xc02f => "ECDHE-RSA-AES128-GCM-SHA256".to_owned(),
        0xc030 => "ECDHE-RSA-AES256-GCM-SHA384".to_owned(),
        0xcca8 => "ECDHE-RSA-CHACHA20-POLY1305".to_owned(),
        0xcca9 => "ECDHE-ECDSA-CHACHA20-POLY1305".to_owned(),
        c => format!("cipher suite 0x{c:04x}"),
    };
    Some(format!("{version}, {cipher}"))
}

/// What the handshake settled, read once when it completes: the `-v` trace
/// prints it and `--report` takes it, so the certificate is parsed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// Protocol and cipher suite from the ServerHello (`TLSv1.3,
    /// TLS_AES_256_GCM_SHA384`); `None` when it could not be read.
    pub protocol: Option<String>,
    /// The server's certificate.
    pub peer: Peer,
}

/// The server's certificate as the handshake left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peer {
    /// Its summary, from [`certificate_lines`].
    Certificate(Vec<String>),
    /// It arrived but could not be encoded; why.
    Unreadable(String),
    /// The server sent none.
    Missing,
}

impl TlsInfo {
    /// Reads what `tls` settled; `hello` is the server's first flight.
    pub(super) fn read(tls: &native_tls::TlsStream<EofWatch>, hello: &[u8]) -> TlsInfo {
        let peer = match tls.peer_certificate() {
            Ok(Some(cert)) => match cert.to_der() {
                Ok(der) => Peer::Certificate(certificate_lines(&der)),
                Err(e) => Peer::Unreadable(e.to_string()),
            },
            _ => Peer::Missing,
        };
        TlsInfo {
            protocol: server_hello(hello),
            peer,
        }
    }

    /// The `-v` steps: the handshake's result, then the certificate.
    pub fn trace(&self, trace: &Trace) {
        trace.step(|| match &self.protocol {
            Some(protocol) => format!("TLS handshake done: {protocol}"),
            None => "TLS handshake done".to_owned(),
        });
        match &self.peer {
            Peer::Certificate(lines) => {
                for line in lines {
                    trace.step(|| line.clone());
                }
            }
            Peer::Unreadable(why) => trace.step(|| format!("peer certificate unreadable: {why}")),
            Peer::Missing => trace.step(|| "no peer certificate".to_owned()),
        }
    }

    /// The summary `--report` reports: the protocol line, then the
    /// certificate's; `None` without a readable certificate.
    pub fn summary(&self) -> Option<Vec<String>> {
        let Peer::Certificate(lines) = &self.peer else {
            return None;
        };
        let protocol = self.protocol.iter().map(|p| format!("protocol: {p}"));
        Some(protocol.chain(lines.iter().cloned()).collect())
    }
}

/// The peer certificate in a few lines: subject, issuer, validity, names.
#[cfg(target_os = "linux")]
pub fn certificate_lines(der: &[u8]) -> Vec<String> {
    let Ok(cert) = openssl::x509::X509::from_der(der) else {
        return vec![format!(
            "peer certificate: {} bytes, not parseable",
            der.len()
        )];
    };
    let name = |n: &openssl::x509::X509NameRef| {
        let parts: Vec<String> = n
            .entries()
            .map(|e| {
                let key = e.object().nid().short_name().unwrap_or("?");
                let value = e.data().to_string().unwrap_or_default();
                format!("{key}={value}")
            })
            .collect();
        parts.join(", ")
    };
    let names: Vec<String> = cert
        .subject_alt_names()
        .map(|alts| {
            alts.iter()
                .filter_map(|g| {
                    g.dnsname().map(str::to_owned).or_else(|| {
                        g.ipaddress().and_then(|ip| match ip.len() {
                            4 => <[u8; 4]>::try_from(ip)
                                .ok()
                                .map(|b| std::net::Ipv4Addr::from(b).to_string()),
                            16 => <[u8; 16]>::try_from(ip)
                                .ok()
                                .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                            _ => None,
                        })
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    vec![
        format!("subject: {}", name(cert.subject_name())),
        format!("issuer: {}", name(cert.issuer_name())),
        format!("valid: {} to {}", cert.not_before(), cert.not_after()),
        format!(
            "names: {}",
            if names.is_empty() {
                "(none)".to_owned()
            } else {
                names.join(", ")
            }
        ),
    ]
}

/// The peer certificate in a few lines (only its size off Linux).
#[cfg(not(target_os = "linux"))]
pub fn certificate_lines(der: &[u8]) -> Vec<String> {
    vec![format!("peer certificate: {} bytes", der.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ServerHello record: legacy version 1.2, a 32-byte session id,
    /// cipher `cipher`, and supported_versions when `tls13`.
    fn hello(cipher: u16, tls13: bool) -> Vec<u8> {
        let mut msg = vec![3, 3];
        msg.extend([7; 32]); // random
        msg.push(32);
        msg.extend([9; 32]); // session id
        msg.extend(cipher.to_be_bytes());
        msg.push(0); // compression
        let mut ext = vec![0x00, 0x33, 0, 2, 0, 0x1d]; // an unrelated extension
        if tls13 {
            ext.extend([0x00, 0x2b, 0, 2, 3, 4]);
        }
        msg.extend((ext.len() as u16).to_be_bytes());
        msg.extend(ext);
        let mut hs = vec![2, 0, (msg.len() >> 8) as u8, msg.len() as u8];
        hs.extend(msg);
        let mut rec = vec![22, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
        rec.extend(hs);
        rec
    }

    #[test]
    fn server_hello_names_protocol_and_cipher() {
        assert_eq!(
            server_hello(&hello(0x1302, true)).as_deref(),
            Some("TLSv1.3, TLS_AES_256_GCM_SHA384")
        );
        assert_eq!(
            server_hello(&hello(0xc02f, false)).as_deref(),
            Some("TLSv1.2, ECDHE-RSA-AES128-GCM-SHA256")
        );
        assert_eq!(
            server_hello(&hello(0x1234, false)).as_deref(),
            Some("TLSv1.2, cipher suite 0x1234")
        );
    }

    #[test]
    fn server_hello_never_panics_on_garbage() {
        let good = hello(0x1301, true);
        for cut in 0..good.len() {
            let _ = server_hello(&good[..cut]);
        }
        assert_eq!(server_hello(b"HTTP/1.1 200 OK\r\n"), None);
        assert_eq!(server_hello(&[22, 3, 3, 0, 4, 1, 0, 0, 0]), None);
    }
}
