//! The request exactly as it goes on the wire.
//!
//! [`build`] is a pure function from a [`Target`] and a [`RequestSpec`] to
//! bytes, so every header rule of the contract is unit-tested on bytes:
//! the default headers in their fixed order, each left out when a `-H`
//! names it, `-H` lines in the order given, and the body with its
//! Content-Length.

use crate::error::{Error, ErrorKind, Result};
pub use crate::form::Multipart;
use crate::target::{base64, Target};

/// One `-H` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderEdit {
    /// `Name: value`: send this line (and suppress a default of the same name).
    Set(String, String),
    /// `Name;`: send `Name:` with an empty value.
    Empty(String),
    /// `Name:`: send no header of this name, default or not.
    Remove(String),
}

impl HeaderEdit {
    /// Parses one `-H` argument as curl reads it.
    pub fn parse(arg: &str) -> Result<HeaderEdit> {
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Usage,
                format!("bad -H \"{}\": {why}", arg.escape_debug()),
            )
        };
        if arg.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
            return Err(bad("contains CR, LF or NUL"));
        }
        let (name, value, empty) = match arg.find([':', ';']) {
            Some(i) if arg.as_bytes()[i] == b':' => (&arg[..i], arg[i + 1..].trim(), false),
            Some(i) if arg[i + 1..].trim().is_empty() => (&arg[..i], "", true),
            _ => return Err(bad("expected \"Name: value\", \"Name:\" or \"Name;\"")),
        };
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(bad("the header name is not a token"));
        }
        Ok(match (value.is_empty(), empty) {
            (_, true) => HeaderEdit::Empty(name.to_owned()),
            (true, false) => HeaderEdit::Remove(name.to_owned()),
            (false, false) => HeaderEdit::Set(name.to_owned(), value.to_owned()),
        })
    }

    /// The header name this edit is about.
    pub fn name(&self) -> &str {
        match self {
            HeaderEdit::Set(n, _) | HeaderEdit::Empty(n) | HeaderEdit::Remove(n) => n,
        }
    }
}

/// RFC 9110 section 5.6.2: token characters.
pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A request body and how it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The bytes to send.
    pub bytes: Vec<u8>,
    /// Given with `-d`/`--data-binary`: default `Content-Type` to a form.
    pub form: bool,
    /// Given with `--json`: `Content-Type` and `Accept` say JSON, after the
    /// `-H` lines (where curl puts them), unless a `-H` names them.
    pub json: bool,
}

/// Everything besides the target that shapes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    /// The method (`GET`, `HEAD`, `POST`, or `-X`).
    pub method: String,
    /// `--http1.0`.
    pub http10: bool,
    /// The `User-Agent` value; empty sends none.
    pub user_agent: String,
    /// `-H` arguments in order.
    pub headers: Vec<HeaderEdit>,
    /// The body, if any.
    pub body: Option<Body>,
    /// `-T`: a body streamed at send time instead of `body`.
    pub upload: Option<Upload>,
    /// `-F`: a multipart/form-data body, its files streamed at send time.
    pub multipart: Option<Multipart>,
}

/// `-T FILE` or `-T -`: a body read while it is sent, never whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The file, or `None` for stdin.
    pub path: Option<std::path::PathBuf>,
    /// The file's length, sent as `Content-Length`; `None` (stdin): the
    /// length is unknown and the body is sent chunked.
    pub len: Option<u64>,
}

/// Bodies larger than this (or of unknown length) are sent after
/// `Expect: 100-continue`, as curl does (its `EXPECT_100_THRESHOLD`):
/// a server that refuses them says so before the bytes are sent.
pub const EXPECT_THRESHOLD: u64 = 1024 * 1024;

/// The default `User-Agent`.
pub fn default_user_agent() -> String {
    concat!("rawget/", env!("CARGO_PKG_VERSION")).to_owned()
}

impl RequestSpec {
    /// A plain `GET` with the default headers.
    pub fn get() -> RequestSpec {
        RequestSpec {
            method: "GET".to_owned(),
            http10: false,
            user_agent: default_user_agent(),
            headers: Vec::new(),
            body: None,
            upload: None,
            multipart: None,
        }
    }

    /// Whether the body waits for `100 Continue`: a `-H Expect:
    /// 100-continue` says so; otherwise a body over [`EXPECT_THRESHOLD`]
    /// or of unknown length, over HTTP/1.1, unless a `-H` names `Expect`.
    pub fn expects_continue(&self) -> bool {
        let given = self.headers.iter().find_map(|h| match h {
            HeaderEdit::Set(n, v) if n.eq_ignore_ascii_case("Expect") => Some(Some(v)),
            h if h.name().eq_ignore_ascii_case("Expect") => Some(None),
            _ => None,
        });
        match given {
            Some(value) => value.is_some_and(|v| v.eq_ignore_ascii_case("100-continue")),
            None => !self.http10 && self.body_len().is_none_or(|n| n > EXPECT_THRESHOLD),
        }
    }

    /// The body's length: `Some(0)` without one, `None` when unknown.
    fn body_len(&self) -> Option<u64> {
        if let Some(m) = &self.multipart {
            return Some(m.len());
        }
        match (&self.upload, &self.body) {
            (Some(u), _) => u.len,
            (None, Some(b)) => Some(b.bytes.len() as u64),
            (None, None) => Some(0),
        }
    }

    fn names(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|h| h.name().eq_ignore_ascii_case(name))
    }
}

/// `--request-target TARGET` (curl's flag): `target` with TARGET sent as
/// the request-target instead of the URL's path and query: `*` for
/// `OPTIONS *`, an absolute URI for a proxy, any other text as given. The
/// URL still says where to connect and what Host says. Whitespace and
/// control bytes are refused (exit 2): the request line must stay one line
/// of three parts (hand-built ones are `rawget send`'s job).
pub fn with_request_target(target: &Target, text: &str) -> Result<Target> {
    if text.is_empty() || text.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(Error::new(
            ErrorKind::Usage,
            format!(
                "bad --request-target \"{}\": empty, or whitespace or control bytes in it",
                text.escape_debug()
            ),
        ));
    }
    let mut target = target.clone();
    target.path_and_query = text.to_owned();
    Ok(target)
}

/// The request bytes: head, then body (an upload's bytes are streamed by
/// the fetch after the head, so they are not here).
pub fn build(target: &Target, spec: &RequestSpec) -> Vec<u8> {
    let mut out = build_head(target, spec);
    if let Some(b) = &spec.body {
        out.extend_from_slice(&b.bytes);
    }
    out
}

/// The request head, up to and including the empty line.
pub fn build_head(target: &Target, spec: &RequestSpec) -> Vec<u8> {
    let body = spec.body.as_ref().map_or(&[][..], |b| &b.bytes[..]);
    let mut out = Vec::with_capacity(256);
    let version = if spec.http10 { "HTTP/1.0" } else { "HTTP/1.1" };
    out.extend_from_slice(
        format!("{} {} {version}\r\n", spec.method, target.path_and_query).as_bytes(),
    );
    if !spec.names("Host") {
        header(&mut out, "Host", target.authority.as_bytes());
    }
    if let Some(c) = &target.credentials {
        if !spec.names("Authorization") {
            header(
                &mut out,
                "Authorization",
                format!("Basic {}", base64(c)).as_bytes(),
            );
        }
    }
    if !spec.names("User-Agent") && !spec.user_agent.is_empty() {
        header(&mut out, "User-Agent", spec.user_agent.as_bytes());
    }
    if !spec.names("Accept") && !spec.body.as_ref().is_some_and(|b| b.json) {
        header(&mut out, "Accept", b"*/*");
    }
    if !spec.names("Connection") {
        header(&mut out, "Connection", b"close");
    }
    for h in &spec.headers {
        match h {
            HeaderEdit::Set(n, v) => header(&mut out, n, v.as_bytes()),
            HeaderEdit::Empty(n) => {
                out.extend_from_slice(n.as_bytes());
                out.extend_from_slice(b":\r\n");
            }
            HeaderEdit::Remove(_) => {}
        }
    }
    if let Some(b) = &spec.body {
        if b.json {
            if !spec.names("Content-Type") {
                header(&mut out, "Content-Type", b"application/json");
            }
            if !spec.names("Accept") {
                header(&mut out, "Accept", b"application/json");
            }
        } else if b.form && !spec.names("Content-Type") {
            header(
                &mut out,
                "Content-Type",
                b"application/x-www-form-urlencoded",
            );
        }
        if !spec.names("Content-Length") {
            header(
                &mut out,
                "Content-Length",
                body.len().to_string().as_bytes(),
            );
        }
    }
    if let Some(u) = &spec.upload {
        match u.len {
            Some(n) if !spec.names("Content-Length") => {
                header(&mut out, "Content-Length", n.to_string().as_bytes())
            }
            None if !spec.names("Transfer-Encoding") => {
                header(&mut out, "Transfer-Encoding", b"chunked")
            }
            _ => {}
        }
    }
    if let Some(m) = &spec.multipart {
        // curl's order: the length, then the type naming the boundary.
        if !spec.names("Content-Length") {
            header(&mut out, "Content-Length", m.len().to_string().as_bytes());
        }
        if !spec.names("Content-Type") {
            let ty = format!("multipart/form-data; boundary={}", m.boundary);
            header(&mut out, "Content-Type", ty.as_bytes());
        }
    }
    // Not over TLS: the wait cannot be kept without a read that may block
    // (fetch/upload.rs); the body goes at once there.
    if spec.expects_continue() && !target.tls && !spec.names("Expect") {
        header(&mut out, "Expect", b"100-continue");
    }
    out.extend_from_slice(b"\r\n");
    out
}

fn header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(url: &str, f: impl FnOnce(&mut RequestSpec)) -> String {
        let mut spec = RequestSpec::get();
        f(&mut spec);
        String::from_utf8(build(&Target::parse(url).unwrap(), &spec)).unwrap()
    }

    fn ua() -> String {
        default_user_agent()
    }

    #[test]
    fn request_target_replaces_only_the_request_line_target() {
        let t = Target::parse("http://h:8080/a?b=1").unwrap();
        let mut spec = RequestSpec::get();
        spec.method = "OPTIONS".to_owned();
        let star = build(&with_request_target(&t, "*").unwrap(), &spec);
        assert!(star.starts_with(b"OPTIONS * HTTP/1.1\r\nHost: h:8080\r\n"));
        let proxy = with_request_target(&t, "http://other.example/x?y").unwrap();
        assert!(build(&proxy, &RequestSpec::get())
            .starts_with(b"GET http://other.example/x?y HTTP/1.1\r\nHost: h:8080\r\n"));
        for bad in ["", "a b", "/x\r\nInjected: 1", "/\t", "/\x7f"] {
            let e = with_request_target(&t, bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Usage, "{bad:?}");
        }
    }

    #[test]
    fn default_request_is_the_contracts() {
        assert_eq!(
            req("www.baidu.com", |_| {}),
            format!("GET / HTTP/1.1\r\nHost: www.baidu.com\r\nUser-Agent: {}\r\nAccept: */*\r\nConnection: close\r\n\r\n", ua())
        );
        assert!(req("h:8080/a?b=1", |_| {}).starts_with("GET /a?b=1 HTTP/1.1\r\nHost: h:8080\r\n"));
        assert!(req("http://[::1]:81/", |_| {}).contains("\r\nHost: [::1]:81\r\n"));
    }

    #[test]
    fn header_edits_replace_remove_and_keep_order() {
        let r = req("h", |s| {
            s.headers = [
                "X-B: 2",
                "accept: text/html",
                "Connection:",
                "X-A: 1",
                "X-Empty;",
            ]
            .iter()
            .map(|h| HeaderEdit::parse(h).unwrap())
            .collect()
        });
        assert_eq!(
            r,
            format!("GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: {}\r\nX-B: 2\r\naccept: text/html\r\nX-A: 1\r\nX-Empty:\r\n\r\n", ua())
        );
    }

    #[test]
    fn host_can_be_replaced_and_ua_removed() {
        let r = req("h", |s| {
            s.headers = vec![
                HeaderEdit::parse("Host: other").unwrap(),
                HeaderEdit::parse("User-Agent:").unwrap(),
            ];
        });
        assert_eq!(
            r,
            "GET / HTTP/1.1\r\nAccept: */*\r\nConnection: close\r\nHost: other\r\n\r\n"
        );
    }

    #[test]
    fn basic_auth_from_url() {
        let r = req("http://user:pw@h/", |_| {});
        assert!(
            r.contains("\r\nHost: h\r\nAuthorization: Basic dXNlcjpwdw==\r\nUser-Agent: "),
            "{r}"
        );
        let r = req("http://user:pw@h/", |s| {
            s.headers = vec![HeaderEdit::parse("Authorization: Bearer t").unwrap()]
        });
        assert!(!r.contains("Basic"));
        assert!(r.contains("Authorization: Bearer t\r\n"));
    }

    #[test]
    fn post_body_with_length_and_form_type() {
        let r = req("h/p", |s| {
            s.method = "POST".into();
            s.body = Some(Body {
                bytes: b"a=1&b=2".to_vec(),
                form: true,
                json: false,
            });
        });
        assert!(r.starts_with("POST /p HTTP/1.1\r\n"));
        assert!(r.ends_with("Connection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2"), "{r}");
        let r = req("h", |s| {
            s.method = "PUT".into();
            s.headers = vec![HeaderEdit::parse("Content-Type: text/plain").unwrap()];
            s.body = Some(Body {
                bytes: Vec::new(),
                form: true,
                json: false,
            });
        });
        assert!(
            r.ends_with("Content-Type: text/plain\r\nContent-Length: 0\r\n\r\n"),
            "{r}"
        );
    }

    #[test]
    fn json_body_says_json_after_the_header_lines() {
        let body = |s: &mut RequestSpec| {
            s.method = "POST".into();
            s.body = Some(Body {
                bytes: br#"{"a":1}"#.to_vec(),
                form: true,
                json: true,
            });
        };
        let r = req("h/x", |s| {
            body(s);
            s.headers = vec![HeaderEdit::parse("X-A: 1").unwrap()];
        });
        assert_eq!(
            r,
            format!("POST /x HTTP/1.1\r\nHost: h\r\nUser-Agent: {}\r\nConnection: close\r\nX-A: 1\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}", ua())
        );
        // A -H of either name replaces the JSON one, as in curl.
        let r = req("h/x", |s| {
            body(s);
            s.headers = vec![
                HeaderEdit::parse("Accept: text/x").unwrap(),
                HeaderEdit::parse("Content-Type: a/b").unwrap(),
            ];
        });
        assert!(
            r.ends_with("Connection: close\r\nAccept: text/x\r\nContent-Type: a/b\r\nContent-Length: 7\r\n\r\n{\"a\":1}"),
            "{r}"
        );
    }

    #[test]
    fn upload_head_says_its_length_or_chunked_and_large_bodies_expect_100() {
        let up = |len: Option<u64>| {
            move |s: &mut RequestSpec| {
                s.method = "PUT".into();
                s.upload = Some(Upload {
                    path: Some("f".into()),
                    len,
                });
            }
        };
        let r = req("h/x", up(Some(6)));
        assert!(
            r.ends_with("Connection: close\r\nContent-Length: 6\r\n\r\n"),
            "{r}"
        );
        let r = req("h/x", up(Some(EXPECT_THRESHOLD + 1)));
        assert!(
            r.ends_with("Content-Length: 1048577\r\nExpect: 100-continue\r\n\r\n"),
            "{r}"
        );
        let r = req("h/x", up(None));
        assert!(
            r.ends_with("Transfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n"),
            "{r}"
        );
        assert!(!req("https://h/x", up(None)).contains("Expect"));
        // `-H 'Expect:'` turns it off; HTTP/1.0 has no 100.
        let r = req("h/x", |s| {
            up(None)(s);
            s.headers = vec![HeaderEdit::parse("Expect:").unwrap()];
        });
        assert!(!r.contains("Expect"), "{r}");
        let r = req("h/x", |s| {
            up(None)(s);
            s.http10 = true;
        });
        assert!(!r.contains("Expect"), "{r}");
        // A large -d body asks too; a small one does not.
        let big = |n: usize| {
            move |s: &mut RequestSpec| {
                s.body = Some(Body {
                    bytes: vec![b'a'; n],
                    form: true,
                    json: false,
                })
            }
        };
        let mut spec = RequestSpec::get();
        big(1 << 21)(&mut spec);
        assert!(spec.expects_continue());
        big(10)(&mut spec);
        assert!(!spec.expects_continue());
        assert!(!RequestSpec::get().expects_continue());
    }

    #[test]
    fn http10_and_user_agent() {
        let r = req("h", |s| {
            s.http10 = true;
            s.user_agent = "me/1".into();
        });
        assert!(r.starts_with("GET / HTTP/1.0\r\nHost: h\r\nUser-Agent: me/1\r\n"));
        assert!(!req("h", |s| s.user_agent.clear()).contains("User-Agent"));
    }

    #[test]
    fn header_parse_rules() {
        assert_eq!(
            HeaderEdit::parse("A:  b c ").unwrap(),
            HeaderEdit::Set("A".into(), "b c".into())
        );
        assert_eq!(
            HeaderEdit::parse("A:").unwrap(),
            HeaderEdit::Remove("A".into())
        );
        assert_eq!(
            HeaderEdit::parse("A: ").unwrap(),
            HeaderEdit::Remove("A".into())
        );
        assert_eq!(
            HeaderEdit::parse("A;").unwrap(),
            HeaderEdit::Empty("A".into())
        );
        assert_eq!(
            HeaderEdit::parse("A: x;y").unwrap(),
            HeaderEdit::Set("A".into(), "x;y".into())
        );
        for bad in [
            "",
            "NoColon",
            ": v",
            "A B: v",
            "A: b\r\nInjected: 1",
            "A; x",
        ] {
            assert_eq!(
                HeaderEdit::parse(bad).unwrap_err().kind(),
                ErrorKind::Usage,
                "{bad:?}"
            );
        }
    }
}
