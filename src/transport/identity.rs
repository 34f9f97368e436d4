//! The client certificate (`-E/--cert`, `--key`, `--cert-type`,
//! `--key-type`, `--pass`), as curl reads them: [`ClientCert`] is what the
//! flags say, [`ClientCert::load`] turns the files into the native-tls
//! identity the handshake offers, and every way that can fail is exit 58
//! (curl's CURLE_SSL_CERTPROBLEM) with a one-line reason.
//!
//! On Linux the openssl crate (native-tls's own backend) reads every form
//! curl's OpenSSL build reads: a PEM or DER certificate, a PEM or DER key
//! that is PKCS#8, PKCS#1 or SEC1, encrypted or not, or a PKCS#12 bundle;
//! it checks that key and certificate belong together, and hands native-tls
//! the unencrypted PKCS#8 it takes. An encrypted key given without `--pass`
//! has its passphrase asked on the terminal, once a run, as OpenSSL asks
//! for curl (`credentials`). Elsewhere only what native-tls reads is
//! supported: a PEM certificate with an unencrypted PKCS#8 PEM key, or a
//! PKCS#12 bundle.

use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorKind, Result};

/// `--cert-type`: how the certificate file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertType {
    /// PEM: the certificate (and its chain, and maybe the key).
    Pem,
    /// DER: one certificate, binary.
    Der,
    /// PKCS#12 (`.p12`, `.pfx`): key, certificate and chain in one file.
    P12,
}

impl CertType {
    /// curl's names, any case: PEM, DER, P12.
    pub fn parse(s: &str) -> Result<CertType> {
        match s.to_ascii_uppercase().as_str() {
            "PEM" => Ok(CertType::Pem),
            "DER" => Ok(CertType::Der),
            "P12" => Ok(CertType::P12),
            _ => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "bad --cert-type \"{}\": expected PEM, DER or P12",
                    s.escape_debug()
                ),
            )),
        }
    }

    /// The type without `--cert-type`: P12 for a `.p12` or `.pfx` file (as
    /// curl 7.77 and later guess it), PEM otherwise.
    fn guess(path: &Path) -> CertType {
        let ext = path.extension().map(|e| e.to_ascii_lowercase());
        match ext.as_ref().and_then(|e| e.to_str()) {
            Some("p12" | "pfx") => CertType::P12,
            _ => CertType::Pem,
        }
    }
}

/// `--key-type`: how the key file is encoded (PEM unless said).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// PEM: PKCS#8, PKCS#1 or SEC1, encrypted or not.
    Pem,
    /// DER: PKCS#8, PKCS#1 or SEC1, unencrypted.
    Der,
}

impl KeyType {
    /// curl's names, any case: PEM, DER.
    pub fn parse(s: &str) -> Result<KeyType> {
        match s.to_ascii_uppercase().as_str() {
            "PEM" => Ok(KeyType::Pem),
            "DER" => Ok(KeyType::Der),
            _ => Err(Error::new(
                ErrorKind::Usage,
                format!(
                    "bad --key-type \"{}\": expected PEM or DER",
                    s.escape_debug()
                ),
            )),
        }
    }
}

/// The client certificate the flags name: files and how to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// The certificate file (`--cert FILE`).
    pub cert: PathBuf,
    /// The certificate's encoding (`--cert-type`, else guessed from the name).
    pub cert_type: CertType,
    /// The key file (`--key`); `None`: the key is in the certificate file.
    pub key: Option<PathBuf>,
    /// The key's encoding (`--key-type`).
    pub key_type: KeyType,
    /// The passphrase of the key or the PKCS#12 file (`--pass`, or the
    /// `:PASSWORD` of `--cert`).
    pub pass: Option<String>,
}

impl ClientCert {
    /// From the flags: `cert` is `--cert`'s argument as typed (FILE or
    /// FILE:PASSWORD, curl's colon rule), the others as given.
    pub fn from_flags(
        cert: &str,
        cert_type: Option<&str>,
        key: Option<&Path>,
        key_type: Option<&str>,
        pass: Option<&str>,
    ) -> Result<ClientCert> {
        let (file, password) = split_cert_arg(cert);
        let file = PathBuf::from(file);
        let cert_type = match cert_type {
            Some(t) => CertType::parse(t)?,
            None => CertType::guess(&file),
        };
        Ok(ClientCert {
            cert_type,
            cert: file,
            key: key.map(Path::to_path_buf),
            key_type: key_type
                .map(KeyType::parse)
                .transpose()?
                .unwrap_or(KeyType::Pem),
            // --pass names the passphrase outright; it wins over --cert's.
            pass: pass.map(str::to_owned).or(password),
        })
    }

    /// Reads the files into the identity the handshake offers (exit 58
    /// when they cannot be used).
    pub fn load(&self) -> Result<native_tls::Identity> {
        let cert = read(&self.cert, "certificate")?;
        if self.cert_type == CertType::P12 {
            return self.load_p12(&cert);
        }
        let key = match &self.key {
            Some(path) => read(path, "key")?,
            None if self.cert_type == CertType::Pem => cert.clone(),
            None => {
                return Err(problem(format!(
                    "--cert-type DER needs the key in --key ({})",
                    self.cert.display()
                )))
            }
        };
        self.load_pair(&cert, &key)
    }

    /// The file that holds the key, for messages.
    fn key_file(&self) -> &Path {
        self.key.as_deref().unwrap_or(&self.cert)
    }
}

/// `--cert`'s argument split as curl splits it: the file name ends at the
/// first `:` that is not escaped as `\:`; `\\` is one backslash; what
/// follows the colon is the password. A Windows drive letter (`C:\`, `C:/`)
/// is part of the name.
pub fn split_cert_arg(arg: &str) -> (String, Option<String>) {
    let mut name = String::with_capacity(arg.len());
    let mut chars = arg.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&(_, next @ ('\\' | ':'))) => {
                    name.push(next);
                    chars.next();
                }
                _ => name.push('\\'),
            },
            ':' if cfg!(windows) && i == 1 && drive_letter(arg) => name.push(':'),
            ':' => {
                let rest = &arg[i + 1..];
                return (name, (!rest.is_empty()).then(|| rest.to_owned()));
            }
            _ => name.push(c),
        }
    }
    (name, None)
}

/// Whether `arg` starts with a drive letter and a separator (`C:\`, `C:/`).
fn drive_letter(arg: &str) -> bool {
    let b = arg.as_bytes();
    b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/')
}

/// The error for a certificate or key that cannot be used (exit 58).
fn problem(message: String) -> Error {
    Error::new(ErrorKind::CertProblem, message)
}

/// Reads `path`, the `what` (certificate or key); exit 58 when it cannot.
fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        problem(format!(
            "could not read the client {what} {}",
            path.display()
        ))
        .with_source(e)
    })
}

#[cfg(target_os = "linux")]
impl ClientCert {
    /// A PKCS#12 bundle: decrypted and checked here, so that a wrong
    /// passphrase or a bundle without a key says so.
    fn load_p12(&self, der: &[u8]) -> Result<native_tls::Identity> {
        let path = self.cert.display();
        let p12 = openssl::pkcs12::Pkcs12::from_der(der)
            .map_err(|_| problem(format!("{path} is not a PKCS#12 (P12) file")))?;
        let pass = self.pass.as_deref().unwrap_or("");
        let parsed = p12.parse2(pass).map_err(|_| {
            problem(match &self.pass {
                Some(_) => format!("wrong passphrase for {path} (--pass)"),
                None => format!("{path} needs its passphrase (--pass or --cert FILE:PASSWORD)"),
            })
        })?;
        let (Some(key), Some(cert)) = (parsed.pkey, parsed.cert) else {
            return Err(problem(format!("{path} holds no key and certificate pair")));
        };
        let chain: Vec<_> = parsed
            .ca
            .map(|s| s.into_iter().collect())
            .unwrap_or_default();
        self.identity(&key, &cert, &chain)
    }

    /// A certificate file and a key file (maybe the same one).
    fn load_pair(&self, cert: &[u8], key: &[u8]) -> Result<native_tls::Identity> {
        use openssl::x509::X509;
        let path = self.cert.display();
        let mut certs = match self.cert_type {
            CertType::Der => X509::from_der(cert).map(|c| vec![c]),
            _ => X509::stack_from_pem(cert),
        }
        .unwrap_or_default()
        .into_iter();
        let Some(leaf) = certs.next() else {
            return Err(problem(format!("{path} holds no certificate")));
        };
        let chain: Vec<X509> = certs.collect();
        let key = self.private_key(key)?;
        self.identity(&key, &leaf, &chain)
    }

    /// The private key from `bytes`, decrypted with the passphrase.
    fn private_key(&self, bytes: &[u8]) -> Result<openssl::pkey::PKey<openssl::pkey::Private>> {
        use openssl::pkey::PKey;
        let path = self.key_file().display();
        if self.key_type == KeyType::Der {
            return PKey::private_key_from_der(bytes)
                .map_err(|_| problem(format!("{path} holds no DER private key")));
        }
        let pem = String::from_utf8_lossy(bytes);
        if !pem.contains("PRIVATE KEY-----") {
            return Err(problem(match self.key {
                Some(_) => format!("{path} holds no PEM private key"),
                None => format!("{path} holds no private key: give it with --key"),
            }));
        }
        let encrypted =
            pem.contains("BEGIN ENCRYPTED PRIVATE KEY") || pem.contains("Proc-Type: 4,ENCRYPTED");
        if !encrypted {
            return PKey::private_key_from_pem(bytes)
                .map_err(|_| problem(format!("the private key in {path} cannot be read")));
        }
        // Without --pass the terminal is asked, as OpenSSL asks for curl.
        let (pass, from) = match &self.pass {
            Some(pass) => (pass.clone(), " (--pass)"),
            None => match crate::credentials::asked_key_passphrase() {
                Some(typed) => (typed, ""),
                None => {
                    return Err(problem(format!(
                        "the key in {path} is encrypted: give its passphrase with --pass"
                    )))
                }
            },
        };
        PKey::private_key_from_pem_passphrase(bytes, pass.as_bytes())
            .map_err(|_| problem(format!("wrong passphrase for the key in {path}{from}")))
    }

    /// The identity native-tls takes (PEM certificates, an unencrypted
    /// PKCS#8 key), once the key is known to match the certificate.
    fn identity(
        &self,
        key: &openssl::pkey::PKeyRef<openssl::pkey::Private>,
        leaf: &openssl::x509::X509Ref,
        chain: &[openssl::x509::X509],
    ) -> Result<native_tls::Identity> {
        let matches = leaf.public_key().is_ok_and(|public| public.public_eq(key));
        if !matches {
            return Err(problem(format!(
                "the key in {} does not match the certificate in {}",
                self.key_file().display(),
                self.cert.display()
            )));
        }
        let encode = || -> std::result::Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
            let mut pem = leaf.to_pem()?;
            for c in chain {
                pem.extend(c.to_pem()?);
            }
            Ok((pem, key.private_key_to_pem_pkcs8()?))
        };
        let (pem, key) = encode().map_err(|e| {
            problem("could not encode the client certificate".to_owned()).with_source(e)
        })?;
        native_tls::Identity::from_pkcs8(&pem, &key)
            .map_err(|e| problem("could not use the client certificate".to_owned()).with_source(e))
    }
}

#[cfg(not(target_os = "linux"))]
impl ClientCert {
    /// A PKCS#12 bundle, as the platform's TLS reads it.
    fn load_p12(&self, der: &[u8]) -> Result<native_tls::Identity> {
        let pass = self.pass.as_deref().unwrap_or("");
        native_tls::Identity::from_pkcs12(der, pass).map_err(|e| {
            problem(format!(
                "could not use {} as a PKCS#12 file with this passphrase",
                self.cert.display()
            ))
            .with_source(e)
        })
    }

    /// A PEM certificate and an unencrypted PKCS#8 PEM key: all that
    /// native-tls reads off Linux.
    fn load_pair(&self, cert: &[u8], key: &[u8]) -> Result<native_tls::Identity> {
        if self.cert_type == CertType::Der || self.key_type == KeyType::Der || self.pass.is_some() {
            return Err(problem(
                "only a PEM certificate with an unencrypted PKCS#8 PEM key, or a P12 file, \
                 can be used on this system"
                    .to_owned(),
            ));
        }
        // native-tls wants the key alone: the PKCS#8 block of the key file.
        let text = String::from_utf8_lossy(key);
        let begin = "-----BEGIN PRIVATE KEY-----";
        let end = "-----END PRIVATE KEY-----";
        let block = text
            .find(begin)
            .and_then(|b| text[b..].find(end).map(|e| &text[b..b + e + end.len()]));
        let Some(block) = block else {
            return Err(problem(format!(
                "{} holds no unencrypted PKCS#8 PEM key (BEGIN PRIVATE KEY)",
                self.key_file().display()
            )));
        };
        native_tls::Identity::from_pkcs8(cert, block.as_bytes()).map_err(|e| {
            problem(format!(
                "could not use the client certificate {}",
                self.cert.display()
            ))
            .with_source(e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_arg_splits_at_the_first_unescaped_colon() {
        let s = |a: &str| split_cert_arg(a);
        assert_eq!(s("c.pem"), ("c.pem".to_owned(), None));
        assert_eq!(s("c.pem:pw"), ("c.pem".to_owned(), Some("pw".to_owned())));
        assert_eq!(s("c.pem:p:w"), ("c.pem".to_owned(), Some("p:w".to_owned())));
        assert_eq!(s("c.pem:"), ("c.pem".to_owned(), None));
        assert_eq!(
            s(r"a\:b.pem:pw"),
            ("a:b.pem".to_owned(), Some("pw".to_owned()))
        );
        assert_eq!(s(r"a\\:pw"), (r"a\".to_owned(), Some("pw".to_owned())));
        assert_eq!(s(r"a\b"), (r"a\b".to_owned(), None));
        assert_eq!(s("a\\"), ("a\\".to_owned(), None));
        if !cfg!(windows) {
            assert_eq!(s(r"C:\c.pem"), ("C".to_owned(), Some(r"\c.pem".to_owned())));
        }
    }

    #[test]
    fn cert_type_is_curls_or_guessed() {
        assert_eq!(CertType::parse("p12").unwrap(), CertType::P12);
        assert_eq!(CertType::parse("PEM").unwrap(), CertType::Pem);
        assert_eq!(CertType::parse("der").unwrap(), CertType::Der);
        assert_eq!(CertType::parse("ENG").unwrap_err().kind(), ErrorKind::Usage);
        assert_eq!(CertType::guess(Path::new("a/c.PFX")), CertType::P12);
        assert_eq!(CertType::guess(Path::new("c.p12")), CertType::P12);
        assert_eq!(CertType::guess(Path::new("c.pem")), CertType::Pem);
        let c = ClientCert::from_flags("c.p12:x", None, None, None, Some("y")).unwrap();
        assert_eq!((c.cert_type, c.pass.as_deref()), (CertType::P12, Some("y")));
    }
}
