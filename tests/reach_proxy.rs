//! Through HTTP proxies (issue 12 item 1): tinyproxy from Debian's
//! packages for plain and CONNECT requests, and the test server standing
//! in as a proxy for what a real one will not do on request (record the
//! exact request, a 407, a reset mid-CONNECT, a garbage reply).

use crate::support::*;

fn ca() -> String {
    tls_fixture("ca.pem")
}

/// The body of `fixtures/ok.http`.
fn ok_body() -> Vec<u8> {
    body_of(&fixture("ok.http")).to_vec()
}

#[test]
fn http_through_tinyproxy() {
    let proxy = RealProxy::tinyproxy();
    let server = serve_fixture("ok.http");
    let run = rawget(&["-s", "-x", &proxy.addr.to_string(), &server.url("/p?q=1")]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.log());
    assert_eq!(run.stdout, ok_body());
    // tinyproxy forwards in origin-form and says it was there (Via).
    let req = &server.wait_requests(1)[0];
    assert!(req.starts_with("GET /p?q=1 HTTP/1.1\r\n"), "{req}");
    assert!(req.contains("tinyproxy"), "not through the proxy: {req}");
}

#[test]
fn a_large_body_through_tinyproxy_to_a_file_arrives_whole() {
    // A forwarded body goes by the read path (exchange.rs; which path is
    // chosen is Route::forwards's unit test): several MiB to -o, in the
    // small pieces tinyproxy relays, reach the file exactly.
    let proxy = RealProxy::tinyproxy();
    let body = patterned(6 << 20);
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(&body);
    let server = serve(Plan::new(wire));
    let dir = scratch();
    let out = dir.path().join("out.bin");
    let run = rawget(&[
        "-s",
        "-x",
        &proxy.addr.to_string(),
        "-o",
        out.to_str().unwrap(),
        &server.url("/big"),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.log());
    let got = std::fs::read(&out).unwrap();
    assert_eq!(got.len(), body.len());
    assert!(got == body, "the file differs from the body");
    assert!(server.wait_requests(1)[0].contains("tinyproxy"));
}

#[test]
fn https_through_tinyproxy_is_a_connect_tunnel_with_the_origins_name() {
    let proxy = RealProxy::tinyproxy();
    let server = serve_tls("server", Plan::new(fixture("ok.http")));
    let url = format!("https://localhost:{}/", server.addr().port());
    let run = rawget(&["-v", "--cacert", &ca(), "-x", &proxy.addr.to_string(), &url]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, proxy.log());
    assert_eq!(run.stdout, ok_body());
    let port = server.addr().port();
    let err = &run.stderr;
    for line in [
        format!("* using proxy http://{} (from -x)\n", proxy.addr),
        format!("> CONNECT localhost:{port} HTTP/1.1\n"),
        format!("> Host: localhost:{port}\n"),
        "< HTTP/1.0 200 Connection established\n".to_owned(),
        "* CONNECT tunnel established\n".to_owned(),
        "* TLS handshake with localhost (SNI)\n".to_owned(),
        "> GET / HTTP/1.1\n".to_owned(),
    ] {
        assert!(err.contains(&line), "no {line:?} in:\n{err}");
    }
    let connect = err.find("< HTTP/1.0 200 Connection established\n");
    let origin = err.find("< HTTP/1.1 200 OK\n");
    assert!(connect.is_some() && connect < origin, "{err}");
    assert_eq!(server.snis(), vec![Some("localhost".to_owned())]);
}

#[test]
fn suppress_connect_headers_hides_the_connect_reply() {
    let proxy = RealProxy::tinyproxy();
    let server = serve_fixture("ok.http");
    let run = rawget(&[
        "-i",
        "-p",
        "--suppress-connect-headers",
        "-x",
        &proxy.addr.to_string(),
        &server.url("/"),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, fixture("ok.http"));
    // Without it, -p -i prints the CONNECT reply first.
    let run = rawget(&["-i", "-p", "-x", &proxy.addr.to_string(), &server.url("/")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut want = b"HTTP/1.0 200 Connection established\r\n".to_vec();
    assert!(run.stdout.starts_with(&want), "{}", run.stdout_str());
    want = fixture("ok.http");
    assert!(run.stdout.ends_with(&want), "{}", run.stdout_str());
    // Both were tunnels: the origin saw origin-form requests only.
    for req in server.wait_requests(2) {
        assert!(req.starts_with("GET / HTTP/1.1\r\n"), "{req}");
    }
}

#[test]
fn the_request_to_an_http_proxy_is_absolute_form_with_proxy_authorization() {
    // The test server is the "proxy": it records exactly what it is sent.
    let proxy = serve_fixture("ok.http");
    let x = format!("http://al%40ice:s%3Acret@{}", proxy.addr());
    let run = rawget(&["-s", "-x", &x, "http://origin.test:8080/a?b=1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, ok_body());
    // "al@ice:s:cret" in base64.
    assert_eq!(
        proxy.wait_requests(1)[0],
        "GET http://origin.test:8080/a?b=1 HTTP/1.1\r\n\
         Proxy-Authorization: Basic YWxAaWNlOnM6Y3JldA==\r\n\
         Host: origin.test:8080\r\n\
         User-Agent: rawget/0.1.0\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
}

#[test]
fn proxy_user_wins_over_the_proxy_urls_credentials() {
    let proxy = serve_fixture("ok.http");
    let x = format!("http://a:b@{}", proxy.addr());
    let run = rawget(&["-s", "-U", "u:p", "-x", &x, "http://origin.test/"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let req = &proxy.wait_requests(1)[0];
    assert!(
        req.contains("\r\nProxy-Authorization: Basic dTpw\r\n"),
        "{req}"
    );
}

#[test]
fn a_407_to_connect_is_exit_56_naming_the_status() {
    let reply = "HTTP/1.1 407 Proxy Authentication Required\r\n\
                 Proxy-Authenticate: Basic realm=\"p\"\r\nContent-Length: 0\r\n\r\n";
    let proxy = serve(Plan::new(reply));
    let run = rawget(&[
        "-U",
        "u:p",
        "-x",
        &proxy.addr().to_string(),
        "https://origin.test/",
    ]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    // The proxy's head is printed (stderr: the body would go to stdout),
    // then the one error line.
    assert_eq!(
        run.stderr,
        format!("{reply}rawget: error: CONNECT tunnel failed, response 407\n")
    );
    assert_eq!(
        proxy.wait_requests(1)[0],
        "CONNECT origin.test:443 HTTP/1.1\r\nHost: origin.test:443\r\n\
         Proxy-Authorization: Basic dTpw\r\nUser-Agent: rawget/0.1.0\r\n\
         Proxy-Connection: Keep-Alive\r\n\r\n"
    );
}

#[test]
fn a_reset_mid_connect_is_exit_56() {
    let proxy = serve(Plan::new("HTTP/1.1 200 Conn").end(End::Reset));
    let run = rawget(&["-p", "-x", &proxy.addr().to_string(), "http://origin.test/"]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: proxy http://{}: connection reset by peer while \
             reading the response head: Connection reset by peer\n",
            proxy.addr()
        )
    );
}

#[test]
fn a_garbage_reply_to_connect_is_exit_56_as_curls_connect_aborted() {
    let proxy = serve(Plan::new("SSH-2.0-OpenSSH_9.2\r\n"));
    let run = rawget(&["-x", &proxy.addr().to_string(), "https://origin.test/"]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    let line = run.error_line();
    assert!(
        line.starts_with("rawget: error: proxy CONNECT aborted: not an HTTP response"),
        "{line}"
    );
}

#[test]
fn bytes_after_the_connect_reply_are_refused() {
    let proxy = serve(Plan::new(
        "HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    ));
    let run = rawget(&[
        "-s",
        "-p",
        "-x",
        &proxy.addr().to_string(),
        "http://origin.test/",
    ]);
    assert_eq!(run.code, 56, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: proxy CONNECT aborted: 19 bytes came after its reply\n"
    );
}

#[test]
fn an_unresolvable_proxy_is_exit_5() {
    let run = rawget(&[
        "-m",
        "10",
        "-x",
        "http://nonexistent.invalid:3128",
        "http://x/",
    ]);
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.error_line()
            .starts_with("rawget: error: could not resolve proxy nonexistent.invalid: "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_refusing_proxy_is_exit_7() {
    let addr = closed_addr();
    let run = rawget(&["-x", &addr.to_string(), "http://origin.test/"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: proxy http://{addr}: could not connect to {addr}: \
             Connection refused\n"
        )
    );
}

#[test]
fn an_unsupported_proxy_scheme_is_exit_7_as_curl() {
    let run = rawget(&["-x", "ftp://127.0.0.1:1", "http://origin.test/"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        "rawget: error: unsupported proxy scheme for \"ftp://127.0.0.1:1\"\n"
    );
}
