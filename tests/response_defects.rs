//! Issue 11, "reading the response": each case was reproduced with the
//! release binary beside curl 7.88.1, and each test failed before its fix.

use crate::support::*;

/// Runs `-o out` over an existing file; returns the run and what `out` holds.
fn fetch_over_old_file(server: &Server, extra: &[&str]) -> (Run, Vec<u8>) {
    let dir = scratch();
    std::fs::write(dir.path().join("out"), "precious").unwrap();
    let mut args = vec!["-s", "-o", "out"];
    args.extend_from_slice(extra);
    let target = server.url("/");
    args.push(&target);
    let run = rawget_in(dir.path(), &args);
    let kept = std::fs::read(dir.path().join("out")).unwrap();
    assert_eq!(
        listing(dir.path()),
        vec!["out"],
        "a temporary file was left"
    );
    (run, kept)
}

/// Item 9: `Content-Length : 5` was honoured as a length (curl ignores the
/// line). Two readings are possible, so it is refused, naming the line.
#[test]
fn whitespace_before_a_colon_is_exit_8_naming_the_line() {
    let server = serve(Plan::new(
        &b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello, and more"[..],
    ));
    let (run, kept) = fetch_over_old_file(&server, &[]);
    assert_eq!(run.code, 8, "{run:?}");
    assert_eq!(
        run.stderr,
        "rawget: error: malformed response head: whitespace between a field name and its \
         colon in \"Content-Length : 5\" (RFC 9112 section 5.1: it can be read two ways)\n"
    );
    assert_eq!(kept, b"precious");

    // --explain says why, with the clause.
    let server = serve(Plan::new(
        &b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\nhello"[..],
    ));
    let run = rawget(&["-s", "--explain", "-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 8, "{run:?}");
    assert!(
        run.stderr
            .contains("explain: deviation: whitespace between a field name and its colon, refused")
            && run.stderr.contains("[RFC 9112 §5.1"),
        "{}",
        run.stderr
    );
}

/// Item 12: a control byte in a header value (or ESC in the reason phrase)
/// made the whole response exit 8. curl accepts both; so does rawget,
/// printing the head exactly as received, escaping under -v, naming it
/// under --explain, refusing it under --strict.
#[test]
fn control_bytes_in_values_are_accepted_and_named() {
    let response = b"HTTP/1.1 200 O\x1bK\r\nX-Ctl: a\x01b\r\nX-Esc: \x1b[31mred\x07\r\nContent-Length: 2\r\n\r\nok";
    let server = serve(Plan::new(&response[..]));
    let run = rawget(&["-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 0, "{run:?}");
    // The head on stdout exactly as received.
    assert_eq!(run.stdout, head_of(response));

    let server = serve(Plan::new(&response[..]));
    let run = rawget(&["-v", "-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stderr.contains("< X-Ctl: a\\x01b"), "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b'), "raw ESC reached stderr");

    let server = serve(Plan::new(&response[..]));
    let run = rawget(&["-s", "--explain", "-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("explain: leniency: control byte in a field value")
            && run
                .stderr
                .contains("explain: leniency: control byte in the reason phrase"),
        "{}",
        run.stderr
    );

    let server = serve(Plan::new(&response[..]));
    let (run, kept) = fetch_over_old_file(&server, &["--strict"]);
    assert_eq!(run.code, 8, "{run:?}");
    assert!(
        run.stderr.contains("--strict: control byte"),
        "{}",
        run.stderr
    );
    assert_eq!(kept, b"precious");

    // NUL stays refused.
    let server = serve(Plan::new(
        &b"HTTP/1.1 200 OK\r\nX: a\x00b\r\nContent-Length: 0\r\n\r\n"[..],
    ));
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 8, "{run:?}");
}

/// Item 11: a NUL byte in a chunked trailer was accepted (exit 0), where in
/// a header it is exit 8. Trailers get the head's field rules.
#[test]
fn trailers_follow_the_field_rules_of_a_head() {
    for (trailer, why) in [
        (&b"X-Bad: a\x00b\r\n"[..], "invalid byte in a header value"),
        (
            b"X-Spaced : v\r\n",
            "whitespace between a field name and its colon",
        ),
        (b"no colon\r\n", "invalid header name"),
    ] {
        let mut response =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n".to_vec();
        response.extend_from_slice(trailer);
        response.extend_from_slice(b"\r\n");
        let server = serve(Plan::new(response));
        let (run, kept) = fetch_over_old_file(&server, &[]);
        assert_eq!(run.code, 8, "{why}: {run:?}");
        assert!(
            run.stderr
                .starts_with("rawget: error: malformed chunked trailers: ")
                && run.stderr.contains(why),
            "{why}: {}",
            run.stderr
        );
        assert_eq!(kept, b"precious", "{why}");
    }
    // A control byte other than NUL is accepted there too.
    let server = serve(Plan::new(
        &b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Ctl: a\x01b\r\n\r\n"[..],
    ));
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(
        (run.code, run.stdout.as_slice()),
        (0, &b"ok"[..]),
        "{run:?}"
    );
}

/// Item 13: more than 4096 fields was refused even under 300 KiB; curl
/// accepts up to 5,000 (its limit) and so does rawget.
#[test]
fn up_to_5000_header_fields() {
    let response = |fields: usize| {
        let mut r = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..fields - 1 {
            r.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        r.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        r
    };
    let server = serve(Plan::new(response(5000)));
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(
        (run.code, run.stdout.as_slice()),
        (0, &b"ok"[..]),
        "{}",
        run.stderr
    );

    let server = serve(Plan::new(response(5001)));
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 8, "{run:?}");
    assert!(
        run.stderr.contains("more than 5000 header fields"),
        "{}",
        run.stderr
    );
}

/// Item 13: a chunk extension longer than 16 KiB was refused; curl accepts
/// it. It is skipped without being stored; --chunks shows it cut.
#[test]
fn long_chunk_extensions_are_skipped() {
    let mut response = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;".to_vec();
    response.extend(std::iter::repeat_n(b'e', 100 * 1024));
    response.extend_from_slice(b"\r\nok\r\n0\r\n\r\n");
    let server = serve(Plan::new(response));
    let run = rawget(&["-s", "--chunks", &server.url("/")]);
    assert_eq!(
        (run.code, run.stdout.as_slice()),
        (0, &b"ok"[..]),
        "{}",
        run.stderr
    );
    let first = run.stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("chunk: offset 0 size 2 extensions ;eee")
            && first.ends_with(" (cut: 102401 bytes in all)")
            && first.len() < 1200,
        "{first:.200}"
    );
}

/// Item 14: with --report or --explain every 1xx head was kept (2 million
/// 100 Continue took 550 MB). Interim heads count toward the 300 KiB head
/// limit, and the report keeps a bounded number with a count of the rest.
#[test]
fn interim_heads_are_bounded_in_the_report() {
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    let mut response = interim.repeat(10_000);
    response.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let server = serve(Plan::new(response));
    let run = rawget(&["-s", "--report", "-", "-o", "/dev/null", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_slice(&run.stdout).expect("one JSON document");
    let hop = &json["hops"][0];
    let heads = hop["heads"].as_array().expect("heads");
    assert_eq!(heads.len(), 64);
    assert_eq!(heads[63]["status"], 200, "the final head is kept");
    assert_eq!(hop["heads_omitted"], 10_000 - 63);
}

/// Item 10: a blank `Location:` under `-L` was followed, to itself, until
/// exit 47; curl does not follow it. The redirect's own response is the
/// answer: its head printed, its body written, one request made.
#[test]
fn an_empty_location_is_not_followed() {
    for location in ["Location:", "Location:   "] {
        let response =
            format!("HTTP/1.1 301 Moved\r\n{location}\r\nContent-Length: 5\r\n\r\nmoved");
        let server = serve(Plan::new(response.clone().into_bytes()));
        let run = rawget(&["-L", &server.url("/")]);
        assert_eq!(run.code, 0, "{location:?}: {}", run.stderr);
        assert_eq!(run.stdout, b"moved", "{location:?}");
        assert_eq!(
            run.stderr.as_bytes(),
            head_of(response.as_bytes()),
            "{location:?}"
        );
        assert_eq!(server.requests().len(), 1, "{location:?}: followed");
    }
}
