//! Running the built binary: bounded in time, stdout and stderr captured,
//! its peak memory watched, on pipes or on a pseudo-terminal.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_rawget");

/// Every run of the binary is bounded: a hang fails the test.
pub const RUN_LIMIT: Duration = Duration::from_secs(30);

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    /// Peak resident set size of the child in KiB, the largest `VmHWM` seen
    /// while it ran rawget; `None` when it ended before a look.
    pub peak_kib: Option<u64>,
}

impl Run {
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Asserts rawget did not panic and stderr is exactly one line, the
    /// contract's `rawget: error: …`; returns it (with its newline).
    #[track_caller]
    pub fn error_line(&self) -> &str {
        self.assert_no_panic();
        let line = self.stderr.as_str();
        assert!(
            line.starts_with("rawget: error: ")
                && line.ends_with('\n')
                && line.matches('\n').count() == 1,
            "want one `rawget: error: ` line, got {line:?}"
        );
        line
    }

    /// Asserts rawget did not panic (exit 101, or the panic message).
    #[track_caller]
    pub fn assert_no_panic(&self) {
        assert_ne!(self.code, 101, "rawget panicked: {}", self.stderr);
        assert!(!self.stderr.contains("panicked"), "{}", self.stderr);
    }

    /// Asserts the peak memory was seen and stayed under `limit_kib`. A test
    /// that asserts it keeps rawget running long enough to be looked at.
    #[track_caller]
    pub fn assert_peak_below(&self, limit_kib: u64) {
        let peak = self
            .peak_kib
            .expect("rawget ended before its peak memory could be read");
        assert!(peak < limit_kib, "peak RSS {peak} KiB >= {limit_kib} KiB");
    }
}

/// Runs `rawget ARGS` in a scratch directory with stdin closed.
pub fn rawget(args: &[&str]) -> Run {
    rawget_in(&std::env::temp_dir(), args)
}

/// Runs `rawget ARGS` in `dir` with stdin closed.
pub fn rawget_in(dir: &Path, args: &[&str]) -> Run {
    rawget_with(dir, &[], args)
}

/// Runs `rawget ARGS` in `dir` with stdin closed and extra environment
/// variables.
pub fn rawget_with(dir: &Path, envs: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).envs(envs.iter().copied()).current_dir(dir);
    run(cmd, &[])
}

/// Runs `rawget ARGS` with no controlling terminal ([`without_a_terminal`]):
/// nothing can be asked for, as in a script, even when the tests run from
/// a terminal.
pub fn rawget_without_a_terminal(args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(std::env::temp_dir());
    without_a_terminal(&mut cmd);
    run(cmd, b"")
}

/// Runs `rawget ARGS` with `input` on its stdin, then closed.
pub fn rawget_input(args: &[&str], input: &[u8]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(std::env::temp_dir());
    run(cmd, input)
}

/// Runs `cmd` with `input` on stdin, bounded by [`RUN_LIMIT`], for tests
/// that want the raw [`Output`](std::process::Output) (another program than
/// rawget, or stderr as bytes).
pub fn output(cmd: &mut Command, input: &[u8]) -> std::process::Output {
    let (status, stdout, stderr, _) = run_captured(cmd, input);
    std::process::Output {
        status,
        stdout,
        stderr,
    }
}

/// Runs `cmd` with `input` on stdin and stdout and stderr captured, bounded
/// by [`RUN_LIMIT`], watching its memory.
pub fn run(mut cmd: Command, input: &[u8]) -> Run {
    without_machine_proxies(&mut cmd);
    let (status, stdout, stderr, peak_kib) = run_captured(&mut cmd, input);
    Run {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        peak_kib,
    }
}

fn run_captured(cmd: &mut Command, input: &[u8]) -> (ExitStatus, Vec<u8>, Vec<u8>, Option<u64>) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    // A child that exits without reading its input is not an error here.
    let writer = thread::spawn(move || drop(stdin.write_all(&input)));
    let out = reader(child.stdout.take().expect("stdout"));
    let err = reader(child.stderr.take().expect("stderr"));
    let (status, peak_kib) = wait_bounded(&mut child);
    let _ = writer.join();
    let stdout = out.join().expect("stdout reader");
    (status, stdout, err.join().expect("stderr reader"), peak_kib)
}

/// The proxy variables rawget reads (curl's set, issue 12).
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// Removes the machine's proxy variables from `cmd`'s environment, keeping
/// those the test set on it: a test means loopback, and a developer's
/// `http_proxy` must not send it elsewhere.
pub fn without_machine_proxies(cmd: &mut Command) {
    let set: Vec<std::ffi::OsString> = cmd
        .get_envs()
        .filter(|(_, v)| v.is_some())
        .map(|(k, _)| k.to_owned())
        .collect();
    for var in PROXY_VARS {
        if !set.iter().any(|k| k == var) {
            cmd.env_remove(var);
        }
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut v = Vec::new();
        let _ = pipe.read_to_end(&mut v);
        v
    })
}

/// Waits for `child`, killing it at [`RUN_LIMIT`] (a failure). Returns its
/// exit status and the largest `VmHWM` seen in /proc while it ran rawget.
/// (The child's `ru_maxrss` would not do: at exec Linux folds in the
/// high-water mark of the memory it replaced, the test process's own.)
pub fn wait_bounded(child: &mut Child) -> (ExitStatus, Option<u64>) {
    let deadline = Instant::now() + RUN_LIMIT;
    let mut peak: Option<u64> = None;
    loop {
        // Read before reaping: a zombie has no memory to report.
        if let Some(hwm) = rawget_hwm_kib(child.id()) {
            peak = Some(peak.map_or(hwm, |p| p.max(hwm)));
        }
        if let Some(status) = child.try_wait().expect("wait for rawget") {
            return (status, peak);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("rawget ran longer than {RUN_LIMIT:?} and was killed");
        }
        thread::sleep(Duration::from_millis(2));
    }
}

/// `VmHWM` of process `pid` in KiB, once it runs the rawget binary. Before
/// its exec the child still shares (or copies) the test process's memory,
/// so the executable is looked at first: after exec it stays rawget.
fn rawget_hwm_kib(pid: u32) -> Option<u64> {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    let exe = EXE.get_or_init(|| std::fs::canonicalize(BIN).expect("the rawget binary"));
    if std::fs::read_link(format!("/proc/{pid}/exe")).ok()? != *exe {
        return None;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A new pseudo-terminal: (master, slave); `None` where there is none.
pub fn open_pty() -> Option<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two new descriptors into `master` and `slave`,
    // which are owned here alone from then on.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    if rc != 0 {
        return None;
    }
    // SAFETY: both descriptors are new and open (openpty succeeded).
    Some(unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) })
}

/// Runs rawget with stdout and stderr on a pseudo-terminal; returns the
/// exit code and what reached the terminal, or `None` without a pty.
pub fn run_on_a_terminal(dir: &Path, args: &[&str]) -> Option<(i32, String)> {
    run_on_a_terminal_with(dir, &[], args)
}

/// [`run_on_a_terminal`] with extra environment variables.
pub fn run_on_a_terminal_with(
    dir: &Path,
    envs: &[(&str, &str)],
    args: &[&str],
) -> Option<(i32, String)> {
    let (master, slave) = open_pty()?;
    let mut cmd = Command::new(BIN);
    without_machine_proxies(&mut cmd);
    let mut child = cmd
        .args(args)
        // A colour-capable terminal, whatever the test's own environment.
        .env_remove("NO_COLOR")
        .env("TERM", "xterm")
        .envs(envs.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(slave.try_clone().expect("dup the pty")))
        .stderr(Stdio::from(slave))
        .spawn()
        .expect("spawn rawget");
    // The command holds copies of the slave side: closed here, so that the
    // read below ends once the child's are.
    drop(cmd);
    let (status, _) = wait_bounded(&mut child);
    let mut screen = Vec::new();
    // The slave side is closed (the child exited, our copies were moved
    // into it), so the read ends with EIO once the output is drained.
    let _ = std::fs::File::from(master).read_to_end(&mut screen);
    Some((
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&screen).into_owned(),
    ))
}

/// Runs `cmd` in a session of its own, so that it has no controlling
/// terminal: nothing can be asked on `/dev/tty`, as in a script or CI,
/// even when the tests run from a terminal.
pub fn without_a_terminal(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: setsid is async-signal-safe and allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

/// Runs rawget with a pseudo-terminal as its controlling terminal (a new
/// session, TIOCSCTTY) and stdout and stderr on pipes; once the terminal
/// shows `wait_for`, `typed` is typed on it. Returns the run and what the
/// terminal showed; `None` without a pty.
pub fn run_with_a_terminal(args: &[&str], wait_for: &str, typed: &[u8]) -> Option<(Run, String)> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    use std::sync::{Arc, Mutex};

    use super::net::LIMIT;
    let (master, slave) = open_pty()?;
    let slave_fd = slave.as_raw_fd();
    let mut cmd = Command::new(BIN);
    without_machine_proxies(&mut cmd);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid and ioctl are async-signal-safe; the closure touches
    // only the slave's descriptor number, open in the child after fork. The
    // child keeps it open (it is not close-on-exec) until it exits: with no
    // slave side open, a read of the master fails at once with EIO.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            if libc::ioctl(slave_fd, libc::TIOCSCTTY, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn rawget");
    drop(slave);
    let mut master = std::fs::File::from(master);
    let mut reader = master.try_clone().expect("dup the pty");
    let screen = Arc::new(Mutex::new(Vec::new()));
    let shown = Arc::clone(&screen);
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        // Ends with EIO once the child's side is closed.
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            shown.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let start = Instant::now();
    while !String::from_utf8_lossy(&screen.lock().unwrap()).contains(wait_for) {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let (status, _) = wait_bounded(&mut child);
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            let screen = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
            panic!("no prompt {wait_for:?} on the terminal ({status}, {err:?}): {screen:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    master.write_all(typed).expect("type on the terminal");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let (status, _) = wait_bounded(&mut child);
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().unwrap(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
        peak_kib: None,
    };
    // Give the reader a moment to drain what the child left on the pty.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let screen = String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    Some((run, screen))
}
