//! What `rawget send` tells the user: the framing analysis (`--explain`,
//! `--dry-run`), the verdict on the exchange, and the `--report` report.
//!
//! The verdict compares what RFC 9112 frames in the bytes sent with what
//! came back. A server that framed the same bytes as the RFC does answers
//! each request once, in order; more responses than requests, a response
//! with nothing asked, or bytes after a complete response mean the server
//! (or a proxy before it) ended a request somewhere else: a desync, the
//! evidence of request smuggling.

use serde::Serialize;

use super::framing::{Body, Framed, Request, RequestError};
use super::spool::Spool;
use crate::observe::report::{FindingJson, FramingJson, HeadJson};

/// The whole exchange, as the `--report` report gives it.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// The URL sent to.
    pub url: String,
    /// The address connected to.
    pub address: Option<String>,
    /// The peer certificate summary, for https.
    pub tls: Option<Vec<String>>,
    /// `keep-alive` (each request after the previous response) or `pipeline`.
    pub mode: &'static str,
    /// Bytes sent in all.
    pub bytes_sent: u64,
    /// Each request RFC 9112 frames in what was sent (on disk as it
    /// grows: `spool.rs`).
    pub requests: Spool<RequestJson>,
    /// What follows the last complete request, when anything does.
    pub rest: Option<RestJson>,
    /// How many complete responses came.
    pub responses_received: usize,
    /// Each response, in order (on disk as it grows).
    pub responses: Spool<ResponseJson>,
    /// Bytes received after the last complete response that are no response.
    pub stray_bytes: u64,
    /// How the connection ended.
    pub closed: String,
    /// The verdict, one sentence per fact.
    pub verdict: Vec<String>,
    /// Whether the numbers disagree (a desync).
    pub desync: bool,
    /// The process exit code.
    pub exit_code: i32,
    /// The error message, when the exchange failed.
    pub error: Option<String>,
}

/// One request as framed.
#[derive(Debug, Serialize)]
pub struct RequestJson {
    /// Offset of its first byte in what was sent.
    pub start: usize,
    /// Offset after its last byte.
    pub end: usize,
    /// The method.
    pub method: String,
    /// The request-target.
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// `none`, `length` or `chunked`.
    pub body: &'static str,
    /// Body bytes (Content-Length) or chunks.
    pub body_size: u64,
    /// The rule of RFC 9112 §6.3 that decided.
    pub rule: &'static str,
    /// Every ambiguity, with its clause.
    pub findings: Vec<FindingJson>,
}

/// The bytes after the last complete request.
#[derive(Debug, Serialize)]
pub struct RestJson {
    /// Offset where they start.
    pub start: usize,
    /// Why they are not a complete request.
    pub error: String,
    /// What was seen in them.
    pub findings: Vec<FindingJson>,
}

/// One response.
#[derive(Debug, Default, Serialize)]
pub struct ResponseJson {
    /// Which request (from 1) it answers in order; `None`: nothing was asked.
    pub answers: Option<usize>,
    /// Offset of its first byte in what was received.
    pub start: u64,
    /// Offset after its last byte.
    pub end: u64,
    /// Its heads: interim ones, then the final one.
    pub heads: Vec<HeadJson>,
    /// The final status.
    pub status: Option<u16>,
    /// How its body length was decided (knowing the request's method).
    pub framing: Option<FramingJson>,
    /// Body bytes the framing promised (Content-Length).
    pub promised: Option<u64>,
    /// Body bytes received (decoded).
    pub body_bytes: u64,
    /// Departures from RFC 9112/9110 seen in it.
    pub findings: Vec<FindingJson>,
}

impl From<&Framed> for Vec<RequestJson> {
    fn from(f: &Framed) -> Vec<RequestJson> {
        f.requests.iter().map(RequestJson::from).collect()
    }
}

impl From<&Request> for RequestJson {
    fn from(r: &Request) -> RequestJson {
        let (body, body_size) = match r.body {
            Body::None => ("none", 0),
            Body::Length(n) => ("length", n),
            Body::Chunked(n) => ("chunked", n),
        };
        RequestJson {
            start: r.range.start,
            end: r.range.end,
            method: r.method.clone(),
            target: r.target.clone(),
            version: format!("HTTP/1.{}", r.version),
            body,
            body_size,
            rule: r.rule,
            findings: r.findings.iter().map(FindingJson::from).collect(),
        }
    }
}

/// The framing analysis, one `explain: ` line per fact.
pub fn explain(framed: &Framed, len: usize) -> String {
    let mut out = format!(
        "explain: {} framed in {len} bytes (RFC 9112 §6, as a server frames them)\n",
        count(framed.requests.len(), "request")
    );
    for (i, r) in framed.requests.iter().enumerate() {
        let n = i + 1;
        let body = match r.body {
            Body::None => "no body".to_owned(),
            Body::Length(b) => format!("{b} body bytes"),
            Body::Chunked(c) => format!("chunked body, {}", count(c as usize, "chunk")),
        };
        out.push_str(&format!(
            "explain: request {n}: bytes {}..{}: {} {} HTTP/1.{}: {body}: {}\n",
            r.range.start,
            r.range.end,
            r.method,
            r.target.escape_default(),
            r.version,
            r.rule
        ));
        for f in &r.findings {
            out.push_str(&format!(
                "explain: request {n}: ambiguity: {} [{}]\n",
                f.what, f.clause
            ));
        }
    }
    if let Some(rest) = &framed.rest {
        out.push_str(&format!(
            "explain: bytes {}..{len} are not a request: {}\n",
            rest.start, rest.error
        ));
        for f in &rest.findings {
            out.push_str(&format!(
                "explain: there: ambiguity: {} [{}]\n",
                f.what, f.clause
            ));
        }
    }
    let ambiguities: usize = framed
        .requests
        .iter()
        .map(|r| r.findings.len())
        .sum::<usize>()
        + framed.rest.as_ref().map_or(0, |r| r.findings.len());
    if ambiguities == 0 && framed.rest.is_none() {
        out.push_str("explain: no ambiguity: every server should frame these bytes alike\n");
    }
    out
}

/// The verdict's facts, and whether they disagree.
pub struct Verdict {
    /// One sentence per fact.
    pub lines: Vec<String>,
    /// The numbers disagree: a desync.
    pub desync: Option<String>,
}

/// Judges the exchange in `report` (responses, stray bytes and the close
/// already filled in) to `requests` framed and the `rest`; `early` is stray bytes that arrived
/// before the next request was sent (keep-alive), with the response they
/// followed.
pub fn verdict(
    report: &Report,
    requests: usize,
    rest: Option<&RequestError>,
    early: Option<(usize, u64)>,
) -> Verdict {
    let responses = report.responses_received;
    let mut lines = vec![format!(
        "{} framed in {} bytes sent; {} received; {} bytes after the last complete \
         response; {}",
        count(requests, "request"),
        report.bytes_sent,
        count(responses, "response"),
        report.stray_bytes,
        report.closed
    )];
    // The unframed rest may be answered (400) when a server must refuse it;
    // an incomplete request is answered only by a server that framed it
    // otherwise.
    let answerable = match rest {
        Some(RequestError::HeadIncomplete | RequestError::BodyIncomplete) | None => 0,
        Some(_) => 1,
    };
    let mut desync = None;
    if responses > requests + answerable {
        desync = Some(format!(
            "{} to {} framed in what was sent: the server ended a request where RFC 9112 \
             does not",
            count(responses, "response"),
            count(requests, "request")
        ));
    } else if let Some((after, n)) = early {
        desync = Some(format!(
            "{n} bytes arrived after response {after} before request {} was sent: a response \
             with nothing asked",
            after + 1
        ));
    } else if report.stray_bytes > 0 {
        desync = Some(format!(
            "{} stray bytes after the last complete response",
            report.stray_bytes
        ));
    }
    if responses == requests + 1 && answerable == 1 {
        lines.push("the last response answers the bytes that could not be framed".to_owned());
    }
    match &desync {
        Some(d) => lines.push(format!(
            "DESYNC: {d}; this is the evidence of request smuggling"
        )),
        None if responses >= requests => {
            lines.push("in step: each request framed was answered once, in order".to_owned())
        }
        None => {}
    }
    Verdict { lines, desync }
}

/// `1 request`, `2 requests`.
pub(super) fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
