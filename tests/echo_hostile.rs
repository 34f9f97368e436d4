//! Hostile clients against `rawget echo-server`, through the real binary on
//! 127.0.0.1: 10,000 held connections, silent clients, resets mid-stream,
//! half-closes, a connect flood past `--max-connections`, a client that
//! writes without reading, and accept at the open-file limit.
//!
//! Each test asserts behaviour: every client gets exactly its own bytes back
//! or is closed, the server stays up, keeps accepting, stays within a memory
//! bound, and says what it did with `-v`. Nothing asserts a duration. Every
//! socket has read and write timeouts, every loop a deadline, and every
//! server is killed by a guard, so a bug fails a test rather than hanging.
//! Figures worth quoting (RSS, counts) are printed with `--nocapture`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::{Duration, Instant};

use crate::support::*;

/// A number in the summary line just before `label`, e.g. `refused`.
fn summary_count(summary: &str, label: &str) -> u64 {
    let words: Vec<&str> = summary.split_whitespace().collect();
    let i = words
        .iter()
        .position(|w| w.trim_end_matches(',') == label)
        .unwrap_or_else(|| panic!("{label} in {summary:?}"));
    words[i - 1].parse().unwrap()
}

/// Raises this process's soft `RLIMIT_NOFILE` to the hard limit; `Err` when
/// that is below `want`.
fn raise_nofile(want: libc::rlim_t) -> Result<libc::rlim_t, String> {
    let got = rawget::echo::raise_nofile_limit();
    if got < want {
        return Err(format!(
            "the open-file limit is {got}, below the {want} needed"
        ));
    }
    Ok(got)
}

/// A client that connects, sends `msg` and gets it back: the server serves.
/// Retries while the server has not yet noticed earlier clients' closes (a
/// refused client sees EOF or a reset), up to `LIMIT`.
fn served_eventually(addr: SocketAddr, msg: &[u8]) -> TcpStream {
    let start = Instant::now();
    loop {
        if let Ok(mut s) = try_connect(addr) {
            let mut back = vec![0; msg.len()];
            if s.write_all(msg).is_ok() && s.read_exact(&mut back).is_ok() {
                assert_eq!(back, msg, "wrong echo");
                return s;
            }
        }
        assert!(start.elapsed() < LIMIT, "no new client served at {addr}");
        thread::sleep(Duration::from_millis(20));
    }
}

/// What the server did with a client that sent something: echoed it
/// (`true`), or closed the connection (`false`, EOF or reset).
fn echoed_or_closed(s: &mut TcpStream, msg: &[u8]) -> bool {
    let mut back = vec![0; msg.len()];
    match s.read_exact(&mut back) {
        Ok(()) => {
            assert_eq!(back, msg, "wrong echo");
            true
        }
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
            ) =>
        {
            false
        }
        Err(e) => panic!("neither echoed nor closed: {e}"),
    }
}

/// Closing `s` sends a reset rather than a FIN (`SO_LINGER` 0).
fn set_linger_zero(s: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: the fd is open for the call; setsockopt reads `l` only.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            &l as *const libc::linger as *const libc::c_void,
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
}

/// `len` bytes that identify `id` and their offset, so a misplaced or
/// foreign byte shows.
fn pattern(id: u32, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(id.wrapping_mul(7919)) as u8
        })
        .collect()
}

// ------------------------------------------------------------------ tests

/// 10,000 connections opened and held at once; each gets its own bytes
/// back; the server's memory stays bounded; a fresh client is still served.
#[test]
fn ten_thousand_connections_held() {
    const N: usize = 10_000;
    // The test process holds N client sockets and the server (which
    // inherits the hard limit and raises its soft one) N accepted ones.
    if let Err(why) = raise_nofile(N as libc::rlim_t + 300) {
        return cannot_run_here(&why);
    }
    let mut server = Daemon::echo(&[]);
    let addr = server.addr;
    let rss_before = server.rss_kib();

    let start = Instant::now();
    let mut socks = Vec::with_capacity(N);
    for i in 0..N {
        let s = try_connect(addr)
            .unwrap_or_else(|e| panic!("connection {i} of {N} to the server: {e}"));
        socks.push(s);
        assert!(start.elapsed() < 3 * LIMIT, "only {i} connected in time");
    }
    let connected = start.elapsed();
    // Every client writes before any reads, so the server holds all N
    // with data in flight; then every echo is checked.
    let msg = |i: usize| format!("c{i:05}\n");
    for (i, s) in socks.iter_mut().enumerate() {
        s.write_all(msg(i).as_bytes()).unwrap();
    }
    for (i, s) in socks.iter_mut().enumerate() {
        let want = msg(i);
        let mut back = vec![0; want.len()];
        s.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("client {i}: {e}"));
        assert_eq!(back, want.as_bytes(), "client {i} got another's bytes");
    }
    let echoed = start.elapsed();
    server.assert_alive();
    let rss_held = server.rss_kib();

    // With all N still open, a fresh client is served.
    let mut fresh = connect(addr);
    assert_eq!(round_trip(&mut fresh, b"fresh"), b"fresh");
    let hwm = server.hwm_kib();
    eprintln!(
        "{N} connections held: server RSS {rss_held} KiB (before {rss_before} KiB, \
         peak {hwm} KiB); connected in {:.2} s, all echoed by {:.2} s",
        connected.as_secs_f64(),
        echoed.as_secs_f64()
    );
    assert!(
        rss_held < 64 * 1024,
        "server RSS {rss_held} KiB with {N} connections held"
    );
    drop(fresh);
    drop(socks);
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    eprintln!("summary: {summary}");
    assert_eq!(summary_count(&summary, "connections"), N as u64 + 1);
    assert_eq!(summary_count(&summary, "concurrent"), N as u64 + 1);
}

/// Clients that connect and send nothing are closed after
/// `--idle-timeout`, which frees their `--max-connections` slots; a client
/// that keeps talking alongside them is not closed.
#[test]
fn silent_clients_are_closed_by_the_idle_timeout() {
    const SILENT: usize = 7;
    let mut server = Daemon::echo(&["--idle-timeout", "0.5", "--max-connections", "8", "-v"]);
    let addr = server.addr;

    // The busy client talks every 50 ms, more often than the timeout, until
    // the silent ones are gone and for at least 3 timeouts.
    let mut busy = connect(addr);
    assert_eq!(round_trip(&mut busy, b"busy"), b"busy");
    let done = Arc::new(AtomicBool::new(false));
    let busy_thread = {
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let start = Instant::now();
            let mut rounds = 0u32;
            while !(done.load(Ordering::Relaxed) && start.elapsed() > Duration::from_millis(1500)) {
                assert!(start.elapsed() < LIMIT, "busy client loop ran too long");
                let m = format!("busy {rounds}");
                assert_eq!(round_trip(&mut busy, m.as_bytes()), m.as_bytes());
                rounds += 1;
                thread::sleep(Duration::from_millis(50));
            }
            (busy, rounds)
        })
    };

    let mut silent: Vec<TcpStream> = (0..SILENT).map(|_| connect(addr)).collect();
    server.wait_log("the silent clients open", |log| {
        log.contains(&format!("({} open)", SILENT + 1))
    });
    // Each is closed by the server: EOF (the read timeout bounds the wait).
    for (i, s) in silent.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        match s.read(&mut b) {
            Ok(0) => {}
            Ok(n) => panic!("silent client {i} got {n} bytes"),
            Err(e) => panic!("silent client {i} was not closed: {e}"),
        }
    }
    done.store(true, Ordering::Relaxed);
    let (mut busy, rounds) = busy_thread.join().unwrap();
    // The busy one is still open and served.
    assert_eq!(round_trip(&mut busy, b"still here"), b"still here");
    // Their slots are free again: 7 new clients fit beside the busy one.
    let _new: Vec<TcpStream> = (0..SILENT)
        .map(|i| served_eventually(addr, format!("new {i}").as_bytes()))
        .collect();
    server.assert_alive();
    let log = server.stderr();
    assert_eq!(
        log.matches("idle timeout").count(),
        SILENT,
        "{}",
        tail(&log)
    );
    eprintln!("{SILENT} silent clients closed by the idle timeout; busy client did {rounds} round trips meanwhile");
}

/// Clients that send data and then reset (`SO_LINGER` 0) while their echoes
/// are in flight, 100 times: the server logs each close, keeps serving, and
/// its open-connection count returns to zero.
#[test]
fn resets_mid_stream_do_not_hurt_the_server() {
    const ROUNDS: u32 = 100;
    let mut server = Daemon::echo(&["-v"]);
    let addr = server.addr;
    let start = Instant::now();
    for i in 0..ROUNDS {
        assert!(start.elapsed() < 2 * LIMIT, "reset loop too slow at {i}");
        let mut s = connect(addr);
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        let data = pattern(i, 128 * 1024);
        // A write that blocks is fine: the point is to reset with data in
        // both directions.
        let _ = s.write_all(&data);
        if i % 3 == 1 {
            // Take part of the echo first, so the server is mid-write.
            let mut part = vec![0; 1000];
            if s.read_exact(&mut part).is_ok() {
                assert_eq!(part, data[..1000]);
            }
        }
        set_linger_zero(&s);
        drop(s);
        if i % 10 == 9 {
            let mut ok = connect(addr);
            let m = format!("after reset {i}");
            assert_eq!(round_trip(&mut ok, m.as_bytes()), m.as_bytes());
        }
    }
    server.assert_alive();
    let mut fresh = connect(addr);
    assert_eq!(round_trip(&mut fresh, b"fresh"), b"fresh");
    fresh.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    fresh.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());

    // Every connection (100 reset, 10 checks, the fresh one) is logged
    // closed, and the last close leaves none open.
    let total = ROUNDS as usize + 11;
    let log = server.wait_log("every connection closed", |log| {
        log.lines().filter(|l| l.starts_with("close ")).count() == total
    });
    let opens = log.lines().filter(|l| l.starts_with("open ")).count();
    assert_eq!(opens, total, "{}", tail(&log));
    let last_close = log.lines().rfind(|l| l.starts_with("close ")).unwrap();
    assert!(last_close.ends_with("(0 open)"), "{last_close}");
    let resets = log.matches("error: Connection reset by peer").count();
    assert!(resets > 0, "no reset logged:\n{}", tail(&log));
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    assert_eq!(summary_count(&summary, "connections"), total as u64);
    eprintln!("{ROUNDS} resets mid-stream: {resets} logged as resets; {summary}");
}

/// A client that writes and then half-closes (`shutdown(Write)`) gets every
/// byte back, then EOF: the server finishes echoing, then closes.
#[test]
fn half_closed_clients_get_everything_then_eof() {
    let server = Daemon::echo(&["-v"]);
    let addr = server.addr;
    // (size, delay before the client starts reading)
    let cases: [(usize, u64); 4] = [(0, 0), (1, 0), (1 << 20, 0), (4 << 20, 300)];
    let clients: Vec<_> = cases
        .iter()
        .enumerate()
        .map(|(id, &(size, delay))| {
            thread::spawn(move || {
                let s = connect(addr);
                let data = pattern(id as u32, size);
                let mut w = s.try_clone().unwrap();
                let sent = data.clone();
                let writer = thread::spawn(move || {
                    w.write_all(&sent).unwrap();
                    w.shutdown(Shutdown::Write).unwrap();
                });
                thread::sleep(Duration::from_millis(delay));
                let mut back = Vec::with_capacity(size);
                // read_to_end only returns at EOF; the read timeout bounds it.
                (&s).read_to_end(&mut back)
                    .unwrap_or_else(|e| panic!("{size}-byte client: {e}"));
                writer.join().unwrap();
                assert_eq!(back.len(), size, "{size}-byte client: length");
                assert!(back == data, "{size}-byte client: bytes differ");
                s.local_addr().unwrap()
            })
        })
        .collect();
    let locals: Vec<SocketAddr> = clients.into_iter().map(|t| t.join().unwrap()).collect();
    let log = server.wait_log("the half-closed clients closed", |log| {
        locals.iter().all(|l| log.contains(&format!("close {l}: ")))
    });
    for (l, &(size, _)) in locals.iter().zip(&cases) {
        let line = log
            .lines()
            .find(|x| x.starts_with(&format!("close {l}: ")))
            .unwrap();
        assert!(
            line.contains(&format!("{size} bytes in, {size} bytes out"))
                && line.contains("closed by client"),
            "{line}"
        );
    }
    eprintln!(
        "half-closed clients of {cases:?} (bytes, read delay ms): all echoed in full, then EOF"
    );
}

/// 500 rapid connects against `--max-connections 50`: exactly 50 are
/// served while held, the other 450 are closed at once, -v says so, and
/// once the 50 close, new clients are served again.
#[test]
fn connect_flood_past_max_connections() {
    const MAX: usize = 50;
    const FLOOD: usize = 500;
    let _ = raise_nofile(2 * FLOOD as libc::rlim_t);
    let mut server = Daemon::echo(&["--max-connections", "50", "-v"]);
    let addr = server.addr;
    let mut socks: Vec<TcpStream> = (0..FLOOD).map(|_| connect(addr)).collect();
    let msg = |i: usize| format!("flood {i:03}");
    for (i, s) in socks.iter_mut().enumerate() {
        // A refused client may already be closed; the read below tells.
        let _ = s.write_all(msg(i).as_bytes());
    }
    let mut served = Vec::new();
    let mut refused = 0;
    for (i, mut s) in socks.into_iter().enumerate() {
        if echoed_or_closed(&mut s, msg(i).as_bytes()) {
            served.push(s);
        } else {
            refused += 1;
        }
    }
    eprintln!(
        "flood of {FLOOD} against --max-connections {MAX}: {} served, {refused} refused",
        served.len()
    );
    assert_eq!(served.len(), MAX, "served concurrently");
    assert_eq!(refused, FLOOD - MAX);
    server.assert_alive();
    let log = server.stderr();
    assert_eq!(
        log.matches("(--max-connections 50)").count(),
        FLOOD - MAX,
        "{}",
        tail(&log)
    );
    // The served ones still work, and the server is full for a newcomer.
    for (i, s) in served.iter_mut().enumerate() {
        let m = format!("again {i}");
        assert_eq!(round_trip(s, m.as_bytes()), m.as_bytes());
    }
    let mut extra = connect(addr);
    let _ = extra.write_all(b"x");
    assert!(
        !echoed_or_closed(&mut extra, b"x"),
        "a 51st client was served"
    );
    // After the 50 close, 50 new clients are served at once.
    drop(served);
    let new: Vec<TcpStream> = (0..MAX)
        .map(|i| served_eventually(addr, format!("new {i}").as_bytes()))
        .collect();
    drop(new);
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    eprintln!("summary: {summary}");
    assert_eq!(summary_count(&summary, "concurrent"), MAX as u64);
    assert!(summary_count(&summary, "refused") > (FLOOD - MAX) as u64);
}

/// A client that writes up to 1 GiB and never reads: TCP flow control
/// stops it, the server's memory stays flat, other clients keep being
/// served, and once it goes away the server carries on.
#[test]
fn non_reading_writer_of_a_gibibyte() {
    const GIB: usize = 1 << 30;
    let mut server = Daemon::echo(&["-v"]);
    let addr = server.addr;
    let mut probe = connect(addr);
    assert_eq!(round_trip(&mut probe, b"warm"), b"warm");
    drop(probe);
    let rss_before = server.rss_kib();

    let (tx, rx) = mpsc::channel();
    let writer = thread::spawn(move || {
        let mut s = connect(addr);
        // The write stops (times out) once the server stops reading.
        s.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        let chunk = vec![0xa5u8; 1 << 20];
        let mut written = 0usize;
        let start = Instant::now();
        while written < GIB && start.elapsed() < 3 * LIMIT {
            match s.write(&chunk[..chunk.len().min(GIB - written)]) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        let _ = tx.send(());
        (s, written)
    });

    // Meanwhile other clients are served, and the server's memory is
    // sampled.
    let mut rss_max = rss_before;
    let mut others = 0u32;
    let start = Instant::now();
    loop {
        let done = rx.try_recv().is_ok();
        let mut s = connect(addr);
        let m = format!("other {others}");
        assert_eq!(round_trip(&mut s, m.as_bytes()), m.as_bytes());
        others += 1;
        rss_max = rss_max.max(server.rss_kib());
        if done {
            break;
        }
        assert!(start.elapsed() < 4 * LIMIT, "writer never stopped");
        thread::sleep(Duration::from_millis(20));
    }
    let (stuck, written) = writer.join().unwrap();
    let stuck_local = stuck.local_addr().unwrap();
    // Still held with the writer stalled: served, and memory flat.
    let mut s = connect(addr);
    assert_eq!(round_trip(&mut s, b"while stalled"), b"while stalled");
    let rss_stalled = server.rss_kib();
    rss_max = rss_max.max(rss_stalled);
    let hwm = server.hwm_kib();
    eprintln!(
        "non-reading writer: wrote {written} bytes ({:.1} MiB) before backpressure; \
         server RSS before {rss_before} KiB, max sampled {rss_max} KiB, stalled {rss_stalled} KiB, \
         peak {hwm} KiB; {others} other clients served meanwhile",
        written as f64 / (1 << 20) as f64
    );
    assert!(written < GIB, "the server read all 1 GiB from a non-reader");
    assert!(hwm < 32 * 1024, "server peak RSS {hwm} KiB");
    assert!(
        rss_max < rss_before + 8 * 1024,
        "server RSS grew from {rss_before} to {rss_max} KiB"
    );

    // The writer goes away (with unread echoes: a reset); the server logs
    // the close and serves on.
    drop(stuck);
    server.wait_log("the writer's close", |log| {
        log.contains(&format!("close {stuck_local}: "))
    });
    server.assert_alive();
    let mut after = connect(addr);
    assert_eq!(round_trip(&mut after, b"after"), b"after");
    eprintln!("server RSS after the writer left: {} KiB", server.rss_kib());
}

/// Accept at the open-file limit: the server (soft and hard limit 64) gets
/// 100 clients; it does not exit or spin, says with -v that it hit the limit
/// (once, not once per retry), and serves every waiting client as earlier
/// ones close.
#[test]
fn accept_at_the_file_limit_backs_off_and_goes_on() {
    const CLIENTS: usize = 100;
    let mut server = Daemon::echo_with_nofile(&["-v"], 64);
    let addr = server.addr;
    // The kernel completes the handshakes (the backlog is deep); the server
    // can accept only as many as it has descriptors for.
    let mut socks: Vec<TcpStream> = (0..CLIENTS).map(|_| connect(addr)).collect();
    let msg = |i: usize| format!("limited {i:03}");
    for (i, s) in socks.iter_mut().enumerate() {
        s.write_all(msg(i).as_bytes()).unwrap();
    }
    server.wait_log("the file limit", |log| {
        log.contains("accept: Too many open files; backing off")
    });

    // Stuck at the limit for a second: alive, not spinning, not logging
    // every retry.
    let ticks_before = server.cpu_ticks();
    let lines_before = server.stderr().matches("Too many open files").count();
    thread::sleep(Duration::from_secs(1));
    let ticks = server.cpu_ticks() - ticks_before;
    let log = server.stderr();
    let lines = log.matches("Too many open files").count();
    server.assert_alive();
    let open = log.lines().filter(|l| l.starts_with("open ")).count();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    eprintln!(
        "at the file limit: {open} of {CLIENTS} accepted, {ticks} CPU ticks (of {hz}/s) in 1 s, \
         {lines} limit messages; log: {:?}",
        log.lines()
            .find(|l| l.contains("Too many open files"))
            .unwrap()
    );
    assert!(open < CLIENTS, "all accepted: the limit was not hit");
    assert!(
        ticks < hz / 2,
        "server spins at the limit: {ticks} ticks in 1 s"
    );
    assert!(
        lines - lines_before <= 1,
        "{} limit messages in 1 s while stuck:\n{}",
        lines - lines_before,
        tail(&log)
    );

    // As clients close, the waiting ones are accepted, in order, and served.
    for (i, mut s) in socks.into_iter().enumerate() {
        let want = msg(i);
        let mut back = vec![0; want.len()];
        s.read_exact(&mut back)
            .unwrap_or_else(|e| panic!("waiting client {i} never served: {e}"));
        assert_eq!(back, want.as_bytes());
    }
    let mut fresh = served_eventually(addr, b"fresh");
    assert_eq!(round_trip(&mut fresh, b"again"), b"again");
    server.assert_alive();
    drop(fresh);
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    eprintln!("summary: {summary}");
    assert_eq!(summary_count(&summary, "connections"), CLIENTS as u64 + 1);
}

/// SIGTERM while accept is backing off at the file limit still ends the
/// server at once with its summary.
#[test]
fn sigterm_while_backing_off_at_the_file_limit() {
    let server = Daemon::echo_with_nofile(&["-v"], 64);
    let addr = server.addr;
    let socks: Vec<TcpStream> = (0..80).map(|_| connect(addr)).collect();
    server.wait_log("the file limit", |log| log.contains("backing off"));
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    let served = summary_count(&summary, "connections");
    assert!(served > 0 && served < 80, "{summary}");
    drop(socks);
}

/// Connection churn (short clients, a third of them resetting) on the
/// multi-thread scheduler: the server's count of open connections, which
/// `--max-connections` relies on, must come back to exactly zero, so that
/// afterwards exactly `--max-connections` clients are admitted again.
#[test]
fn churn_on_two_threads_keeps_the_open_count_exact() {
    const MAX: usize = 4;
    const PER_THREAD: u32 = 1500;
    let mut server = Daemon::echo_threaded(&["--max-connections", "4"], 2);
    let addr = server.addr;
    let start = Instant::now();
    let churners: Vec<_> = (0..4u32)
        .map(|t| {
            thread::spawn(move || {
                let mut refused = 0u32;
                for i in 0..PER_THREAD {
                    assert!(start.elapsed() < 2 * LIMIT, "churn too slow");
                    let mut s = connect(addr);
                    let m = format!("churn {t} {i}");
                    let _ = s.write_all(m.as_bytes());
                    if !echoed_or_closed(&mut s, m.as_bytes()) {
                        refused += 1;
                    }
                    if i % 3 == 0 {
                        set_linger_zero(&s);
                    }
                }
                refused
            })
        })
        .collect();
    let refused: u32 = churners.into_iter().map(|t| t.join().unwrap()).sum();
    server.assert_alive();
    // Exactly MAX fit now (retrying while the server notices the last
    // closes); one more is refused.
    let held: Vec<TcpStream> = (0..MAX)
        .map(|i| served_eventually(addr, format!("held {i}").as_bytes()))
        .collect();
    let mut extra = connect(addr);
    let _ = extra.write_all(b"x");
    assert!(
        !echoed_or_closed(&mut extra, b"x"),
        "a fifth client was served"
    );
    drop(held);
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    eprintln!(
        "churn of {} connections on 2 threads: {refused} refused during the churn; {summary}",
        4 * PER_THREAD
    );
}

/// With -v and a stderr nobody reads any more (a closed pipe, as when a log
/// reader dies), the log lines are lost but the server goes on serving.
#[test]
fn verbose_with_a_closed_stderr_pipe_keeps_serving() {
    let mut fds = [0; 2];
    // SAFETY: pipe writes two new descriptors into `fds`.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: both descriptors are new and owned here alone.
    let (read_end, write_end) = unsafe {
        use std::os::fd::{FromRawFd, OwnedFd};
        (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
    };
    drop(read_end);
    let mut server = Daemon::echo_with_stderr(&["-v"], write_end.into());
    let addr = server.addr;
    for i in 0..5 {
        let mut s = connect(addr);
        let m = format!("unlogged {i}");
        assert_eq!(round_trip(&mut s, m.as_bytes()), m.as_bytes());
        s.shutdown(Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
    }
    server.assert_alive();
    let (status, summary) = server.stop(libc::SIGTERM);
    assert!(status.success(), "{status:?}");
    assert_eq!(summary_count(&summary, "connections"), 5, "{summary}");
}
