//! Proxies: what `-x` and the environment name ([`Proxy`]), which proxy a
//! target goes through ([`ProxyPlan::route`]), and the bytes an HTTP proxy
//! is sent (pure functions: the CONNECT request, a request in absolute
//! form with `Proxy-Authorization`).
//!
//! The CONNECT exchange itself is driven by the fetch (`fetch/tunnel.rs`),
//! whose reader reads the proxy's reply as any head: a 2xx reply to
//! CONNECT is a tunnel (RFC 9112 §6.3 rule 2).

use crate::error::{Error, ErrorKind, Result};
use crate::target::{base64, percent_decode, Target};

use super::env::{NoProxy, ProxyEnv};

/// How rawget talks to a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyScheme {
    /// `http://`: plain HTTP to the proxy (the default).
    Http,
    /// `https://`: TLS to the proxy itself.
    Https,
    /// `socks4://`: the client resolves the name.
    Socks4,
    /// `socks4a://`: the proxy resolves the name.
    Socks4a,
    /// `socks5://`: the client resolves the name.
    Socks5,
    /// `socks5h://`: the proxy resolves the name.
    Socks5h,
}

impl ProxyScheme {
    fn parse(s: &str) -> Option<ProxyScheme> {
        Some(match s.to_ascii_lowercase().as_str() {
            "http" => ProxyScheme::Http,
            "https" => ProxyScheme::Https,
            "socks4" => ProxyScheme::Socks4,
            "socks4a" => ProxyScheme::Socks4a,
            "socks5" => ProxyScheme::Socks5,
            "socks5h" => ProxyScheme::Socks5h,
            _ => return None,
        })
    }

    /// The scheme as written in a proxy URL.
    pub fn name(self) -> &'static str {
        match self {
            ProxyScheme::Http => "http",
            ProxyScheme::Https => "https",
            ProxyScheme::Socks4 => "socks4",
            ProxyScheme::Socks4a => "socks4a",
            ProxyScheme::Socks5 => "socks5",
            ProxyScheme::Socks5h => "socks5h",
        }
    }

    /// Whether this is an HTTP proxy (plain or over TLS).
    pub fn is_http(self) -> bool {
        matches!(self, ProxyScheme::Http | ProxyScheme::Https)
    }
}

/// A proxy: `[SCHEME://][USER[:PASSWORD]@]HOST[:PORT]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    /// How to talk to it.
    pub scheme: ProxyScheme,
    /// Its host name or IP literal (no brackets).
    pub host: String,
    /// Its port: 1080 when not given, as curl (443 for https://).
    pub port: u16,
    /// `user:password`, percent-decoded, for `Proxy-Authorization: Basic`.
    pub credentials: Option<Vec<u8>>,
}

impl Proxy {
    /// Parses a `-x` value or a proxy variable's value. A scheme other than
    /// those of [`ProxyScheme`] is exit 7, as in curl ("Unsupported proxy
    /// scheme").
    pub fn parse(text: &str) -> Result<Proxy> {
        let text = text.trim();
        let bad = |why: &str| {
            Error::new(
                ErrorKind::Usage,
                format!("bad proxy \"{}\": {why}", text.escape_debug()),
            )
        };
        let (scheme, rest) = match text.find("://") {
            Some(i) => {
                let scheme = ProxyScheme::parse(&text[..i]).ok_or_else(|| {
                    Error::new(
                        ErrorKind::Connect,
                        format!("unsupported proxy scheme for \"{}\"", text.escape_debug()),
                    )
                })?;
                (scheme, &text[i + 3..])
            }
            None => (ProxyScheme::Http, text),
        };
        // Only the authority counts; a path after it is ignored, as curl does.
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(|| bad("expected HOST[:PORT]"))?;
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let default_port = if scheme == ProxyScheme::Https {
            443
        } else {
            1080
        };
        let port = match port {
            None => default_port,
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
        };
        let credentials = userinfo.map(|u| match u.split_once(':') {
            Some((user, pw)) => {
                let mut c = percent_decode(user);
                c.push(b':');
                c.extend(percent_decode(pw));
                c
            }
            None => {
                let mut c = percent_decode(u);
                c.push(b':');
                c
            }
        });
        Ok(Proxy {
            scheme,
            host: host.to_owned(),
            port,
            credentials,
        })
    }

    /// The proxy as shown in messages: no credentials.
    pub fn shown(&self) -> String {
        if self.host.contains(':') {
            format!("{}://[{}]:{}", self.scheme.name(), self.host, self.port)
        } else {
            format!("{}://{}:{}", self.scheme.name(), self.host, self.port)
        }
    }
}

/// `HOST[:PORT]` or `[V6]:PORT`; `None` when it cannot be split.
fn split_host_port(s: &str) -> Option<(&str, Option<&str>)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        return match after {
            "" => Some((host, None)),
            p => Some((host, Some(p.strip_prefix(':')?))),
        };
    }
    match s.rsplit_once(':') {
        // A bare IPv6 address has several colons and no port.
        Some((h, _)) if h.contains(':') => Some((s, None)),
        Some((h, p)) => Some((h, Some(p))),
        None => Some((s, None)),
    }
}

/// Where the proxy choice comes from: `-x`, `--noproxy`, `-p`, `-U` and
/// the environment, as read once by the options.
#[derive(Debug, Clone, Default)]
pub struct ProxyPlan {
    /// `-x`: `Some(None)` for `-x ""` (no proxy, whatever the environment).
    pub explicit: Option<Option<Proxy>>,
    /// The proxy variables, as they were when rawget started.
    pub env: ProxyEnv,
    /// `--noproxy LIST`, which wins over `no_proxy`.
    pub noproxy: Option<NoProxy>,
    /// `-p, --proxytunnel`: CONNECT for http targets too.
    pub tunnel: bool,
    /// `-U, --proxy-user USER:PASSWORD`, which wins over the proxy URL's.
    pub user: Option<Vec<u8>>,
    /// `--suppress-connect-headers`: the CONNECT reply is not printed.
    pub suppress_connect_headers: bool,
}

/// How one target is reached through a proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The proxy.
    pub proxy: Proxy,
    /// Through a CONNECT tunnel (https targets, or `-p`).
    pub tunnel: bool,
    /// Why this proxy: `-x` or the variable that named it (for `-v`).
    pub why: String,
}

impl Route {
    /// Whether the proxy takes the request itself, in absolute form, and
    /// forwards it (an http or https proxy without `-p`), rather than
    /// carrying bytes through a tunnel (CONNECT, SOCKS).
    pub fn forwards(&self) -> bool {
        !self.tunnel
    }

    /// `Basic …` for `Proxy-Authorization`, when there are credentials.
    pub fn authorization(&self, plan: &ProxyPlan) -> Option<String> {
        let c = plan.user.as_ref().or(self.proxy.credentials.as_ref())?;
        Some(format!("Basic {}", base64(c)))
    }

    /// The user and password for a SOCKS proxy, split at the first colon
    /// (`-U` wins over the proxy URL's, as for `authorization`).
    pub fn credentials(&self, plan: &ProxyPlan) -> Option<(Vec<u8>, Vec<u8>)> {
        let c = plan.user.as_ref().or(self.proxy.credentials.as_ref())?;
        let colon = c.iter().position(|&b| b == b':').unwrap_or(c.len());
        let pass = c.get(colon + 1..).unwrap_or_default();
        Some((c[..colon].to_vec(), pass.to_vec()))
    }
}

impl ProxyPlan {
    /// The proxy `target` goes through, if any. `-x` wins over the
    /// environment; `--noproxy` (or else `no_proxy`) exempts hosts from
    /// either, as in curl.
    pub fn route(&self, target: &Target) -> Result<Option<Route>> {
        let noproxy = self.noproxy.as_ref().or(self.env.no_proxy.as_ref());
        let exempt = noproxy.is_some_and(|n| n.exempts(&target.host));
        let (proxy, why) = match &self.explicit {
            Some(None) => return Ok(None),
            _ if exempt => return Ok(None),
            Some(Some(p)) => (p.clone(), "-x".to_owned()),
            None => {
                let Some((value, var)) = self.env.for_scheme(target.tls) else {
                    return Ok(None);
                };
                let proxy = Proxy::parse(value)
                    .map_err(|e| Error::new(e.kind(), format!("{e} (from ${var})")))?;
                (proxy, format!("${var}"))
            }
        };
        let tunnel = target.tls || self.tunnel || !proxy.scheme.is_http();
        Ok(Some(Route { proxy, tunnel, why }))
    }
}

/// The CONNECT request for `target` (RFC 9110 §9.3.6), as curl sends it:
/// authority-form target, a Host header naming the same, the User-Agent,
/// and `Proxy-Authorization` when there are credentials.
pub fn connect_request(target: &Target, user_agent: &str, auth: Option<&str>) -> Vec<u8> {
    let authority = if target.host.contains(':') {
        format!("[{}]:{}", target.host, target.port)
    } else {
        format!("{}:{}", target.host, target.port)
    };
    let mut out = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(auth) = auth {
        out.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    if !user_agent.is_empty() {
        out.push_str(&format!("User-Agent: {user_agent}\r\n"));
    }
    out.push_str("Proxy-Connection: Keep-Alive\r\n\r\n");
    out.into_bytes()
}

/// A request as built for the origin, rewritten for an HTTP proxy
/// (RFC 9112 §3.2.2): the request line's target in absolute form
/// (`http://host:port/path`), and `Proxy-Authorization` after it when
/// there are credentials. Everything else is sent as built.
pub fn absolute_form(request: &[u8], target: &Target, auth: Option<&str>) -> Vec<u8> {
    let line_end = memchr::memchr(b'\n', request).map_or(request.len(), |i| i + 1);
    let line = &request[..line_end];
    let mut out = Vec::with_capacity(request.len() + 128);
    // METHOD SP origin-form SP version: the method is a token (no spaces),
    // the origin-form starts with '/'.
    match memchr::memchr(b' ', line) {
        Some(sp) if line.get(sp + 1) == Some(&b'/') => {
            out.extend_from_slice(&line[..=sp]);
            let scheme = if target.tls { "https" } else { "http" };
            out.extend_from_slice(format!("{scheme}://{}", target.authority).as_bytes());
            out.extend_from_slice(&line[sp + 1..]);
        }
        _ => out.extend_from_slice(line),
    }
    if let Some(auth) = auth {
        out.extend_from_slice(format!("Proxy-Authorization: {auth}\r\n").as_bytes());
    }
    out.extend_from_slice(&request[line_end..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Proxy {
        Proxy::parse(s).unwrap()
    }

    #[test]
    fn proxy_forms() {
        assert_eq!(
            p("127.0.0.1"),
            Proxy {
                scheme: ProxyScheme::Http,
                host: "127.0.0.1".into(),
                port: 1080,
                credentials: None
            }
        );
        let x = p("http://u%40x:p%3Aw@proxy.test:3128/");
        assert_eq!((x.host.as_str(), x.port), ("proxy.test", 3128));
        assert_eq!(x.credentials.as_deref(), Some(&b"u@x:p:w"[..]));
        assert_eq!(p("[::1]:8080").host, "::1");
        assert_eq!(p("[::1]:8080").port, 8080);
        assert_eq!(p("socks5h://h").scheme, ProxyScheme::Socks5h);
        assert_eq!(p("https://h").port, 443);
        assert_eq!(p("user@h:1").credentials.as_deref(), Some(&b"user:"[..]));
        assert_eq!(p("[::1]:8080").shown(), "http://[::1]:8080");
        assert_eq!(
            Proxy::parse("ftp://h:1").unwrap_err().kind(),
            ErrorKind::Connect
        );
        for bad in ["", "h:port", "[::1", "h:99999"] {
            assert_eq!(
                Proxy::parse(bad).unwrap_err().kind(),
                ErrorKind::Usage,
                "{bad}"
            );
        }
    }

    #[test]
    fn connect_request_bytes() {
        let t = Target::parse("https://example.com/x").unwrap();
        assert_eq!(
            String::from_utf8(connect_request(&t, "rawget/1", Some("Basic dTpw"))).unwrap(),
            "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\
             Proxy-Authorization: Basic dTpw\r\nUser-Agent: rawget/1\r\n\
             Proxy-Connection: Keep-Alive\r\n\r\n"
        );
        let t = Target::parse("http://[::1]:81/").unwrap();
        assert!(connect_request(&t, "", None).starts_with(b"CONNECT [::1]:81 HTTP/1.1\r\n"));
    }

    #[test]
    fn absolute_form_rewrites_only_the_request_line() {
        let t = Target::parse("http://example.com:8080/a?b=1").unwrap();
        let req = b"GET /a?b=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\nbody /x";
        assert_eq!(
            absolute_form(req, &t, Some("Basic dTpw")),
            b"GET http://example.com:8080/a?b=1 HTTP/1.1\r\n\
              Proxy-Authorization: Basic dTpw\r\n\
              Host: example.com:8080\r\n\r\nbody /x"
                .to_vec()
        );
        assert_eq!(
            absolute_form(req, &t, None)[..40],
            b"GET http://example.com:8080/a?b=1 HTTP/1"[..]
        );
    }

    fn plan(explicit: Option<&str>, vars: &[(&str, &str)]) -> ProxyPlan {
        ProxyPlan {
            explicit: explicit.map(|x| (!x.is_empty()).then(|| p(x))),
            env: ProxyEnv::from_vars(|name| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            }),
            ..ProxyPlan::default()
        }
    }

    fn route(plan: &ProxyPlan, url: &str) -> Option<Route> {
        plan.route(&Target::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn routes() {
        let x = plan(Some("127.0.0.1:3128"), &[("http_proxy", "other:1")]);
        let r = route(&x, "http://example.com/").unwrap();
        assert_eq!(
            (r.proxy.port, r.tunnel, r.why.as_str()),
            (3128, false, "-x")
        );
        assert!(route(&x, "https://example.com/").unwrap().tunnel);
        let none = plan(Some(""), &[("http_proxy", "other:1")]);
        assert_eq!(route(&none, "http://example.com/"), None);
        let env = plan(None, &[("http_proxy", "p:1"), ("no_proxy", "example.com")]);
        assert_eq!(route(&env, "http://example.com/"), None);
        assert_eq!(route(&env, "http://www.example.com/"), None);
        let r = route(&env, "http://example.org/").unwrap();
        assert_eq!(r.why, "$http_proxy");
        let bad = plan(None, &[("http_proxy", "ftp://p:1")]);
        let e = bad.route(&Target::parse("http://h/").unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "unsupported proxy scheme for \"ftp://p:1\" (from $http_proxy)"
        );
        let socks = plan(Some("socks5://p:1"), &[]);
        assert!(route(&socks, "http://h/").unwrap().tunnel);
    }

    #[test]
    fn only_an_http_proxy_without_a_tunnel_forwards() {
        let x = plan(Some("127.0.0.1:3128"), &[]);
        assert!(route(&x, "http://h/").unwrap().forwards());
        assert!(!route(&x, "https://h/").unwrap().forwards());
        let tunnel = ProxyPlan { tunnel: true, ..x };
        assert!(!route(&tunnel, "http://h/").unwrap().forwards());
        for socks in ["socks4://p:1", "socks5h://p:1"] {
            let s = plan(Some(socks), &[]);
            assert!(!route(&s, "http://h/").unwrap().forwards(), "{socks}");
        }
    }
}
