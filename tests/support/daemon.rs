//! rawget's listening subcommands, `rawget echo-server` and `rawget
//! replay`, run as child processes (the program under test, not a fixture):
//! found through their `listening on ADDR` line, looked at through /proc and
//! their logs, stopped by a signal, and killed when the test ends however it
//! ends.

use std::io::{self, BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::net::LIMIT;
use super::run::{wait_bounded, BIN};

/// A running `rawget echo-server` or `rawget replay` on 127.0.0.1; killed
/// on drop.
pub struct Daemon {
    pub child: Child,
    pub addr: SocketAddr,
    /// Lines of the server's stdout after the listening line.
    pub stdout: mpsc::Receiver<String>,
    stderr: tempfile::NamedTempFile,
}

impl Daemon {
    /// `rawget echo-server --listen 127.0.0.1:0 EXTRA…`.
    pub fn echo(extra: &[&str]) -> Daemon {
        Daemon::echo_spawn(extra, None, &[])
    }

    /// The echo server on the multi-thread scheduler with `threads` workers
    /// (`RAWGET_ECHO_THREADS`).
    pub fn echo_threaded(extra: &[&str], threads: usize) -> Daemon {
        Daemon::echo_spawn(
            extra,
            None,
            &[("RAWGET_ECHO_THREADS", &threads.to_string())],
        )
    }

    /// The echo server with `RLIMIT_NOFILE` soft and hard set to `nofile`
    /// (both, since the server raises its soft limit to the hard one).
    pub fn echo_with_nofile(extra: &[&str], nofile: libc::rlim_t) -> Daemon {
        Daemon::echo_spawn(extra, Some(nofile), &[])
    }

    /// The echo server with its stderr writing into `err` (the log file is
    /// then left empty).
    pub fn echo_with_stderr(extra: &[&str], err: Stdio) -> Daemon {
        let mut cmd = echo_command(extra);
        cmd.stderr(err);
        Daemon::spawn(cmd, tempfile::NamedTempFile::new().unwrap())
    }

    /// `rawget replay FILE --listen 127.0.0.1:0 EXTRA…`.
    pub fn replay(file: &Path, extra: &[&str]) -> Daemon {
        let mut cmd = Command::new(BIN);
        cmd.arg("replay")
            .arg(file)
            .args(["--listen", "127.0.0.1:0"])
            .args(extra);
        Daemon::with_log(cmd)
    }

    fn echo_spawn(extra: &[&str], nofile: Option<libc::rlim_t>, env: &[(&str, &str)]) -> Daemon {
        let mut cmd = echo_command(extra);
        cmd.envs(env.iter().copied());
        if let Some(n) = nofile {
            let lim = libc::rlimit {
                rlim_cur: n,
                rlim_max: n,
            };
            // SAFETY: setrlimit is async-signal-safe and only reads `lim`,
            // which is copied into the closure.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0 {
                        Ok(())
                    } else {
                        Err(io::Error::last_os_error())
                    }
                });
            }
        }
        Daemon::with_log(cmd)
    }

    /// Spawns `cmd` with its stderr into a log file.
    fn with_log(mut cmd: Command) -> Daemon {
        let log = tempfile::NamedTempFile::new().unwrap();
        cmd.stderr(Stdio::from(log.reopen().unwrap()));
        Daemon::spawn(cmd, log)
    }

    /// Spawns `cmd` (stderr already set) and reads its `listening on` line.
    fn spawn(mut cmd: Command, stderr: tempfile::NamedTempFile) -> Daemon {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let rx = stdout_lines(out);
        let mut server = Daemon {
            child,
            addr: "0.0.0.0:0".parse().unwrap(),
            stdout: rx,
            stderr,
        };
        let first = server.line();
        let addr = first
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line is {first:?}"));
        server.addr = addr.parse().unwrap();
        assert_eq!(server.addr.ip().to_string(), "127.0.0.1");
        assert_ne!(server.addr.port(), 0);
        server
    }

    /// The next stdout line.
    pub fn line(&self) -> String {
        self.stdout
            .recv_timeout(LIMIT)
            .expect("no line from the server on stdout")
    }

    /// The address as text, for `echo-client ADDR`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: signalling our own child.
        assert_eq!(unsafe { libc::kill(self.pid(), sig) }, 0);
    }

    /// Panics if the server has exited.
    pub fn assert_alive(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the server exited: {status:?}\nstderr:\n{}", self.stderr());
        }
    }

    /// Everything the server wrote on stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.stderr.path()).unwrap()
    }

    /// Waits until the stderr log satisfies `ok`; returns it.
    pub fn wait_log(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let log = self.stderr();
            if ok(&log) {
                return log;
            }
            if start.elapsed() > LIMIT {
                panic!("server log never showed {what}; log tail:\n{}", tail(&log));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A field of /proc/PID/status, in KiB.
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status
            .lines()
            .find(|l| l.starts_with(field))
            .unwrap_or_else(|| panic!("{field} in /proc/PID/status"));
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Resident memory now.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// Peak resident memory over the server's life.
    pub fn hwm_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// User plus system CPU time used so far, in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap();
        // Fields after the parenthesised command name; utime and stime are
        // fields 14 and 15 of the whole line.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    }

    /// Signals `sig`, waits; returns the exit status and the rest of stdout
    /// (the summary).
    pub fn stop(self, sig: i32) -> (ExitStatus, String) {
        let (status, out, _) = self.stop_with_stderr(sig);
        (status, out)
    }

    /// Like `stop`, with everything the server wrote on stderr.
    pub fn stop_with_stderr(mut self, sig: i32) -> (ExitStatus, String, String) {
        self.signal(sig);
        let (status, _) = wait_bounded(&mut self.child);
        let mut rest = String::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            rest.push_str(&line);
            rest.push('\n');
        }
        let err = self.stderr();
        (status, rest, err)
    }

    /// Waits (bounded) for the process to exit on its own; returns its exit
    /// code and everything it wrote on stderr.
    pub fn wait_exit(mut self) -> (Option<i32>, String) {
        let (status, _) = wait_bounded(&mut self.child);
        (status.code(), self.stderr())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of a log, for failure messages.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn echo_command(extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["echo-server", "--listen", "127.0.0.1:0"])
        .args(extra);
    cmd
}

/// A child's stdout, line by line, read on a thread of its own so that a
/// wait for a line can be bounded (`recv_timeout`).
pub fn stdout_lines(out: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
