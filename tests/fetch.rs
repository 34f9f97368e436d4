//! The fetch through the built binary against the replay server on
//! 127.0.0.1: request bytes, output routing, framing, and one test per exit
//! code that plain HTTP can produce (stdout, stderr and files asserted).

use std::time::Duration;

use crate::support::*;

/// The request rawget sends by default for `path` to `server`.
fn default_request_to(path: &str, server: &Server) -> String {
    default_request(path, &server.addr().to_string())
}

// ---------- the main job: head on stdout, body in the file ----------

#[test]
fn body_to_file_head_to_stdout_request_exact() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &[&server.url("/index.html?q=1"), "-o", "page.html"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let ok = fixture("ok.http");
    assert_eq!(run.stdout, head_of(&ok));
    assert_eq!(run.stderr, "");
    assert_eq!(
        std::fs::read(dir.path().join("page.html")).unwrap(),
        body_of(&ok)
    );
    assert_eq!(listing(dir.path()), vec!["page.html"]);
    assert_eq!(
        server.wait_requests(1),
        vec![default_request_to("/index.html?q=1", &server)]
    );
}

#[test]
fn body_to_stdout_head_to_stderr() {
    let server = serve_fixture("ok.http");
    let run = rawget(&[&server.url("/")]);
    let ok = fixture("ok.http");
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&ok));
    assert_eq!(run.stderr.as_bytes(), head_of(&ok));
}

#[test]
fn include_silent_dump_header() {
    let ok = fixture("ok.http");
    let server = serve_fixture("ok.http");
    let run = rawget(&["-i", &server.url("/")]);
    assert_eq!(
        (run.code, run.stdout.as_slice(), run.stderr.as_str()),
        (0, &ok[..], "")
    );

    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(
        (run.code, run.stdout.as_slice(), run.stderr.as_str()),
        (0, body_of(&ok), "")
    );

    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "-D", "head.txt", "-o", "body", &server.url("/")],
    );
    assert_eq!(
        (run.code, run.stdout.len(), run.stderr.as_str()),
        (0, 0, "")
    );
    assert_eq!(
        std::fs::read(dir.path().join("head.txt")).unwrap(),
        head_of(&ok)
    );
    assert_eq!(
        std::fs::read(dir.path().join("body")).unwrap(),
        body_of(&ok)
    );
}

#[test]
fn binary_body_passes_through_byte_for_byte() {
    let server = serve_fixture("binary-body.http");
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, (0..=255u8).collect::<Vec<_>>());
}

// ---------- the request ----------

#[test]
fn header_edits_method_and_data_are_sent_exactly() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    std::fs::write(dir.path().join("form.txt"), "a=1\r\n&b=2\n").unwrap();
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-H",
            "X-Test: yes",
            "-H",
            "Accept:",
            "-H",
            "User-Agent: custom/1",
            "-d",
            "@form.txt",
            &server.url("/post"),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let want = format!(
        "POST /post HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nX-Test: yes\r\nUser-Agent: custom/1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\na=1&b=2",
        server.addr()
    );
    // The form file's CR and LF are stripped, as curl strips them.
    assert_eq!(server.wait_requests(1), vec![want]);
}

#[test]
fn data_binary_put_http10_user_agent_and_basic_auth() {
    let server = serve_fixture("ok.http");
    let addr = server.addr();
    let run = rawget(&[
        "-s",
        "-X",
        "PUT",
        "--data-binary",
        "raw\nbytes",
        "--http1.0",
        "-A",
        "agent/2",
        &format!("http://user:pw@{addr}/up"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let want = format!(
        "PUT /up HTTP/1.0\r\nHost: {addr}\r\nAuthorization: Basic dXNlcjpwdw==\r\nUser-Agent: agent/2\r\nAccept: */*\r\n\
         Connection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\nraw\nbytes"
    );
    assert_eq!(server.wait_requests(1), vec![want]);
}

#[test]
fn head_request_prints_the_head_as_output() {
    let server = serve(Plan::new(fixture("head-response.http")).end(End::Hang));
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-I", "-o", "head.out", "-m", "20", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(server.wait_requests(1)[0].starts_with("HEAD / HTTP/1.1\r\n"));
    // Content-Length: 5000 does not make rawget wait: HEAD has no body.
    assert_eq!(
        std::fs::read(dir.path().join("head.out")).unwrap(),
        fixture("head-response.http")
    );
    assert_eq!(run.stdout, b"");
}

#[test]
fn ipv6_loopback() {
    let server = match Server::start("[::1]:0", Plan::new(fixture("ok.http")), None) {
        Ok(server) => server,
        Err(e) => return cannot_run_here(&format!("no IPv6 loopback: {e}")),
    };
    let run = rawget(&["-s", &format!("http://[::1]:{}/", server.addr().port())]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    assert!(server.wait_requests(1)[0]
        .contains(&format!("\r\nHost: [::1]:{}\r\n", server.addr().port())));
}

#[test]
fn resolve_pins_a_name_and_every_address_is_tried() {
    let server = serve_fixture("ok.http");
    let port = server.addr().port();
    let run = rawget(&[
        "-s",
        "--resolve",
        &format!("example.test:{port}:127.0.0.1"),
        &format!("http://example.test:{port}/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(server.wait_requests(1)[0].contains(&format!("\r\nHost: example.test:{port}\r\n")));
}

// ---------- framing ----------

#[test]
fn chunked_is_decoded_and_trailers_follow_the_head() {
    let server = serve_fixture("chunked.http");
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-o", "out", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        std::fs::read(dir.path().join("out")).unwrap(),
        b"Hello, this is the second chunk (ext) and one with lowercase hex."
    );
    let stdout = run.stdout_str();
    assert!(stdout
        .starts_with(&String::from_utf8_lossy(head_of(&fixture("chunked.http"))).into_owned()));
    assert!(stdout.ends_with("X-Trailer: yes\r\n\r\n"), "{stdout:?}");
}

#[test]
fn chunked_split_into_one_byte_writes_decodes_the_same() {
    let server = serve(Plan::new(fixture("chunked.http")).piece(1));
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        b"Hello, this is the second chunk (ext) and one with lowercase hex."
    );
}

#[test]
fn raw_keeps_chunked_framing_and_save_raw_keeps_every_byte() {
    let response = fixture("chunked.http");
    let server = serve_fixture("chunked.http");
    let dir = scratch();
    let run = rawget_in(
        dir.path(),
        &["-s", "--raw", "--save-raw", "wire.bin", &server.url("/")],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&response));
    assert_eq!(
        std::fs::read(dir.path().join("wire.bin")).unwrap(),
        response
    );
}

#[test]
fn interim_heads_are_printed_and_skipped() {
    for name in ["interim-100.http", "interim-103.http"] {
        let response = fixture(name);
        let server = serve_fixture(name);
        let run = rawget(&[&server.url("/")]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        // Both heads, in order, on stderr; the final response's body on stdout.
        let final_head_end = response.windows(4).rposition(|w| w == b"\r\n\r\n").unwrap() + 4;
        let heads = &response[..final_head_end];
        assert_eq!(run.stderr.as_bytes(), heads, "{name}");
        assert_eq!(run.stdout, &response[final_head_end..], "{name}");
    }
}

#[test]
fn finishes_when_framing_says_so_even_if_the_server_keeps_the_connection() {
    for (name, body) in [
        ("ok.http", body_of(&fixture("ok.http")).to_vec()),
        (
            "chunked.http",
            b"Hello, this is the second chunk (ext) and one with lowercase hex.".to_vec(),
        ),
        ("no-content-204.http", Vec::new()),
        ("not-modified-304.http", Vec::new()),
    ] {
        // The server holds the connection open for 30 s after sending; -m 20
        // would fail the run if rawget waited for the close.
        let server = serve(Plan::new(fixture(name)).end(End::Hang));
        let run = rawget(&["-s", "-m", "20", &server.url("/")]);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{name}");
        assert_eq!(run.stdout, body, "{name}");
    }
}

#[test]
fn close_delimited_and_other_transfer_codings_read_until_close() {
    for name in [
        "close-delimited.http",
        "te-not-chunked.http",
        "switching-101.http",
    ] {
        let response = fixture(name);
        let server = serve_fixture(name);
        let run = rawget(&["-s", &server.url("/")]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(run.stdout, body_of(&response), "{name}");
    }
}

#[test]
fn leniencies_are_accepted() {
    for (name, body) in [
        ("bare-lf.http", &b"lines end in LF only\n"[..]),
        ("no-reason.http", b"ok\n"),
        ("no-reason-sp.http", b"ok\n"),
        ("cl-repeated.http", b"hello"),
        ("cl-list.http", b"hello"),
        ("te-and-cl.http", b"chunked wins"),
    ] {
        let server = serve_fixture(name);
        let run = rawget(&["-s", &server.url("/")]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(run.stdout, body, "{name}");
    }
    for name in [
        "obs-fold.http",
        "leading-blank-lines.http",
        "duplicate-headers.http",
    ] {
        let response = fixture(name);
        let server = serve_fixture(name);
        let run = rawget(&[&server.url("/")]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        // The head is printed exactly as received (blank lines before the
        // status line included), duplicates and order kept.
        let blank = response
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let head = [&response[..blank], head_of(&response[blank..])].concat();
        assert_eq!(run.stderr.as_bytes(), head, "{name}");
        assert_eq!(run.stdout, &response[head.len()..], "{name}");
    }
}

#[test]
fn bytes_after_a_content_length_body_are_dropped_with_a_warning() {
    let server = serve_fixture("extra-after-body.http");
    let run = rawget(&["-o", "-", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, b"hello");
    assert!(
        run.stderr
            .contains("rawget: warning: ignored 7 bytes after the end of the body"),
        "{}",
        run.stderr
    );
}

#[test]
fn streams_a_large_body_in_flat_memory() {
    // 256 MiB through a Content-Length body; peak RSS of the child must stay
    // far below the body's size (the buffer is reused, nothing accumulates).
    // The server is a separate `rawget replay` process and the response is
    // written to disk in pieces, so the test process does not hold it.
    use std::io::Write;
    let size: usize = 256 << 20;
    let dir = scratch();
    let response = dir.path().join("big.http");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&response).unwrap());
    write!(f, "HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n").unwrap();
    let piece: Vec<u8> = (0..1 << 20).map(|i: usize| (i % 251) as u8).collect();
    for _ in 0..size >> 20 {
        f.write_all(&piece).unwrap();
    }
    drop(f);
    let server = Daemon::replay(&response, &["--count", "1"]);
    let out = dir.path().join("big");
    let run = rawget(&[
        "-s",
        "-o",
        out.to_str().unwrap(),
        &format!("http://{}/", server.addr),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let written = std::fs::read(&out).unwrap();
    assert_eq!(written.len(), size);
    assert!(written.chunks(1 << 20).all(|c| c == piece.as_slice()));
    run.assert_peak_below(16 * 1024);
}

// ---------- exit codes, one test each ----------

#[test]
fn exit_1_unsupported_scheme() {
    let run = rawget(&["ftp://127.0.0.1/"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "rawget: error: unsupported scheme \"ftp\" in ftp://127.0.0.1/: only http and https\n"
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn exit_2_usage() {
    let run = rawget(&[]);
    assert_eq!(run.code, 2);
    let run = rawget(&["-H", "no colon", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with("rawget: error: bad -H \"no colon\""),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
}

#[test]
fn exit_3_malformed_url() {
    for bad in ["http://exa mple.com/", "http://[::1/", "example.com:99999/"] {
        let run = rawget(&[bad]);
        assert_eq!(run.code, 3, "{bad}: {}", run.stderr);
        assert!(
            run.stderr
                .starts_with(&format!("rawget: error: malformed URL \"{bad}\": ")),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1);
    }
}

#[test]
fn exit_6_resolve() {
    let run = rawget(&["-m", "10", "http://nonexistent.invalid/"]);
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("rawget: error: could not resolve host nonexistent.invalid"),
        "{}",
        run.stderr
    );
}

#[test]
fn exit_7_connect_refused_names_the_address() {
    let port = closed_addr().port();
    let run = rawget(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(run.code, 7);
    assert_eq!(
        run.stderr,
        format!("rawget: error: could not connect to 127.0.0.1:{port}: Connection refused\n")
    );
}

#[test]
fn exit_8_malformed_responses() {
    for (name, says) in [
        ("not-http.txt", "not an HTTP response"),
        ("http09.txt", "not an HTTP response"),
        (
            "cl-conflict.http",
            "conflicting Content-Length values 5 and 6",
        ),
        ("cl-invalid.http", "invalid Content-Length"),
        ("bad-chunk-size.http", "bad chunk size"),
        ("chunk-overflow.http", "larger than 64 bits"),
    ] {
        let server = serve(Plan::new(fixture(name)).read_request(!name.ends_with(".txt")));
        let dir = scratch_with("out");
        let run = rawget_in(dir.path(), &["-s", "-o", "out", &server.url("/")]);
        assert_eq!(run.code, 8, "{name}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("rawget: error: ") && run.stderr.contains(says),
            "{name}: {}",
            run.stderr
        );
        assert_eq!(run.stderr.lines().count(), 1, "{name}");
        assert_untouched(dir.path(), "out", name);
    }
}

/// A complete response whose head is exactly `len` bytes, and a 2-byte body.
fn response_with_head_of(len: usize) -> Vec<u8> {
    let mut r = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Pad: ".to_vec();
    r.resize(len - 4, b'p');
    r.extend_from_slice(b"\r\n\r\nok");
    r
}

/// Regression (issue 10): the cap was checked only while the head was
/// partial, so a 310 KiB head arriving in one read was accepted (exit 0)
/// while the same head in small pieces was refused. 300 KiB is the limit,
/// inclusive, whichever way the bytes come.
#[test]
fn head_cap_is_exact_in_one_write_and_a_byte_at_a_time() {
    const CAP: usize = 300 * 1024;
    for piece in [None, Some(1)] {
        let plan = |len| {
            let p = Plan::new(response_with_head_of(len));
            match piece {
                Some(n) => p.piece(n),
                None => p,
            }
        };
        let server = serve(plan(CAP));
        let run = rawget(&["-s", &server.url("/")]);
        assert_eq!(
            (run.code, run.stdout.as_slice()),
            (0, &b"ok"[..]),
            "{piece:?}: {}",
            run.stderr
        );

        let server = serve(plan(CAP + 1));
        let run = rawget(&["-s", &server.url("/")]);
        assert_eq!(run.code, 8, "{piece:?}: {}", run.stderr);
        assert_eq!(
            run.stderr, "rawget: error: response head larger than 307200 bytes\n",
            "{piece:?}"
        );
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn exit_8_head_too_large_or_cut_short() {
    let mut huge = b"HTTP/1.1 200 OK\r\n".to_vec();
    while huge.len() < 400 * 1024 {
        huge.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let server = serve(Plan::new(huge));
    let run = rawget(&[&server.url("/")]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("response head larger than 307200 bytes"),
        "{}",
        run.stderr
    );

    let server = serve(Plan::new(fixture("ok.http")).cut(30));
    let run = rawget(&[&server.url("/")]);
    assert_eq!(run.code, 8, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "rawget: error: connection closed in the middle of the response head\n"
    );
}

#[test]
fn exit_18_partial_body_keeps_the_old_file() {
    for (name, says) in [
        (
            "short-body.http",
            "transfer closed with 90 bytes remaining to read",
        ),
        (
            "chunk-huge-claim.http",
            "bytes of the current chunk remaining to read",
        ),
        (
            "head-response.http",
            "transfer closed with 5000 bytes remaining to read",
        ),
    ] {
        let server = serve_fixture(name);
        let dir = scratch_with("out");
        let run = rawget_in(dir.path(), &["-o", "out", &server.url("/")]);
        assert_eq!(run.code, 18, "{name}: {}", run.stderr);
        assert!(
            run.stderr.starts_with("rawget: error: ") && run.stderr.contains(says),
            "{name}: {}",
            run.stderr
        );
        assert_untouched(dir.path(), "out", name);
    }
}

#[test]
fn keep_partial_keeps_what_arrived() {
    let server = serve_fixture("short-body.http");
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &["-s", "--keep-partial", "-o", "out", &server.url("/")],
    );
    assert_eq!(run.code, 18);
    assert_eq!(
        std::fs::read(dir.path().join("out")).unwrap(),
        body_of(&fixture("short-body.http"))
    );
    assert!(
        run.stderr
            .contains("kept the partial body in out (10 bytes)"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(dir.path()), vec!["out"]);
}

#[test]
fn exit_22_fail_writes_nothing() {
    let server = serve_fixture("status-404.http");
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &["-f", "-s", "-o", "out", &server.url("/missing")],
    );
    assert_eq!(run.code, 22);
    assert_eq!(
        run.stderr,
        "rawget: error: the requested URL returned error: 404 Not Found\n"
    );
    assert_untouched(dir.path(), "out", "-f");
    // Without -f a 404 is a complete response: exit 0.
    let run = rawget(&["-s", &server.url("/missing")]);
    assert_eq!((run.code, run.stdout.as_slice()), (0, &b"not found\n"[..]));
}

#[test]
fn exit_23_write_failures() {
    let server = serve_fixture("ok.http");
    let run = rawget(&["-s", "-o", "/dev/full", &server.url("/")]);
    assert_eq!(run.code, 23, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "rawget: error: could not write to /dev/full: No space left on device\n"
    );
    let run = rawget(&["-s", "-o", "/nonexistent-dir/out", &server.url("/")]);
    assert_eq!(run.code, 23, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "rawget: error: could not create /nonexistent-dir/out: No such file or directory\n"
    );
}

#[test]
fn exit_26_unreadable_data_file() {
    let run = rawget(&["-d", "@/nonexistent/data", "http://127.0.0.1:9/"]);
    assert_eq!(run.code, 26);
    assert_eq!(
        run.stderr,
        "rawget: error: could not read data file /nonexistent/data: No such file or directory\n"
    );
}

#[test]
fn exit_28_max_time_on_a_silent_server() {
    let server = serve(
        Plan::new(Vec::new())
            .end(End::Hang)
            .hang_limit(Duration::from_secs(20)),
    );
    let dir = scratch_with("out");
    let run = rawget_in(dir.path(), &["-m", "0.5", "-o", "out", &server.url("/")]);
    assert_eq!(run.code, 28, "{}", run.stderr);
    assert!(
        run.stderr.starts_with("rawget: error: timed out after "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("reading the response head, 0 bytes received"),
        "{}",
        run.stderr
    );
    assert_untouched(dir.path(), "out", "timed out");
}

#[test]
fn exit_47_too_many_redirects() {
    // Every hop answers with a redirect to itself.
    let server = serve_fixture("redirect-302-relative.http");
    let run = rawget(&["-s", "-L", "--max-redirs", "3", &server.url("/")]);
    assert_eq!(run.code, 47, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "rawget: error: maximum (3) redirects followed\n"
    );
    assert_eq!(server.wait_requests(4).len(), 4);
}

#[test]
fn exit_52_empty_reply() {
    let server = serve_fixture("empty.http");
    let run = rawget(&[&server.url("/")]);
    assert_eq!(run.code, 52);
    assert_eq!(run.stderr, "rawget: error: empty reply from server\n");
}

#[test]
fn exit_56_reset_before_and_during_the_body() {
    let server = serve(Plan::new(Vec::new()).end(End::Reset));
    let run = rawget(&[&server.url("/")]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("rawget: error: connection reset by peer while reading the response head"),
        "{}",
        run.stderr
    );

    let ok = fixture("ok.http");
    let cut = head_of(&ok).len() + 20;
    let server = serve(Plan::new(ok.clone()).cut(cut).end(End::Reset));
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-s", "-o", "out", &server.url("/")]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("connection reset by peer while reading the body (20 bytes in)"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(dir.path()), Vec::<String>::new());
}

// ---------- redirects ----------

#[test]
fn location_follows_relative_redirects_and_prints_each_head() {
    let redirect = fixture("redirect-302-relative.http");
    let ok = fixture("ok.http");
    let server = serve_sequence(vec![Plan::new(redirect.clone()), Plan::new(ok.clone())]);
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-L", "-o", "out", &server.url("/start")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), body_of(&ok));
    assert_eq!(run.stdout, [head_of(&redirect), head_of(&ok)].concat());
    let reqs = server.wait_requests(2);
    assert!(reqs[0].starts_with("GET /start HTTP/1.1\r\n"));
    assert!(reqs[1].starts_with("GET /next HTTP/1.1\r\n"), "{}", reqs[1]);
}

#[test]
fn redirect_methods_303_to_get_307_keeps_post() {
    for (name, method, body) in [
        ("redirect-303.http", "GET", ""),
        ("redirect-307.http", "POST", "x=1"),
    ] {
        let server = serve_sequence(vec![
            Plan::new(fixture(name)),
            Plan::new(fixture("ok.http")),
        ]);
        let run = rawget(&["-s", "-L", "-d", "x=1", &server.url("/form")]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        let reqs = server.wait_requests(2);
        assert!(
            reqs[1].starts_with(&format!("{method} /")),
            "{name}: {}",
            reqs[1]
        );
        assert!(
            reqs[1].ends_with(&format!("\r\n\r\n{body}")),
            "{name}: {}",
            reqs[1]
        );
    }
}

#[test]
fn without_location_a_redirect_is_the_response() {
    let server = serve_fixture("redirect-301.http");
    let run = rawget(&[&server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(server.wait_requests(1).len(), 1);
    assert!(run.stderr.starts_with("HTTP/1.1 301"));
}

// ---------- verbose ----------

#[test]
fn verbose_shows_steps_request_and_head() {
    let server = serve_fixture("ok.http");
    let run = rawget(&["-v", &server.url("/v")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let e = &run.stderr;
    assert!(
        e.contains(&format!("* connected to {}\n", server.addr())),
        "{e}"
    );
    assert!(e.contains("> GET /v HTTP/1.1\n> Host: "), "{e}");
    assert!(e.contains("< HTTP/1.1 200 OK\n"), "{e}");
    assert!(e.contains("* first byte: "), "{e}");
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
}

// ---------- progress ----------

#[test]
fn progress_bar_on_a_terminal_never_on_a_pipe() {
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let Some((code, screen)) = run_on_a_terminal(dir.path(), &["-o", "out", &server.url("/")])
    else {
        return cannot_run_here("no pseudo-terminal");
    };
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains("100%  116 B / 116 B"), "{screen:?}");
    assert!(screen.contains('\r'), "{screen:?}");

    // The same fetch with stderr on a pipe: no bar.
    let run = rawget_in(dir.path(), &["-o", "out2", &server.url("/")]);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
}

#[test]
fn timing_prints_the_summary_on_stderr() {
    let server = serve_fixture("ok.http");
    let run = rawget(&["-s", "--timing", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for key in [
        "* dns:",
        "* connect:",
        "* tls:        -",
        "* first byte:",
        "* total:",
        "* received:   257 bytes (116 body)",
        "* throughput:",
    ] {
        assert!(run.stderr.contains(key), "{key}: {}", run.stderr);
    }
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
}

#[test]
fn include_with_output_file_keeps_the_head_out_of_the_file() {
    // The contract: -i puts the head on stdout; the file holds the body only.
    let ok = fixture("ok.http");
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-i", "-s", "-o", "f", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, head_of(&ok));
    assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), body_of(&ok));
}

#[test]
fn every_resolved_address_is_tried_until_one_connects() {
    // A server on 127.0.0.1 only; "localhost" may also resolve to ::1,
    // which then refuses, and rawget must go on to the next address.
    let server = serve_fixture("ok.http");
    let port = server.addr().port();
    let run = rawget(&["-v", "-o", "-", &format!("http://localhost:{port}/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    assert!(
        run.stderr
            .contains(&format!("* connected to 127.0.0.1:{port}")),
        "{}",
        run.stderr
    );
    if run.stderr.contains(&format!("* trying [::1]:{port}")) {
        assert!(
            run.stderr
                .contains(&format!("* [::1]:{port}: Connection refused")),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn redirect_to_another_host_drops_authorization() {
    // 127.0.0.1 and localhost are different hosts to a client.
    let target = serve_fixture("ok.http");
    let location = format!("http://localhost:{}/there", target.addr().port());
    let redirect = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n"
    );
    let first = serve(Plan::new(redirect.into_bytes()));
    let run = rawget(&[
        "-s",
        "-L",
        "-H",
        "Authorization: Bearer secret",
        &first.url("/here"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(first.wait_requests(1)[0].contains("\r\nAuthorization: Bearer secret\r\n"));
    let second = &target.wait_requests(1)[0];
    assert!(second.starts_with("GET /there HTTP/1.1\r\n"), "{second}");
    assert!(!second.contains("Authorization"), "{second}");
}

#[test]
fn sigterm_mid_body_leaves_the_old_file_and_no_temporary() {
    // The server sends the head and part of the body, then holds the
    // connection; rawget is killed while it waits for the rest.
    let ok = fixture("ok.http");
    let server = serve(
        Plan::new(ok.clone())
            .cut(head_of(&ok).len() + 10)
            .end(End::Hang),
    );
    let dir = scratch_with("out");
    let mut cmd = std::process::Command::new(BIN);
    without_machine_proxies(&mut cmd);
    let mut child = cmd
        .args(["-s", "-o", "out", &server.url("/")])
        .current_dir(dir.path())
        .spawn()
        .unwrap();
    // Wait (bounded) until the request arrived and the temporary file exists
    // (it is made before connecting), so rawget is reading the response.
    assert_eq!(server.wait_requests(1).len(), 1);
    let deadline = std::time::Instant::now() + RUN_LIMIT;
    while listing(dir.path()).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "no temporary file appeared"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        listing(dir.path())
            .iter()
            .any(|n| n.starts_with(".out.rawget-")),
        "{:?}",
        listing(dir.path())
    );
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let (status, _) = wait_bounded(&mut child);
    assert!(!status.success(), "{status:?}");
    assert_untouched(dir.path(), "out", "SIGTERM");
}

#[test]
fn binary_body_is_not_written_to_a_terminal_unless_forced() {
    let server = serve_fixture("binary-body.http");
    let dir = scratch();
    let Some((code, screen)) = run_on_a_terminal(dir.path(), &["-s", &server.url("/")]) else {
        return cannot_run_here("no pseudo-terminal");
    };
    assert_eq!(code, 23, "{screen:?}");
    assert!(
        screen.contains("rawget: error: binary output can mess up your terminal"),
        "{screen:?}"
    );
    assert!(
        !screen.contains('\u{1}'),
        "no body byte reached the terminal: {screen:?}"
    );
    // -o - forces it; text bodies are never refused.
    // The body arrives after the head, in pieces, so the forced write goes
    // through splice(2) into the terminal rather than from the read buffer.
    let slow = serve(
        Plan::new(fixture("binary-body.http"))
            .piece(64)
            .delay(Duration::from_millis(10)),
    );
    let (code, screen) = run_on_a_terminal(dir.path(), &["-s", "-o", "-", &slow.url("/")]).unwrap();
    assert_eq!(code, 0, "{screen:?}");
    let printable: String = (b' '..=b'~').map(char::from).collect();
    assert!(screen.contains(&printable), "{screen:?}");
    let text = serve_fixture("ok.http");
    let (code, screen) = run_on_a_terminal(dir.path(), &["-s", &text.url("/")]).unwrap();
    assert_eq!(code, 0, "{screen:?}");
    assert!(screen.contains("</html>"), "{screen:?}");
    // Not a terminal: the bytes pass, as binary_body_passes_through_byte_for_byte shows.
}

#[test]
fn large_chunked_body_to_a_pipe_and_a_file_byte_for_byte() {
    // Large chunks are written where they lie (several per writev), small
    // ones moved together first; both paths, to a pipe and to a file.
    let body = patterned(8 << 20);
    let response = chunked_response(&body, &[100_000, 1, 5000, 4095, 65_536, 17]);
    let server = serve(Plan::new(response));
    let run = rawget(&["-s", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout == body,
        "body to the pipe differs ({} bytes)",
        run.stdout.len()
    );
    let dir = scratch();
    let run = rawget_in(dir.path(), &["-s", "-o", "out", &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        std::fs::read(dir.path().join("out")).unwrap() == body,
        "body in the file differs"
    );
}

#[test]
fn exit_56_when_the_server_resets_while_the_request_is_sent() {
    // The server resets as soon as it accepts; an 8 MiB body cannot all
    // have gone out by then, so the send fails, and with no response to
    // read the send failure is what rawget reports. (`Expect:` off: with
    // it the body would wait for the server's answer, the reset.)
    let dir = scratch();
    std::fs::write(dir.path().join("big.bin"), patterned(8 << 20)).unwrap();
    let server = serve(Plan::new(Vec::new()).read_request(false).end(End::Reset));
    let run = rawget_in(
        dir.path(),
        &[
            "-s",
            "-H",
            "Expect:",
            "--data-binary",
            "@big.bin",
            &server.url("/upload"),
        ],
    );
    assert_eq!(run.code, 56, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with("rawget: error: connection reset by peer while sending the request"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.lines().count(), 1);
}
