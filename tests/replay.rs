//! The replay server through real sockets on 127.0.0.1, `rawget replay` as a
//! real process, and the fixtures' structure.
//!
//! Every wait is bounded (socket timeouts, polling loops with a deadline); no
//! assertion depends on how long something took.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: test\r\n\r\n";

// ---------------------------------------------------------------- Server API

#[test]
fn response_arrives_byte_exact_and_request_is_recorded() {
    let response = fixture("ok.http");
    let server = Server::start("127.0.0.1:0", Plan::new(response.clone()), None).unwrap();
    assert!(server.addr().ip().is_loopback());
    assert_ne!(server.addr().port(), 0);

    assert_eq!(exchange(server.addr(), GET), response);
    // Recorded before the reply was sent, so no waiting is needed.
    assert_eq!(server.requests(), vec![GET.to_vec()]);
    assert_eq!(server.hits(), 1);
}

#[test]
fn request_body_is_read_by_content_length_even_in_pieces() {
    let server = Server::start(
        "127.0.0.1:0",
        Plan::new("HTTP/1.1 204 No Content\r\n\r\n"),
        None,
    )
    .unwrap();
    let head = b"POST /form HTTP/1.1\r\nHost: x\r\ncontent-length: 11\r\n\r\n";
    let mut stream = connect(server.addr());
    stream.write_all(head).unwrap();
    thread::sleep(Duration::from_millis(30));
    stream.write_all(b"hello").unwrap();
    thread::sleep(Duration::from_millis(30));
    stream.write_all(b" world").unwrap();
    let (data, err) = read_to_end(&mut stream);
    assert!(err.is_none());
    assert_eq!(data, b"HTTP/1.1 204 No Content\r\n\r\n");
    let mut want = head.to_vec();
    want.extend_from_slice(b"hello world");
    assert_eq!(server.requests(), vec![want]);
}

#[test]
fn bare_lf_request_head_ends_the_request() {
    let server = Server::start("127.0.0.1:0", Plan::new("HTTP/1.1 200 OK\r\n\r\n"), None).unwrap();
    let request = b"GET / HTTP/1.0\nHost: x\n\n";
    assert_eq!(exchange(server.addr(), request), b"HTTP/1.1 200 OK\r\n\r\n");
    assert_eq!(server.requests(), vec![request.to_vec()]);
}

#[test]
fn requests_are_recorded_per_client_in_order() {
    let server = Server::start("127.0.0.1:0", Plan::new(fixture("status-404.http")), None).unwrap();
    for i in 0..3 {
        let request = format!("GET /{i} HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(
            exchange(server.addr(), request.as_bytes()),
            fixture("status-404.http")
        );
    }
    let requests = server.wait_requests(3);
    let lines: Vec<_> = requests.iter().map(|r| &r[..8]).collect();
    assert_eq!(lines, ["GET /0 H", "GET /1 H", "GET /2 H"]);
    assert_eq!(server.hits(), 3);
}

#[test]
fn wait_requests_gives_up_after_its_timeout() {
    let server = Server::start("127.0.0.1:0", Plan::new("x"), None)
        .unwrap()
        .expect_unused();
    assert!(server
        .replay()
        .wait_requests(1, Duration::from_millis(50))
        .is_empty());
}

#[test]
fn pieces_and_delays_still_deliver_every_byte() {
    let response = fixture("binary-body.http");
    let plan = Plan::new(response.clone())
        .piece(7)
        .delay(Duration::from_millis(2));
    let server = Server::start("127.0.0.1:0", plan, None).unwrap();
    assert_eq!(exchange(server.addr(), GET), response);

    // A piece larger than the response is one write of everything.
    let server = Server::start(
        "127.0.0.1:0",
        Plan::new(response.clone()).piece(1 << 20),
        None,
    )
    .unwrap();
    assert_eq!(exchange(server.addr(), GET), response);
}

#[test]
fn cut_sends_exactly_n_bytes() {
    let response = fixture("ok.http");
    let server = Server::start("127.0.0.1:0", Plan::new(response.clone()).cut(10), None).unwrap();
    assert_eq!(exchange(server.addr(), GET), &response[..10]);

    let server =
        Server::start("127.0.0.1:0", Plan::new(response.clone()).cut(10_000), None).unwrap();
    assert_eq!(exchange(server.addr(), GET), response);

    let plan = Plan::new(response.clone()).cut(33).piece(5);
    let server = Server::start("127.0.0.1:0", plan, None).unwrap();
    assert_eq!(exchange(server.addr(), GET), &response[..33]);
}

#[test]
fn reset_comes_after_the_data() {
    let response = fixture("chunked.http");
    let plan = Plan::new(response.clone()).cut(100).end(End::Reset);
    let server = Server::start("127.0.0.1:0", plan, None).unwrap();
    let mut stream = connect(server.addr());
    stream.write_all(GET).unwrap();
    let (data, err) = read_to_end(&mut stream);
    assert_eq!(data, &response[..100]);
    let err = err.expect("a reset, not EOF");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
}

#[test]
fn empty_response_with_reset_resets_before_replying() {
    let server = Server::start("127.0.0.1:0", Plan::new(Vec::new()).end(End::Reset), None).unwrap();
    let mut stream = connect(server.addr());
    stream.write_all(GET).unwrap();
    let (data, err) = read_to_end(&mut stream);
    assert!(data.is_empty());
    assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::ConnectionReset));
    assert_eq!(server.requests(), vec![GET.to_vec()]);
}

#[test]
fn empty_response_with_close_closes_without_replying() {
    let server = Server::start("127.0.0.1:0", Plan::new(fixture("empty.http")), None).unwrap();
    assert!(exchange(server.addr(), GET).is_empty());
}

#[test]
fn close_with_unread_request_bytes_is_still_a_clean_close() {
    // The client sends more than the head says; the drain after shutdown
    // keeps the close a FIN, so the client sees the data and a clean EOF.
    let response = fixture("ok.http");
    let server = Server::start("127.0.0.1:0", Plan::new(response.clone()), None).unwrap();
    let mut request = GET.to_vec();
    request.extend_from_slice(&[b'x'; 100_000]);
    let mut stream = connect(server.addr());
    stream.write_all(&request).unwrap();
    stream.shutdown(Shutdown::Write).unwrap();
    let (data, err) = read_to_end(&mut stream);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(data, response);
}

#[test]
fn hang_keeps_the_socket_open_until_the_client_closes() {
    let response = fixture("close-delimited.http");
    let plan = Plan::new(response.clone()).end(End::Hang);
    let server = Server::start("127.0.0.1:0", plan, None).unwrap();
    let mut stream = connect(server.addr());
    stream.write_all(GET).unwrap();
    let mut got = vec![0u8; response.len()];
    stream.read_exact(&mut got).unwrap();
    assert_eq!(got, response);

    // Still open: no EOF, the read times out.
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let err = stream
        .read(&mut [0u8; 16])
        .expect_err("no EOF while hanging");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );

    // Once the client closes its side, the server closes too.
    stream.shutdown(Shutdown::Write).unwrap();
    stream.set_read_timeout(Some(LIMIT)).unwrap();
    let (rest, err) = read_to_end(&mut stream);
    assert!(rest.is_empty() && err.is_none(), "{rest:?} {err:?}");
}

#[test]
fn hang_ends_at_the_hang_limit() {
    let plan = Plan::new("HTTP/1.1 200 OK\r\n\r\n")
        .end(End::Hang)
        .hang_limit(Duration::from_millis(100));
    let server = Server::start("127.0.0.1:0", plan, None).unwrap();
    assert_eq!(exchange(server.addr(), GET), b"HTTP/1.1 200 OK\r\n\r\n");
}

#[test]
fn dropping_the_server_ends_a_hang_and_stops_accepting() {
    let plan = Plan::new("HTTP/1.1 200 OK\r\n\r\n").end(End::Hang);
    let server = Server::start("127.0.0.1:0", plan, None).unwrap();
    let addr = server.addr();
    let mut stream = connect(addr);
    stream.write_all(GET).unwrap();
    let mut head = [0u8; 19];
    stream.read_exact(&mut head).unwrap();
    drop(server);
    let (rest, err) = read_to_end(&mut stream);
    assert!(rest.is_empty() && err.is_none(), "{rest:?} {err:?}");
    assert_eq!(
        TcpStream::connect(addr).map_err(|e| e.kind()).err(),
        Some(io::ErrorKind::ConnectionRefused)
    );
}

#[test]
fn read_request_false_replies_at_once_and_records_nothing() {
    let response = fixture("not-http.txt");
    let server = Server::start(
        "127.0.0.1:0",
        Plan::new(response.clone()).read_request(false),
        None,
    )
    .unwrap();
    let mut stream = connect(server.addr());
    // The client sends nothing at all.
    let (data, err) = read_to_end(&mut stream);
    assert!(err.is_none());
    assert_eq!(data, response);
    assert!(server.requests().is_empty());
    assert_eq!(server.hits(), 1);
}

/// A client of a server that stopped accepting gets no bytes: refused, or
/// reset when the listener holding it in its backlog closes.
fn assert_not_served(addr: SocketAddr) {
    let deadline = Instant::now() + LIMIT;
    loop {
        let Ok(mut stream) = TcpStream::connect(addr) else {
            return;
        };
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let _ = stream.write_all(GET);
        let (data, err) = read_to_end(&mut stream);
        assert!(data.is_empty(), "served after the count: {data:?}");
        if err
            .as_ref()
            .is_none_or(|e| e.kind() == io::ErrorKind::ConnectionReset)
        {
            return;
        }
        // Timed out: the listener was still open; look again.
        assert!(Instant::now() < deadline, "server still accepting");
    }
}

#[test]
fn count_stops_accepting() {
    let response = fixture("ok.http");
    let server = Server::start("127.0.0.1:0", Plan::new(response.clone()), Some(2)).unwrap();
    assert_eq!(exchange(server.addr(), GET), response);
    assert_eq!(exchange(server.addr(), GET), response);
    assert_not_served(server.addr());
    assert_eq!(server.hits(), 2);
    server.join();
}

#[test]
fn sequence_serves_one_plan_per_client() {
    let plans = vec![
        Plan::new(fixture("redirect-302-relative.http")),
        Plan::new(fixture("ok.http")),
    ];
    let server = Server::start_sequence("127.0.0.1:0", plans).unwrap();
    assert_eq!(
        exchange(server.addr(), GET),
        fixture("redirect-302-relative.http")
    );
    assert_eq!(
        exchange(server.addr(), b"GET /next HTTP/1.1\r\n\r\n"),
        fixture("ok.http")
    );
    assert_not_served(server.addr());
    assert_eq!(server.requests()[1], b"GET /next HTTP/1.1\r\n\r\n");
}

#[test]
fn bind_failure_is_an_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    assert!(Server::start(&addr, Plan::new("x"), None).is_err());
}

// ---------------------------------------------------------- rawget replay

#[test]
fn cli_serves_the_file_byte_exact_until_killed() {
    let file = fixture_dir().join("binary-body.http");
    let replay = Daemon::replay(&file, &[]);
    for _ in 0..2 {
        assert_eq!(exchange(replay.addr, GET), fixture("binary-body.http"));
    }
    // Without --count it keeps running.
    let mut replay = replay;
    assert!(replay.child.try_wait().unwrap().is_none());
}

#[test]
fn cli_count_exits_zero_after_serving_and_verbose_logs_the_client() {
    let file = fixture_dir().join("chunked.http");
    let replay = Daemon::replay(&file, &["--count", "1", "-v"]);
    assert_eq!(exchange(replay.addr, GET), fixture("chunked.http"));
    let (code, stderr) = replay.wait_exit();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("client 1"), "{stderr}");
    assert!(stderr.contains("\"GET / HTTP/1.1\""), "{stderr}");
    let sent = format!("sent {} bytes", fixture("chunked.http").len());
    assert!(stderr.contains(&sent), "{stderr}");
}

#[test]
fn cli_cut_piece_and_delay() {
    let file = fixture_dir().join("ok.http");
    let replay = Daemon::replay(
        &file,
        &[
            "--cut", "40", "--piece", "3", "--delay", "1", "--count", "1",
        ],
    );
    assert_eq!(exchange(replay.addr, GET), &fixture("ok.http")[..40]);
    assert_eq!(replay.wait_exit().0, Some(0));
}

#[test]
fn cli_reset_ends_with_rst() {
    let file = fixture_dir().join("short-body.http");
    let replay = Daemon::replay(&file, &["--reset", "--count", "1"]);
    let mut stream = connect(replay.addr);
    stream.write_all(GET).unwrap();
    let (data, err) = read_to_end(&mut stream);
    assert_eq!(data, fixture("short-body.http"));
    assert_eq!(err.map(|e| e.kind()), Some(io::ErrorKind::ConnectionReset));
    assert_eq!(replay.wait_exit().0, Some(0));
}

#[test]
fn cli_no_read_speaks_first() {
    let file = fixture_dir().join("not-http.txt");
    let replay = Daemon::replay(&file, &["--no-read", "--count", "1"]);
    let mut stream = connect(replay.addr);
    let (data, err) = read_to_end(&mut stream);
    assert!(err.is_none());
    assert_eq!(data, b"SSH-2.0-OpenSSH_9.2\r\n");
    // Closing lets the server's drain end at once instead of at its limit.
    drop(stream);
    assert_eq!(replay.wait_exit().0, Some(0));
}

#[test]
fn cli_unreadable_file_is_exit_26_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.http");
    let out = rawget(&[
        "replay",
        missing.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(out.code, 26);
    assert!(out.stdout.is_empty());
    let stderr = out.stderr;
    assert!(stderr.starts_with("rawget: error: "), "{stderr}");
    assert!(stderr.contains("missing.http"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn cli_bind_failure_is_exit_7_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let file = fixture_dir().join("ok.http");
    let out = rawget(&["replay", file.to_str().unwrap(), "--listen", &addr]);
    assert_eq!(out.code, 7);
    let stderr = out.stderr;
    assert!(
        stderr.starts_with("rawget: error: ") && stderr.contains(&addr),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn cli_usage_errors_are_exit_2() {
    let file = fixture_dir().join("ok.http");
    let file = file.to_str().unwrap();
    for args in [
        vec!["replay", file, "--reset", "--hang"],
        vec!["replay", file, "--piece", "0"],
        vec!["replay", file, "--listen", "not an address"],
        vec!["replay"],
    ] {
        let out = rawget(&args);
        assert_eq!(out.code, 2, "{args:?}");
    }
}

#[test]
fn cli_serves_over_tls_with_cert_and_key() {
    let file = fixture_dir().join("ok.http");
    let (cert, key) = (tls_fixture("server.pem"), tls_fixture("server.key"));
    let replay = Daemon::replay(
        &file,
        &["--cert", &cert, "--key", &key, "--count", "1", "-v"],
    );
    let url = format!("https://localhost:{}/", replay.addr.port());
    let run = rawget(&["-s", "--cacert", &tls_fixture("ca.pem"), &url]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    let (code, stderr) = replay.wait_exit();
    assert_eq!(code, Some(0), "{stderr}");
    for want in [
        "client 1 ",
        "TLS, SNI \"localhost\", \"GET / HTTP/1.1\"",
        "closed with close_notify",
    ] {
        assert!(stderr.contains(want), "want {want:?} in {stderr}");
    }
}

#[test]
fn cli_no_close_notify_makes_a_close_delimited_body_partial() {
    // Without close_notify the end of a close-delimited body cannot be told
    // from a truncation (RFC 9112 section 9.8): what a user checks a client
    // against with --no-close-notify.
    let file = fixture_dir().join("close-delimited.http");
    let (cert, key) = (tls_fixture("server.pem"), tls_fixture("server.key"));
    let replay = Daemon::replay(
        &file,
        &[
            "--cert",
            &cert,
            "--key",
            &key,
            "--no-close-notify",
            "--count",
            "1",
            "-v",
        ],
    );
    let url = format!("https://127.0.0.1:{}/", replay.addr.port());
    let run = rawget(&["-s", "--cacert", &tls_fixture("ca.pem"), &url]);
    assert_eq!(run.code, 18, "{}", run.stderr);
    run.error_line();
    let (code, stderr) = replay.wait_exit();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("TLS, no SNI"), "{stderr}");
    assert!(stderr.contains("closed without close_notify"), "{stderr}");
}

#[test]
fn cli_tls_flags_go_together_and_need_usable_files() {
    let file = fixture_dir().join("ok.http");
    let file = file.to_str().unwrap();
    let (cert, key) = (tls_fixture("server.pem"), tls_fixture("server.key"));
    for args in [
        vec!["replay", file, "--cert", &cert],
        vec!["replay", file, "--key", &key],
        vec!["replay", file, "--no-close-notify"],
        vec![
            "replay",
            file,
            "--cert",
            &cert,
            "--key",
            &key,
            "--no-close-notify",
            "--reset",
        ],
    ] {
        let run = rawget(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
    }
    // A key where the certificate goes, and a file that is not there.
    let listen = ["--listen", "127.0.0.1:0"];
    let run = rawget(
        &[
            &["replay", file, "--cert", &key, "--key", &key],
            &listen[..],
        ]
        .concat(),
    );
    assert_eq!(run.code, 26, "{}", run.stderr);
    assert!(
        run.error_line().contains(&format!(
            "cannot use {key} and {key} as a TLS certificate and key"
        )),
        "{}",
        run.stderr
    );
    let run = rawget(
        &[
            &["replay", file, "--cert", "/nonexistent.pem", "--key", &key],
            &listen[..],
        ]
        .concat(),
    );
    assert_eq!(run.code, 26, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("rawget: error: cannot read /nonexistent.pem: "),
        "{}",
        run.stderr
    );
}

// ------------------------------------------------------------------ fixtures

/// Every fixture file: `*.http` and `*.txt`.
fn fixture_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".http") || n.ends_with(".txt"))
        .collect();
    names.sort();
    names
}

#[test]
fn make_sh_reproduces_the_committed_fixtures() {
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("sh")
        .arg(fixture_dir().join("make.sh"))
        .arg(out.path())
        .status()
        .expect("run sh");
    assert!(status.success());
    let made = fixture_names(out.path());
    assert_eq!(made, fixture_names(&fixture_dir()));
    assert!(made.len() >= 38, "{made:?}");
    for name in made {
        assert!(
            std::fs::read(out.path().join(&name)).unwrap() == fixture(&name),
            "{name} differs from make.sh output"
        );
    }
}

#[test]
fn readme_describes_every_fixture() {
    let readme = String::from_utf8(fixture("README.md")).unwrap();
    for name in fixture_names(&fixture_dir()) {
        assert!(
            readme.contains(&format!("| `{name}` |")),
            "{name} missing from README.md"
        );
    }
}

/// All values of header `name` in `head`, in order.
fn header_values(head: &[u8], name: &str) -> Vec<String> {
    String::from_utf8_lossy(head)
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
        .collect()
}

/// (status code, body) of a response with one valid Content-Length, after
/// skipping any 1xx heads; asserts nothing follows the body.
fn framed(bytes: &[u8]) -> (u16, Vec<u8>) {
    let mut rest = bytes;
    loop {
        let (head, after) = split_head(rest);
        let status: u16 = String::from_utf8_lossy(&head[9..12]).parse().unwrap();
        if (100..200).contains(&status) {
            rest = after;
            continue;
        }
        let len: usize = header_values(head, "content-length")[0].parse().unwrap();
        assert_eq!(after.len(), len, "Content-Length does not match the body");
        return (status, after.to_vec());
    }
}

/// Decodes a chunked body; returns (body, trailer section) and asserts the
/// message ends right after the trailers.
fn dechunk(mut rest: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut body = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n").unwrap();
        let line = std::str::from_utf8(&rest[..eol]).unwrap();
        let size = usize::from_str_radix(line.split(';').next().unwrap(), 16).unwrap();
        rest = &rest[eol + 2..];
        if size == 0 {
            assert!(rest.ends_with(b"\r\n"));
            let trailers = rest[..rest.len() - 2].to_vec();
            assert!(trailers.is_empty() || trailers.ends_with(b"\r\n"));
            return (body, trailers);
        }
        body.extend_from_slice(&rest[..size]);
        assert_eq!(&rest[size..size + 2], b"\r\n");
        rest = &rest[size + 2..];
    }
}

#[test]
fn length_framed_fixtures_have_exact_content_length() {
    let cases: &[(&str, u16)] = &[
        ("ok.http", 200),
        ("interim-100.http", 200),
        ("interim-103.http", 200),
        ("duplicate-headers.http", 200),
        ("bare-lf.http", 200),
        ("obs-fold.http", 200),
        ("binary-body.http", 200),
        ("no-reason.http", 200),
        ("no-reason-sp.http", 200),
        ("cl-repeated.http", 200),
        ("redirect-301.http", 301),
        ("redirect-302-relative.http", 302),
        ("redirect-303.http", 303),
        ("redirect-307.http", 307),
        ("redirect-308.http", 308),
        ("status-404.http", 404),
        ("status-500.http", 500),
    ];
    for &(name, want) in cases {
        let (status, _) = framed(&fixture(name));
        assert_eq!(status, want, "{name}");
    }
    let (_, body) = framed(&fixture("ok.http"));
    assert!(body.starts_with(b"<!doctype html>\n") && body.ends_with(b"</html>\n"));
    assert!(body.iter().filter(|&&b| b == b'\n').count() >= 5);
    assert_eq!(
        framed(&fixture("binary-body.http")).1,
        (0..=255u8).collect::<Vec<_>>()
    );
    assert_eq!(
        framed(&fixture("interim-100.http")).1,
        b"final response after 100 Continue\n"
    );
    let ok = fixture("ok.http");
    let (head, _) = split_head(&ok);
    assert_eq!(
        header_values(head, "content-type"),
        ["text/html; charset=utf-8"]
    );
}

#[test]
fn chunked_fixtures_decode() {
    let bytes = fixture("chunked.http");
    let (head, rest) = split_head(&bytes);
    assert_eq!(header_values(head, "transfer-encoding"), ["chunked"]);
    let text = String::from_utf8_lossy(rest);
    assert!(
        text.starts_with("5\r\n") && text.contains("\r\n1A\r\n") && text.contains("\r\n1c\r\n")
    );
    assert!(text.contains(";name=value\r\n"));
    let (body, trailers) = dechunk(rest);
    assert_eq!(
        body,
        b"Hello, this is the second chunk (ext) and one with lowercase hex."
    );
    assert_eq!(trailers, b"X-Trailer: yes\r\n");

    let bytes = fixture("chunked-no-trailers.http");
    let (body, trailers) = dechunk(split_head(&bytes).1);
    assert_eq!(
        body,
        b"first chunk, second chunk, a bit longer than the first, end."
    );
    assert!(trailers.is_empty());

    let bytes = fixture("te-and-cl.http");
    let (head, rest) = split_head(&bytes);
    assert_eq!(header_values(head, "content-length"), ["100"]);
    assert_eq!(dechunk(rest).0, b"chunked wins");
}

#[test]
fn edge_case_fixtures_have_the_advertised_shape() {
    let head_only = |name: &str| {
        let bytes = fixture(name);
        let (head, rest) = split_head(&bytes);
        assert!(rest.is_empty(), "{name} has bytes after the head");
        head.to_vec()
    };
    assert_eq!(
        header_values(&head_only("head-response.http"), "content-length"),
        ["5000"]
    );
    assert_eq!(
        header_values(&head_only("not-modified-304.http"), "content-length"),
        ["1234"]
    );
    assert!(head_only("no-content-204.http").starts_with(b"HTTP/1.1 204 "));

    let body_of = |name: &str| split_head(&fixture(name)).1.to_vec();
    assert_eq!(body_of("short-body.http"), b"0123456789");
    assert_eq!(body_of("extra-after-body.http").len(), 12);
    assert_eq!(body_of("cl-conflict.http"), b"hello!");
    assert_eq!(
        body_of("chunk-huge-claim.http"),
        b"FFFFFFFFFF\r\nonly a few bytes"
    );
    let overflow = body_of("chunk-overflow.http");
    assert_eq!(overflow.iter().position(|&b| b == b'\r'), Some(20));

    let bytes = fixture("duplicate-headers.http");
    let (head, _) = split_head(&bytes);
    assert_eq!(
        header_values(head, "set-cookie"),
        ["a=1; Path=/", "b=2; Path=/; HttpOnly"]
    );
    assert_eq!(header_values(head, "x-order"), ["first", "second"]);

    assert!(!fixture("bare-lf.http").contains(&b'\r'));
    assert!(fixture("obs-fold.http").windows(4).any(|w| w == b"\r\n  "));
    assert!(fixture("leading-blank-lines.http").starts_with(b"\r\n\r\nHTTP/1.1 200 OK\r\n"));
    assert!(fixture("no-reason.http").starts_with(b"HTTP/1.1 200\r\n"));
    assert!(fixture("switching-101.http").starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
    assert_eq!(fixture("not-http.txt"), b"SSH-2.0-OpenSSH_9.2\r\n");
    assert!(!fixture("http09.txt").starts_with(b"HTTP/"));
    assert!(fixture("empty.http").is_empty());
}
