//! `rawget send` through the built binary against the replay server, which
//! sends exactly the bytes it is given: each request written byte for byte,
//! keep-alive and pipelined reading of several responses on one connection,
//! the exit codes (52, 56, 18, 8), the desync verdict against a server that
//! answers twice to one request, `--dry-run`/`--explain`, `--crlf`,
//! `--split`/`--delay`, `--output-dir`, `--save-raw`, `--json`, and TLS.

use crate::support::*;

const GET: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
const HEAD: &[u8] = b"HEAD /b HTTP/1.1\r\nHost: x\r\n\r\n";
const OK: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
const TWO: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\n\r\ntwo";

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Writes `bytes` as FILE in `dir`; returns its path.
fn file(dir: &std::path::Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn verdict(run: &Run) -> String {
    run.stderr
        .lines()
        .filter(|l| l.starts_with("verdict: "))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn one_request_is_sent_exactly_and_its_head_printed() {
    // A request no fetch would build: whitespace before a colon, a bare LF.
    let odd = b"GET /x HTTP/1.1\r\nHost: x\r\nX-Odd : 1\nAccept: */*\r\n\r\n";
    let server = serve(Plan::new(OK));
    let dir = scratch();
    let path = file(dir.path(), "req.http", odd);
    let run = rawget(&["send", &server.url("/"), &path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.wait_requests(1), vec![String::from_utf8_lossy(odd)]);
    // The framer refuses it (a server must answer 400), so the answer it
    // got is the answer to bytes it could not frame: named, no desync.
    assert_eq!(run.stdout, head_of(OK));
    let v = verdict(&run);
    assert!(v.contains("could not be framed"), "{v}");
    assert!(
        v.contains("the bytes from offset 0 are not a request: field line"),
        "{v}"
    );
    assert!(!v.contains("DESYNC"), "{v}");
}

#[test]
fn an_ordinary_request_from_stdin_is_in_step() {
    let server = serve(Plan::new(OK));
    let run = rawget_input(&["send", &server.url("/")], GET);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, head_of(OK));
    assert_eq!(server.wait_requests(1), vec![String::from_utf8_lossy(GET)]);
    let v = verdict(&run);
    assert!(
        v.contains("1 request framed in 28 bytes sent; 1 response received"),
        "{v}"
    );
    assert!(
        v.contains("the server closed the connection after response 1"),
        "{v}"
    );
    assert!(v.contains("in step"), "{v}");
}

#[test]
fn pipelined_requests_are_written_at_once_and_each_answer_read() {
    // The replay server reads what arrives and answers with both responses:
    // only a client that wrote both requests first is in step with it.
    let server = serve(Plan::new(cat(&[OK, TWO])));
    let dir = scratch();
    let a = file(dir.path(), "a.http", GET);
    let b = file(dir.path(), "b.http", GET);
    let run = rawget(&["send", "--pipeline", &server.url("/"), &a, &b]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, cat(&[head_of(OK), head_of(TWO)]));
    let got = server.wait_requests(1).concat();
    assert_eq!(got.as_bytes(), cat(&[GET, GET]));
    assert!(verdict(&run).contains("2 requests framed in 56 bytes sent; 2 responses received"));
}

#[test]
fn a_heads_reply_has_no_body_when_pipelined() {
    // The 200 to HEAD promises 5 bytes it must not send; read as a GET's,
    // it would swallow the next response's first bytes.
    let head_reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    let server = serve(Plan::new(cat(&[head_reply, OK])));
    let run = rawget_input(
        &[
            "send",
            "--pipeline",
            "--report",
            "-",
            "-s",
            &server.url("/"),
        ],
        &cat(&[HEAD, GET]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let responses = report["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2);
    assert_eq!(responses[0]["body_bytes"], 0);
    assert_eq!(responses[0]["framing"]["kind"], "none");
    assert_eq!(responses[1]["body_bytes"], 2);
    assert_eq!(responses[1]["answers"], 2);
    assert_eq!(report["desync"], false);
}

#[test]
fn two_answers_to_one_request_is_a_desync() {
    let server = serve(Plan::new(cat(&[OK, TWO])));
    let run = rawget_input(&["send", &server.url("/")], GET);
    assert_eq!(run.code, 8, "{}", run.stderr);
    // Both heads are shown, in order.
    assert_eq!(run.stdout, cat(&[head_of(OK), head_of(TWO)]));
    let v = verdict(&run);
    assert!(
        v.contains("1 request framed in 28 bytes sent; 2 responses received"),
        "{v}"
    );
    assert!(v.contains("DESYNC: 2 responses to 1 request"), "{v}");
    assert!(
        run.stderr.contains("rawget: error: desync:"),
        "{}",
        run.stderr
    );
}

#[test]
fn keep_alive_sees_an_answer_that_came_before_its_request() {
    // Both answers arrive after the first request: in keep-alive mode the
    // second came with nothing asked.
    let server = serve(Plan::new(cat(&[OK, TWO])));
    let run = rawget_input(&["send", &server.url("/")], &cat(&[GET, GET]));
    assert_eq!(run.code, 8, "{}", run.stderr);
    let v = verdict(&run);
    assert!(
        v.contains("DESYNC: 46 bytes arrived after response 1 before request 2 was sent"),
        "{v}"
    );
}

#[test]
fn stray_bytes_after_the_last_response_are_a_desync() {
    let server = serve(Plan::new(cat(&[OK, b"garbage"])));
    let run = rawget_input(&["send", &server.url("/")], GET);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        verdict(&run).contains("DESYNC: 7 stray bytes"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_codes_are_the_fetchs() {
    let run_with = |plan: Plan, input: &[u8], pipeline: bool| {
        let server = serve(plan);
        let mut args = vec!["send"];
        if pipeline {
            args.push("--pipeline");
        }
        let url = server.url("/");
        args.push(&url);
        rawget_input(&args, input)
    };
    // Closed without a reply.
    let run = run_with(Plan::new(""), GET, false);
    assert_eq!(run.code, 52, "{}", run.stderr);
    assert!(
        run.stderr.contains("empty reply from server"),
        "{}",
        run.stderr
    );
    // Reset.
    let run = run_with(Plan::new("").end(End::Reset), GET, false);
    assert_eq!(run.code, 56, "{}", run.stderr);
    // One answer to two pipelined requests, then the close.
    let run = run_with(Plan::new(OK), &cat(&[GET, GET]), true);
    assert_eq!(run.code, 18, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("closed the connection after answering 1 of 2 requests"),
        "{}",
        run.stderr
    );
    // The same in keep-alive mode: the second request finds it closed.
    let run = run_with(Plan::new(OK), &cat(&[GET, GET]), false);
    assert_eq!(run.code, 18, "{}", run.stderr);
    // An answer that is not HTTP.
    let run = run_with(Plan::new("<html>"), GET, false);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr.contains("not an HTTP response"),
        "{}",
        run.stderr
    );
    // A body cut short.
    let run = run_with(Plan::new(&OK[..OK.len() - 1]), GET, false);
    assert_eq!(run.code, 18, "{}", run.stderr);
}

#[test]
fn dry_run_frames_and_names_an_ambiguous_request_and_sends_nothing() {
    let smuggle = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\
        Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
    let server = serve(Plan::new(OK)).expect_unused();
    let run = rawget_input(&["send", "--dry-run", &server.url("/")], smuggle);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, smuggle);
    let e = &run.stderr;
    assert!(e.contains("explain: 2 requests framed in"), "{e}");
    assert!(
        e.contains("request 1: bytes 0..80: POST / HTTP/1.1: chunked body, 1 chunk"),
        "{e}"
    );
    assert!(e.contains("request 2: bytes 80..112: GET /admin"), "{e}");
    assert!(
        e.contains("ambiguity: Content-Length with Transfer-Encoding"),
        "{e}"
    );
    assert!(e.contains("[RFC 9112 §6.1, §6.3 rule 3, §11.2]"), "{e}");
}

#[test]
fn crlf_split_and_delay_shape_what_is_written() {
    let server = serve(Plan::new(OK));
    let run = rawget_input(
        &[
            "send",
            "--crlf",
            "--split",
            "3",
            "--delay",
            "2",
            &server.url("/"),
        ],
        b"GET /a HTTP/1.1\nHost: x\n\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.wait_requests(1), vec![String::from_utf8_lossy(GET)]);
    let run = rawget_input(&["send", "--split", "0", &server.url("/")], GET);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

#[test]
fn output_dir_save_raw_and_json_keep_the_exchange() {
    let wire = cat(&[OK, TWO]);
    let server = serve(Plan::new(wire.clone()));
    let dir = scratch();
    let out = dir.path().join("bodies");
    let raw = dir.path().join("wire.bin");
    let json = dir.path().join("report.json");
    let run = rawget_input(
        &[
            "send",
            "--pipeline",
            "--output-dir",
            out.to_str().unwrap(),
            "--save-raw",
            raw.to_str().unwrap(),
            "--report",
            json.to_str().unwrap(),
            &server.url("/"),
        ],
        &cat(&[GET, HEAD]),
    );
    // The HEAD's reply here has a body: 3 stray bytes, a desync.
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert_eq!(std::fs::read(out.join("response-1.body")).unwrap(), b"ok");
    assert_eq!(std::fs::read(out.join("response-2.body")).unwrap(), b"");
    assert_eq!(std::fs::read(&raw).unwrap(), wire);
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["requests"][1]["method"], "HEAD");
    assert_eq!(report["responses"][1]["status"], 201);
    assert_eq!(report["stray_bytes"], 3);
    assert_eq!(report["desync"], true);
    assert_eq!(report["exit_code"], 8);
    assert_eq!(report["mode"], "pipeline");
}

#[test]
fn https_is_tls_with_the_fetchs_options() {
    let server = serve_tls("server", Plan::new(OK));
    let run = rawget_input(
        &["send", "--cacert", &tls_fixture("ca.pem"), &server.url("/")],
        GET,
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, head_of(OK));
    assert_eq!(server.wait_requests(1), vec![String::from_utf8_lossy(GET)]);
    // Unverified: exit 60, as the fetch.
    let server = serve_tls("server", Plan::new(OK));
    let run = rawget_input(&["send", &server.url("/")], GET);
    assert_eq!(run.code, 60, "{}", run.stderr);
}

#[test]
fn an_unreadable_file_is_exit_26() {
    let server = serve(Plan::new(OK)).expect_unused();
    let run = rawget(&["send", &server.url("/"), "/nonexistent/req.http"]);
    assert_eq!(run.code, 26);
    assert!(run
        .error_line()
        .contains("could not read /nonexistent/req.http"));
}

#[test]
fn a_long_pipeline_is_written_while_the_replies_are_read() {
    // The server answers at once with 24 MiB and reads nothing until that
    // is written; the client sends 24 MiB. Written first and read after,
    // both sides stall with every buffer full (the server gives up after
    // 30 s, -m ends it first): the writer must run while the replies are read.
    const SIZE: usize = 24 << 20;
    let body = vec![b'x'; SIZE];
    let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {SIZE}\r\n\r\n");
    let server = serve(Plan::new([head.as_bytes(), &body].concat()).read_request(false));
    let request = format!("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\n\r\n");
    let run = rawget_input(
        &["send", "--pipeline", "-m", "20", &server.url("/")],
        &[request.as_bytes(), &body].concat(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        verdict(&run).contains("1 response received"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_101_ends_the_http_exchange() {
    let switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n";
    for pipeline in [false, true] {
        let server = serve(Plan::new(cat(&[switch, b"new protocol"])));
        let dir = scratch();
        let out = dir.path().join("b");
        let mut args = vec!["send", "--output-dir", out.to_str().unwrap()];
        if pipeline {
            args.push("--pipeline");
        }
        let url = server.url("/");
        args.push(&url);
        let run = rawget_input(&args, &cat(&[GET, GET]));
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stdout, switch);
        // What follows the 101 is the new protocol, read to the close.
        assert_eq!(
            std::fs::read(out.join("response-1.body")).unwrap(),
            b"new protocol"
        );
        let v = verdict(&run);
        assert!(v.contains("response 1 is 101 Switching Protocols"), "{v}");
        assert!(
            v.contains("1 requests framed after it were not read as HTTP")
                || v.contains("1 request"),
            "{v}"
        );
        assert!(!v.contains("DESYNC"), "{v}");
    }
}

#[test]
fn verbose_shows_each_write_and_each_head() {
    let server = serve(Plan::new(OK));
    let run = rawget_input(&["send", "-v", &server.url("/")], GET);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e = &run.stderr;
    assert!(e.contains("* connected to 127.0.0.1:"), "{e}");
    assert!(e.contains("> GET /a HTTP/1.1\n> Host: x\n"), "{e}");
    assert!(
        e.contains("< HTTP/1.1 200 OK\n< Content-Length: 2\n"),
        "{e}"
    );
}

#[test]
fn interim_heads_are_printed_and_skipped() {
    let interim = b"HTTP/1.1 100 Continue\r\n\r\n";
    let server = serve(Plan::new(cat(&[interim, OK])));
    let run = rawget_input(&["send", &server.url("/")], GET);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, cat(&[interim, head_of(OK)]));
    assert!(
        verdict(&run).contains("1 response received"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_split_pipeline_is_still_answered_in_order() {
    let server = serve(Plan::new(cat(&[OK, TWO])));
    let run = rawget_input(
        &[
            "send",
            "--pipeline",
            "--split",
            "5",
            "--delay",
            "1",
            &server.url("/"),
        ],
        &cat(&[GET, GET]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, cat(&[head_of(OK), head_of(TWO)]));
    assert!(
        verdict(&run).contains("56 bytes sent; 2 responses received"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_incomplete_request_is_named_and_the_silence_reported() {
    // No empty line ends the head: the server waits; so does rawget, for
    // --wait, then reports what it saw.
    let server = serve(Plan::new(OK).hang_limit(std::time::Duration::from_secs(2)));
    let run = rawget_input(
        &["send", "--wait", "200", &server.url("/")],
        b"GET / HTTP/1.1\r\nHost: x\r\n",
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    let v = verdict(&run);
    assert!(
        v.contains("0 requests framed in 25 bytes sent; 0 responses received"),
        "{v}"
    );
    assert!(
        v.contains("the server kept the connection open (200 ms waited)"),
        "{v}"
    );
    assert!(
        v.contains("not a request: the head has no empty line yet"),
        "{v}"
    );
}
