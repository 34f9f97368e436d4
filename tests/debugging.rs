//! The debugging aids no other tool has: --dry-run, --chunks, --explain,
//! --strict and --report, through the built binary on 127.0.0.1.

use crate::support::*;

#[test]
fn dry_run_prints_the_exact_request_and_connects_to_nothing() {
    // The server's drop asserts that no client reached it.
    let server = serve_fixture("ok.http").expect_unused();
    let addr = server.addr();
    let run = rawget(&[
        "--dry-run",
        "-d",
        "a=1",
        "-H",
        "X: y",
        &format!("http://u:p@{addr}/path?q"),
    ]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    let want = format!(
        "POST /path?q HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic dTpw\r\nUser-Agent: {UA}\r\nAccept: */*\r\n\
         Connection: close\r\nX: y\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n\r\na=1"
    );
    assert_eq!(run.stdout_str(), want);
}

#[test]
fn dry_run_bytes_are_what_the_fetch_sends() {
    let server = serve_fixture("ok.http");
    let args = [
        "-H",
        "Accept: text/html",
        "-X",
        "PATCH",
        "--data-binary",
        "b\nc",
    ];
    let u = server.url("/x");
    let dry = rawget(&[&args[..], &["--dry-run", &u]].concat());
    let run = rawget(&[&args[..], &["-s", &u]].concat());
    assert_eq!((dry.code, run.code), (0, 0));
    assert_eq!(server.wait_requests(1), vec![dry.stdout_str()]);
}

#[test]
fn chunks_lists_offsets_sizes_extensions_and_trailers() {
    let server = serve_fixture("chunked.http");
    let run = rawget(&["-s", "--chunks", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        b"Hello, this is the second chunk (ext) and one with lowercase hex."
    );
    let want = "chunk: offset 0 size 5\n\
                chunk: offset 10 size 26\n\
                chunk: offset 42 size 6 extensions ;name=value\n\
                chunk: offset 64 size 28\n\
                chunk: offset 98 size 0\n\
                trailers:\nX-Trailer: yes\r\n\r\n";
    assert_eq!(run.stderr, want);
}

#[test]
fn explain_names_the_rule_and_each_leniency() {
    let server = serve_fixture("bare-lf.http");
    let run = rawget(&["-s", "--explain", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e = &run.stderr;
    assert!(
        e.contains("explain: body length: RFC 9112 §6.3 rule 5: Content-Length"),
        "{e}"
    );
    assert!(
        e.contains("explain: leniency: ") && e.contains("bare LF") && e.contains("[RFC 9112 §2.2"),
        "{e}"
    );
    assert!(
        e.ends_with("explain: verdict: complete, 21 of 21 body bytes\n"),
        "{e}"
    );

    let server = serve_fixture("te-and-cl.http");
    let run = rawget(&["-s", "--explain", &server.url("/")]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("rule 3: Transfer-Encoding ends in chunked"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("deviation: Transfer-Encoding together with Content-Length"),
        "{}",
        run.stderr
    );

    let server = serve_fixture("close-delimited.http");
    let run = rawget(&["-s", "--explain", &server.url("/")]);
    assert!(run.stderr.contains("rule 8"), "{}", run.stderr);
    assert!(
        run.stderr.contains("explain: verdict: unverifiable"),
        "{}",
        run.stderr
    );

    let server = serve_fixture("ok.http");
    let run = rawget(&["-s", "--explain", &server.url("/")]);
    assert!(
        run.stderr
            .contains("explain: no deviation from RFC 9112/9110 seen"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_names_bytes_after_body_and_body_on_head() {
    let server = serve_fixture("extra-after-body.http");
    let run = rawget(&["-s", "--explain", &server.url("/")]);
    assert!(
        run.stderr
            .contains("deviation: 7 bytes after the end of the body"),
        "{}",
        run.stderr
    );
    let server = serve(Plan::new(fixture("ok.http")));
    let run = rawget(&["-s", "-I", "--explain", &server.url("/")]);
    assert_eq!(run.code, 0);
    assert!(
        run.stderr
            .contains("116 bytes after the head of a 200 response to HEAD"),
        "{}",
        run.stderr
    );
}

#[test]
fn strict_fails_on_any_deviation_and_keeps_the_old_file() {
    for name in [
        "bare-lf.http",
        "obs-fold.http",
        "te-and-cl.http",
        "cl-repeated.http",
        "no-reason.http",
    ] {
        let server = serve_fixture(name);
        let dir = scratch_with("out");
        let run = rawget_in(
            dir.path(),
            &["-s", "--strict", "-o", "out", &server.url("/")],
        );
        assert_eq!(run.code, 8, "{name}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("rawget: error: --strict: "),
            "{name}: {}",
            run.stderr
        );
        assert_untouched(dir.path(), "out", name);
    }
    let server = serve_fixture("ok.http");
    assert_eq!(rawget(&["-s", "--strict", &server.url("/")]).code, 0);
}

#[test]
fn report_summarises_the_exchange() {
    let server = serve_fixture("duplicate-headers.http");
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "-o", "body", "--report", "-", &server.url("/j")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).expect("valid JSON");
    assert_eq!(v["url"], server.url("/j"));
    assert_eq!(v["status"], 200);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["error"], serde_json::Value::Null);
    assert_eq!(v["completeness"], "complete");
    let hop = &v["hops"][0];
    assert_eq!(hop["address"], server.addr().to_string());
    assert_eq!(hop["framing"]["kind"], "length");
    let headers = hop["heads"][0]["headers"].as_array().unwrap();
    let names: Vec<&str> = headers
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    // Order and duplicates exactly as received.
    let raw = String::from_utf8(head_of(&fixture("duplicate-headers.http")).to_vec()).unwrap();
    let want: Vec<&str> = raw
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(names, want);
    assert!(v["timings"]["total"].as_f64().unwrap() > 0.0);
}

#[test]
fn report_records_failures_and_partial_bodies() {
    let server = serve_fixture("short-body.http");
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-s", "--report", "x.json", &server.url("/")]);
    assert_eq!(run.code, 18);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("x.json")).unwrap()).unwrap();
    assert_eq!(v["exit_code"], 18);
    assert_eq!(v["completeness"], "partial");
    assert_eq!(v["hops"][0]["promised"], 100);
    assert_eq!(v["hops"][0]["body_bytes"], 10);
    assert!(v["error"].as_str().unwrap().contains("90 bytes remaining"));

    let port = closed_addr().port();
    let run = rawget_in(
        dir.path(),
        &["--report", "y.json", &format!("http://127.0.0.1:{port}/")],
    );
    assert_eq!(run.code, 7);
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("y.json")).unwrap()).unwrap();
    assert_eq!(
        (v["exit_code"].as_i64(), v["completeness"].as_str()),
        (Some(7), Some("none"))
    );
}

#[test]
fn report_dash_needs_the_body_in_a_file() {
    let run = rawget(&["--report", "-", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "rawget: error: --report - needs the body in a file (-o FILE)\n"
    );
}

#[test]
fn capture_then_replay_reproduces_the_exchange() {
    // capture -> replay -> fetch again: the same bytes come back.
    let server = serve_fixture("chunked.http");
    let dir = scratch();
    let first = rawget_in(
        dir.path(),
        &["-s", "--save-raw", "capture.bin", &server.url("/")],
    );
    assert_eq!(first.code, 0);
    let capture = dir.path().join("capture.bin");
    assert_eq!(std::fs::read(&capture).unwrap(), fixture("chunked.http"));
    let replayed = serve(Plan::new(std::fs::read(&capture).unwrap()).piece(7));
    let second = rawget(&["-s", &replayed.url("/")]);
    assert_eq!((second.code, second.stdout), (0, first.stdout));
}

#[test]
fn explain_names_what_made_a_head_unreadable() {
    // A header line without a colon is refused (exit 8), as curl refuses it;
    // --explain still says which line and which clause.
    let server = serve(Plan::new(
        &b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nNo colon here\r\n\r\nok"[..],
    ));
    let run = rawget(&["-s", "--explain", &server.url("/")]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("explain: deviation: header line without a colon: \"No colon here\""),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("[RFC 9112 §5 "), "{}", run.stderr);
    assert!(
        run.stderr.contains("explain: verdict: none"),
        "{}",
        run.stderr
    );
}
