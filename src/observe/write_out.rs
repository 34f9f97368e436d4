//! `-w, --write-out FORMAT`: curl's format language over a [`Summary`] of
//! the transfer, written after it, also when it failed.
//!
//! A pure formatter: [`render`] turns the format and the summary into
//! pieces for stdout and stderr (`%{stdout}`, `%{stderr}` switch between
//! them; `%{onerror}` drops the rest of the format after a success) and
//! the warnings for unknown variables, with curl's spelling of each value
//! (curl 7.88: `%03d` status, seconds with six decimals, `scheme` in
//! capitals). The fetch fills the summary from its report; this module
//! does no I/O.

use std::fmt::Write as _;
use std::time::Duration;

use crate::observe::report::Report;
use crate::observe::trace::Timings;

/// Where a piece of the output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (the default, as in curl).
    Stdout,
    /// Standard error, after `%{stderr}`.
    Stderr,
}

/// What rawget knows about a finished (or failed) transfer, in curl's
/// terms. Missing facts are `None` or zero, as curl prints them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// The final status (0 when no response came).
    pub http_code: u16,
    /// `1.1` or `1.0` (`0` when no response came).
    pub http_version: &'static str,
    /// The method of the last request.
    pub method: String,
    /// `HTTP` or `HTTPS`.
    pub scheme: &'static str,
    /// The URL as given.
    pub url: String,
    /// The URL of the last request.
    pub url_effective: String,
    /// Redirects followed.
    pub num_redirects: u32,
    /// Where an unfollowed redirect pointed, resolved against the URL.
    pub redirect_url: Option<String>,
    /// The peer's address and port.
    pub remote: Option<std::net::SocketAddr>,
    /// The local address and port.
    pub local: Option<std::net::SocketAddr>,
    /// The final response's Content-Type.
    pub content_type: Option<String>,
    /// Body bytes received (decoded).
    pub size_download: u64,
    /// Bytes of every head received, interim and redirect heads included.
    pub size_header: u64,
    /// Bytes of every request head and body sent.
    pub size_request: u64,
    /// Request body bytes sent.
    pub size_upload: u64,
    /// Seconds from the start to each step of the last exchange, and the
    /// redirects before it.
    pub times: Times,
    /// The exit code.
    pub exitcode: i32,
    /// The error line without `rawget: error: `, on failure.
    pub errormsg: Option<String>,
    /// 0 when the certificate was verified (or not https); else OpenSSL's
    /// X509 verify code as curl shows it (18 self-signed, 10 expired, ...),
    /// or 1 where there is no code (a name mismatch, as curl).
    pub ssl_verify_result: i64,
    /// The final head's fields, in order.
    pub headers: Vec<(String, String)>,
}

/// curl's `time_*` variables, in seconds from the start of the transfer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Times {
    /// `time_namelookup`.
    pub namelookup: f64,
    /// `time_connect`.
    pub connect: f64,
    /// `time_appconnect` (the TLS handshake; 0 for http).
    pub appconnect: f64,
    /// `time_proxy_connect` (rawget's): connected to the proxy; 0 without.
    pub proxy_connect: f64,
    /// `time_proxy_tls` (rawget's): TLS with an https proxy done; 0 without.
    pub proxy_tls: f64,
    /// `time_tunnel` (rawget's): the proxy's CONNECT reply; 0 without.
    pub tunnel: f64,
    /// `time_pretransfer`: ready to send.
    pub pretransfer: f64,
    /// `time_starttransfer`: the first response byte.
    pub starttransfer: f64,
    /// `time_redirect`: spent on redirects before the final request.
    pub redirect: f64,
    /// `time_total`.
    pub total: f64,
}

impl Summary {
    /// The summary of a settled fetch: its report (exit code and error
    /// already in it), each hop's times from its own start, and the
    /// whole's. The step times are the final request's, in seconds from
    /// the start of the transfer, so they follow `time_redirect` (the
    /// hops before it, each on its own clock).
    pub fn from_report(report: &Report, hops: &[Timings], whole: &Timings) -> Summary {
        let secs = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64());
        let (redirect_hops, timings) = match hops.split_last() {
            Some((last, before)) => (before, last),
            None => (&[][..], whole),
        };
        let redirect: f64 = redirect_hops.iter().map(|h| secs(h.total)).sum();
        let at = |d: Option<Duration>| d.map_or(0.0, |d| redirect + d.as_secs_f64());
        let last = report.hops.last();
        let head = last.and_then(|h| h.heads.last());
        let headers: Vec<(String, String)> = head
            .map(|h| {
                h.headers
                    .iter()
                    .map(|f| (f.name.clone(), f.value.clone()))
                    .collect()
            })
            .unwrap_or_default();
        let field = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        };
        let url_effective = last.map_or_else(|| report.url.clone(), |h| h.url.clone());
        let status = report.status.unwrap_or(0);
        // A redirect that was not followed: where it pointed, made absolute.
        let redirect_url = match (status, field("location")) {
            (300..=399, Some(loc)) if report.exit_code == 0 => url::Url::parse(&url_effective)
                .and_then(|u| u.join(loc.trim()))
                .ok()
                .map(String::from),
            _ => None,
        };
        let wire = |f: fn(&crate::observe::report::HopWire) -> u64| {
            report.hops.iter().map(|h| f(&h.wire)).sum::<u64>()
        };
        let connect = at(timings.connect);
        Summary {
            http_code: status,
            http_version: match head.map(|h| h.version.as_str()) {
                Some("HTTP/1.0") => "1.0",
                Some(_) => "1.1",
                None => "0",
            },
            method: last.map(|h| h.wire.method.clone()).unwrap_or_default(),
            scheme: if url_effective.starts_with("https:") {
                "HTTPS"
            } else {
                "HTTP"
            },
            url: report.url.clone(),
            url_effective,
            num_redirects: report.hops.len().saturating_sub(1) as u32,
            redirect_url,
            remote: last.and_then(|h| h.wire.remote),
            local: last.and_then(|h| h.wire.local),
            content_type: field("content-type"),
            size_download: last.map_or(0, |h| h.body_bytes),
            size_header: wire(|w| w.head_bytes),
            size_request: wire(|w| w.request_bytes),
            size_upload: wire(|w| w.upload_bytes),
            times: Times {
                namelookup: at(timings.dns),
                connect,
                appconnect: at(timings.tls),
                proxy_connect: at(timings.proxy_connect),
                proxy_tls: at(timings.proxy_tls),
                tunnel: at(timings.tunnel),
                // Ready to send: after the last connect step there was.
                pretransfer: (timings.tls.or(timings.tunnel).or(timings.proxy_tls))
                    .map_or(connect, |d| redirect + d.as_secs_f64()),
                starttransfer: at(timings.first_byte),
                redirect,
                total: secs(whole.total),
            },
            exitcode: report.exit_code,
            errormsg: report.error.clone(),
            // OpenSSL's verify code is in the error, not the report: the
            // fetch's -w writer sets it from there; 1 says only that the
            // check failed (exit 60).
            ssl_verify_result: i64::from(report.exit_code == 60),
            headers,
        }
    }
}

/// The output of a format: pieces in order, and warnings for stderr.
#[derive(Debug, Default, PartialEq)]
pub struct Rendered {
    /// Text and where it goes, in order.
    pub pieces: Vec<(Stream, String)>,
    /// `unknown --write-out variable: 'x'`, one per unknown name.
    pub warnings: Vec<String>,
}

impl Rendered {
    fn push(&mut self, to: Stream, text: &str) {
        match self.pieces.last_mut() {
            Some((s, t)) if *s == to => t.push_str(text),
            _ => self.pieces.push((to, text.to_owned())),
        }
    }
}

/// A value of one variable: JSON shows numbers bare and strings quoted,
/// the text form the same digits.
enum Value {
    Text(Option<String>),
    Int(i64),
    Code(u16),
    Secs(f64),
}

impl Value {
    fn text(&self) -> String {
        match self {
            Value::Text(t) => t.clone().unwrap_or_default(),
            Value::Int(n) => n.to_string(),
            Value::Code(n) => format!("{n:03}"),
            Value::Secs(s) => format!("{s:.6}"),
        }
    }

    fn json(&self) -> String {
        match self {
            Value::Text(None) => "null".to_owned(),
            Value::Text(Some(t)) => json_string(t),
            Value::Code(n) => n.to_string(),
            _ => self.text(),
        }
    }
}

/// The variables, in curl's `%{json}` order (alphabetical).
const NAMES: [&str; 28] = [
    "content_type",
    "errormsg",
    "exitcode",
    "http_code",
    "http_version",
    "local_ip",
    "local_port",
    "method",
    "num_headers",
    "num_redirects",
    "redirect_url",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "size_header",
    "size_request",
    "size_upload",
    "speed_download",
    "ssl_verify_result",
    "time_appconnect",
    "time_connect",
    "time_namelookup",
    "time_pretransfer",
    "time_redirect",
    "time_starttransfer",
    "time_total",
];

/// The value of variable `name`, or `None` when rawget does not know it.
fn value(s: &Summary, name: &str) -> Option<Value> {
    let int = |n: u64| Value::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let t = &s.times;
    Some(match name {
        "http_code" | "response_code" => Value::Code(s.http_code),
        "http_version" => Value::Text(Some(s.http_version.to_owned())),
        "method" => Value::Text(Some(s.method.clone())),
        "scheme" => Value::Text(Some(s.scheme.to_owned())),
        "url" => Value::Text(Some(s.url.clone())),
        "url_effective" => Value::Text(Some(s.url_effective.clone())),
        "num_redirects" => Value::Int(s.num_redirects.into()),
        "redirect_url" => Value::Text(s.redirect_url.clone()),
        "remote_ip" => Value::Text(s.remote.map(|a| a.ip().to_string())),
        "remote_port" => Value::Int(s.remote.map_or(0, |a| a.port()).into()),
        "local_ip" => Value::Text(s.local.map(|a| a.ip().to_string())),
        "local_port" => Value::Int(s.local.map_or(0, |a| a.port()).into()),
        "content_type" => Value::Text(s.content_type.clone()),
        "size_download" => int(s.size_download),
        "size_header" => int(s.size_header),
        "size_request" => int(s.size_request),
        "size_upload" => int(s.size_upload),
        "speed_download" => {
            // Bytes per second over the whole transfer, whole bytes, as curl.
            let speed = if t.total > 0.0 {
                s.size_download as f64 / t.total
            } else {
                0.0
            };
            int(speed as u64)
        }
        "time_namelookup" => Value::Secs(t.namelookup),
        "time_connect" => Value::Secs(t.connect),
        "time_appconnect" => Value::Secs(t.appconnect),
        // rawget's own, not in curl's `%{json}`: the proxy's steps apart.
        "time_proxy_connect" => Value::Secs(t.proxy_connect),
        "time_proxy_tls" => Value::Secs(t.proxy_tls),
        "time_tunnel" => Value::Secs(t.tunnel),
        "time_pretransfer" => Value::Secs(t.pretransfer),
        "time_starttransfer" => Value::Secs(t.starttransfer),
        "time_redirect" => Value::Secs(t.redirect),
        "time_total" => Value::Secs(t.total),
        "exitcode" => Value::Int(s.exitcode.into()),
        "errormsg" => Value::Text(s.errormsg.clone()),
        "ssl_verify_result" => Value::Int(s.ssl_verify_result),
        "num_headers" => int(s.headers.len() as u64),
        _ => return None,
    })
}

/// Renders `format` for `summary`: curl's `%{name}`, `%header{name}`,
/// `%{json}`, `%{header_json}`, `%{stdout}`, `%{stderr}`, `%{onerror}`,
/// `%%`, and the escapes `\n`, `\r`, `\t`, `\\`.
pub fn render(format: &str, summary: &Summary) -> Rendered {
    let mut out = Rendered::default();
    let mut to = Stream::Stdout;
    let mut rest = format;
    while let Some(i) = rest.find(['%', '\\']) {
        out.push(to, &rest[..i]);
        let tail = &rest[i..];
        if let Some(after) = tail.strip_prefix('\\') {
            let (text, skip) = match after.chars().next() {
                Some('n') => ("\n", 2),
                Some('r') => ("\r", 2),
                Some('t') => ("\t", 2),
                Some('\\') => ("\\", 2),
                // Another backslash is kept as typed, as curl keeps it.
                _ => ("\\", 1),
            };
            out.push(to, text);
            rest = &tail[skip..];
            continue;
        }
        if let Some(after) = tail.strip_prefix("%%") {
            out.push(to, "%");
            rest = after;
            continue;
        }
        let (name, header, after) = match directive(tail) {
            Some(d) => d,
            None => {
                out.push(to, "%");
                rest = &tail[1..];
                continue;
            }
        };
        rest = after;
        if header {
            // The first field of that name, as curl 7.88 prints it.
            let value = summary
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map_or("", |(_, v)| v.as_str());
            out.push(to, value);
            continue;
        }
        match name {
            "stdout" => to = Stream::Stdout,
            "stderr" => to = Stream::Stderr,
            "onerror" if summary.exitcode == 0 => {
                rest = "";
                break;
            }
            "onerror" => {}
            "json" => out.push(to, &json(summary)),
            "header_json" => out.push(to, &header_json(summary)),
            _ => match value(summary, name) {
                Some(v) => out.push(to, &v.text()),
                None => out
                    .warnings
                    .push(format!("unknown --write-out variable: '{name}'")),
            },
        }
    }
    out.push(to, rest);
    out.pieces.retain(|(_, t)| !t.is_empty());
    out
}

/// `%{name}` or `%header{name}` at the start of `s`: the name, whether it is
/// a header, and what follows. `None` when it is neither (the `%` is text).
fn directive(s: &str) -> Option<(&str, bool, &str)> {
    let (header, body) = if let Some(b) = s.strip_prefix("%{") {
        (false, b)
    } else {
        (true, s.strip_prefix("%header{")?)
    };
    let end = body.find('}')?;
    Some((&body[..end], header, &body[end + 1..]))
}

/// `%{json}`: every variable rawget knows, as one object, keys sorted.
fn json(s: &Summary) -> String {
    let mut names: Vec<&str> = NAMES
        .iter()
        .copied()
        .chain(["url", "url_effective"])
        .collect();
    names.sort_unstable();
    let mut out = String::from("{");
    for (i, name) in names.iter().enumerate() {
        if let Some(v) = value(s, name) {
            let sep = if i == 0 { "" } else { "," };
            let _ = write!(out, "{sep}{}:{}", json_string(name), v.json());
        }
    }
    out.push('}');
    out
}

/// `%{header_json}`: the final head's fields as an object of arrays, names
/// lowercased, in first-seen order, one field per line as curl writes it.
fn header_json(s: &Summary) -> String {
    let mut fields: Vec<(String, Vec<&str>)> = Vec::new();
    for (name, value) in &s.headers {
        let name = name.to_ascii_lowercase();
        match fields.iter_mut().find(|(n, _)| *n == name) {
            Some((_, values)) => values.push(value),
            None => fields.push((name, vec![value])),
        }
    }
    let lines: Vec<String> = fields
        .iter()
        .map(|(name, values)| {
            let values: Vec<String> = values.iter().map(|v| json_string(v)).collect();
            format!("{}:[{}]", json_string(name), values.join(","))
        })
        .collect();
    format!("{{{}\n}}", lines.join(",\n"))
}

fn json_string(s: &str) -> String {
    // serde_json's escaping; a String cannot fail to encode.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary() -> Summary {
        Summary {
            http_code: 200,
            http_version: "1.1",
            method: "GET".into(),
            scheme: "HTTP",
            url: "http://h/x".into(),
            url_effective: "http://h/y".into(),
            num_redirects: 1,
            remote: Some("127.0.0.1:8080".parse().unwrap()),
            size_download: 5,
            times: Times {
                total: 0.5,
                ..Times::default()
            },
            headers: vec![
                ("Content-Type".into(), "text/plain".into()),
                ("X-A".into(), "1".into()),
                ("x-a".into(), "2".into()),
            ],
            ..Summary::default()
        }
    }

    fn stdout(format: &str, s: &Summary) -> String {
        let r = render(format, s);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        r.pieces
            .iter()
            .filter(|(to, _)| *to == Stream::Stdout)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    #[test]
    fn variables_escapes_and_headers_as_curl_spells_them() {
        let s = summary();
        assert_eq!(
            stdout(
                r"%{http_code} %{time_total} %{speed_download} %header{x-a}|%header{none}|%%\t\n\q",
                &s
            ),
            "200 0.500000 10 1||%\t\n\\q"
        );
        let none = Summary::default();
        assert_eq!(stdout("%{http_code} [%{remote_ip}]", &none), "000 []");
        // A lone %, and a %{ without its }, are text.
        assert_eq!(stdout("100% %{http_code", &s), "100% %{http_code");
    }

    #[test]
    fn stderr_stdout_and_onerror_route_the_rest() {
        let mut s = summary();
        let r = render("a%{stderr}b%{stdout}c%{onerror}d", &s);
        assert_eq!(
            r.pieces,
            [
                (Stream::Stdout, "a".into()),
                (Stream::Stderr, "b".into()),
                (Stream::Stdout, "c".into())
            ]
        );
        s.exitcode = 7;
        assert_eq!(stdout("c%{onerror}d", &s), "cd");
    }

    #[test]
    fn an_unknown_variable_is_a_warning_and_prints_nothing() {
        let r = render("x%{nope}y", &summary());
        assert_eq!(r.pieces, [(Stream::Stdout, "xy".into())]);
        assert_eq!(r.warnings, ["unknown --write-out variable: 'nope'"]);
    }

    #[test]
    fn json_and_header_json_parse_and_hold_the_values() {
        let s = summary();
        let v: serde_json::Value = serde_json::from_str(&stdout("%{json}", &s)).unwrap();
        assert_eq!(v["http_code"], 200);
        assert_eq!(v["url_effective"], "http://h/y");
        assert_eq!(v["errormsg"], serde_json::Value::Null);
        assert_eq!(v["time_total"].as_f64(), Some(0.5));
        let h: serde_json::Value = serde_json::from_str(&stdout("%{header_json}", &s)).unwrap();
        assert_eq!(h["x-a"], serde_json::json!(["1", "2"]));
        assert_eq!(h["content-type"], serde_json::json!(["text/plain"]));
    }
}
