//! The TLS handshake: native-tls set up from the options (`-k`, `--cacert`),
//! the CA-bundle workaround that keeps OpenSSL from parsing a bundle it will
//! not use, and the mapping of handshake failures to exit codes (60 for the
//! certificate, 35 for anything else, 28 for the deadline; 77 for a
//! `--cacert` that cannot be read or holds no PEM certificate).

use std::io;
use std::net::TcpStream;

use super::stream::{EofWatch, Stream};
use super::tls_info::TlsInfo;
use super::{timed_out, ConnectOptions};
use crate::error::{is_timeout, Error, ErrorKind, Result};
use crate::observe::trace::Trace;
use crate::target::Target;

/// Wraps `tcp` in TLS for `target`: SNI and verification by native-tls.
pub fn tls_handshake(
    tcp: TcpStream,
    target: &Target,
    opts: &ConnectOptions,
    trace: &Trace,
) -> Result<Stream> {
    let versions = (opts.tls_min, opts.tls_max);
    let connector = tls_connector(opts.insecure, opts.cacert.as_deref(), versions)?;
    // Fail at once if time is already up; after this the socket under TLS
    // keeps the deadline on every read and write of the handshake.
    opts.remaining()?;
    trace.step(|| format!("TLS handshake with {} (SNI)", target.host));
    match connector.connect(&target.host, EofWatch::new(tcp, opts.deadline)) {
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
    skip_eager_ca_bundle(insecure || cacert.is_some());
    let mut builder = native_tls::TlsConnector::builder();
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

/// Certificate problems are exit 60, anything else in the handshake exit 35.
pub(crate) fn classify_tls(e: native_tls::Error) -> Error {
    let text = e.to_string();
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
