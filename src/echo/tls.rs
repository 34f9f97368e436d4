//! TLS for the echo server and client (`--tls`): the acceptor built from
//! `--cert`/`--key`, the connector built from `-k`/`--cacert`, and the name
//! the client sends and verifies.
//!
//! Both sides are native-tls (OpenSSL on Linux), as in fetch, wrapped for
//! tokio by `tokio-native-tls`; the connector and acceptor are built once
//! per process and shared by every connection.

use std::path::Path;

use crate::{Error, ErrorKind};

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
/// the certificates in FILE instead of the system's, as curl's does.
pub fn connector(
    insecure: bool,
    cacert: Option<&Path>,
) -> crate::Result<tokio_native_tls::TlsConnector> {
    let mut builder = native_tls::TlsConnector::builder();
    builder
        .danger_accept_invalid_certs(insecure)
        .danger_accept_invalid_hostnames(insecure);
    if let Some(path) = cacert {
        let pem = std::fs::read(path).map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("could not read --cacert {}", path.display()),
            )
            .with_source(super::clean(e))
        })?;
        let certs = native_tls::Certificate::stack_from_pem(&pem).map_err(|e| {
            Error::new(
                ErrorKind::ReadInput,
                format!("bad certificate in {}", path.display()),
            )
            .with_source(e)
        })?;
        if certs.is_empty() {
            return Err(Error::new(
                ErrorKind::ReadInput,
                format!("no PEM certificate in {}", path.display()),
            ));
        }
        for cert in certs {
            builder.add_root_certificate(cert);
        }
        builder.disable_built_in_roots(true);
    }
    let connector = builder
        .build()
        .map_err(|e| Error::new(ErrorKind::Tls, "could not set up TLS").with_source(e))?;
    Ok(connector.into())
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

/// A failed client handshake: a certificate that does not verify is exit
/// 60 saying why, anything else exit 35, with `what` naming the server.
pub fn handshake_error(what: String, e: native_tls::Error) -> Error {
    let text = e.to_string();
    if text.contains("certificate verify failed") {
        let why = text
            .rsplit_once('(')
            .map(|(_, r)| r.trim_end_matches(')').to_owned())
            .unwrap_or_else(|| "certificate verify failed".to_owned());
        Error::new(
            ErrorKind::CertVerify,
            format!("{what}: server certificate not verified: {why}"),
        )
    } else {
        Error::new(ErrorKind::Tls, format!("{what}: TLS handshake failed")).with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
