//! The TLS handshake: native-tls set up from the options (`-k`, `--cacert`),
//! the CA-bundle workaround that keeps OpenSSL from parsing a bundle it will
//! not use, and the mapping of handshake failures to exit codes (60 for the
//! certificate, 35 for anything else, 28 for the deadline; 77 for a
//! `--cacert` that cannot be read or holds no PEM certificate).

use std::io;

use super::socket::Socket;
use super::stream::{EofWatch, Stream};
use super::tls_info::TlsInfo;
use super::{timed_out, ConnectOptions};
use crate::error::{is_timeout, Error, ErrorKind, Result};
use crate::observe::trace::Trace;
use crate::target::Target;

/// Wraps `socket` in TLS for `target`: SNI and verification by native-tls.
/// `server` is the server's own address when `socket` reaches it directly
/// (not through a proxy, a tunnel or a Unix socket): where a second look
/// at a failed handshake may go ([`explain_failure`]).
pub fn tls_handshake(
    socket: impl Into<Socket>,
    server: Option<std::net::SocketAddr>,
    target: &Target,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<Stream> {
    let identity = match &opts.client_cert {
        Some(cert) => {
            let identity = cert.load()?;
            trace.step(|| format!("client certificate: {}", cert.cert.display()));
            Some(identity)
        }
        None => None,
    };
    let connector = tls_connector_with(
        opts.insecure,
        opts.cacert.as_deref(),
        (opts.tls_min, opts.tls_max),
        identity,
    )?;
    handshake(&connector, socket.into(), &target.host, opts, trace)
        .map_err(|e| explain_failure(e, server, target, opts, trace))
}

/// Wraps `socket` in TLS to an https proxy named `host`: verified by
/// `--proxy-insecure` and `--proxy-cacert`, not the origin's `-k` and
/// `--cacert`, as curl.
pub fn proxy_tls_handshake(
    socket: impl Into<Socket>,
    host: &str,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<Stream> {
    let connector = tls_connector(
        opts.proxy_insecure,
        opts.proxy_cacert.as_deref(),
        (opts.tls_min, opts.tls_max),
    )?;
    handshake(&connector, socket.into(), host, opts, trace)
}

fn handshake(
    connector: &native_tls::TlsConnector,
    socket: Socket,
    host: &str,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<Stream> {
    // Fail at once if time is already up; after this the socket under TLS
    // keeps the deadline on every read and write of the handshake.
    opts.remaining()?;
    trace.step(|| format!("TLS handshake with {host} (SNI)"));
    match connector.connect(host, EofWatch::new(socket, opts.deadline)) {
        Ok(mut tls) => {
            let hello = tls.get_mut().take_hello();
            let info = TlsInfo::read(&tls, &hello);
            info.trace(trace);
            Ok(Stream::tls(Box::new(tls), info))
        }
        Err(native_tls::HandshakeError::WouldBlock(_)) => Err(timed_out()),
        Err(native_tls::HandshakeError::Failure(e)) if caused_by_timeout(&e) => Err(timed_out()),
        Err(native_tls::HandshakeError::Failure(e)) => Err(classify_tls(e)),
    }
}

/// What a second look at the server adds to a failed handshake (module
/// `tls_probe`): under `-v`, the chain of a certificate that failed
/// verification; and whether a TLS 1.2 server that aborted with
/// handshake_failure had asked for a client certificate none was given for.
fn explain_failure(
    err: Error,
    peer: Option<std::net::SocketAddr>,
    target: &Target,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Error {
    let Some(peer) = peer else {
        return err;
    };
    let unverified = err.kind() == ErrorKind::CertVerify && trace.verbose();
    let maybe_asked = opts.client_cert.is_none() && received_alert(&err) == Some(HANDSHAKE_FAILURE);
    if !unverified && !maybe_asked {
        return err;
    }
    let Some(probe) = super::tls_probe::probe(peer, &target.host, opts) else {
        return err;
    };
    if unverified {
        trace.step(|| {
            format!(
                "the server's certificate chain, {} certificate(s), read by a second handshake without verification:",
                probe.chain.len()
            )
        });
        for (i, lines) in probe.chain.iter().enumerate() {
            for line in lines {
                trace.step(|| format!("  [{i}] {line}"));
            }
        }
    }
    if maybe_asked && probe.asked_for_certificate {
        return Error::new(ErrorKind::Tls, CERTIFICATE_ASKED);
    }
    err
}

/// The one line for a server that asked for a client certificate and got
/// none (TLS 1.3: alert 116 on the first read, exit 56; TLS 1.2: a
/// CertificateRequest, then handshake_failure, exit 35; curl's codes).
pub(crate) const CERTIFICATE_ASKED: &str =
    "the server asked for a client certificate; give one with --cert";

/// TLS alert 40, handshake_failure (RFC 8446 section 6).
const HANDSHAKE_FAILURE: u8 = 40;

/// The fatal alert the server sent, anywhere in `err`'s chain, as OpenSSL
/// reports a received one: "... SSL alert number N".
pub(crate) fn received_alert(err: &(dyn std::error::Error + 'static)) -> Option<u8> {
    const MARK: &str = "SSL alert number ";
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(Alert(n)) = e.downcast_ref::<Alert>() {
            return Some(*n);
        }
        let text = e.to_string();
        if let Some(i) = text.find(MARK) {
            let digits: String = text[i + MARK.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Ok(n) = digits.parse() {
                return Some(n);
            }
        }
        next = e.source();
    }
    None
}

/// A receive failure that is the server's alert about the client
/// certificate (TLS 1.3 sends it after the handshake, so it arrives on the
/// first read): the user is told what happened, once, instead of OpenSSL's
/// text. `None` for any other failure.
pub(crate) fn certificate_alert(err: &(dyn std::error::Error + 'static)) -> Option<Error> {
    let why = client_certificate_reason(received_alert(err)?)?;
    Some(Error::new(ErrorKind::Recv, why))
}

/// What an alert about the client certificate means; `None` for others.
fn client_certificate_reason(alert: u8) -> Option<String> {
    match alert {
        116 => Some(CERTIFICATE_ASKED.to_owned()),
        42..=46 | 48 | 49 => Some(format!(
            "the server rejected the client certificate: alert {}",
            alert_name(alert)
        )),
        _ => None,
    }
}

/// An alert's name as OpenSSL and curl print it (RFC 8446 section 6, with
/// spaces for underscores).
fn alert_name(alert: u8) -> String {
    let name = match alert {
        0 => "close notify",
        10 => "unexpected message",
        20 => "bad record mac",
        22 => "record overflow",
        40 => "handshake failure",
        42 => "bad certificate",
        43 => "unsupported certificate",
        44 => "certificate revoked",
        45 => "certificate expired",
        46 => "certificate unknown",
        47 => "illegal parameter",
        48 => "unknown ca",
        49 => "access denied",
        50 => "decode error",
        51 => "decrypt error",
        70 => "protocol version",
        71 => "insufficient security",
        80 => "internal error",
        86 => "inappropriate fallback",
        90 => "user canceled",
        109 => "missing extension",
        110 => "unsupported extension",
        112 => "unrecognized name",
        113 => "bad certificate status response",
        115 => "unknown psk identity",
        116 => "certificate required",
        120 => "no application protocol",
        n => return format!("number {n}"),
    };
    name.to_owned()
}

/// The TLS connector for `-k`, `--cacert` and the protocol versions
/// (`--tlsv1.2`, `--tlsv1.3`, `--tls-max`: the lowest and highest, `None`
/// for the defaults), as the fetch and the echo client use it: `-k`
/// verifies nothing; `--cacert FILE` trusts the PEM certificates in FILE
/// instead of the system's (exit 77 when it cannot be read or holds none).
pub(crate) fn tls_connector(
    insecure: bool,
    cacert: Option<&std::path::Path>,
    versions: (Option<native_tls::Protocol>, Option<native_tls::Protocol>),
) -> Result<native_tls::TlsConnector> {
    tls_connector_with(insecure, cacert, versions, None)
}

/// [`tls_connector`], offering `identity` (`--cert`) when the server asks
/// for a client certificate.
fn tls_connector_with(
    insecure: bool,
    cacert: Option<&std::path::Path>,
    versions: (Option<native_tls::Protocol>, Option<native_tls::Protocol>),
    identity: Option<native_tls::Identity>,
) -> Result<native_tls::TlsConnector> {
    skip_eager_ca_bundle(insecure || cacert.is_some());
    let mut builder = native_tls::TlsConnector::builder();
    if let Some(identity) = identity {
        builder.identity(identity);
    }
    builder
        .danger_accept_invalid_certs(insecure)
        .danger_accept_invalid_hostnames(insecure)
        .min_protocol_version(versions.0.or(Some(native_tls::Protocol::Tlsv12)))
        .max_protocol_version(versions.1);
    if insecure {
        // Nothing is verified, so the system trust store (144 certificates,
        // parsed on every connection) need not be loaded.
        builder.disable_built_in_roots(true);
    }
    if let Some(path) = cacert {
        let pem = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::CaCert,
                format!("could not read --cacert {}", path.display()),
            )
            .with_source(e)
        })?;
        let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| {
            Error::new(
                ErrorKind::CaCert,
                format!("bad certificate in {}", path.display()),
            )
            .with_source(e)
        })?;
        if certs.is_empty() {
            return Err(Error::new(
                ErrorKind::CaCert,
                format!("no PEM certificate in {}", path.display()),
            ));
        }
        for cert in certs {
            builder.add_root_certificate(cert);
        }
        // curl's --cacert replaces the system's trust store; so does rawget's.
        builder.disable_built_in_roots(true);
    }
    builder
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, "could not set up TLS").with_source(e))
}

/// Keeps OpenSSL from parsing a whole CA bundle that will not be used.
///
/// native-tls loads the bundle file (144 certificates on Debian) and the
/// openssl crate's connector loads it again: about 480 million
/// instructions, 30 ms, before the handshake starts. With `-k` or
/// `--cacert` no system root is used at all, so the bundle file is pointed
/// at `/dev/null` for this process. Without them, and when the user has not
/// chosen `SSL_CERT_FILE`/`SSL_CERT_DIR`, the hashed directory
/// (`/etc/ssl/certs/<hash>.0`, kept by update-ca-certificates) gives the
/// same trust through lazy look-ups, as Debian's curl is built to use; a
/// bundle the user names is honoured.
fn skip_eager_ca_bundle(no_system_roots: bool) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let user_chose = std::env::var_os("SSL_CERT_FILE").is_some()
            || std::env::var_os("SSL_CERT_DIR").is_some();
        let hashed = || {
            std::fs::read_dir("/etc/ssl/certs").is_ok_and(|mut d| {
                d.any(|e| e.is_ok_and(|e| e.file_name().as_encoded_bytes().ends_with(b".0")))
            })
        };
        if no_system_roots || (!user_chose && hashed()) {
            // Set before any TLS code runs; the only other thread rawget may
            // have started (name resolution) has finished by now.
            std::env::set_var("SSL_CERT_FILE", "/dev/null");
        }
    });
}

/// Certificate problems are exit 60, anything else in the handshake exit 35;
/// an alert from the server is named (the client certificate's in plain
/// words) instead of OpenSSL's text.
pub(crate) fn classify_tls(e: native_tls::Error) -> Error {
    let text = e.to_string();
    if let Some(alert) = received_alert(&e) {
        let why = client_certificate_reason(alert).unwrap_or_else(|| {
            format!(
                "TLS handshake failed: the server sent alert {}",
                alert_name(alert)
            )
        });
        // The alert's number survives for explain_failure, in the cause.
        return Error::new(ErrorKind::Tls, why).with_source(Alert(alert));
    }
    if text.contains("certificate verify failed") {
        let why = text
            .rsplit_once('(')
            .map(|(_, r)| r.trim_end_matches(')').to_owned())
            .unwrap_or_else(|| "certificate verify failed".to_owned());
        // The reason is the typed cause, so -w finds its X509 code.
        Error::new(ErrorKind::CertVerify, "server certificate not verified")
            .with_source(super::verify::VerifyFailure::from_reason(why))
    } else if let Some(refusal) = super::verify::schannel_refusal(&text) {
        // Windows: SChannel's certificate errors are exit 60 too.
        Error::new(ErrorKind::CertVerify, "server certificate not verified").with_source(refusal)
    } else {
        Error::new(ErrorKind::Tls, "TLS handshake failed").with_source(e)
    }
}

/// Whether the handshake failed because the deadline passed: the socket
/// under TLS returned a timeout, which OpenSSL passes on as the cause.
fn caused_by_timeout(e: &native_tls::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<io::Error>().is_some_and(is_timeout) {
            return true;
        }
        cause = c.source();
    }
    false
}

/// A received alert, kept as the cause of a handshake error so that its
/// number can be read again ([`received_alert`]); it prints nothing, since
/// the message already names it.
#[derive(Debug)]
struct Alert(u8);

impl std::fmt::Display for Alert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "")
    }
}

impl std::error::Error for Alert {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_received_alert_is_read_from_openssls_text_or_kept_as_the_cause() {
        let ssl = Error::new(
            ErrorKind::Recv,
            "error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate \
             required:../ssl/record/rec_layer_s3.c:1602:SSL alert number 116",
        );
        let e = Error::new(ErrorKind::Recv, "receive failure").with_source(ssl);
        assert_eq!(received_alert(&e), Some(116));
        let kept = Error::new(ErrorKind::Tls, "named").with_source(Alert(40));
        assert_eq!(received_alert(&kept), Some(40));
        assert_eq!(
            received_alert(&Error::new(ErrorKind::Tls, "no alert")),
            None
        );
    }

    #[test]
    fn certificate_alerts_are_said_plainly() {
        assert_eq!(
            client_certificate_reason(116).as_deref(),
            Some(CERTIFICATE_ASKED)
        );
        assert_eq!(
            client_certificate_reason(48).as_deref(),
            Some("the server rejected the client certificate: alert unknown ca")
        );
        assert_eq!(client_certificate_reason(40), None);
        assert_eq!(alert_name(70), "protocol version");
        assert_eq!(alert_name(200), "number 200");
    }
}
