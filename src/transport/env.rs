//! The proxy environment as curl reads it: a pure function of the
//! variables ([`ProxyEnv::from_vars`]), read once by the options.
//!
//! - http targets: `http_proxy`, lower case only. The upper-case name is
//!   ignored because a CGI server sets `HTTP_PROXY` from a request's
//!   `Proxy:` header ("httpoxy", CVE-2016-5385); curl ignores it too.
//! - https targets: `https_proxy`, else `HTTPS_PROXY`.
//! - either, when the above is unset: `all_proxy`, else `ALL_PROXY`.
//! - `no_proxy`, else `NO_PROXY`: hosts that go direct ([`NoProxy`]).
//!
//! An empty variable counts as unset, as in curl.

use std::net::IpAddr;

/// The proxy variables that were set, with the name each came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// For http targets: the value and `http_proxy`.
    pub http: Option<(String, &'static str)>,
    /// For https targets: the value and the variable's name.
    pub https: Option<(String, &'static str)>,
    /// For both, when the scheme's own is unset.
    pub all: Option<(String, &'static str)>,
    /// `no_proxy` / `NO_PROXY`.
    pub no_proxy: Option<NoProxy>,
}

impl ProxyEnv {
    /// Reads the variables through `get` (`std::env::var(..).ok()` in
    /// rawget, a table in the tests).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> ProxyEnv {
        let first = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|&n| get(n).filter(|v| !v.trim().is_empty()).map(|v| (v, n)))
        };
        ProxyEnv {
            http: first(&["http_proxy"]),
            https: first(&["https_proxy", "HTTPS_PROXY"]),
            all: first(&["all_proxy", "ALL_PROXY"]),
            no_proxy: first(&["no_proxy", "NO_PROXY"]).map(|(v, _)| NoProxy::parse(&v)),
        }
    }

    /// The process's own variables.
    pub fn from_process() -> ProxyEnv {
        ProxyEnv::from_vars(|n| std::env::var(n).ok())
    }

    /// The proxy for an http (`tls` false) or https target and the name
    /// of the variable that set it.
    pub fn for_scheme(&self, tls: bool) -> Option<(&str, &'static str)> {
        let own = if tls { &self.https } else { &self.http };
        own.as_ref()
            .or(self.all.as_ref())
            .map(|(v, n)| (v.as_str(), *n))
    }
}

/// `no_proxy` / `--noproxy`: a comma-separated list of host names (each
/// also matching its subdomains; a leading dot is the same), IP addresses,
/// CIDR ranges, or `*` for every host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    all: bool,
    names: Vec<String>,
    ranges: Vec<(IpAddr, u8)>,
}

impl NoProxy {
    /// Parses the list; entries may also be separated by spaces.
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for entry in list.split([',', ' ', '\t']).filter(|e| !e.is_empty()) {
            if entry == "*" {
                out.all = true;
                continue;
            }
            let entry = entry.trim_start_matches('[');
            let (addr, bits) = match entry.split_once('/') {
                Some((a, b)) => (a.trim_end_matches(']'), b.parse::<u8>().ok()),
                None => (entry.trim_end_matches(']'), None),
            };
            if let Ok(ip) = addr.parse::<IpAddr>() {
                let max = if ip.is_ipv4() { 32 } else { 128 };
                out.ranges.push((ip, bits.unwrap_or(max).min(max)));
                continue;
            }
            let name = entry.trim_start_matches('.').trim_end_matches('.');
            if !name.is_empty() {
                out.names.push(name.to_ascii_lowercase());
            }
        }
        out
    }

    /// Whether `host` (a name, or an IP literal without brackets) goes
    /// direct.
    pub fn exempts(&self, host: &str) -> bool {
        if self.all {
            return true;
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return self
                .ranges
                .iter()
                .any(|&(net, bits)| in_range(ip, net, bits));
        }
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.names.iter().any(|n| {
            host == *n
                || host
                    .strip_suffix(n.as_str())
                    .is_some_and(|rest| rest.ends_with('.'))
        })
    }
}

/// Whether `ip` lies in `net/bits` (same family only).
fn in_range(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let (a, b, width) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let shift = width - u32::from(bits);
    if shift >= 128 {
        return true;
    }
    (a >> shift) == (b >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> ProxyEnv {
        ProxyEnv::from_vars(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.to_string())
        })
    }

    #[test]
    fn http_proxy_is_lower_case_only() {
        let e = env(&[("HTTP_PROXY", "evil:1")]);
        assert_eq!(e.for_scheme(false), None);
        let e = env(&[("HTTP_PROXY", "evil:1"), ("http_proxy", "good:1")]);
        assert_eq!(e.for_scheme(false), Some(("good:1", "http_proxy")));
        assert_eq!(e.for_scheme(true), None);
    }

    #[test]
    fn https_and_all_proxy_either_case_lower_first() {
        let e = env(&[("HTTPS_PROXY", "up:1")]);
        assert_eq!(e.for_scheme(true), Some(("up:1", "HTTPS_PROXY")));
        let e = env(&[("HTTPS_PROXY", "up:1"), ("https_proxy", "low:1")]);
        assert_eq!(e.for_scheme(true), Some(("low:1", "https_proxy")));
        let e = env(&[("ALL_PROXY", "all:1")]);
        assert_eq!(e.for_scheme(false), Some(("all:1", "ALL_PROXY")));
        assert_eq!(e.for_scheme(true), Some(("all:1", "ALL_PROXY")));
        let e = env(&[("all_proxy", "all:1"), ("http_proxy", "h:1")]);
        assert_eq!(e.for_scheme(false), Some(("h:1", "http_proxy")));
        assert_eq!(e.for_scheme(true), Some(("all:1", "all_proxy")));
        // Empty is unset.
        let e = env(&[("http_proxy", ""), ("ALL_PROXY", "all:1")]);
        assert_eq!(e.for_scheme(false), Some(("all:1", "ALL_PROXY")));
    }

    #[test]
    fn no_proxy_lower_first() {
        let e = env(&[("NO_PROXY", "a.test"), ("no_proxy", "b.test")]);
        let n = e.no_proxy.unwrap();
        assert!(n.exempts("b.test") && !n.exempts("a.test"));
    }

    #[test]
    fn no_proxy_matching() {
        let n = NoProxy::parse("example.com, .local,10.0.0.0/8 ,::1,192.168.1.7,[fe80::]/16");
        for yes in [
            "example.com",
            "EXAMPLE.com",
            "www.example.com",
            "example.com.",
            "a.b.local",
            "local",
            "10.1.2.3",
            "::1",
            "192.168.1.7",
            "fe80::1",
        ] {
            assert!(n.exempts(yes), "{yes}");
        }
        for no in [
            "notexample.com",
            "example.com.evil",
            "11.0.0.1",
            "::2",
            "192.168.1.8",
            "localhost",
        ] {
            assert!(!n.exempts(no), "{no}");
        }
        assert!(NoProxy::parse("*").exempts("anything"));
        assert!(NoProxy::parse("0.0.0.0/0").exempts("1.2.3.4"));
        assert!(!NoProxy::parse("0.0.0.0/0").exempts("::1"));
        assert!(!NoProxy::parse("").exempts("h"));
    }
}
