//! Unix sockets (issue 12 item 3): `--unix-socket` to a real nginx
//! listening on a socket file, plain and https (the URL's name verified),
//! `--abstract-unix-socket` to socat in the abstract namespace in front of
//! the test server, `rawget send --unix-socket`, and a missing socket.

use crate::support::*;

fn sock(nginx: &RealServer, name: &str) -> String {
    nginx.dir.path().join(name).display().to_string()
}

#[test]
fn http_over_a_unix_socket_keeps_the_urls_host_and_path() {
    let nginx = RealServer::nginx_unix();
    let plain = sock(&nginx, "plain.sock");
    let run = rawget(&[
        "-v",
        "-w",
        "[%{remote_ip}]",
        "--unix-socket",
        &plain,
        "http://docker.test/v1/version",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, nginx.logs());
    assert_eq!(run.stdout_str(), "http docker.test /v1/version\n[]");
    let line = format!("* connected to {plain} (unix socket)\n");
    assert!(
        run.stderr.contains(&line),
        "no {line:?} in:\n{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("> Host: docker.test\n"),
        "{}",
        run.stderr
    );
}

#[test]
fn https_over_a_unix_socket_verifies_the_urls_name() {
    let nginx = RealServer::nginx_unix();
    let tls = sock(&nginx, "tls.sock");
    let ca = tls_fixture("ca.pem");
    let run = rawget(&[
        "-s",
        "--cacert",
        &ca,
        "--unix-socket",
        &tls,
        "https://localhost/secure",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, nginx.logs());
    assert_eq!(run.stdout_str(), "https localhost /secure\n");
    // The certificate names localhost, not this host: exit 60, as curl.
    let run = rawget(&[
        "--cacert",
        &ca,
        "--unix-socket",
        &tls,
        "https://not-the-name.test/",
    ]);
    assert_eq!(run.code, 60, "{}", run.stderr);
    run.error_line();
}

#[test]
fn a_unix_socket_body_to_a_file_is_complete() {
    // A plain body over a Unix socket to -o may be spliced (Linux): the
    // bytes must all arrive either way.
    let nginx = RealServer::nginx_unix();
    let dir = scratch();
    let out = dir.path().join("body");
    let run = rawget(&[
        "-s",
        "-o",
        &out.display().to_string(),
        "--unix-socket",
        &sock(&nginx, "plain.sock"),
        "http://h/file",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(std::fs::read(&out).unwrap(), b"http h /file\n");
}

#[test]
fn a_missing_unix_socket_is_exit_7_naming_it() {
    let dir = scratch();
    let path = dir.path().join("none.sock").display().to_string();
    let run = rawget(&["--unix-socket", &path, "http://h/"]);
    assert_eq!(run.code, 7, "{}", run.stderr);
    assert_eq!(
        run.error_line(),
        format!(
            "rawget: error: could not connect to unix socket {path}: No such file or directory\n"
        )
    );
}

#[test]
fn a_unix_socket_wins_over_the_proxy_environment() {
    let nginx = RealServer::nginx_unix();
    let dir = scratch();
    let run = rawget_with(
        dir.path(),
        &[("http_proxy", "http://127.0.0.1:9")],
        &[
            "-s",
            "--unix-socket",
            &sock(&nginx, "plain.sock"),
            "http://h/",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout_str(), "http h /\n");
}

/// `socat ABSTRACT-LISTEN:NAME,fork TCP:ADDR`, once it accepts.
fn socat_abstract(name: &str, to: std::net::SocketAddr) -> Proc {
    use std::os::linux::net::SocketAddrExt;
    require("socat");
    let proc = spawn(
        "socat",
        &[
            &format!("ABSTRACT-LISTEN:{name},fork"),
            &format!("TCP:{to}"),
        ],
    );
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect_addr(&addr).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "socat never listened on @{name}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    proc
}

#[test]
fn an_abstract_unix_socket_reaches_the_server_behind_it() {
    // The readiness probe above is one connection socat forwards too.
    let server = serve_fixture("ok.http").allow_unused();
    let name = format!("rawget-test-{}", std::process::id());
    let _socat = socat_abstract(&name, server.addr());
    let run = rawget(&[
        "-s",
        "--abstract-unix-socket",
        &name,
        "http://abstract.test/a",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, body_of(&fixture("ok.http")));
    let req = server
        .wait_requests(1)
        .into_iter()
        .find(|r| r.starts_with("GET /a "))
        .expect("the request through the socket");
    assert!(req.contains("Host: abstract.test\r\n"), "{req}");
}

#[test]
fn rawget_send_over_a_unix_socket() {
    let nginx = RealServer::nginx_unix();
    let request = b"GET /sent HTTP/1.1\r\nHost: by-hand.test\r\n\r\n";
    let dir = scratch();
    let run = rawget_input(
        &[
            "send",
            "--output-dir",
            &dir.path().display().to_string(),
            "--unix-socket",
            &sock(&nginx, "plain.sock"),
            "http://ignored.test/",
        ],
        request,
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, nginx.logs());
    assert!(
        run.stdout_str().starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        run.stdout_str()
    );
    // The bytes went as written: nginx saw the request's own Host.
    let body = std::fs::read(dir.path().join("response-1.body")).unwrap();
    assert_eq!(body, b"http by-hand.test /sent\n");
}
