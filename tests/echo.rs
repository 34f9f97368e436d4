//! Integration tests for `rawget echo-server` and `rawget echo-client`,
//! through the real binary on loopback.
//!
//! Every server is started with `--listen 127.0.0.1:0` and found through its
//! `listening on` line; a guard kills it when the test ends, pass or fail.
//! Every socket has read and write timeouts and every child wait is bounded,
//! so a bug fails a test instead of hanging the suite.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use crate::support::*;

/// Whether the server closed `s` (EOF or reset) rather than echoing.
fn is_closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 16];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(n) => panic!("unexpected {n} bytes"),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => true,
        Err(e) => panic!("read failed: {e}"),
    }
}

/// `rawget echo-client ARGS…` with `stdin`.
fn client(args: &[&str], stdin: &[u8]) -> Run {
    rawget_input(&[&["echo-client"], args].concat(), stdin)
}

/// A stand-in server on a free port: `serve` handles the first connection.
fn fake_server(serve: impl FnOnce(TcpStream) + Send + 'static) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            serve(s);
        }
    });
    addr
}

// ---------------------------------------------------------------- server

#[test]
fn prints_listening_line_and_echoes() {
    let server = Daemon::echo(&[]);
    let mut s = connect(server.addr);
    assert_eq!(round_trip(&mut s, b"ping\x00\xff"), b"ping\x00\xff");
}

#[test]
fn thousand_concurrent_clients_each_get_their_own_bytes() {
    let server = Daemon::echo(&[]);
    rawget::echo::raise_nofile_limit();
    // All 1,000 are open at once before any is used, so the server must
    // hold them concurrently; the writes are interleaved across clients.
    let mut socks: Vec<TcpStream> = (0..1000).map(|_| connect(server.addr)).collect();
    let msg = |i: usize, round: usize| format!("client {i} round {round} {}\n", "x".repeat(i % 97));
    for round in 0..2 {
        for (i, s) in socks.iter_mut().enumerate() {
            s.write_all(msg(i, round).as_bytes()).unwrap();
        }
        for (i, s) in socks.iter_mut().enumerate() {
            let want = msg(i, round);
            let mut back = vec![0; want.len()];
            s.read_exact(&mut back).unwrap();
            assert_eq!(back, want.as_bytes(), "client {i}");
        }
    }
    drop(socks);
    let (status, out) = server.stop(libc::SIGTERM);
    assert!(status.success());
    assert!(out.contains("1000 connections served"), "{out}");
    assert!(out.contains("peak 1000 concurrent"), "{out}");
}

#[test]
fn non_reading_client_is_not_buffered_and_others_are_served() {
    let server = Daemon::echo(&[]);
    let addr = server.addr;
    // The stuck client writes up to 64 MiB and never reads. Its writes stop
    // once the kernel buffers on both sides are full, because the server
    // stops reading from it.
    let stuck = thread::spawn(move || {
        let mut s = connect(addr);
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        let chunk = vec![0x5a; 256 * 1024];
        let mut written = 0usize;
        while written < 64 << 20 {
            match s.write(&chunk) {
                Ok(n) => written += n,
                Err(_) => break, // the write timed out: the server stopped reading
            }
        }
        (s, written)
    });
    // Meanwhile other clients are served.
    for i in 0..20 {
        let mut s = connect(addr);
        let msg = format!("still served {i}");
        assert_eq!(round_trip(&mut s, msg.as_bytes()), msg.as_bytes());
        thread::sleep(Duration::from_millis(25));
    }
    let (stuck_sock, written) = stuck.join().unwrap();
    assert!(
        written < 64 << 20,
        "the server kept reading a client that never reads ({written} bytes)"
    );
    let rss = server.rss_kib();
    eprintln!("stuck client wrote {written} bytes; server RSS {rss} KiB");
    assert!(rss < 64 * 1024, "server RSS {rss} KiB with a stuck client");
    // And still served with the stuck client connected.
    let mut s = connect(addr);
    assert_eq!(round_trip(&mut s, b"after"), b"after");
    drop(stuck_sock);
}

#[test]
fn idle_timeout_closes_silent_client_only() {
    let server = Daemon::echo(&["--idle-timeout", "1", "-v"]);
    let mut silent = connect(server.addr);
    assert_eq!(round_trip(&mut silent, b"hi"), b"hi");
    // A client that keeps talking more often than the timeout, for longer
    // than the timeout in total, stays open.
    let mut talker = connect(server.addr);
    for i in 0..15 {
        let m = format!("{i}");
        assert_eq!(round_trip(&mut talker, m.as_bytes()), m.as_bytes());
        thread::sleep(Duration::from_millis(100));
    }
    // The silent one is closed (read timeout is 10 s, so a missing close
    // fails rather than hangs).
    assert!(is_closed(&mut silent));
    assert_eq!(round_trip(&mut talker, b"alive"), b"alive");
    let err = server.stderr();
    assert!(err.contains("idle timeout"), "{err}");
}

#[test]
fn max_connections_refuses_the_excess() {
    let server = Daemon::echo(&["--max-connections", "2", "-v"]);
    let mut a = connect(server.addr);
    let mut b = connect(server.addr);
    assert_eq!(round_trip(&mut a, b"a"), b"a");
    assert_eq!(round_trip(&mut b, b"b"), b"b");
    let mut c = connect(server.addr);
    assert!(is_closed(&mut c), "a third client was served");
    let err = server.stderr();
    assert!(err.contains("refused 127.0.0.1:"), "{err}");
    assert!(err.contains("--max-connections 2"), "{err}");
    // Once one closes, a new client gets in (the server notices the close
    // asynchronously, so try a bounded number of times).
    drop(a);
    let mut served = false;
    for _ in 0..200 {
        let mut d = connect(server.addr);
        if d.write_all(b"d").is_ok() {
            let mut back = [0u8; 1];
            if matches!(d.read(&mut back), Ok(1)) {
                assert_eq!(&back, b"d");
                served = true;
                break;
            }
        }
        thread::sleep(Duration::from_millis(10));
    }
    assert!(served, "no client admitted after one closed");
    assert_eq!(round_trip(&mut b, b"b2"), b"b2");
    let (status, out) = server.stop(libc::SIGTERM);
    assert!(status.success());
    assert!(!out.contains(" 0 refused"), "{out}");
}

#[test]
fn sigterm_closes_connections_and_prints_summary() {
    let server = Daemon::echo(&["-v"]);
    let mut s = connect(server.addr);
    assert_eq!(round_trip(&mut s, b"12345"), b"12345");
    let mut idle = connect(server.addr);
    // Make sure the server has accepted the second one before the signal.
    assert_eq!(round_trip(&mut idle, b"678"), b"678");
    let (status, out) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    assert_eq!(
        out,
        "SIGTERM: 2 connections served, peak 2 concurrent, 0 refused, 8 bytes echoed\n"
    );
    assert!(is_closed(&mut s));
    assert!(is_closed(&mut idle));
}

#[test]
fn sigint_also_prints_summary() {
    let server = Daemon::echo(&[]);
    let (status, out) = server.stop(libc::SIGINT);
    assert!(status.success(), "{status:?}");
    assert_eq!(
        out,
        "SIGINT: 0 connections served, peak 0 concurrent, 0 refused, 0 bytes echoed\n"
    );
}

#[test]
fn verbose_logs_open_and_close_with_byte_counts() {
    let server = Daemon::echo(&["-v"]);
    let mut s = connect(server.addr);
    let local = s.local_addr().unwrap();
    assert_eq!(round_trip(&mut s, b"0123456789"), b"0123456789");
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert!(is_closed(&mut s));
    let (status, _, err) = server.stop_with_stderr(libc::SIGTERM);
    assert!(status.success());
    assert!(err.contains(&format!("open {local} (1 open)")), "{err}");
    assert!(
        err.contains(&format!("close {local}: 10 bytes in, 10 bytes out, "))
            && err.contains("closed by client"),
        "{err}"
    );
}

#[test]
fn bind_failure_is_one_line_naming_the_address() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = rawget(&["echo-server", "--listen", &addr]);
    assert_eq!(out.code, 7);
    let line = out.error_line();
    assert_eq!(
        line,
        format!("rawget: error: could not listen on {addr}: Address already in use\n")
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_listen_address_is_a_usage_error() {
    let out = rawget(&["echo-server", "--listen", "not-an-address"]);
    assert_eq!(out.code, 2);
    assert!(out.error_line().contains("not-an-address"));
}

// ---------------------------------------------------------------- client

#[test]
fn message_mode_prints_each_echo() {
    let server = Daemon::echo(&[]);
    let out = client(
        &[&server.addr(), "--message", "hello", "--message", "wörld"],
        b"",
    );
    assert!(out.code == 0, "{out:?}");
    assert_eq!(out.stdout, "hello\nwörld\n".as_bytes());
    assert!(out.stderr.is_empty());
}

#[test]
fn message_mode_fails_when_the_server_closes_early() {
    let addr = fake_server(|mut s| {
        let mut b = [0u8; 6];
        let _ = s.read_exact(&mut b);
        // Echo one byte, then close (cleanly: everything was read).
        let _ = s.write_all(&b[..1]);
    });
    let out = client(&[&addr.to_string(), "--message", "abcdef"], b"");
    assert_eq!(out.code, 56, "{out:?}");
    let line = out.error_line();
    assert!(
        line.contains("closed the connection after 1 of 6"),
        "{line}"
    );
}

#[test]
fn message_mode_fails_when_the_echo_differs() {
    let addr = fake_server(|mut s| {
        let mut b = [0u8; 5];
        if s.read_exact(&mut b).is_ok() {
            b.make_ascii_uppercase();
            let _ = s.write_all(&b);
        }
        thread::sleep(Duration::from_millis(500));
    });
    let out = client(&[&addr.to_string(), "--message", "hello"], b"");
    assert_eq!(out.code, 8, "{out:?}");
    assert_eq!(out.stdout, b"HELLO\n");
    let line = out.error_line();
    assert!(line.contains(r#"sent "hello", got "HELLO""#), "{line}");
}

#[test]
fn stdin_mode_passes_any_bytes_through() {
    let server = Daemon::echo(&[]);
    let input: &[u8] =
        b"first line\n\xff\xfe not utf-8 \x80\n\x00nul\r\n\nlast line without newline";
    let out = client(&[&server.addr()], input);
    assert!(out.code == 0, "{out:?}");
    assert_eq!(out.stdout, input);
    assert!(out.stderr.is_empty());
}

#[test]
fn stdin_mode_with_large_input_and_empty_input() {
    let server = Daemon::echo(&[]);
    let mut input = Vec::new();
    for i in 0..100_000u32 {
        input.extend_from_slice(format!("line {i} {}\n", i % 13).as_bytes());
    }
    input.extend_from_slice(&[0xffu8; 70_000]); // a long last line, no newline
    let out = client(&[&server.addr()], &input);
    assert!(out.code == 0, "{:?}", out.stderr);
    assert!(out.stdout == input, "echo differs from input");

    let out = client(&[&server.addr()], b"");
    assert!(out.code == 0, "{out:?}");
    assert!(out.stdout.is_empty());
}

#[test]
fn stdin_mode_fails_when_the_server_closes_early() {
    let addr = fake_server(|mut s| {
        let mut b = [0u8; 4];
        let _ = s.read_exact(&mut b);
        let _ = s.write_all(&b);
        // then close with the rest unechoed
    });
    let out = client(&[&addr.to_string()], b"abc\ndef\nghi\n");
    assert_eq!(out.code, 56, "{out:?}");
    out.error_line();
}

#[test]
fn client_against_a_closed_port_exits_7() {
    let addr = closed_addr().to_string();
    let out = client(&[&addr, "--message", "x"], b"");
    assert_eq!(out.code, 7, "{out:?}");
    let line = out.error_line();
    assert_eq!(
        line,
        format!("rawget: error: could not connect to {addr}: Connection refused\n")
    );
    // The stdin mode and the bench say the same.
    let out = client(&[&addr], b"x\n");
    assert_eq!(out.code, 7);
    out.error_line();
    let out = client(&[&addr, "--bench", "--messages", "1"], b"");
    assert_eq!(out.code, 7);
    out.error_line();
}

// ---------------------------------------------------------------- bench

#[test]
fn bench_reports_every_figure() {
    let server = Daemon::echo(&[]);
    let out = client(
        &[
            &server.addr(),
            "--bench",
            "--connections",
            "4",
            "--messages",
            "250",
            "--size",
            "100",
        ],
        b"",
    );
    assert!(out.code == 0, "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("connections"), "4");
    assert_eq!(field("messages "), "1000");
    assert_eq!(field("size"), "100 B");
    assert!(field("messages/s").parse::<f64>().unwrap() > 0.0);
    assert!(field("MiB/s").parse::<f64>().unwrap() > 0.0);
    for p in ["p50", "p90", "p99", "max"] {
        let v = field(&format!("latency {p}"));
        let us: f64 = v.strip_suffix(" us").unwrap().parse().unwrap();
        assert!(us > 0.0, "{p} = {v}");
    }
    let (_, summary) = server.stop(libc::SIGTERM);
    assert!(
        // 4 x 250 messages of 100 bytes, plus each connection's warm-up echo.
        summary.contains("4 connections served") && summary.contains("100400 bytes echoed"),
        "{summary}"
    );
}

#[test]
fn bench_json_has_the_fields() {
    let server = Daemon::echo(&[]);
    let out = client(
        &[
            &server.addr(),
            "--bench",
            "--connections",
            "3",
            "--duration",
            "0.3",
            "--json",
        ],
        b"",
    );
    assert!(out.code == 0, "{out:?}");
    let json = String::from_utf8(out.stdout).unwrap();
    let json = json.trim_end();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert_eq!(json.lines().count(), 1);
    assert_eq!(json.matches('{').count(), json.matches('}').count());
    for key in [
        "\"connections\":3,",
        "\"size\":64,",
        "\"messages\":",
        "\"seconds\":",
        "\"messages_per_sec\":",
        "\"mib_per_sec\":",
        "\"latency_us\":{\"p50\":",
        "\"p90\":",
        "\"p99\":",
        "\"max\":",
    ] {
        assert!(json.contains(key), "{key} missing in {json}");
    }
}

#[test]
fn bench_fails_on_a_corrupted_echo() {
    // Echoes faithfully, except one byte of the third message.
    let addr = fake_server(|mut s| {
        let mut buf = [0u8; 32];
        for i in 0..3 {
            if s.read_exact(&mut buf).is_err() {
                return;
            }
            if i == 2 {
                buf[20] ^= 1;
            }
            if s.write_all(&buf).is_err() {
                return;
            }
        }
        thread::sleep(Duration::from_millis(500));
    });
    let out = client(
        &[
            &addr.to_string(),
            "--bench",
            "--messages",
            "10",
            "--size",
            "32",
        ],
        b"",
    );
    assert_eq!(out.code, 8, "{out:?}");
    let line = out.error_line();
    assert!(line.contains("message 3 differs at byte 20"), "{line}");
}

#[test]
fn bench_fails_when_the_server_closes_early() {
    let addr = fake_server(|mut s| {
        let mut buf = [0u8; 64];
        let _ = s.read_exact(&mut buf);
        let _ = s.write_all(&buf);
    });
    let out = client(&[&addr.to_string(), "--bench", "--messages", "5"], b"");
    assert_eq!(out.code, 56, "{out:?}");
    out.error_line();
}

#[test]
fn bench_hold_keeps_connections_open_after_the_report() {
    let server = Daemon::echo(&["-v"]);
    let mut bench = Command::new(BIN)
        .args(["echo-client", &server.addr(), "--bench"])
        .args(["--connections", "5", "--messages", "3", "--hold", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let out = bench.stdout.take().unwrap();
    let bench = Kill(bench);
    // The report comes first (5 connections x 3 messages)...
    let mut lines = BufReader::new(out).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first, "connections  5");
    let second = lines.next().unwrap().unwrap();
    assert_eq!(second, "messages     15");
    // ...and the connections are still open while the client holds them:
    // the server closes all five itself at shutdown.
    let (status, summary, err) = server.stop_with_stderr(libc::SIGTERM);
    assert!(status.success());
    assert!(summary.contains("peak 5 concurrent"), "{summary}");
    assert_eq!(err.matches("server shutdown").count(), 5, "{err}");
    drop(bench);
}

#[test]
fn bench_fails_when_the_server_sends_extra_bytes() {
    let addr = fake_server(|mut s| {
        let mut buf = [0u8; 16];
        if s.read_exact(&mut buf).is_ok() {
            // The echo plus one byte nobody sent, in one segment.
            let mut more = buf.to_vec();
            more.push(b'!');
            let _ = s.write_all(&more);
        }
        thread::sleep(Duration::from_millis(500));
    });
    let out = client(
        &[
            &addr.to_string(),
            "--bench",
            "--messages",
            "5",
            "--size",
            "16",
        ],
        b"",
    );
    assert_eq!(out.code, 8, "{out:?}");
    out.error_line();
}
