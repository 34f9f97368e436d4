//! `echo-server --tls` and `echo-client --tls` (issue 17), through the
//! binary on 127.0.0.1 with the test PKI in `fixtures/tls/`: the stream
//! echo inside TLS, verification and SNI on the client, ncat and socat as
//! the other side, the handshake bench, and a client that never shakes
//! hands not holding its slot.

use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::support::*;

/// `rawget echo-server --tls` with the test server certificate.
fn tls_server(extra: &[&str]) -> Daemon {
    let (cert, key) = (tls_fixture("server.pem"), tls_fixture("server.key"));
    let mut args = vec!["--tls", "--cert", &cert, "--key", &key];
    args.extend_from_slice(extra);
    Daemon::echo(&args)
}

#[test]
fn tls_echo_in_every_client_mode() {
    let server = tls_server(&[]);
    let ca = tls_fixture("ca.pem");
    let addr = server.addr();
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            &addr,
            "--message",
            "secret",
            "--message",
            "two",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"secret\ntwo\n");
    let input = b"line one\n\x00\xffbinary\nno newline";
    let out = client(&["--tls", "--cacert", &ca, &addr], input);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, input);
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            &addr,
            "--bench",
            "--connections",
            "3",
            "--messages",
            "100",
            "--size",
            "1000",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.lines().any(|l| l == "messages     300"), "{text}");
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success());
    let echoed = 9 + input.len() + 3 * 101 * 1000;
    assert_eq!(
        summary,
        format!(
            "SIGTERM: 5 connections served, peak 3 concurrent, 0 refused, {echoed} bytes echoed, \
             0 TLS handshakes failed\n"
        )
    );
}

#[test]
fn tls_client_verifies_the_server_and_sends_the_name() {
    let server = tls_server(&[]);
    let addr = server.addr();
    let ca = tls_fixture("ca.pem");
    // No --cacert: the test CA is in no system store.
    let out = client(&["--tls", &addr, "--message", "x"], b"");
    assert_eq!(out.status.code(), Some(60), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("server certificate not verified"));
    // The certificate names 127.0.0.1 and localhost, not other.example.
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            "--servername",
            "other.example",
            &addr,
            "--message",
            "x",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(60), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("hostname mismatch"));
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            "--servername",
            "localhost",
            &addr,
            "--message",
            "x",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    // -k verifies nothing.
    let out = client(&["--tls", "-k", &addr, "--message", "x"], b"");
    assert!(out.status.success(), "{out:?}");
    // A server that does not speak TLS: exit 35.
    let plain = Daemon::echo(&[]);
    let out = client(&["--tls", "-k", &plain.addr(), "--message", "x"], b"");
    assert_eq!(out.status.code(), Some(35), "{out:?}");
    one_error_line(&out.stderr);
}

#[test]
fn tls_server_files_that_cannot_be_used_exit_26() {
    let cert = tls_fixture("server.pem");
    let wrong_key = tls_fixture("ca.key");
    for (c, k) in [(&cert[..], "/nonexistent/key.pem"), (&cert, &wrong_key)] {
        let out = output(
            std::process::Command::new(BIN).args([
                "echo-server",
                "--listen",
                "127.0.0.1:0",
                "--tls",
                "--cert",
                c,
                "--key",
                k,
            ]),
            b"",
        );
        assert_eq!(out.status.code(), Some(26), "{out:?}");
        one_error_line(&out.stderr);
    }
    // --tls without a certificate is a usage error.
    let out = output(
        std::process::Command::new(BIN).args(["echo-server", "--listen", "127.0.0.1:0", "--tls"]),
        b"",
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_client_that_never_shakes_hands_does_not_hold_its_slot() {
    let server = tls_server(&["--max-connections", "1", "--idle-timeout", "0.5", "-v"]);
    let mut mute = connect(server.addr);
    // The server gives up on the handshake at the idle timeout and closes.
    let start = Instant::now();
    let mut buf = [0u8; 16];
    let closed = matches!(mute.read(&mut buf), Ok(0) | Err(_));
    assert!(closed && start.elapsed() < LIMIT);
    let log = server.wait_log("the failed handshake", |l| l.contains("close "));
    assert!(
        log.contains("TLS handshake failed: no handshake within 0.5 s"),
        "{log}"
    );
    // The slot is free again.
    let ca = tls_fixture("ca.pem");
    let mut served = false;
    for _ in 0..100 {
        let out = client(
            &["--tls", "--cacert", &ca, &server.addr(), "--message", "in"],
            b"",
        );
        if out.status.success() {
            served = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(served, "no TLS client served after the mute one was closed");
    let (_, summary) = server.stop(libc::SIGTERM);
    assert!(summary.contains("1 TLS handshakes failed"), "{summary}");
}

#[test]
fn handshake_bench_counts_handshakes() {
    let server = tls_server(&[]);
    let ca = tls_fixture("ca.pem");
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            &server.addr(),
            "--bench",
            "--handshakes",
            "--connections",
            "2",
            "--messages",
            "5",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(json_field(&json, "connections"), "2");
    assert_eq!(json_field(&json, "handshakes"), "10");
    assert!(
        json_field(&json, "handshakes_per_sec")
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    assert!(json.contains("\"latency_us\":{\"p50\":"), "{json}");
    let (_, summary) = server.stop(libc::SIGTERM);
    // The ten and the warm-up, each shaken hands with and closed cleanly.
    assert!(
        summary.contains("11 connections served") && summary.contains("0 TLS handshakes failed"),
        "{summary}"
    );
}

// ---------------------------------------------------------------- peers

#[test]
fn rawget_tls_client_against_ncat() {
    require("ncat");
    let port = free_tcp_port();
    let (cert, key) = (tls_fixture("server.pem"), tls_fixture("server.key"));
    let _ncat = spawn(
        "ncat",
        &[
            "--ssl",
            "--ssl-cert",
            &cert,
            "--ssl-key",
            &key,
            "-l",
            "127.0.0.1",
            &port.to_string(),
            "-k",
            "--exec",
            "/bin/cat",
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_tcp(addr);
    let addr = addr.to_string();
    let ca = tls_fixture("ca.pem");
    let out = client(
        &["--tls", "--cacert", &ca, &addr, "--message", "via ncat"],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"via ncat\n");
    let out = client(&["--tls", "--cacert", &ca, &addr], b"a\nbb\nccc\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"a\nbb\nccc\n");
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            &addr,
            "--bench",
            "--connections",
            "2",
            "--messages",
            "50",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let out = client(
        &[
            "--tls",
            "--cacert",
            &ca,
            &addr,
            "--bench",
            "--handshakes",
            "--messages",
            "3",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("handshakes   3"));
}

#[test]
fn ncat_and_socat_tls_clients_against_rawget() {
    require("ncat");
    require("socat");
    let server = tls_server(&[]);
    let ca = tls_fixture("ca.pem");
    let out = run_with_stdin(
        "ncat",
        &[
            "--ssl",
            "--ssl-verify",
            "--ssl-trustfile",
            &ca,
            "--ssl-servername",
            "localhost",
            "127.0.0.1",
            &server.addr.port().to_string(),
        ],
        b"hello from ncat\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello from ncat\n");
    let out = run_with_stdin(
        "socat",
        &[
            "-t",
            "5",
            "-",
            &format!("OPENSSL:127.0.0.1:{},cafile={ca}", server.addr.port()),
        ],
        b"hello from socat\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello from socat\n");
    let (_, summary) = server.stop(libc::SIGTERM);
    assert!(summary.contains("2 connections served"), "{summary}");
    assert!(
        summary.contains("33 bytes echoed, 0 TLS handshakes failed"),
        "{summary}"
    );
}
