//! `echo-server --udp` and `echo-client --udp` (issue 17), through the
//! binary on 127.0.0.1: datagrams kept whole, many peers, the per-echo
//! timeout, socat as the other side, and the bench's loss, reordering,
//! duplication and corruption counts made exact by a relay in the test.
//!
//! Every socket has a read timeout and every loop a bound in count and time.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// A UDP socket on 127.0.0.1 talking to `to`, with a read timeout.
fn udp_to(to: SocketAddr) -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.connect(to).unwrap();
    s.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    s
}

/// `len` bytes that differ by peer and position.
fn payload(peer: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + peer * 7) as u8).collect()
}

// ---------------------------------------------------------------- server

#[test]
fn udp_server_echoes_every_datagram_whole_to_many_peers() {
    let server = Daemon::echo(&["--udp"]);
    let peers: Vec<UdpSocket> = (0..20).map(|_| udp_to(server.addr)).collect();
    let sizes = [1usize, 100, 1472, 9000, 65_507];
    let mut buf = vec![0u8; 70_000];
    let mut echo = |p: usize, s: &UdpSocket, size: usize| {
        let n = s.recv(&mut buf).unwrap();
        assert_eq!(n, size, "peer {p}: datagram of {size} came back as {n}");
        assert_eq!(buf[..n], payload(p, size)[..], "peer {p}, size {size}");
    };
    // Every peer sends its small datagrams before any echo is read: the
    // server serves them interleaved, and none may be split or merged.
    // (Small, so that the burst fits the socket buffers: UDP may drop.)
    for (p, s) in peers.iter().enumerate() {
        for &size in &sizes[..2] {
            s.send(&payload(p, size)).unwrap();
        }
    }
    for (p, s) in peers.iter().enumerate() {
        for &size in &sizes[..2] {
            echo(p, s, size);
        }
    }
    // Larger ones two at a time: one Ethernet frame's worth, and more.
    for (p, s) in peers.iter().enumerate() {
        for &size in &sizes[2..4] {
            s.send(&payload(p, size)).unwrap();
        }
        for &size in &sizes[2..4] {
            echo(p, s, size);
        }
    }
    // The largest IPv4 UDP payload, alone.
    let big = payload(0, sizes[4]);
    peers[0].send(&big).unwrap();
    let n = peers[0].recv(&mut buf).unwrap();
    assert_eq!(n, big.len());
    assert_eq!(buf[..n], big[..]);

    let total: usize = 20 * sizes[..4].iter().sum::<usize>() + sizes[4];
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    assert_eq!(
        summary,
        format!("SIGTERM: 81 datagrams echoed, {total} bytes echoed, 20 peers\n")
    );
}

#[test]
fn udp_server_logs_each_peer_once_and_sigint_prints_the_summary() {
    let server = Daemon::echo(&["--udp", "-v"]);
    let a = udp_to(server.addr);
    let b = udp_to(server.addr);
    let mut buf = [0u8; 64];
    for i in 0..10 {
        for s in [&a, &b] {
            s.send(format!("{i}").as_bytes()).unwrap();
            s.recv(&mut buf).unwrap();
        }
    }
    let log = server.stderr();
    for s in [&a, &b] {
        let me = s.local_addr().unwrap();
        let lines = log.lines().filter(|l| l.contains(&me.to_string())).count();
        assert_eq!(lines, 1, "one line for {me}:\n{log}");
        assert!(
            log.contains(&format!("peer {me}: first datagram, 1 bytes")),
            "{log}"
        );
    }
    let (status, summary) = server.stop(libc::SIGINT);
    assert!(status.success());
    assert_eq!(
        summary,
        "SIGINT: 20 datagrams echoed, 20 bytes echoed, 2 peers\n"
    );
}

#[test]
fn stream_only_flags_are_refused_with_udp() {
    for flag in [
        &["--max-connections", "2"][..],
        &["--idle-timeout", "1"],
        &["--max-lifetime", "1"],
    ] {
        let out = output(
            std::process::Command::new(BIN)
                .args(["echo-server", "--udp", "--listen", "127.0.0.1:0"])
                .args(flag),
            b"",
        );
        assert_eq!(out.status.code(), Some(2), "{flag:?}: {out:?}");
    }
    // The bench's header is 24 bytes, so smaller datagrams are refused.
    let out = client(&["--udp", "127.0.0.1:9", "--bench", "--size", "23"], b"");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("--size must be 24"));
}

// ---------------------------------------------------------------- client

#[test]
fn udp_client_message_and_stdin_modes() {
    let server = Daemon::echo(&["--udp"]);
    let out = client(
        &[
            "--udp",
            &server.addr(),
            "--message",
            "one",
            "--message",
            "two",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"one\ntwo\n");
    // One datagram per line; a last line without newline and any bytes pass.
    let input = b"alpha\n\xff\x00bytes\r\nlast";
    let out = client(&["--udp", &server.addr()], input);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, input);
    let (_, summary) = server.stop(libc::SIGTERM);
    assert!(summary.contains("5 datagrams echoed"), "{summary}");
}

#[test]
fn udp_client_gives_up_after_the_timeout_with_one_line() {
    // A peer that takes datagrams and never answers.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let start = Instant::now();
    let out = client(
        &["--udp", &addr, "--message", "hello", "--timeout", "0.3"],
        b"",
    );
    assert_eq!(out.status.code(), Some(28), "{out:?}");
    let line = one_error_line(&out.stderr);
    assert_eq!(
        line,
        format!("rawget: error: no echo of message 1 from {addr} within 0.3 s\n")
    );
    assert!(start.elapsed() < LIMIT);
    // The default is 1 s, in the stdin mode too.
    let out = client(&["--udp", &addr], b"a line\n");
    assert_eq!(out.status.code(), Some(28), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("no echo of line 1 from"));
    assert!(one_error_line(&out.stderr).contains("within 1 s"));
}

#[test]
fn udp_client_with_nothing_listening_exits_7() {
    // Bound and released: the kernel answers with ICMP port unreachable.
    let port = free_udp_port();
    let addr = format!("127.0.0.1:{port}");
    let out = client(&["--udp", &addr, "--message", "x"], b"");
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("Connection refused"));
    let out = client(&["--udp", &addr, "--bench", "--messages", "3"], b"");
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    one_error_line(&out.stderr);
}

#[test]
fn udp_client_fails_on_a_wrong_echo() {
    let liar = UdpSocket::bind("127.0.0.1:0").unwrap();
    liar.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let addr = liar.local_addr().unwrap().to_string();
    let t = thread::spawn(move || {
        let mut buf = [0u8; 64];
        if let Ok((n, from)) = liar.recv_from(&mut buf) {
            buf[0] ^= 0x20;
            let _ = liar.send_to(&buf[..n], from);
        }
    });
    let out = client(&["--udp", &addr, "--message", "hello"], b"");
    assert_eq!(out.status.code(), Some(8), "{out:?}");
    assert!(one_error_line(&out.stderr).contains("sent \"hello\", got \"Hello\""));
    t.join().unwrap();
}

// ---------------------------------------------------------------- peers

/// `socat UDP-LISTEN:PORT,fork,bind=127.0.0.1 PIPE`, answering.
fn socat_udp_server() -> (Proc, SocketAddr) {
    require("socat");
    let port = free_udp_port();
    let proc = spawn(
        "socat",
        &[
            &format!("UDP-LISTEN:{port},fork,bind=127.0.0.1,reuseaddr"),
            "PIPE",
        ],
    );
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    wait_udp_echo(addr);
    (proc, addr)
}

#[test]
fn rawget_udp_client_against_socat() {
    let (_socat, addr) = socat_udp_server();
    let addr = addr.to_string();
    let out = client(&["--udp", &addr, "--message", "via socat"], b"");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"via socat\n");
    let out = client(&["--udp", &addr], b"1\n22\n333\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"1\n22\n333\n");
    let out = client(
        &[
            "--udp",
            &addr,
            "--bench",
            "--connections",
            "4",
            "--messages",
            "200",
            "--json",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let json = String::from_utf8(out.stdout).unwrap();
    assert_eq!(json_field(&json, "peers"), "4");
    assert_eq!(json_field(&json, "sent"), "800");
    // Loopback loses nothing at ping-pong pace.
    assert_eq!(json_field(&json, "lost"), "0", "{json}");
    assert_eq!(json_field(&json, "corrupted"), "0", "{json}");
}

#[test]
fn socat_client_against_rawget_udp_server() {
    require("socat");
    let server = Daemon::echo(&["--udp"]);
    // socat sends each read of stdin as a datagram and prints what comes
    // back; -t: after end of input, wait that long for the echo, then exit.
    let out = run_with_stdin(
        "socat",
        &["-t", "2", "-", &format!("UDP:{}", server.addr)],
        b"hello from socat\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello from socat\n");
    let (_, summary) = server.stop(libc::SIGTERM);
    assert!(
        summary.contains("1 datagrams echoed, 17 bytes echoed, 1 peers"),
        "{summary}"
    );
}

// ---------------------------------------------------------------- bench

/// What the relay does to the client's datagrams, by sequence number (the
/// first 8 bytes, little-endian; the warm-up's is `u64::MAX`).
fn relay_plan(seq: u64) -> &'static str {
    match seq {
        u64::MAX => "pass",
        s if s % 10 == 9 => "drop",
        5 => "hold",
        20 => "duplicate",
        30 => "corrupt",
        _ => "pass",
    }
}

/// A UDP relay on 127.0.0.1 between the bench and `server`: client to
/// server datagrams follow [`relay_plan`] (datagram 5 is held until 6 has
/// gone, then sent); echoes go back untouched. Stops when `stop` is set or
/// after [`LIMIT`].
fn relay(server: SocketAddr, stop: Arc<AtomicBool>) -> SocketAddr {
    let front = UdpSocket::bind("127.0.0.1:0").unwrap();
    let back = udp_to(server);
    let addr = front.local_addr().unwrap();
    for s in [&front, &back] {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    }
    thread::spawn(move || {
        let start = Instant::now();
        let mut client: Option<SocketAddr> = None;
        let mut held: Option<Vec<u8>> = None;
        let mut buf = vec![0u8; 70_000];
        while !stop.load(Ordering::Relaxed) && start.elapsed() < LIMIT {
            if let Ok((n, from)) = front.recv_from(&mut buf) {
                client = Some(from);
                let d = &mut buf[..n];
                let seq = u64::from_le_bytes(d[..8].try_into().unwrap());
                match relay_plan(seq) {
                    "drop" => {}
                    "hold" => held = Some(d.to_vec()),
                    "duplicate" => {
                        let _ = back.send(d);
                        let _ = back.send(d);
                    }
                    "corrupt" => {
                        d[40] ^= 0x01;
                        let _ = back.send(d);
                    }
                    _ => {
                        let _ = back.send(d);
                        if seq == 6 {
                            if let Some(h) = held.take() {
                                let _ = back.send(&h);
                            }
                        }
                    }
                }
            }
            if let Ok(n) = back.recv(&mut buf) {
                if let Some(c) = client {
                    let _ = front.send_to(&buf[..n], c);
                }
            }
        }
    });
    addr
}

/// The bench through the relay, in one of its modes; returns the JSON.
fn bench_through_relay(mode: &[&str]) -> String {
    let server = Daemon::echo(&["--udp"]);
    let stop = Arc::new(AtomicBool::new(false));
    let front = relay(server.addr, stop.clone());
    let mut args = vec![
        "--udp",
        "--bench",
        "--connections",
        "1",
        "--messages",
        "100",
        "--size",
        "64",
        "--json",
    ];
    let front = front.to_string();
    args.insert(0, &front);
    args.extend_from_slice(mode);
    let out = client(&args, b"");
    stop.store(true, Ordering::Relaxed);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// 100 datagrams: 10 dropped (9, 19, …, 99), 30 corrupted (so lost too),
/// 20 duplicated, 5 overtaken by 6.
fn assert_relay_counts(json: &str) {
    for (key, want) in [
        ("sent", "100"),
        ("echoed", "89"),
        ("lost", "11"),
        ("loss_percent", "11.000"),
        ("reordered", "1"),
        ("duplicated", "1"),
        ("corrupted", "1"),
    ] {
        assert_eq!(json_field(json, key), want, "{key} in {json}");
    }
}

#[test]
fn paced_bench_counts_what_the_relay_did_exactly() {
    let json = bench_through_relay(&["--rate", "500", "--timeout", "0.5"]);
    assert_relay_counts(&json);
    assert_eq!(json_field(&json, "rate"), "500");
}

#[test]
fn ping_pong_bench_counts_what_the_relay_did_exactly() {
    // Each dropped datagram costs one timeout, so keep it short.
    let json = bench_through_relay(&["--timeout", "0.2"]);
    assert_relay_counts(&json);
    assert_eq!(json_field(&json, "rate"), "null");
}

#[test]
fn rate_paces_the_sending() {
    let server = Daemon::echo(&["--udp"]);
    // 40 datagrams at 100 per second cannot be sent in under 0.39 s.
    let out = client(
        &[
            &server.addr(),
            "--udp",
            "--bench",
            "--messages",
            "40",
            "--rate",
            "100",
        ],
        b"",
    );
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} missing in\n{text}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("rate"), "100/s per peer");
    assert_eq!(field("sent"), "40");
    assert_eq!(field("lost"), "0 (0.000%)");
    let seconds: f64 = field("seconds").parse().unwrap();
    assert!(seconds >= 0.385, "40 datagrams at 100/s took {seconds} s");
    for p in ["p50", "p90", "p99", "max"] {
        assert!(field(&format!("latency {p}")).ends_with(" us"));
    }
}
