//! `--trace`, `--trace-ascii`, `--trace-time` (issue 16 item 4): every byte
//! both ways, in curl's layout.

use std::process::Command;

use crate::support::*;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";

/// The blocks of a trace, without the info lines (whose wording is each
/// tool's own).
fn blocks(trace: &str) -> String {
    trace
        .lines()
        .filter(|l| !l.starts_with("== Info:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The bytes of every block labelled `label`, read back from the hex
/// columns of a `--trace` file.
fn bytes_of(trace: &str, label: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in trace.lines() {
        if line.starts_with("=> ") || line.starts_with("<= ") || line.starts_with("== ") {
            inside = line.starts_with(label);
            continue;
        }
        if inside {
            // "0000: 48 54 ... " then the text column.
            let hex = &line[6..6 + 16 * 3];
            out.extend(
                hex.split_whitespace()
                    .map(|h| u8::from_str_radix(h, 16).expect("a hex byte")),
            );
        }
    }
    out
}

#[test]
fn trace_ascii_blocks_are_curls_for_the_same_exchange() {
    let server = serve(Plan::new(RESPONSE.to_vec()));
    let url = server.url("/t");
    let dir = scratch();
    let agent = crate::write_out::curl_agent();
    let ours = rawget_in(
        dir.path(),
        &[
            "-s",
            "-A",
            &agent,
            "-H",
            "Connection:",
            "--trace-ascii",
            "ours",
            "-o",
            "/dev/null",
            &url,
        ],
    );
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    let theirs = Command::new("/usr/bin/curl")
        .args(["-s", "--trace-ascii", "theirs", "-o", "/dev/null", &url])
        .current_dir(dir.path())
        .status()
        .expect("curl");
    assert!(theirs.success());
    let read = |name| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (ours, theirs) = (read("ours"), read("theirs"));
    assert_eq!(blocks(&ours), blocks(&theirs));
    assert!(
        ours.contains("<= Recv data, 5 bytes (0x5)\n0000: hello\n"),
        "{ours}"
    );
    assert!(ours.contains("== Info: connected to "), "{ours}");
}

#[test]
fn trace_holds_every_byte_sent_and_received_in_hex() {
    // Chunked: the trace shows the framing as received, not the decoded body.
    let response = chunked_response(&patterned(70_000), &[1, 4096, 65_903]);
    let server = serve(Plan::new(response.clone()).piece(5000));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "--trace",
            "t",
            "-d",
            "a=1",
            "-o",
            "body",
            &server.url("/p"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let trace = std::fs::read_to_string(dir.path().join("t")).unwrap();
    let request = server.wait_requests(1).remove(0);
    let mut sent = bytes_of(&trace, "=> Send header");
    assert!(sent.ends_with(b"\r\n\r\n"));
    sent.extend(bytes_of(&trace, "=> Send data"));
    assert_eq!(sent, request.as_bytes());
    assert_eq!(bytes_of(&trace, "=> Send data"), b"a=1");
    let mut received = bytes_of(&trace, "<= Recv header");
    assert_eq!(received, head_of(&response));
    received.extend(bytes_of(&trace, "<= Recv data"));
    assert_eq!(received, response);
    assert_eq!(
        std::fs::read(dir.path().join("body")).unwrap(),
        patterned(70_000)
    );
}

#[test]
fn small_chunks_read_with_a_large_one_are_traced_as_received() {
    // One write, so one read holds a 4 KiB chunk and small ones after it:
    // the reader moves the small ones over the framing before them, and
    // the trace must still show the framing as it came.
    let response = chunked_response(&patterned(4096 + 3 * 100), &[4096, 100]);
    let server = serve(Plan::new(response.clone()));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--trace", "t", "-o", "body", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let trace = std::fs::read_to_string(dir.path().join("t")).unwrap();
    let mut received = bytes_of(&trace, "<= Recv header");
    received.extend(bytes_of(&trace, "<= Recv data"));
    assert_eq!(received, response);
    assert_eq!(
        std::fs::read(dir.path().join("body")).unwrap(),
        patterned(4096 + 300)
    );
}

#[test]
fn a_length_body_into_a_file_is_traced_too_not_spliced_past_it() {
    let body = patterned(300_000);
    let mut response =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    response.extend_from_slice(&body);
    let server = serve(Plan::new(response));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--trace", "t", "-o", "body", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let trace = std::fs::read_to_string(dir.path().join("t")).unwrap();
    assert_eq!(bytes_of(&trace, "<= Recv data"), body);
}

#[test]
fn trace_dash_is_stderr_and_trace_time_stamps_each_line() {
    let server = serve(Plan::new(RESPONSE.to_vec()));
    let run = rawget(&[
        "-s",
        "--trace-ascii",
        "-",
        "--trace-time",
        "-o",
        "/dev/null",
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let stamped: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("== Info:") || l.contains("=> ") || l.contains("<= "))
        .collect();
    assert!(stamped.len() >= 5, "{}", run.stderr);
    for line in stamped {
        let (stamp, _) = line.split_once(' ').unwrap();
        let ok = stamp.len() == 15
            && stamp.as_bytes()[2] == b':'
            && stamp.as_bytes()[5] == b':'
            && stamp.as_bytes()[8] == b'.'
            && stamp.bytes().filter(u8::is_ascii_digit).count() == 12;
        assert!(ok, "not HH:MM:SS.uuuuuu: {line}");
    }
}

#[test]
fn trace_and_trace_ascii_together_is_a_usage_error() {
    let run = rawget(&["--trace", "a", "--trace-ascii", "b", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 2);
    assert!(
        run.error_line()
            .contains("--trace cannot be used with --trace-ascii"),
        "{}",
        run.stderr
    );
}
