//! Cookies as curl keeps them: `-b 'a=1; b=2'` (sent as given), `-b FILE`
//! (a Netscape cookie file, or raw `Set-Cookie:` lines), `-c FILE` (every
//! cookie written at the end in Netscape format), `-j` (session cookies of
//! the loaded files dropped).
//!
//! The rules (domain and path matching, expiry, `Secure`, replacement) are
//! the `cookie_store` crate's, as in ureq and reqwest: RFC 6265 is long
//! and subtle, and a well-kept implementation beats a new one. This module
//! only reads and writes curl's file format and says which `Cookie` line a
//! request gets; the fetch asks it before each request and tells it each
//! final head, so cookies set by a redirect go with the next hop.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use cookie_store::{CookieDomain, CookieExpiration, CookieStore};
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::request::{HeaderEdit, RequestSpec};
use crate::response::head::Head;

/// The cookie flags, read and checked.
#[derive(Debug, Clone, Default)]
pub struct CookiePlan {
    /// `-b 'name=value; ...'`: sent as given on every request.
    pub literal: Option<String>,
    /// The contents of each `-b FILE` (a file that does not exist is
    /// skipped, as curl skips it: `-b jar -c jar` on a first run).
    pub files: Vec<Vec<u8>>,
    /// `-c FILE`.
    pub jar: Option<PathBuf>,
    /// `-j`: session cookies in the files are not loaded.
    pub junk_session: bool,
}

impl CookiePlan {
    /// Reads the `-b` arguments: one with `=` is a cookie string, any
    /// other a file.
    pub fn from_args(cookies: &[String], jar: Option<&Path>, junk: bool) -> Result<CookiePlan> {
        let mut plan = CookiePlan {
            jar: jar.map(Path::to_owned),
            junk_session: junk,
            ..CookiePlan::default()
        };
        for c in cookies {
            if c.contains('=') {
                plan.literal = Some(match plan.literal.take() {
                    Some(l) => format!("{l}; {c}"),
                    None => c.clone(),
                });
                continue;
            }
            match std::fs::read(c) {
                Ok(bytes) => plan.files.push(bytes),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::new(
                        ErrorKind::ReadInput,
                        format!("could not read cookie file {c}"),
                    )
                    .with_source(e))
                }
            }
        }
        Ok(plan)
    }

    /// Whether the cookie engine runs (a file to read or a jar to write).
    pub fn engine(&self) -> bool {
        !self.files.is_empty() || self.jar.is_some()
    }
}

/// The cookies of one fetch, across its hops.
pub struct Jar {
    store: CookieStore,
    literal: Option<String>,
    path: Option<PathBuf>,
    engine: bool,
    /// The first request's URL: raw `Set-Cookie:` lines in a `-b` file are
    /// taken as sent by it, as curl takes them.
    first: Url,
}

impl Jar {
    /// The jar the plan describes, the files loaded.
    pub fn new(plan: &CookiePlan, first: &Url) -> Jar {
        let mut jar = Jar {
            store: CookieStore::default(),
            literal: plan.literal.clone(),
            path: plan.jar.clone(),
            engine: plan.engine(),
            first: first.clone(),
        };
        for file in &plan.files {
            jar.load(&String::from_utf8_lossy(file), plan.junk_session);
        }
        jar
    }

    /// Loads a Netscape cookie file or `Set-Cookie:` lines; lines that are
    /// neither are skipped, as curl skips them.
    fn load(&mut self, text: &str, junk_session: bool) {
        let now = unix_now();
        for line in text.lines() {
            let line = line.trim_end_matches('\r');
            if let Some(set) = strip_prefix_ci(line, "Set-Cookie:") {
                let set = set.trim();
                if junk_session
                    && !set.to_ascii_lowercase().contains("expires=")
                    && !set.to_ascii_lowercase().contains("max-age=")
                {
                    continue;
                }
                let _ = self.store.parse(set, &self.first);
                continue;
            }
            let (line, http_only) = match line.strip_prefix("#HttpOnly_") {
                Some(rest) => (rest, true),
                None => (line, false),
            };
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let [domain, tail, path, secure, expires, name, value] = f[..] else {
                continue;
            };
            let Ok(expires) = expires.parse::<i64>() else {
                continue;
            };
            if (expires == 0 && junk_session) || (expires != 0 && expires <= now) {
                continue;
            }
            let host = domain.trim_start_matches('.');
            let secure = secure.eq_ignore_ascii_case("TRUE");
            let scheme = if secure { "https" } else { "http" };
            let Ok(url) = Url::parse(&format!("{scheme}://{host}{path}")) else {
                continue;
            };
            let mut set = format!("{name}={value}; Path={path}");
            if tail.eq_ignore_ascii_case("TRUE") {
                set.push_str(&format!("; Domain={host}"));
            }
            if expires != 0 {
                set.push_str(&format!("; Max-Age={}", expires - now));
            }
            if secure {
                set.push_str("; Secure");
            }
            if http_only {
                set.push_str("; HttpOnly");
            }
            let _ = self.store.parse(&set, &url);
        }
    }

    /// The `Cookie` value for a request to `url`: the `-b` string, then
    /// the matching stored cookies, longest path first (curl's order).
    pub fn header(&self, url: &Url) -> Option<String> {
        let mut found: Vec<_> = if self.engine {
            self.store.matches(url)
        } else {
            Vec::new()
        };
        found.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut pairs: Vec<String> = self.literal.iter().cloned().collect();
        pairs.extend(found.iter().map(|c| format!("{}={}", c.name(), c.value())));
        (!pairs.is_empty()).then(|| pairs.join("; "))
    }

    /// `spec` with this request's `Cookie` line: after a leading `Referer`
    /// (where curl puts it), before the `-H` lines; none when a `-H`
    /// names `Cookie`.
    pub fn apply(&self, spec: &RequestSpec, url: &Url) -> RequestSpec {
        let mut spec = spec.clone();
        let named = spec
            .headers
            .iter()
            .any(|h| h.name().eq_ignore_ascii_case("Cookie"));
        if let (false, Some(value)) = (named, self.header(url)) {
            let at = usize::from(
                spec.headers
                    .first()
                    .is_some_and(|h| h.name().eq_ignore_ascii_case("Referer")),
            );
            spec.headers
                .insert(at, HeaderEdit::Set("Cookie".into(), value));
        }
        spec
    }

    /// Stores the cookies a final head from `url` sets.
    pub fn receive(&mut self, head: &Head, url: &Url) {
        if !self.engine {
            return;
        }
        for value in head.values("Set-Cookie") {
            let _ = self.store.parse(&String::from_utf8_lossy(value), url);
        }
    }

    /// Writes `-c FILE`: every cookie that has not expired, session
    /// cookies included (with expiry 0), in curl's Netscape format.
    pub fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let mut out = String::from(
            "# Netscape HTTP Cookie File\n# Written by rawget; the format is curl's.\n\n",
        );
        for c in self.store.iter_any().filter(|c| !c.is_expired()) {
            let (domain, tail) = match &c.domain {
                CookieDomain::HostOnly(h) => (h.clone(), "FALSE"),
                CookieDomain::Suffix(s) => (format!(".{s}"), "TRUE"),
                _ => continue,
            };
            let expires = match &c.expires {
                CookieExpiration::AtUtc(t) => t.unix_timestamp(),
                CookieExpiration::SessionEnd => 0,
            };
            let flag = |b: Option<bool>| if b.unwrap_or(false) { "TRUE" } else { "FALSE" };
            let http_only = if c.http_only().unwrap_or(false) {
                "#HttpOnly_"
            } else {
                ""
            };
            out.push_str(&format!(
                "{http_only}{domain}\t{tail}\t{}\t{}\t{expires}\t{}\t{}\n",
                &*c.path,
                flag(c.secure()),
                c.name(),
                c.value()
            ));
        }
        std::fs::write(path, out).map_err(|e| {
            Error::new(
                ErrorKind::Write,
                format!("could not write cookie jar {}", path.display()),
            )
            .with_source(e)
        })
    }
}

fn strip_prefix_ci<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let head = line.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &line[prefix.len()..])
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    fn plan(files: &[&str], junk: bool) -> CookiePlan {
        CookiePlan {
            files: files.iter().map(|f| f.as_bytes().to_vec()).collect(),
            junk_session: junk,
            ..CookiePlan::default()
        }
    }

    #[test]
    fn netscape_lines_match_by_domain_path_secure_and_expiry() {
        let file = "# Netscape HTTP Cookie File\n\
            .example.com\tTRUE\t/\tFALSE\t0\tall\t1\n\
            example.com\tFALSE\t/a\tFALSE\t4102444800\tdeep\t2\n\
            example.com\tFALSE\t/\tTRUE\t0\tsec\t3\n\
            example.com\tFALSE\t/\tFALSE\t1000\told\t4\n\
            #HttpOnly_example.com\tFALSE\t/\tFALSE\t0\tho\t5\n\
            garbage line\n";
        let jar = Jar::new(&plan(&[file], false), &url("http://example.com/"));
        assert_eq!(
            jar.header(&url("http://www.example.com/")).as_deref(),
            Some("all=1")
        );
        let mut got: Vec<String> = jar
            .header(&url("https://example.com/a/b"))
            .unwrap()
            .split("; ")
            .map(str::to_owned)
            .collect();
        assert_eq!(got[0], "deep=2", "longest path first");
        got.sort();
        assert_eq!(got, ["all=1", "deep=2", "ho=5", "sec=3"]);
        assert_eq!(jar.header(&url("http://other.org/")), None);
        // -j: the session cookies are not loaded.
        let jar = Jar::new(&plan(&[file], true), &url("http://example.com/"));
        assert_eq!(
            jar.header(&url("http://example.com/a")).as_deref(),
            Some("deep=2")
        );
    }

    #[test]
    fn set_cookie_lines_and_the_literal_string() {
        let mut p = plan(&["Set-Cookie: s=1; Path=/\nset-cookie: t=2\n"], false);
        p.literal = Some("a=1; b=2".into());
        let jar = Jar::new(&p, &url("http://h/x"));
        let h = jar.header(&url("http://h/")).unwrap();
        assert!(h.starts_with("a=1; b=2; "), "{h}");
        assert!(h.contains("s=1") && h.contains("t=2"), "{h}");
        // Without a file or -c, the engine is off: only the literal.
        let p = CookiePlan {
            literal: Some("a=1".into()),
            ..CookiePlan::default()
        };
        assert_eq!(
            Jar::new(&p, &url("http://h/"))
                .header(&url("http://h/"))
                .as_deref(),
            Some("a=1")
        );
    }

    #[test]
    fn the_jar_round_trips_through_the_netscape_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jar");
        let p = CookiePlan {
            files: vec![b"Set-Cookie: s=1; Domain=example.com; Path=/p; Max-Age=3600; Secure; HttpOnly\nSet-Cookie: t=2\n".to_vec()],
            jar: Some(path.clone()),
            ..CookiePlan::default()
        };
        Jar::new(&p, &url("https://example.com/")).save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("#HttpOnly_.example.com\tTRUE\t/p\tTRUE\t"),
            "{text}"
        );
        assert!(
            text.contains("example.com\tFALSE\t/\tFALSE\t0\tt\t2\n"),
            "{text}"
        );
        let again = Jar::new(&plan(&[&text], false), &url("http://x/"));
        assert_eq!(
            again.header(&url("https://www.example.com/p")).as_deref(),
            Some("s=1")
        );
    }
}
