//! Through SOCKS proxies (issue 12 item 1): microsocks (SOCKS5, with and
//! without authentication) and dante (SOCKS4) from Debian's packages,
//! through to the test server and a TLS server with the test CA; and the
//! tests' own scripted SOCKS server (`support/socks_server.rs`) for what
//! real proxies will not do on request: every reply code, garbage, a wrong
//! version byte, a close or a reset mid-handshake, a stall, SOCKS4a.
//!
//! Every failure is checked for its exit code, its one stderr line, and
//! that an existing `-o` file was left as it was.

use crate::support::*;

fn ca() -> String {
    tls_fixture("ca.pem")
}

/// The body of `fixtures/ok.http`.
fn ok_body() -> Vec<u8> {
    body_of(&fixture("ok.http")).to_vec()
}

/// Asserts `run` succeeded with `ok.http`'s body on stdout.
#[track_caller]
fn assert_ok(run: &Run, log: &str) {
    assert_eq!(run.code, 0, "{}\n{log}", run.stderr);
    assert_eq!(run.stdout, ok_body(), "{}", run.stderr);
}

/// Asserts each of `lines` is a line of `stderr`.
#[track_caller]
fn assert_lines(stderr: &str, lines: &[String]) {
    for line in lines {
        assert!(
            stderr.lines().any(|l| l == line),
            "no {line:?} in:\n{stderr}"
        );
    }
}

#[test]
fn socks5h_through_microsocks_sends_the_name_for_the_proxy_to_resolve() {
    let proxy = RealProxy::microsocks(&[]);
    let server = serve_fixture("ok.http");
    let port = server.addr().port();
    let x = format!("socks5h://{}", proxy.addr);
    let url = format!("http://localhost:{port}/p?q=1");
    let run = rawget(&["-v", "-x", &x, &url]);
    assert_ok(&run, &proxy.log());
    assert_lines(
        &run.stderr,
        &[
            format!("* using proxy {x} (from -x)"),
            format!("* SOCKS5 connect to localhost:{port} (remotely resolved) through {x}"),
            "* SOCKS5 method: no authentication".to_owned(),
            "> GET /p?q=1 HTTP/1.1".to_owned(),
            format!("> Host: localhost:{port}"),
        ],
    );
    let granted = run.stderr.find("* SOCKS5 request granted (bound ");
    let request = run.stderr.find("> GET /p?q=1");
    assert!(granted.is_some() && granted < request, "{}", run.stderr);
    // The origin saw an origin-form request: a tunnel, not an HTTP proxy.
    let req = &server.wait_requests(1)[0];
    assert!(req.starts_with("GET /p?q=1 HTTP/1.1\r\n"), "{req}");
}

#[test]
fn socks5_through_microsocks_sends_the_address_rawget_resolved() {
    let proxy = RealProxy::microsocks(&[]);
    let server = serve_fixture("ok.http");
    let port = server.addr().port();
    let x = format!("socks5://{}", proxy.addr);
    // The name only rawget can resolve: the proxy is sent the address.
    let pin = format!("origin.test:{port}:127.0.0.1");
    let url = format!("http://origin.test:{port}/");
    let run = rawget(&["-v", "--resolve", &pin, "-x", &x, &url]);
    assert_ok(&run, &proxy.log());
    assert_lines(
        &run.stderr,
        &[format!(
            "* SOCKS5 connect to origin.test:{port} (locally resolved to 127.0.0.1) through {x}"
        )],
    );
}

#[test]
fn https_through_socks5_and_socks5h_verifies_the_origins_name() {
    let proxy = RealProxy::microsocks(&[]);
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let port = server.addr().port();
    let url = format!("https://localhost:{port}/");
    let pin = format!("localhost:{port}:127.0.0.1");
    for scheme in ["socks5", "socks5h"] {
        let x = format!("{scheme}://{}", proxy.addr);
        let run = rawget(&["-v", "--cacert", &ca(), "--resolve", &pin, "-x", &x, &url]);
        assert_ok(&run, &proxy.log());
        assert_lines(
            &run.stderr,
            &[
                "* SOCKS5 method: no authentication".to_owned(),
                "* TLS handshake with localhost (SNI)".to_owned(),
            ],
        );
    }
    assert_eq!(server.snis(), vec![Some("localhost".to_owned()); 2]);
}

#[test]
fn socks5_with_username_and_password_from_the_url_or_proxy_user() {
    let proxy = RealProxy::microsocks(&["-u", "al", "-P", "s3cret"]);
    let server = serve_fixture("ok.http");
    let url = server.url("/");
    let x = format!("socks5h://al:s3cret@{}", proxy.addr);
    let run = rawget(&["-v", "-x", &x, &url]);
    assert_ok(&run, &proxy.log());
    assert_lines(
        &run.stderr,
        &[
            "* SOCKS5 method: username/password (RFC 1929)".to_owned(),
            "* SOCKS5 authentication succeeded".to_owned(),
        ],
    );
    // The credentials are never shown.
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    // -U gives them when the URL has none, and wins when it has.
    let bare = format!("socks5h://{}", proxy.addr);
    assert_ok(
        &rawget(&["-U", "al:s3cret", "-x", &bare, &url]),
        &proxy.log(),
    );
    let wrong = format!("socks5h://al:nope@{}", proxy.addr);
    assert_ok(
        &rawget(&["-U", "al:s3cret", "-x", &wrong, &url]),
        &proxy.log(),
    );
    assert_eq!(server.wait_requests(3).len(), 3);
}

#[test]
fn a_wrong_password_is_exit_97_and_leaves_the_output_file() {
    let proxy = RealProxy::microsocks(&["-u", "al", "-P", "s3cret"]);
    let server = serve_fixture("ok.http").expect_unused();
    let url = server.url("/");
    let dir = scratch_with("out");
    let x = format!("socks5h://al:wrong@{}", proxy.addr);
    let run = rawget_in(dir.path(), &["-o", "out", "-x", &x, &url]);
    assert_eq!(run.code, 97, "{}", run.stderr);
    let want = format!(
        "rawget: error: SOCKS5 connect to {} failed: authentication failed: \
         user name and password rejected (status ",
        server.addr()
    );
    assert!(run.error_line().starts_with(&want), "{}", run.stderr);
    assert_untouched(dir.path(), "out", "a wrong SOCKS5 password");
    // No credentials at all: the proxy accepts no method offered.
    let x = format!("socks5h://{}", proxy.addr);
    let run = rawget_in(dir.path(), &["-o", "out", "-x", &x, &url]);
    assert_eq!(run.code, 97, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: SOCKS5 connect to {} failed: the proxy requires \
             authentication (give a user in the proxy URL or -U)\n",
            server.addr()
        )
    );
    assert_untouched(dir.path(), "out", "no SOCKS5 credentials");
}

#[test]
fn all_proxy_and_https_proxy_may_name_socks_proxies() {
    let proxy = RealProxy::microsocks(&[]);
    let server = serve_fixture("ok.http");
    let tls = serve_tls("server", Plan::new(fixture("ok.http")));
    let dir = scratch();
    let x = format!("socks5h://{}", proxy.addr);
    for var in ["ALL_PROXY", "all_proxy"] {
        let run = rawget_with(dir.path(), &[(var, &x)], &["-v", &server.url("/")]);
        assert_ok(&run, &proxy.log());
        assert_lines(&run.stderr, &[format!("* using proxy {x} (from ${var})")]);
    }
    let url = format!("https://localhost:{}/", tls.addr().port());
    let x5 = format!("socks5://{}", proxy.addr);
    let pin = format!("localhost:{}:127.0.0.1", tls.addr().port());
    let run = rawget_with(
        dir.path(),
        &[("https_proxy", &x5)],
        &["-v", "--cacert", &ca(), "--resolve", &pin, &url],
    );
    assert_ok(&run, &proxy.log());
    assert_lines(
        &run.stderr,
        &[format!("* using proxy {x5} (from $https_proxy)")],
    );
}

#[test]
fn noproxy_exempts_a_host_from_a_socks_proxy() {
    let proxy = SocksServer::start(vec![Act::Close]).expect_unused();
    let server = serve_fixture("ok.http");
    let dir = scratch();
    let run = rawget_with(
        dir.path(),
        &[("ALL_PROXY", &proxy.url("socks5h"))],
        &["--noproxy", "127.0.0.1", &server.url("/")],
    );
    assert_ok(&run, "");
}

#[test]
fn socks4_through_dante_sends_an_ipv4_address() {
    let proxy = RealProxy::dante();
    let server = serve_fixture("ok.http");
    let tls = serve_tls("server", Plan::new(fixture("ok.http")));
    let x = format!("socks4://{}", proxy.addr);
    let run = rawget(&["-v", "-x", &x, &server.url("/")]);
    assert_ok(&run, &proxy.log());
    assert_lines(
        &run.stderr,
        &[format!(
            "* SOCKS4 connect to {} (an IP address) through {x}",
            server.addr()
        )],
    );
    assert!(
        run.stderr.contains("* SOCKS4 request granted (bound "),
        "{}",
        run.stderr
    );
    // https: TLS to the origin's name through the tunnel.
    let url = format!("https://localhost:{}/", tls.addr().port());
    let pin = format!("localhost:{}:127.0.0.1", tls.addr().port());
    let run = rawget(&["--cacert", &ca(), "--resolve", &pin, "-x", &x, &url]);
    assert_ok(&run, &proxy.log());
    assert_eq!(tls.snis(), vec![Some("localhost".to_owned())]);
}

#[test]
fn dante_refuses_socks4a_with_reply_91_as_it_does_curls() {
    let proxy = RealProxy::dante();
    let dir = scratch_with("out");
    let x = format!("socks4a://{}", proxy.addr);
    let run = rawget_in(
        dir.path(),
        &["-o", "out", "-x", &x, "http://origin.test:81/"],
    );
    assert_eq!(run.code, 97, "{}\n{}", run.stderr, proxy.log());
    assert_eq!(
        run.error_line(),
        "rawget: error: SOCKS4a connect to origin.test:81 failed: \
         request rejected or failed (reply 91)\n"
    );
    assert_untouched(dir.path(), "out", "SOCKS4a refused");
}

#[test]
fn socks4a_sends_the_name_and_the_user_id() {
    let server = serve_fixture("ok.http");
    let proxy = SocksServer::start(vec![
        Act::Recv(8),
        Act::RecvToNul,
        Act::RecvToNul,
        Act::Send(vec![0, 90, 0, 0, 0, 0, 0, 0]),
        Act::Relay(server.addr()),
    ]);
    let run = rawget(&[
        "-U",
        "bob:unused",
        "-x",
        &proxy.url("socks4a"),
        "http://origin.test:8080/",
    ]);
    assert_ok(&run, "");
    assert_eq!(
        proxy.received(),
        [&[4, 1, 0x1f, 0x90, 0, 0, 0, 1][..], b"bob\0origin.test\0"].concat()
    );
    let req = &server.wait_requests(1)[0];
    assert!(req.contains("\r\nHost: origin.test:8080\r\n"), "{req}");
}

#[test]
fn socks4_to_a_host_with_only_ipv6_says_so_and_sends_nothing() {
    let proxy = SocksServer::start(vec![Act::Recv(1)]);
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &[
            "-o",
            "out",
            "--resolve",
            "origin.test:80:::1",
            "-x",
            &proxy.url("socks4"),
            "http://origin.test/",
        ],
    );
    // The proxy's TCP connection is made before the origin is resolved.
    assert_eq!(run.code, 97, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: SOCKS4 connect to origin.test:80 failed: the host has no \
         IPv4 address, and SOCKS4 carries only IPv4 (use socks4a:// or socks5h:// \
         to let the proxy resolve it)\n"
    );
    assert_untouched(dir.path(), "out", "SOCKS4 to IPv6");
    assert_eq!(proxy.received(), b"");
}

/// The start of every scripted SOCKS5 handshake: the greeting (no
/// authentication offered), "no authentication" chosen, then the connect
/// request for `origin.test:80` (18 bytes), then `then`.
fn greeted(then: Vec<Act>) -> Vec<Act> {
    let mut script = vec![Act::Recv(3), Act::Send(vec![5, 0]), Act::Recv(18)];
    script.extend(then);
    script
}

/// Runs `rawget -o out -x socks5h://PROXY http://origin.test/` (and
/// `extra`) against a scripted proxy, in a directory where `out` exists;
/// asserts `code`, and that `out` was untouched; returns the run.
#[track_caller]
fn failing(script: Vec<Act>, extra: &[&str], code: i32) -> (Run, String) {
    let proxy = SocksServer::start(script);
    let dir = scratch_with("out");
    let x = proxy.url("socks5h");
    let mut args = vec!["-o", "out", "-x", &x];
    args.extend_from_slice(extra);
    args.push("http://origin.test/");
    let run = rawget_in(dir.path(), &args);
    assert_eq!(run.code, code, "{}", run.stderr);
    run.error_line();
    assert_untouched(dir.path(), "out", &format!("{:?}", run.stderr));
    (run, x)
}

#[test]
fn every_socks5_reply_code_is_exit_97_with_its_meaning() {
    let meanings = [
        "general SOCKS server failure",
        "connection not allowed by ruleset",
        "network unreachable",
        "host unreachable",
        "connection refused by destination host",
        "TTL expired",
        "command not supported",
        "address type not supported",
    ];
    for (code, meaning) in (1u8..).zip(meanings) {
        let reply = vec![5, code, 0, 1, 0, 0, 0, 0, 0, 0];
        let (run, _) = failing(greeted(vec![Act::Send(reply)]), &[], 97);
        assert_eq!(
            run.stderr,
            format!(
                "rawget: error: SOCKS5 connect to origin.test:80 failed: \
                 {meaning} (reply {code})\n"
            )
        );
    }
}

#[test]
fn the_request_rawget_sends_a_socks5h_proxy_is_exact() {
    let proxy = SocksServer::start(greeted(vec![Act::Send(vec![5, 4, 0, 1])]));
    let run = rawget(&["-x", &proxy.url("socks5h"), "http://origin.test/"]);
    assert_eq!(run.code, 97, "{}", run.stderr);
    assert_eq!(
        proxy.received(),
        [&[5, 1, 0, 5, 1, 0, 3, 11][..], b"origin.test", &[0, 80]].concat()
    );
}

#[test]
fn a_garbage_or_wrong_version_reply_is_exit_97() {
    let (run, _) = failing(
        vec![
            Act::Recv(3),
            Act::Send(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
        ],
        &[],
        97,
    );
    assert_eq!(
        run.stderr,
        "rawget: error: SOCKS5 connect to origin.test:80 failed: not a SOCKS \
         reply: the SOCKS5 method selection has version 72, not 5\n"
    );
    let (run, _) = failing(greeted(vec![Act::Send(vec![4, 0, 0, 1])]), &[], 97);
    assert_eq!(
        run.stderr,
        "rawget: error: SOCKS5 connect to origin.test:80 failed: not a SOCKS \
         reply: the SOCKS5 connect reply has version 4, not 5\n"
    );
    let (run, _) = failing(greeted(vec![Act::Send(vec![5, 0, 0, 9])]), &[], 97);
    assert_eq!(
        run.stderr,
        "rawget: error: SOCKS5 connect to origin.test:80 failed: the reply has \
         address type 9, not 1, 3 or 4\n"
    );
    let (run, _) = failing(vec![Act::Recv(3), Act::Send(vec![5, 0xff])], &[], 97);
    assert!(
        run.stderr
            .contains("failed: the proxy requires authentication"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_close_mid_handshake_is_exit_97_saying_where() {
    let (run, _) = failing(vec![Act::Recv(3), Act::Close], &[], 97);
    assert_eq!(
        run.stderr,
        "rawget: error: SOCKS5 connect to origin.test:80 failed: the proxy closed \
         the connection before the SOCKS5 method negotiation\n"
    );
    let (run, _) = failing(greeted(vec![Act::Send(vec![5, 0, 0]), Act::Close]), &[], 97);
    assert_eq!(
        run.stderr,
        "rawget: error: SOCKS5 connect to origin.test:80 failed: the proxy closed \
         the connection 3 bytes into the SOCKS5 connect reply\n"
    );
}

#[test]
fn a_reset_mid_handshake_is_exit_97_as_curls() {
    let (run, x) = failing(vec![Act::Recv(3), Act::Reset], &[], 97);
    assert_eq!(
        run.stderr,
        format!(
            "rawget: error: SOCKS5 handshake with proxy {x} failed: Connection reset by peer\n"
        )
    );
}

#[test]
fn a_stalled_handshake_is_exit_28_under_max_time_or_connect_timeout() {
    let stall = || greeted(vec![Act::Stall(std::time::Duration::from_secs(8))]);
    for (flag, name) in [
        ("-m", "--max-time"),
        ("--connect-timeout", "--connect-timeout"),
    ] {
        let (run, x) = failing(stall(), &[flag, "1"], 28);
        let line = run.stderr.trim_end();
        assert!(
            line.starts_with("rawget: error: timed out after ")
                && line.ends_with(&format!(
                    " ms in the SOCKS5 handshake with proxy {x} ({name})"
                )),
            "{line}"
        );
    }
}

#[test]
fn the_origins_name_failing_for_socks5_is_exit_6_and_the_proxys_exit_5() {
    let proxy = SocksServer::start(vec![]);
    let dir = scratch_with("out");
    let run = rawget_in(
        dir.path(),
        &[
            "-o",
            "out",
            "-x",
            &proxy.url("socks5"),
            "http://nonexistent.invalid/",
        ],
    );
    assert_eq!(run.code, 6, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("rawget: error: could not resolve host nonexistent.invalid"),
        "{}",
        run.stderr
    );
    assert_untouched(dir.path(), "out", "origin unresolvable through socks5");
    let run = rawget_in(
        dir.path(),
        &[
            "-o",
            "out",
            "-x",
            "socks5h://nonexistent.invalid:1080",
            "http://origin.test/",
        ],
    );
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("rawget: error: could not resolve proxy nonexistent.invalid"),
        "{}",
        run.stderr
    );
    assert_untouched(dir.path(), "out", "proxy unresolvable");
}
