//! `echo-server --max-lifetime` (issue 17): a client that trickles a byte
//! at a time keeps resetting `--idle-timeout`, and with `--max-connections`
//! such clients could hold every slot for ever; the lifetime closes a
//! connection however busy it is.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// Whether the server closed `s` (end of file or reset).
fn is_closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 16];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

/// Sends a byte every 200 ms and reads its echo, until the server closes
/// the connection; returns how long it stayed open. Bounded by `LIMIT`.
fn trickle_until_closed(s: &mut TcpStream) -> Duration {
    let start = Instant::now();
    let mut byte = [0u8; 1];
    while start.elapsed() < LIMIT {
        if s.write_all(b"x").is_err() {
            return start.elapsed();
        }
        match s.read(&mut byte) {
            Ok(1) => assert_eq!(&byte, b"x"),
            Ok(_) | Err(_) => return start.elapsed(),
        }
        thread::sleep(Duration::from_millis(200));
    }
    panic!("the trickling client was never closed");
}

#[test]
fn max_lifetime_closes_a_trickling_client_and_frees_its_slot() {
    // The trickle (every 200 ms) is well inside the idle timeout (0.6 s),
    // so only the lifetime (1.5 s) can close it.
    let server = Daemon::echo(&[
        "--max-lifetime",
        "1.5",
        "--idle-timeout",
        "0.6",
        "--max-connections",
        "1",
        "-v",
    ]);
    let mut slow = connect(server.addr);
    let mut byte = [0u8; 1];
    slow.write_all(b"x").unwrap();
    slow.read_exact(&mut byte).unwrap();
    // While it holds the only slot, a second client is refused.
    let mut second = connect(server.addr);
    assert!(is_closed(&mut second), "a second client was served");

    let lived = trickle_until_closed(&mut slow);
    assert!(
        lived >= Duration::from_millis(1000),
        "closed after {lived:?}"
    );
    let log = server.wait_log("the lifetime close", |l| l.contains("max lifetime"));
    assert!(log.contains("refused 127.0.0.1:"), "{log}");

    // Now a new client gets the slot (the server notices the close
    // asynchronously, so try a bounded number of times).
    let mut served = false;
    for _ in 0..200 {
        let mut c = connect(server.addr);
        if c.write_all(b"y").is_ok() && matches!(c.read(&mut byte), Ok(1)) {
            assert_eq!(&byte, b"y");
            served = true;
            break;
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(served, "no client served after the lifetime close");
}

#[test]
fn max_lifetime_must_be_positive() {
    for bad in ["0", "-1", "nan"] {
        let out = output(
            std::process::Command::new(BIN).args([
                "echo-server",
                "--listen",
                "127.0.0.1:0",
                "--max-lifetime",
                bad,
            ]),
            b"",
        );
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
    }
}
