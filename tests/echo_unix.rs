//! `echo-server --unix PATH` and `echo-client --unix PATH` (issue 17):
//! the stream echo over a Unix domain socket in a temporary directory.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::time::{Duration, Instant};

use crate::support::*;

fn unix_connect(path: &std::path::Path) -> UnixStream {
    let s = UnixStream::connect(path).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

#[test]
fn unix_socket_echo_in_every_mode() {
    let dir = scratch();
    let path = dir.path().join("echo.sock");
    let p = path.to_str().unwrap();
    let server = AnyServer::start(&["--unix", p, "-v"]);
    assert_eq!(server.listening, p);

    let mut s = unix_connect(&path);
    s.write_all(b"raw\x00bytes").unwrap();
    let mut back = [0u8; 9];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"raw\x00bytes");
    drop(s);

    let out = client(&["--unix", p, "--message", "hello"], b"");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello\n");
    let out = client(&["--unix", p], b"one\ntwo\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"one\ntwo\n");
    let out = client(
        &[
            "--unix",
            p,
            "--bench",
            "--connections",
            "3",
            "--messages",
            "50",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("messages     150"));

    let log = server.stderr();
    assert!(log.contains("open unix#1 pid "), "{log}");
    let (ok, summary) = server.stop(libc::SIGTERM);
    assert!(ok);
    // 9 + 5 + 8 bytes, and 3 x 51 bench messages of 64 bytes.
    assert_eq!(
        summary,
        format!(
            "SIGTERM: 6 connections served, peak 3 concurrent, 0 refused, {} bytes echoed\n",
            9 + 5 + 8 + 3 * 51 * 64
        )
    );
    assert!(!path.exists(), "the socket file is left behind");
}

#[test]
fn a_stale_socket_file_is_replaced_and_a_live_one_refused() {
    let dir = scratch();
    let path = dir.path().join("echo.sock");
    let p = path.to_str().unwrap();
    // A server that died without cleaning up leaves its socket file.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let server = AnyServer::start(&["--unix", p]);
    let out = client(&["--unix", p, "--message", "again"], b"");
    assert!(out.status.success(), "{out:?}");
    // A second server on the live socket: "in use", exit 7, as for a port.
    let out = output(
        std::process::Command::new(BIN).args(["echo-server", "--unix", p]),
        b"",
    );
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("Address already in use"));
    // ...and the live server still serves (its file was not removed).
    let out = client(&["--unix", p, "--message", "still"], b"");
    assert!(out.status.success(), "{out:?}");
    drop(server);
    // A regular file is never replaced.
    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, b"keep me").unwrap();
    let out = output(
        std::process::Command::new(BIN).args(["echo-server", "--unix", file.to_str().unwrap()]),
        b"",
    );
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}

#[test]
fn unix_client_with_no_server_exits_7() {
    let dir = scratch();
    let p = dir.path().join("nobody.sock");
    let out = client(&["--unix", p.to_str().unwrap(), "--message", "x"], b"");
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("could not connect to"));
}

#[test]
fn max_lifetime_applies_to_unix_connections_too() {
    let dir = scratch();
    let path = dir.path().join("echo.sock");
    let server = AnyServer::start(&[
        "--unix",
        path.to_str().unwrap(),
        "--max-lifetime",
        "0.5",
        "-v",
    ]);
    let mut s = unix_connect(&path);
    let start = Instant::now();
    let mut byte = [0u8; 1];
    // Keeps talking; closed all the same.
    let closed = loop {
        assert!(start.elapsed() < LIMIT, "never closed");
        if s.write_all(b"z").is_err() {
            break start.elapsed();
        }
        match s.read(&mut byte) {
            Ok(1) => std::thread::sleep(Duration::from_millis(100)),
            _ => break start.elapsed(),
        }
    };
    assert!(
        closed >= Duration::from_millis(400),
        "closed after {closed:?}"
    );
    let log = server.stderr();
    assert!(log.contains("max lifetime"), "{log}");
}
