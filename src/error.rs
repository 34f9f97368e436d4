//! rawget's error type and the one place that knows curl's exit codes.
//!
//! Every failure the library reports is an [`Error`] with an [`ErrorKind`];
//! `main` finds it in the cause chain and exits with
//! [`ErrorKind::exit_code`]. An error without a kind is a bug.

use std::fmt;
use std::io;
use std::time::Duration;

use crate::response::coding::CodingError;
use crate::response::reader::ReadError;
use crate::transport::SocksError;

/// What went wrong, in the contract's terms. Each variant is one exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A scheme other than http or https (exit 1).
    UnsupportedScheme,
    /// Flags that cannot be used as given (exit 2).
    Usage,
    /// The URL could not be parsed (exit 3).
    BadUrl,
    /// The proxy's host name did not resolve (exit 5).
    ProxyResolve,
    /// The host name did not resolve (exit 6).
    Resolve,
    /// No address accepted the connection (exit 7).
    Connect,
    /// The response cannot be read as HTTP or cannot be framed (exit 8).
    BadResponse,
    /// The body ended before the length it promised (exit 18).
    Partial,
    /// Status 400 or more with `--fail` (exit 22).
    HttpFail,
    /// The output could not be written (exit 23).
    Write,
    /// A local input file could not be read (exit 26).
    ReadInput,
    /// A time limit ran out (exit 28).
    Timeout,
    /// The server did not honour a range or a resume (`-r`, `-C`) (exit 33).
    RangeError,
    /// The TLS handshake failed (exit 35).
    Tls,
    /// More redirects than `--max-redirs` (exit 47).
    TooManyRedirects,
    /// The server closed the connection without sending anything (exit 52).
    EmptyReply,
    /// The connection was reset, or another receive failure (exit 56).
    Recv,
    /// The client certificate or its key cannot be used: missing,
    /// unreadable, not a certificate, a key that does not match, a wrong
    /// passphrase (exit 58, curl's CURLE_SSL_CERTPROBLEM).
    CertProblem,
    /// The server's certificate could not be verified (exit 60).
    CertVerify,
    /// The body's content (or transfer) coding cannot be decoded: corrupt,
    /// cut short, or unknown (exit 61).
    BadContentEncoding,
    /// The body is larger than `--max-filesize` (exit 63).
    FileTooLarge,
    /// The `--cacert` file could not be read or holds no PEM certificate
    /// (exit 77).
    CaCert,
    /// The SOCKS proxy handshake failed (exit 97, curl's CURLE_PROXY).
    Socks,
}

impl ErrorKind {
    /// The process exit status for this failure: curl's number for the same failure.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::UnsupportedScheme => 1,
            ErrorKind::Usage => 2,
            ErrorKind::BadUrl => 3,
            ErrorKind::ProxyResolve => 5,
            ErrorKind::Resolve => 6,
            ErrorKind::Connect => 7,
            ErrorKind::BadResponse => 8,
            ErrorKind::Partial => 18,
            ErrorKind::HttpFail => 22,
            ErrorKind::Write => 23,
            ErrorKind::ReadInput => 26,
            ErrorKind::Timeout => 28,
            ErrorKind::RangeError => 33,
            ErrorKind::Tls => 35,
            ErrorKind::TooManyRedirects => 47,
            ErrorKind::EmptyReply => 52,
            ErrorKind::Recv => 56,
            ErrorKind::CertProblem => 58,
            ErrorKind::CertVerify => 60,
            ErrorKind::BadContentEncoding => 61,
            ErrorKind::FileTooLarge => 63,
            ErrorKind::CaCert => 77,
            ErrorKind::Socks => 97,
        }
    }
}

/// A failure with its kind, a message saying what rawget was doing, and the
/// underlying cause (shown after a colon by `main`).
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    quiet: bool,
}

impl Error {
    /// A new error of `kind` saying `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            source: None,
            quiet: false,
        }
    }

    /// Attaches the underlying cause.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Error {
        self.source = Some(Box::new(source));
        self
    }

    /// An error that sets the exit code but prints nothing (stdout closed
    /// by the reader: `rawget … | head -c 10`).
    pub fn quiet(kind: ErrorKind) -> Error {
        Error {
            kind,
            message: String::new(),
            source: None,
            quiet: true,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether `main` should stay silent about it.
    pub fn is_quiet(&self) -> bool {
        self.quiet
    }

    /// The exit code for this failure.
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

/// An error and its causes on one line, `what: cause: cause`, with io
/// errors as their plain description ("Connection refused", not
/// "Connection refused (os error 111)"), and no line breaks.
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        let text = match text.rfind(" (os error ") {
            Some(i) if text.ends_with(')') => text[..i].to_owned(),
            _ => text,
        };
        // A cause that repeats what was just said (OpenSSL's error and the
        // stack it wraps print the same text) is said once.
        if !text.is_empty()
            && parts
                .last()
                .is_none_or(|last: &String| !last.ends_with(&text))
        {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}

impl From<ReadError> for Error {
    /// The one mapping from a protocol failure to its exit code.
    fn from(e: ReadError) -> Error {
        let kind = match &e {
            ReadError::NotHttp(_)
            | ReadError::HeadTooLarge
            | ReadError::Head(_)
            | ReadError::Framing(_)
            | ReadError::Body(_)
            | ReadError::Trailers(_)
            | ReadError::CutHead => ErrorKind::BadResponse,
            ReadError::EmptyReply => ErrorKind::EmptyReply,
            ReadError::Incomplete { .. } | ReadError::Truncated => ErrorKind::Partial,
        };
        let message = e.to_string();
        match e {
            // The decoder's error is the cause, shown after a colon.
            ReadError::Body(cause) => Error::new(kind, message).with_source(cause),
            _ => Error::new(kind, message),
        }
    }
}

impl From<CodingError> for Error {
    /// A body that cannot be decoded is curl's "bad content encoding".
    fn from(e: CodingError) -> Error {
        Error::new(ErrorKind::BadContentEncoding, "cannot decode the body").with_source(e)
    }
}

impl From<SocksError> for Error {
    /// Every failed SOCKS handshake is curl's CURLE_PROXY.
    fn from(e: SocksError) -> Error {
        Error::new(ErrorKind::Socks, e.to_string())
    }
}

/// Shorthand for results carrying an [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the connection was used for when it failed, named in the message.
#[derive(Debug, Clone, Copy)]
pub enum Doing {
    /// Writing the request.
    Send,
    /// Reading a response head.
    Head,
    /// Reading the body, this many body bytes in.
    Body(u64),
}

/// The error for a failed read or write on the connection: a socket
/// timeout is exit 28, a reset or any other failure exit 56. `elapsed`
/// and `received` (bytes so far) go in the timeout's message.
pub fn connection_error(e: io::Error, doing: Doing, elapsed: Duration, received: u64) -> Error {
    let doing = match doing {
        Doing::Send => "sending the request".to_owned(),
        Doing::Head => "reading the response head".to_owned(),
        Doing::Body(n) => format!("reading the body ({n} bytes in)"),
    };
    if is_timeout(&e) {
        return Error::new(
            ErrorKind::Timeout,
            format!(
                "timed out after {} ms {doing}, {received} bytes received",
                elapsed.as_millis()
            ),
        );
    }
    if let Some(alert) = crate::transport::certificate_alert(&e) {
        return alert;
    }
    if is_reset(&e) {
        return Error::new(
            ErrorKind::Recv,
            format!("connection reset by peer while {doing}"),
        )
        .with_source(e);
    }
    Error::new(ErrorKind::Recv, format!("receive failure while {doing}")).with_source(e)
}

/// Whether an I/O error means the peer reset the connection.
pub(crate) fn is_reset(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// Whether an I/O error is a socket timeout (`SO_RCVTIMEO` fired).
pub(crate) fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Whether a TLS read error means the peer closed the TCP connection
/// without sending close_notify (OpenSSL 3 reports it as an error).
pub fn is_tls_truncation(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::UnexpectedEof || err.to_string().contains("unexpected eof")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_curls() {
        let all = [
            (ErrorKind::UnsupportedScheme, 1),
            (ErrorKind::Usage, 2),
            (ErrorKind::BadUrl, 3),
            (ErrorKind::ProxyResolve, 5),
            (ErrorKind::Resolve, 6),
            (ErrorKind::Connect, 7),
            (ErrorKind::BadResponse, 8),
            (ErrorKind::Partial, 18),
            (ErrorKind::HttpFail, 22),
            (ErrorKind::Write, 23),
            (ErrorKind::ReadInput, 26),
            (ErrorKind::Timeout, 28),
            (ErrorKind::RangeError, 33),
            (ErrorKind::Tls, 35),
            (ErrorKind::TooManyRedirects, 47),
            (ErrorKind::EmptyReply, 52),
            (ErrorKind::Recv, 56),
            (ErrorKind::CertProblem, 58),
            (ErrorKind::CertVerify, 60),
            (ErrorKind::BadContentEncoding, 61),
            (ErrorKind::FileTooLarge, 63),
            (ErrorKind::CaCert, 77),
            (ErrorKind::Socks, 97),
        ];
        for (kind, code) in all {
            assert_eq!(kind.exit_code(), code, "{kind:?}");
        }
    }

    #[test]
    fn one_line_says_a_repeated_cause_once() {
        let stack = Error::new(ErrorKind::Tls, "error:0A000410:SSL routines::alert");
        let ssl =
            Error::new(ErrorKind::Tls, "error:0A000410:SSL routines::alert").with_source(stack);
        let e = Error::new(ErrorKind::Tls, "TLS handshake failed").with_source(ssl);
        assert_eq!(
            one_line(&e),
            "TLS handshake failed: error:0A000410:SSL routines::alert"
        );
    }

    #[test]
    fn source_is_kept() {
        let e = Error::new(ErrorKind::Connect, "could not connect to 127.0.0.1:9")
            .with_source(io::Error::from(io::ErrorKind::ConnectionRefused));
        assert_eq!(e.to_string(), "could not connect to 127.0.0.1:9");
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(e.exit_code(), 7);
    }
}
