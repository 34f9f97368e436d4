//! What the user typed as a URL, turned into where to connect and what to ask for.
//!
//! Owns the URL forms of the contract: a bare host means `http://host/`,
//! `host:port/path` is http too, `http://` and `https://` are the only
//! schemes, IPv6 literals go in brackets, and `user:pw@` becomes Basic auth.
//! What counts as a scheme is curl's rule (a scheme name followed by `:/`),
//! and one or three slashes after it are repaired to two, as curl repairs
//! them; `http:` itself is never taken for a host named "http".
//! Parsing itself is the `url` crate's (WHATWG rules, as browsers and curl's
//! URL API apply them); this module adds the contract's defaults and errors.

use std::fmt;

use url::{Host, Url};

use crate::error::{Error, ErrorKind, Result};

/// A parsed fetch target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The URL after parsing and normalisation (what redirects resolve against).
    pub url: Url,
    /// Whether the connection uses TLS (https).
    pub tls: bool,
    /// The host to resolve and to name in SNI: a domain, or an IP literal
    /// without brackets.
    pub host: String,
    /// The port to connect to (the scheme's default when the URL has none).
    pub port: u16,
    /// The request target: path and query, never empty (`/` at least).
    pub path_and_query: String,
    /// The `Host` header value: host, plus `:port` when not the default.
    pub authority: String,
    /// `user:password` from the URL, percent-decoded, for Basic auth.
    pub credentials: Option<Vec<u8>>,
}

impl Target {
    /// Parses what the user typed (or a redirect's absolute URL).
    pub fn parse(input: &str) -> Result<Target> {
        let input = input.trim();
        if input.is_empty() {
            return Err(Error::new(ErrorKind::BadUrl, "malformed URL: empty"));
        }
        let with_scheme = match scheme_end(input) {
            Some(n) => {
                let scheme = input[..n].to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(Error::new(
                        ErrorKind::UnsupportedScheme,
                        format!(
                            "unsupported scheme \"{}\" in {input}: only http and https",
                            &input[..n]
                        ),
                    ));
                }
                // One slash or three after the colon are repaired to two,
                // as curl repairs them (`http:/host/x` is `http://host/x`);
                // the url crate's WHATWG parser does the same for http and
                // https.
                input.to_owned()
            }
            None => {
                // `http:` with no slash and no port number after it names no
                // host: curl calls it malformed, and it must not become a
                // request to a host called "http" (issue 11 item 16).
                let lower = input.to_ascii_lowercase();
                if let Some(scheme) = ["http:", "https:"].iter().find(|s| lower.starts_with(*s)) {
                    let after = &input[scheme.len()..];
                    if !after.starts_with(|c: char| c.is_ascii_digit()) {
                        return Err(Error::new(
                            ErrorKind::BadUrl,
                            format!("malformed URL \"{input}\": expected // after {scheme}"),
                        ));
                    }
                }
                format!("http://{input}")
            }
        };
        let url = Url::parse(&with_scheme).map_err(|e| {
            Error::new(ErrorKind::BadUrl, format!("malformed URL \"{input}\"")).with_source(e)
        })?;
        Target::from_url(url)
    }

    /// Builds a target from an already parsed URL (redirects use this).
    pub fn from_url(url: Url) -> Result<Target> {
        let tls = match url.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(Error::new(
                    ErrorKind::UnsupportedScheme,
                    format!("unsupported scheme \"{other}\" in {url}: only http and https"),
                ))
            }
        };
        let host = match url.host() {
            Some(Host::Domain(d)) if !d.is_empty() => d.to_owned(),
            Some(Host::Ipv4(ip)) => ip.to_string(),
            Some(Host::Ipv6(ip)) => ip.to_string(),
            _ => {
                return Err(Error::new(
                    ErrorKind::BadUrl,
                    format!("malformed URL \"{url}\": no host"),
                ))
            }
        };
        let default_port = if tls { 443 } else { 80 };
        let port = url.port().unwrap_or(default_port);
        // host_str keeps the brackets of an IPv6 literal, as Host needs them.
        let host_str = url.host_str().unwrap_or(&host);
        let authority = if port == default_port {
            host_str.to_owned()
        } else {
            format!("{host_str}:{port}")
        };
        let mut path_and_query = url.path().to_owned();
        if path_and_query.is_empty() {
            path_and_query.push('/');
        }
        if let Some(q) = url.query() {
            path_and_query.push('?');
            path_and_query.push_str(q);
        }
        let credentials = if url.username().is_empty() && url.password().is_none() {
            None
        } else {
            let mut c = percent_decode(url.username());
            c.push(b':');
            c.extend(percent_decode(url.password().unwrap_or("")));
            Some(c)
        };
        Ok(Target {
            url,
            tls,
            host,
            port,
            path_and_query,
            authority,
            credentials,
        })
    }

    /// `-G`: the target with `data` appended to its query (after `&` when
    /// it has one), as curl does; bytes a URL cannot hold are
    /// percent-encoded.
    pub fn with_query_data(&self, data: &[u8]) -> Result<Target> {
        let data = String::from_utf8_lossy(data);
        let mut url = self.url.clone();
        let query = match url.query() {
            Some(q) if !q.is_empty() => format!("{q}&{data}"),
            _ => data.into_owned(),
        };
        url.set_query(Some(&query));
        Target::from_url(url)
    }

    /// `-T FILE`: a URL whose path ends in `/` gets `name` appended (as
    /// curl does), percent-encoded as a path segment; any other is as given.
    pub fn with_file_name(&self, name: &str) -> Result<Target> {
        if !self.url.path().ends_with('/') {
            return Ok(self.clone());
        }
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(name);
        }
        Target::from_url(url)
    }

    /// The URL as text, without credentials (for messages).
    pub fn redacted(&self) -> String {
        let mut u = self.url.clone();
        let _ = u.set_username("");
        let _ = u.set_password(None);
        u.to_string()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Where the scheme `input` starts with ends, if it has one.
///
/// curl's rule (7.88, `Curl_is_absolute_url`): letters, digits, `+`, `-`
/// and `.`, followed by `:/`. Text with `://` at its first slash names a
/// scheme as well, one that cannot be valid (`ht tp://x`), to be refused as
/// unsupported. Anything else is a host with an optional port, as in
/// `localhost:8080` or `example.com/?to=http://x`, and http is meant.
fn scheme_end(input: &str) -> Option<usize> {
    let b = input.as_bytes();
    let n = b
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
        .unwrap_or(b.len());
    if n > 0 && b[n..].starts_with(b":/") {
        return Some(n);
    }
    let first = b.iter().position(|c| matches!(c, b'/' | b'?' | b'#'))?;
    (first > 0 && b[first - 1] == b':' && b[first..].starts_with(b"//")).then(|| first - 1)
}

/// Decodes `%XX` escapes; anything else passes through as bytes.
pub(crate) fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Standard base64 with padding (RFC 4648 section 4), for Basic auth.
pub fn base64(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for group in input.chunks(3) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= group.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Target {
        Target::parse(s).unwrap()
    }

    /// Asserts that every one of `inputs` is refused as `kind`.
    #[track_caller]
    fn refused(inputs: &[&str], kind: ErrorKind) {
        for s in inputs {
            let e = Target::parse(s).unwrap_err();
            assert_eq!(e.kind(), kind, "{s}: {e}");
        }
    }

    #[test]
    fn bare_host_is_http_root() {
        let x = t("www.baidu.com");
        assert!(!x.tls);
        assert_eq!(
            (x.host.as_str(), x.port, x.path_and_query.as_str()),
            ("www.baidu.com", 80, "/")
        );
        assert_eq!(x.authority, "www.baidu.com");
        assert_eq!(x.credentials, None);
    }

    #[test]
    fn host_port_path_query() {
        let x = t("example.com:8080/a?b=1");
        assert_eq!(
            (x.host.as_str(), x.port, x.path_and_query.as_str()),
            ("example.com", 8080, "/a?b=1")
        );
        assert_eq!(x.authority, "example.com:8080");
        let x = t("localhost:8080");
        assert_eq!((x.host.as_str(), x.port), ("localhost", 8080));
    }

    #[test]
    fn https_defaults_to_443() {
        let x = t("https://example.com/x");
        assert!(x.tls);
        assert_eq!(x.port, 443);
        assert_eq!(x.authority, "example.com");
        assert_eq!(t("https://example.com:80/").authority, "example.com:80");
        assert_eq!(t("http://example.com:80/").authority, "example.com");
        assert_eq!(t("HTTP://Example.COM/").host, "example.com");
    }

    #[test]
    fn ipv6_literal() {
        let x = t("http://[::1]:8080/p");
        assert_eq!(x.host, "::1");
        assert_eq!(x.port, 8080);
        assert_eq!(x.authority, "[::1]:8080");
        assert_eq!(t("[::1]").authority, "[::1]");
    }

    #[test]
    fn userinfo_becomes_credentials() {
        let x = t("http://user:p%40ss@host/");
        assert_eq!(x.credentials.as_deref(), Some(&b"user:p@ss"[..]));
        assert_eq!(x.redacted(), "http://host/");
        assert_eq!(
            t("http://user@host/").credentials.as_deref(),
            Some(&b"user:"[..])
        );
    }

    #[test]
    fn fragment_is_not_sent() {
        assert_eq!(t("http://h/a#frag").path_and_query, "/a");
    }

    #[test]
    fn other_schemes_are_exit_1() {
        refused(
            &["ftp://example.com/", "file:///etc/passwd", "gopher://x/"],
            ErrorKind::UnsupportedScheme,
        );
    }

    #[test]
    fn one_or_three_slashes_are_repaired_as_curl_does() {
        // curl 7.88 fetches http://127.0.0.1:8080/x for each; rawget
        // resolved a host named "http" (issue 11 item 16).
        for s in [
            "http:/127.0.0.1:8080/x",
            "http:///127.0.0.1:8080/x",
            "HTTP:/127.0.0.1:8080/x",
        ] {
            let x = t(s);
            assert_eq!(
                (x.tls, x.host.as_str(), x.port, x.path_and_query.as_str()),
                (false, "127.0.0.1", 8080, "/x"),
                "{s}"
            );
            assert_eq!(x.url.as_str(), "http://127.0.0.1:8080/x", "{s}");
        }
        let x = t("https:/example.com/x");
        assert_eq!((x.tls, x.host.as_str(), x.port), (true, "example.com", 443));
        let x = t("http:/user:pw@h/");
        assert_eq!(
            (x.host.as_str(), x.credentials.as_deref()),
            ("h", Some(&b"user:pw"[..]))
        );
    }

    #[test]
    fn a_scheme_with_one_slash_is_a_scheme_not_a_host() {
        // curl's rule: a scheme name followed by ":/". htp:/x resolved a
        // host named "htp" (exit 6); curl says exit 1, and so does rawget,
        // also for a name that would otherwise be a host (localhost:/x).
        refused(
            &["htp:/x", "ftp:/x", "localhost:/x", "1http://x", "ht tp://x"],
            ErrorKind::UnsupportedScheme,
        );
        assert_eq!(
            Target::parse("htp:/x").unwrap_err().to_string(),
            "unsupported scheme \"htp\" in htp:/x: only http and https"
        );
        // http: followed by neither a slash nor a port names no host: exit
        // 3, as curl, never a request to a host called "http".
        refused(
            &[
                "http:",
                "https:",
                "http:\\\\x",
                "HTTP:x",
                "http:/",
                "http:/?x",
            ],
            ErrorKind::BadUrl,
        );
    }

    #[test]
    fn scheme_like_text_after_the_host_is_not_a_scheme() {
        // "://" in the query was taken for the end of a scheme (exit 1);
        // curl fetches these from the host.
        let x = t("localhost:8080/?u=http://x");
        assert_eq!(
            (x.host.as_str(), x.port, x.path_and_query.as_str()),
            ("localhost", 8080, "/?u=http://x")
        );
        assert_eq!(t("example.com?to=https://x").host, "example.com");
        // host:port stays host:port even when the host is called http, as
        // curl reads it.
        let x = t("http:80/x");
        assert_eq!((x.host.as_str(), x.port), ("http", 80));
    }

    #[test]
    fn malformed_is_exit_3() {
        refused(
            &[
                "",
                "http://",
                "http://exa mple.com/",
                "http://[::1/",
                "example.com:99999/",
                "http://:80/",
            ],
            ErrorKind::BadUrl,
        );
    }

    #[test]
    fn base64_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
        }
        assert_eq!(base64(b"user:pw"), "dXNlcjpwdw==");
    }

    #[test]
    fn percent_decode_edges() {
        assert_eq!(percent_decode("a%2"), b"a%2");
        assert_eq!(percent_decode("%zz"), b"%zz");
        assert_eq!(percent_decode("%41%"), b"A%");
    }
}
