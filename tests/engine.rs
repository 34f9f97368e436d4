//! The exchange engine (issue 10): one count of body bytes for every
//! report, and a written-down rule for which error wins when two fail.

use crate::support::*;

/// The body bytes `--timing` reports: `* received:   N bytes (M body)`.
fn timing_body(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.starts_with("* received:"))
        .unwrap_or_else(|| panic!("no received line in {stderr}"));
    let m = line.split('(').nth(1).and_then(|s| s.split(' ').next());
    m.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad received line {line}"))
}

/// Every body byte passes one metered sink: `--timing`, `--report` and the
/// file agree, on the splice path (plain Content-Length), the decode path
/// (chunked) and `--raw`.
#[test]
fn every_report_counts_the_same_body_bytes() {
    let body = patterned(3 << 20);
    let mut plain =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    plain.extend_from_slice(&body);
    let chunked = chunked_response(&body, &[1000, 70_000, 3]);
    for (what, response, extra) in [
        ("content-length", plain.clone(), &[][..]),
        ("chunked", chunked.clone(), &[][..]),
        ("chunked --raw", chunked.clone(), &["--raw"][..]),
    ] {
        let server = serve(Plan::new(response.clone()));
        let dir = scratch();
        let mut args = vec!["-s", "--timing", "--report", "r.json", "-o", "out"];
        args.extend_from_slice(extra);
        let target = server.url("/");
        args.push(&target);
        let run = rawget_in(dir.path(), &args);
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        let written = std::fs::metadata(dir.path().join("out")).unwrap().len();
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
        let expected = if extra.is_empty() {
            body.len() as u64
        } else {
            (response.len() - head_of(&response).len()) as u64
        };
        assert_eq!(written, expected, "{what}: file");
        assert_eq!(json["hops"][0]["body_bytes"], expected, "{what}: --report");
        assert_eq!(timing_body(&run.stderr), expected, "{what}: --timing");
    }
}

/// A short body kept with `--keep-partial`: the note's count is the file's.
#[test]
fn keep_partial_note_counts_what_the_file_holds() {
    let body = patterned(100_000);
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n".to_vec();
    response.extend_from_slice(&body);
    let server = serve(Plan::new(response));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--keep-partial", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 18, "{}", run.stderr);
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), body);
    assert!(
        run.stderr
            .contains("kept the partial body in out (100000 bytes)"),
        "{}",
        run.stderr
    );
}

/// Which error wins when two fail (written in `src/fetch/mod.rs`): the
/// fetch's own failure keeps its exit code and message, and the `--report`
/// file that cannot be written is a warning; a complete fetch whose
/// `--report` cannot be written is exit 23.
#[test]
fn the_fetch_error_wins_over_an_unwritable_report_file() {
    let dir = scratch();
    let bad_json = dir.path().join("no-such-dir").join("r.json");
    let bad_json = bad_json.to_str().unwrap();

    let server = serve_fixture("short-body.http");
    let run = rawget(&[
        "-s",
        "--report",
        bad_json,
        "-o",
        "/dev/null",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 18, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(
        lines[0].starts_with("rawget: warning: could not write ") && lines[0].contains("r.json"),
        "{}",
        run.stderr
    );
    assert!(
        lines[1].starts_with("rawget: error: transfer closed with"),
        "{}",
        run.stderr
    );

    let server = serve_fixture("ok.http");
    let run = rawget(&[
        "-s",
        "--report",
        bad_json,
        "-o",
        "/dev/null",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 23, "{run:?}");
    assert!(
        run.stderr.starts_with("rawget: error: could not write ")
            && run.stderr.lines().count() == 1,
        "{}",
        run.stderr
    );
}
