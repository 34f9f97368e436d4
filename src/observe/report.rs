//! What happened in an exchange, for `--explain` and `--report`.
//!
//! The fetch fills a [`Report`] as it goes (one [`Hop`] per request, with
//! every head received, the framing decision, byte counts and the RFC
//! findings); at the end it is printed as prose on stderr (`--explain`)
//! and/or serialised as one JSON object (`--report FILE`).

use serde::Serialize;

use crate::observe::trace::Timings;
use crate::response::deviations::Finding;
use crate::response::framing::Framing;
use crate::response::head::Head;

/// Heads kept per hop: a server may send thousands of interim heads (within
/// the 300 KiB head limit), and the report stays small whatever it sends.
pub const MAX_HEADS: usize = 64;

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The whole exchange.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The URL asked for (credentials removed).
    pub url: String,
    /// Each request made, redirects included.
    pub hops: Vec<Hop>,
    /// The final status, if a final head arrived.
    pub status: Option<u16>,
    /// Times in milliseconds.
    pub timings: TimingsMs,
    /// `complete`, `partial` or `unverifiable` (close-delimited).
    pub completeness: &'static str,
    /// The process exit code.
    pub exit_code: i32,
    /// The error message, when the fetch failed.
    pub error: Option<String>,
}

/// One request and what came back.
#[derive(Debug, Default, Serialize)]
pub struct Hop {
    /// The URL of this request.
    pub url: String,
    /// The address connected to.
    pub address: Option<String>,
    /// The peer certificate summary, for https.
    pub tls: Option<Vec<String>>,
    /// The heads received: interim 1xx first, then the final one; at most
    /// [`MAX_HEADS`] of them (the first interim ones, and the final one).
    pub heads: Vec<HeadJson>,
    /// Heads received and not kept in `heads` (a flood of interim heads).
    #[serde(skip_serializing_if = "is_zero")]
    pub heads_omitted: u64,
    /// How the body length was decided.
    pub framing: Option<FramingJson>,
    /// Body bytes the framing promised (Content-Length), when known.
    pub promised: Option<u64>,
    /// Body bytes received (decoded).
    pub body_bytes: u64,
    /// The codings undone (`--compressed`, `--tr-encoding`), in header
    /// order: `gzip` or `br, gzip`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coding: Option<String>,
    /// With `coding`: the body bytes as they came (framing removed),
    /// before decoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_bytes: Option<u64>,
    /// Departures from RFC 9112/9110 seen in this response.
    pub findings: Vec<FindingJson>,
    /// Chunks seen (chunked bodies).
    pub chunks: Option<u64>,
    /// This hop's times, from its own start (the whole's are in
    /// [`Report::timings`]).
    pub timings: TimingsMs,
    /// What `-w` reports of this hop and the report does not show.
    #[serde(skip)]
    pub wire: HopWire,
}

/// A hop's facts for `-w` (curl's variables), kept out of the JSON report.
#[derive(Debug, Default, Clone)]
pub struct HopWire {
    /// The request's method.
    pub method: String,
    /// Bytes of the request sent (head and body).
    pub request_bytes: u64,
    /// Bytes of the request body.
    pub upload_bytes: u64,
    /// Bytes of every head received (interim heads included).
    pub head_bytes: u64,
    /// The local end of the connection.
    pub local: Option<std::net::SocketAddr>,
    /// The peer.
    pub remote: Option<std::net::SocketAddr>,
}

/// A response head.
#[derive(Debug, Serialize)]
pub struct HeadJson {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Status code.
    pub status: u16,
    /// Reason phrase.
    pub reason: String,
    /// Field lines in order, duplicates kept.
    pub headers: Vec<HeaderJson>,
}

/// One field line. `value` is the text when it is UTF-8; otherwise
/// `value_bytes` holds the raw bytes and `value` a lossy rendering.
#[derive(Debug, Serialize)]
pub struct HeaderJson {
    /// Field name as received.
    pub name: String,
    /// Field value.
    pub value: String,
    /// Raw value bytes, only when not UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value_bytes: Option<Vec<u8>>,
}

/// The framing decision.
#[derive(Debug, Serialize)]
pub struct FramingJson {
    /// `none`, `length`, `chunked` or `close`.
    pub kind: &'static str,
    /// The rule that decided it.
    pub rule: &'static str,
}

/// A finding.
#[derive(Debug, Serialize)]
pub struct FindingJson {
    /// What was seen.
    pub what: String,
    /// The clause it breaks.
    pub clause: &'static str,
    /// `leniency` (accepted as curl does) or `deviation`.
    pub kind: &'static str,
}

/// Timings in milliseconds.
#[derive(Debug, Default, Serialize)]
pub struct TimingsMs {
    /// Name resolved.
    pub dns: Option<f64>,
    /// Connected (to the proxy, through one).
    pub connect: Option<f64>,
    /// Through a proxy: connected to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_connect: Option<f64>,
    /// Through an https proxy: the TLS handshake with it done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_tls: Option<f64>,
    /// Through a tunnel: the proxy's 2xx reply to CONNECT received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<f64>,
    /// TLS with the origin done.
    pub tls: Option<f64>,
    /// Request sent.
    pub sent: Option<f64>,
    /// First byte.
    pub first_byte: Option<f64>,
    /// All done.
    pub total: Option<f64>,
    /// Bytes received in all.
    pub received: u64,
}

impl From<&Timings> for TimingsMs {
    fn from(t: &Timings) -> TimingsMs {
        let ms = |d: Option<std::time::Duration>| d.map(|d| (d.as_secs_f64() * 1e6).round() / 1e3);
        TimingsMs {
            dns: ms(t.dns),
            connect: ms(t.connect),
            proxy_connect: ms(t.proxy_connect),
            proxy_tls: ms(t.proxy_tls),
            tunnel: ms(t.tunnel),
            tls: ms(t.tls),
            sent: ms(t.sent),
            first_byte: ms(t.first_byte),
            total: ms(t.total),
            received: t.received,
        }
    }
}

impl From<&Head> for HeadJson {
    fn from(h: &Head) -> HeadJson {
        HeadJson {
            version: format!("HTTP/1.{}", h.version),
            status: h.status,
            reason: h.reason.clone(),
            headers: h
                .headers
                .iter()
                .map(|(n, v)| match std::str::from_utf8(v) {
                    Ok(text) => HeaderJson {
                        name: n.clone(),
                        value: text.to_owned(),
                        value_bytes: None,
                    },
                    Err(_) => HeaderJson {
                        name: n.clone(),
                        value: String::from_utf8_lossy(v).into_owned(),
                        value_bytes: Some(v.clone()),
                    },
                })
                .collect(),
        }
    }
}

impl From<&Finding> for FindingJson {
    fn from(f: &Finding) -> FindingJson {
        FindingJson {
            what: f.what.clone(),
            clause: f.clause,
            kind: if f.leniency { "leniency" } else { "deviation" },
        }
    }
}

/// The JSON name of a framing.
pub fn framing_kind(f: Framing) -> &'static str {
    match f {
        Framing::None => "none",
        Framing::Length(_) => "length",
        Framing::Chunked => "chunked",
        Framing::Close => "close",
    }
}

impl Report {
    /// The verdict on the exchange: `complete`; `unverifiable` for a
    /// close-delimited body (nothing says how long it should have been);
    /// `partial` when it failed after the final head; `none` when it failed
    /// before one.
    pub fn verdict(&self, ok: bool, close_delimited: bool) -> &'static str {
        match (ok, close_delimited, self.status) {
            (true, true, _) => "unverifiable",
            (true, false, _) => "complete",
            (false, _, None) => "none",
            (false, _, Some(_)) => "partial",
        }
    }

    /// The prose of `--explain`, one line per fact, for stderr.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for (i, hop) in self.hops.iter().enumerate() {
            let prefix = if self.hops.len() > 1 {
                format!("explain: hop {}: ", i + 1)
            } else {
                "explain: ".to_owned()
            };
            if let Some(f) = &hop.framing {
                let promised = hop
                    .promised
                    .map_or(String::new(), |n| format!(" ({n} bytes promised)"));
                out.push_str(&format!("{prefix}body length: {}{promised}\n", f.rule));
            }
            for f in &hop.findings {
                out.push_str(&format!("{prefix}{}: {} [{}]\n", f.kind, f.what, f.clause));
            }
            if hop.findings.is_empty() && hop.framing.is_some() {
                out.push_str(&format!("{prefix}no deviation from RFC 9112/9110 seen\n"));
            }
            if let Some(n) = hop.chunks {
                out.push_str(&format!("{prefix}{n} chunks\n"));
            }
            if let (Some(c), Some(wire)) = (&hop.coding, hop.wire_bytes) {
                out.push_str(&format!(
                    "{prefix}coding: {c}: {wire} bytes on the wire, {} decoded\n",
                    hop.body_bytes
                ));
            }
        }
        out.push_str(&format!("explain: verdict: {}", self.completeness));
        if let Some(hop) = self.hops.last() {
            match (hop.wire_bytes, hop.promised) {
                // Content-Length counts the encoded bytes.
                (Some(wire), Some(n)) => out.push_str(&format!(
                    ", {} body bytes decoded from {wire} of {n}",
                    hop.body_bytes
                )),
                (Some(wire), None) => out.push_str(&format!(
                    ", {} body bytes decoded from {wire}",
                    hop.body_bytes
                )),
                (None, Some(n)) => out.push_str(&format!(", {} of {n} body bytes", hop.body_bytes)),
                (None, None) => out.push_str(&format!(", {} body bytes", hop.body_bytes)),
            }
        }
        out.push('\n');
        out
    }
}
