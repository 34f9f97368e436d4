//! Property tests of the response read path, without sockets: generated
//! valid responses (random status, headers, interim heads, and a body framed
//! by Content-Length, chunked with random chunk sizes, extensions and
//! trailers, or by the close) go through the library's one `Reader`, the
//! state machine the fetch drives, arriving in pieces cut at random points.
//! Whatever the cuts, the decoded body, trailers and the bytes left after
//! the body are the generated ones, and the same as when everything arrives
//! at once.

use proptest::collection::vec;
use proptest::prelude::*;

use rawget::response::framing::Framing;
use rawget::response::head::{HeadScan, HeadScanner};
use rawget::response::reader::{Event, Reader};

/// How the generated body is framed on the wire.
#[derive(Debug, Clone)]
enum Frame {
    /// `Content-Length`, written in one of three equivalent forms.
    Length { form: u8 },
    /// Chunked: chunk sizes (the last chunk takes what is left), the hex
    /// case and zero padding of each size line, extensions, trailers.
    Chunked {
        sizes: Vec<usize>,
        upper: bool,
        pad: usize,
        exts: Vec<Option<String>>,
        trailers: Vec<(String, String)>,
        bare_lf: bool,
        te_form: u8,
    },
    /// Neither: the body runs until the close.
    Close,
}

/// One generated response and what a correct reader gets from it.
#[derive(Debug, Clone)]
struct Case {
    method: &'static str,
    wire: Vec<u8>,
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    trailers: Vec<u8>,
    /// Bytes after the end of the body (not part of it).
    extra: Vec<u8>,
}

/// What the read path produced.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decoded {
    status: u16,
    headers: Vec<(String, Vec<u8>)>,
    framing: Framing,
    body: Vec<u8>,
    trailers: Vec<u8>,
    extra: Vec<u8>,
}

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,12}".prop_filter("not a framing header", |n| {
        !n.eq_ignore_ascii_case("content-length") && !n.eq_ignore_ascii_case("transfer-encoding")
    })
}

fn header_value() -> impl Strategy<Value = String> {
    // No leading or trailing whitespace: httparse trims it.
    "([!-~]([ -~]{0,30}[!-~])?)?"
}

fn extension() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => "[a-z]{1,8}".prop_map(|n| Some(format!(";{n}"))),
        1 => ("[a-z]{1,8}", "[a-zA-Z0-9]{0,8}").prop_map(|(n, v)| Some(format!(";{n}={v}"))),
        1 => ("[a-z]{1,8}", "[a-z ]{0,8}").prop_map(|(n, v)| Some(format!(";{n}=\"{v}\";x"))),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (0u8..3).prop_map(|form| Frame::Length { form }),
        (
            vec(1usize..300, 0..12),
            any::<bool>(),
            0usize..4,
            vec(extension(), 13),
            vec((header_name(), header_value()), 0..3),
            any::<bool>(),
            0u8..3,
        )
            .prop_map(|(sizes, upper, pad, exts, trailers, bare_lf, te_form)| {
                Frame::Chunked {
                    sizes,
                    upper,
                    pad,
                    exts,
                    trailers,
                    bare_lf,
                    te_form,
                }
            }),
        Just(Frame::Close),
    ]
}

prop_compose! {
    fn case()(
        head_method in prop_oneof![9 => Just("GET"), 1 => Just("HEAD")],
        status in prop::sample::select(vec![200u16, 201, 203, 206, 299, 302, 404, 410, 500, 503, 599, 204, 304]),
        reason in "[A-Za-z ]{0,12}",
        interim in vec(prop::sample::select(vec![100u16, 102, 103]), 0..3),
        headers in vec((header_name(), header_value()), 0..8),
        lf_head in prop::bool::weighted(0.2),
        body in vec(any::<u8>(), 0..1500),
        frame in frame(),
        extra in vec(any::<u8>(), 0..40),
    ) -> Case {
        build_case(head_method, status, &reason, &interim, headers, lf_head, body, frame, extra)
    }
}

#[allow(clippy::too_many_arguments)]
fn build_case(
    method: &'static str,
    status: u16,
    reason: &str,
    interim: &[u16],
    headers: Vec<(String, String)>,
    lf_head: bool,
    body: Vec<u8>,
    frame: Frame,
    extra: Vec<u8>,
) -> Case {
    let eol: &[u8] = if lf_head { b"\n" } else { b"\r\n" };
    let mut wire = Vec::new();
    for s in interim {
        wire.extend_from_slice(format!("HTTP/1.1 {s} Interim").as_bytes());
        wire.extend_from_slice(eol);
        wire.extend_from_slice(b"X-Interim: yes");
        wire.extend_from_slice(eol);
        wire.extend_from_slice(eol);
    }
    wire.extend_from_slice(format!("HTTP/1.1 {status} {reason}").as_bytes());
    wire.extend_from_slice(eol);
    let mut all_headers = headers.clone();
    let mut framed = Vec::new();
    let mut trailers = Vec::new();
    match &frame {
        Frame::Length { form } => {
            let n = body.len();
            match form {
                0 => all_headers.push(("Content-Length".into(), n.to_string())),
                1 => all_headers.push(("content-length".into(), format!("{n}, {n}"))),
                _ => {
                    all_headers.insert(0, ("Content-Length".into(), n.to_string()));
                    all_headers.push(("CONTENT-LENGTH".into(), n.to_string()));
                }
            }
            framed.extend_from_slice(&body);
        }
        Frame::Chunked {
            sizes,
            upper,
            pad,
            exts,
            trailers: tr,
            bare_lf,
            te_form,
        } => {
            match te_form {
                0 => all_headers.push(("Transfer-Encoding".into(), "chunked".into())),
                1 => all_headers.push(("Transfer-Encoding".into(), "gzip, Chunked".into())),
                // Transfer-Encoding wins over Content-Length.
                _ => {
                    all_headers.push(("Content-Length".into(), "3".into()));
                    all_headers.push(("transfer-encoding".into(), "chunked".into()));
                }
            }
            let crlf: &[u8] = if *bare_lf { b"\n" } else { b"\r\n" };
            let mut rest = &body[..];
            let mut i = 0;
            let size_line = |out: &mut Vec<u8>, n: usize, i: usize| {
                let hex = if *upper {
                    format!("{n:X}")
                } else {
                    format!("{n:x}")
                };
                out.extend_from_slice("0".repeat(*pad).as_bytes());
                out.extend_from_slice(hex.as_bytes());
                if let Some(e) = &exts[i % exts.len()] {
                    out.extend_from_slice(e.as_bytes());
                }
                out.extend_from_slice(crlf);
            };
            while !rest.is_empty() {
                let n = sizes.get(i).copied().unwrap_or(rest.len()).min(rest.len());
                size_line(&mut framed, n, i);
                framed.extend_from_slice(&rest[..n]);
                framed.extend_from_slice(crlf);
                rest = &rest[n..];
                i += 1;
            }
            size_line(&mut framed, 0, i);
            for (n, v) in tr {
                trailers.extend_from_slice(format!("{n}: {v}").as_bytes());
                trailers.extend_from_slice(crlf);
            }
            framed.extend_from_slice(&trailers);
            framed.extend_from_slice(crlf);
        }
        Frame::Close => framed.extend_from_slice(&body),
    }
    for (n, v) in &all_headers {
        wire.extend_from_slice(format!("{n}: {v}").as_bytes());
        wire.extend_from_slice(eol);
    }
    wire.extend_from_slice(eol);

    let no_body = method == "HEAD" || status == 204 || status == 304;
    let (body, trailers, extra) = if no_body {
        // Everything after the head is left over, framed body included.
        let mut left = framed.clone();
        left.extend_from_slice(&extra);
        wire.extend_from_slice(&left);
        (Vec::new(), Vec::new(), left)
    } else if matches!(frame, Frame::Close) {
        wire.extend_from_slice(&framed);
        (body, trailers, Vec::new())
    } else {
        wire.extend_from_slice(&framed);
        wire.extend_from_slice(&extra);
        (body, trailers, extra)
    };
    Case {
        method,
        wire,
        status,
        headers: all_headers,
        body,
        trailers,
        extra,
    }
}

/// Runs the library's reader over `wire` arriving in pieces cut at
/// `cuts`, as the fetch drives it: unconsumed bytes (a partial head) stay
/// at the front of the buffer and the next piece is appended after them.
fn read_path(method: &str, wire: &[u8], cuts: &[usize]) -> Result<Decoded, String> {
    let mut bounds: Vec<usize> = cuts.iter().map(|&c| c.min(wire.len())).collect();
    bounds.push(wire.len());
    bounds.sort_unstable();
    bounds.dedup();
    let mut pieces = Vec::new();
    let mut from = 0;
    for b in bounds {
        if b > from {
            pieces.push(&wire[from..b]);
            from = b;
        }
    }
    let mut pieces = pieces.into_iter();

    let mut reader = Reader::new(method);
    let mut ranges = Vec::new();
    let mut pending: Vec<u8> = Vec::new();
    let mut head = None;
    let mut body = Vec::new();
    loop {
        let step = reader
            .read(&mut pending, &mut ranges, 64)
            .map_err(|e| e.to_string())?;
        match step.event {
            Event::Head { head: h, interim } => {
                if !interim {
                    head = Some(h);
                }
            }
            Event::Body => {
                for r in &ranges {
                    body.extend_from_slice(&pending[r.clone()]);
                }
            }
            Event::Done => {
                pending.drain(..step.consumed);
                break;
            }
            Event::NeedMore => match pieces.next() {
                Some(p) => {
                    pending.drain(..step.consumed);
                    pending.extend_from_slice(p);
                    continue;
                }
                None => {
                    pending.drain(..step.consumed);
                    reader.eof(false).map_err(|e| e.to_string())?;
                    break;
                }
            },
        }
        pending.drain(..step.consumed);
    }
    let mut extra = pending;
    for p in pieces {
        extra.extend_from_slice(p);
    }
    let head = head.ok_or("no final head")?;
    Ok(Decoded {
        status: head.status,
        headers: head.headers.clone(),
        framing: reader.framing().ok_or("no framing")?,
        body,
        trailers: reader.trailers().to_vec(),
        extra,
    })
}

fn check(case: &Case, cuts: &[usize]) -> Result<(), TestCaseError> {
    let whole = read_path(case.method, &case.wire, &[]).map_err(TestCaseError::fail)?;
    prop_assert_eq!(whole.status, case.status);
    let want_headers: Vec<(String, Vec<u8>)> = case
        .headers
        .iter()
        .map(|(n, v)| (n.clone(), v.as_bytes().to_vec()))
        .collect();
    prop_assert_eq!(&whole.headers, &want_headers);
    prop_assert_eq!(&whole.body, &case.body);
    prop_assert_eq!(&whole.trailers, &case.trailers);
    prop_assert_eq!(&whole.extra, &case.extra);
    let cut = read_path(case.method, &case.wire, cuts).map_err(TestCaseError::fail)?;
    prop_assert_eq!(&cut, &whole, "cuts {:?}", cuts);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random cut points: the decoded response is the generated one.
    #[test]
    fn decodes_the_same_whatever_the_cuts(
        case in case(),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let cuts: Vec<usize> = cuts.iter().map(|i| i.index(case.wire.len() + 1)).collect();
        check(&case, &cuts)?;
    }

    /// Every single cut point (on smaller responses, to stay fast), and one
    /// byte at a time.
    #[test]
    fn decodes_the_same_at_every_single_cut(
        case in case().prop_filter("small", |c| c.wire.len() <= 700),
    ) {
        for cut in 0..=case.wire.len() {
            check(&case, &[cut])?;
        }
        let every: Vec<usize> = (0..case.wire.len()).collect();
        check(&case, &every)?;
    }
}

// ------------------------------------------------ fixed cases and regressions

#[test]
fn chunked_fixture_decodes_at_every_cut() {
    let wire = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/chunked.http"
    ))
    .expect("fixture");
    let whole = read_path("GET", &wire, &[]).unwrap();
    assert_eq!(
        whole.body,
        b"Hello, this is the second chunk (ext) and one with lowercase hex."
    );
    assert_eq!(whole.trailers, b"X-Trailer: yes\r\n");
    for cut in 0..=wire.len() {
        assert_eq!(read_path("GET", &wire, &[cut]).unwrap(), whole, "cut {cut}");
    }
}

/// Regression: `HeadScanner::scan` counted the blank lines before the status
/// line from the start of the buffer on every call, so a peer trickling
/// CRLFs one byte per read made the scan quadratic: 300 KiB took 45 s of
/// CPU (release build) before the size cap could refuse it. Linear now:
/// this runs in milliseconds; the bound is 100 times that.
#[test]
fn trickled_blank_lines_scan_in_linear_time() {
    let buf = b"\r\n".repeat(rawget::response::head::MAX_HEAD / 2);
    let started = std::time::Instant::now();
    let mut scanner = HeadScanner::new();
    for end in 1..=buf.len() {
        assert_eq!(scanner.scan(&buf[..end]), HeadScan::Partial);
    }
    // The status line after them is still found.
    let mut full = buf.clone();
    full.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
    for end in buf.len() + 1..=full.len() {
        let want = if end == full.len() {
            HeadScan::Complete(full.len())
        } else {
            HeadScan::Partial
        };
        assert_eq!(scanner.scan(&full[..end]), want, "at {end}");
    }
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "scanning {} bytes one at a time took {:?}",
        full.len(),
        started.elapsed()
    );
}
