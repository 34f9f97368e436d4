//! A running `rawget echo-server` for the echo tests, and the client-side
//! helpers they share. Every wait is bounded by [`LIMIT`] and every socket
//! has timeouts, so a bug fails a test instead of hanging the suite.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_rawget");

/// How long any single wait may take before it is a failure.
pub const LIMIT: Duration = Duration::from_secs(20);

/// Socket read/write timeout for clients that expect an answer.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// A running `rawget echo-server` on 127.0.0.1; killed on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// Lines of the server's stdout after the listening line.
    pub stdout: mpsc::Receiver<String>,
    stderr: tempfile::NamedTempFile,
}

impl Server {
    /// `rawget echo-server --listen 127.0.0.1:0 EXTRA…`.
    pub fn start(extra: &[&str]) -> Server {
        Server::spawn(extra, None, &[])
    }

    /// Starts the server on the multi-thread scheduler with `threads`
    /// workers (`RAWGET_ECHO_THREADS`).
    pub fn start_threaded(extra: &[&str], threads: usize) -> Server {
        Server::spawn(
            extra,
            None,
            &[("RAWGET_ECHO_THREADS", &threads.to_string())],
        )
    }

    /// Starts the server with `RLIMIT_NOFILE` soft and hard set to `nofile`
    /// (both, since the server raises its soft limit to the hard one).
    pub fn start_with_nofile(extra: &[&str], nofile: libc::rlim_t) -> Server {
        Server::spawn(extra, Some(nofile), &[])
    }

    /// Starts the server with its stderr writing into `err` (the log file
    /// is then left empty).
    pub fn start_with_stderr(extra: &[&str], err: Stdio) -> Server {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        Server::spawn_with_stderr(extra, None, &[], err, stderr)
    }

    fn spawn(extra: &[&str], nofile: Option<libc::rlim_t>, env: &[(&str, &str)]) -> Server {
        let stderr = tempfile::NamedTempFile::new().unwrap();
        Server::spawn_with_stderr(extra, nofile, env, stderr.reopen().unwrap().into(), stderr)
    }

    fn spawn_with_stderr(
        extra: &[&str],
        nofile: Option<libc::rlim_t>,
        env: &[(&str, &str)],
        err: Stdio,
        stderr: tempfile::NamedTempFile,
    ) -> Server {
        let mut cmd = Command::new(BIN);
        cmd.args(["echo-server", "--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(err);
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
        let mut child = cmd.spawn().unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Server {
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
        let status = wait(&mut self.child);
        let mut rest = String::new();
        while let Ok(line) = self.stdout.recv_timeout(Duration::from_secs(2)) {
            rest.push_str(&line);
            rest.push('\n');
        }
        let err = self.stderr();
        (status, rest, err)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for `child`, at most `LIMIT`.
pub fn wait(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("child did not exit within {LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// The last lines of a log, for failure messages.
pub fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

pub fn try_connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&addr, IO_TIMEOUT)?;
    s.set_read_timeout(Some(IO_TIMEOUT))?;
    s.set_write_timeout(Some(IO_TIMEOUT))?;
    Ok(s)
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    try_connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// Sends `msg` and reads exactly its length back.
pub fn round_trip(s: &mut TcpStream, msg: &[u8]) -> Vec<u8> {
    s.write_all(msg).unwrap();
    let mut back = vec![0; msg.len()];
    s.read_exact(&mut back).unwrap();
    back
}
