//! The output under real conditions, through the built binary: a stderr
//! reader that goes away (issue 10), and the `-o FILE` defects of issue 11
//! (devices, modes and links, unwritable directories, signals, stale
//! temporary files, closed stdout, a head reader that stops). Each test
//! names the defect it pins.
//!
//! The tests run as root in CI; where the point is a permission failure the
//! child drops to uid/gid 65534 (nobody) in `pre_exec`, so root's power to
//! write anywhere cannot hide the defect.

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// A command for the built binary in `dir`, stdin closed, with SIGINT,
/// SIGTERM and SIGHUP at their defaults: rawget leaves a signal it was
/// started with ignored ignored (as it should), and a test suite run as a
/// background job (`cmd &` in a script, `nohup`) starts every child with
/// SIGINT, or SIGHUP, ignored. A test that ignores one says so itself.
fn command(dir: &Path, args: &[&str]) -> Command {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rawget"));
    cmd.args(args).current_dir(dir).stdin(Stdio::null());
    // SAFETY: signal() is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(sig, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    cmd
}

/// Waits (bounded by [`RUN_LIMIT`]) for the child; returns its exit code,
/// or 128 + the signal that ended it.
fn wait_bounded(child: &mut Child) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for rawget") {
            return status
                .code()
                .or_else(|| status.signal().map(|s| 128 + s))
                .unwrap_or(-1);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("rawget did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The write end of a pipe whose read end is already closed: every write
/// to it fails with EPIPE.
fn pipe_without_reader() -> std::os::fd::OwnedFd {
    use std::os::fd::{FromRawFd, OwnedFd};
    let mut fds = [0; 2];
    // SAFETY: pipe fills both descriptors, which we then own.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0, "pipe");
    // SAFETY: both came from pipe(2) just now and are owned by nobody else.
    let (reader, writer) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(reader);
    writer
}

/// Asserts two byte strings are equal without dumping them (bodies are
/// kilobytes of binary).
#[track_caller]
fn assert_same(actual: &[u8], expected: &[u8], what: &str) {
    if actual != expected {
        let at = actual.iter().zip(expected).position(|(a, b)| a != b);
        panic!(
            "{what}: {} bytes, expected {}; first difference at {at:?}; starts {:?}",
            actual.len(),
            expected.len(),
            actual[..actual.len().min(60)].escape_ascii().to_string()
        );
    }
}

/// A 200 response whose `len`-byte body arrives slowly: in pieces of
/// `piece` bytes, 20 ms apart, so a reader can act while it is in flight.
fn slow_ok(len: usize, piece: usize) -> (Vec<u8>, Plan) {
    let body = patterned(len);
    let mut response = format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n\r\n").into_bytes();
    response.extend_from_slice(&body);
    let plan = Plan::new(response)
        .piece(piece)
        .delay(Duration::from_millis(20));
    (body, plan)
}

// ---------- issue 10: a stderr reader that closes early ----------

/// Runs rawget with stderr a pipe, reads 10 bytes of it and closes the read
/// end (`rawget ... 2>&1 >/dev/null | head -c 10`), then waits. Every later
/// diagnostic meets EPIPE (Rust ignores SIGPIPE): it must be dropped, not
/// panic, and the download must finish.
fn stderr_reader_closes_after_ten_bytes(extra: &[&str], plan: Plan, body: &[u8]) {
    let server = serve(plan);
    let dir = scratch();
    let address = server.url("/");
    let mut args = extra.to_vec();
    args.extend(["-s", "-o", "out", &address]);
    let mut child = command(dir.path(), &args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rawget");
    let mut stderr = child.stderr.take().expect("stderr pipe");
    let mut first = [0u8; 10];
    stderr.read_exact(&mut first).expect("10 bytes of stderr");
    drop(stderr);
    assert_eq!(wait_bounded(&mut child), 0, "{extra:?}");
    assert_same(&std::fs::read(dir.path().join("out")).unwrap(), body, "out");
    assert_eq!(listing(dir.path()), vec!["out"]);
}

#[test]
fn verbose_survives_a_stderr_reader_that_closes() {
    let (body, plan) = slow_ok(4000, 500);
    stderr_reader_closes_after_ten_bytes(&["-v"], plan, &body);
}

#[test]
fn chunk_map_survives_a_stderr_reader_that_closes() {
    let body = patterned(4000);
    let plan = Plan::new(chunked_response(&body, &[100]))
        .piece(300)
        .delay(Duration::from_millis(20));
    stderr_reader_closes_after_ten_bytes(&["--chunks"], plan, &body);
}

/// The error line of a failed fetch goes to a stderr whose reader is gone
/// before rawget starts: the line is lost, the exit code is not (with
/// eprintln! main panicked: exit 101, or 134 under panic = "abort").
#[test]
fn error_line_on_a_closed_stderr_keeps_the_exit_code() {
    let writer = pipe_without_reader();
    let dir = scratch();
    // Port 9 (discard) on loopback: nothing listens there.
    let mut child = command(dir.path(), &["-s", "http://127.0.0.1:9/"])
        .stdout(Stdio::null())
        .stderr(writer)
        .spawn()
        .expect("spawn rawget");
    assert_eq!(wait_bounded(&mut child), 7);
}

// ---------- issue 11.1: -o to something that is not a regular file ----------

/// Whether the tests run as root (CI does).
fn root() -> bool {
    // SAFETY: geteuid only reads the process's credentials.
    unsafe { libc::geteuid() == 0 }
}

/// Runs the child as nobody (65534:65534) when the tests run as root, so a
/// permission check is not waved through by root's override; a non-root
/// runner is already subject to it.
fn unprivileged(cmd: &mut Command) -> &mut Command {
    if root() {
        // std drops the supplementary groups too, before setgid/setuid.
        cmd.uid(65534).gid(65534);
    }
    cmd
}

/// Makes `dir` reachable (and, with `mode`, writable or not) for nobody.
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Issue 11.1: `-o /dev/stdout` as root replaced the device link with a
/// regular file, because /dev/stdout (-> /proc/self/fd/1 -> out.txt) looked
/// like a regular file and was renamed over. Tested through a scratch link
/// to /proc/self/fd/1, so a regression cannot touch the real /dev/stdout.
#[test]
fn output_through_a_link_to_proc_self_fd_1_writes_stdout() {
    let (body, plan) = slow_ok(3000, 3000);
    let server = serve(plan);
    let dir = scratch();
    std::os::unix::fs::symlink("/proc/self/fd/1", dir.path().join("out")).unwrap();
    let stdout = std::fs::File::create(dir.path().join("stdout.txt")).unwrap();
    let mut child = command(dir.path(), &["-s", "-o", "out", &server.url("/")])
        .stdout(stdout)
        .spawn()
        .expect("spawn rawget");
    assert_eq!(wait_bounded(&mut child), 0);
    let written = std::fs::read(dir.path().join("stdout.txt")).unwrap();
    assert_same(&written, &body, "stdout.txt");
    let link = std::fs::symlink_metadata(dir.path().join("out")).unwrap();
    assert!(link.file_type().is_symlink(), "the link was replaced");
    assert_eq!(listing(dir.path()), vec!["out", "stdout.txt"]);
}

/// Issue 11.1, with /dev/stdout itself and stdout a regular file: rawget
/// writes stdout. Run as nobody, who cannot create files in /dev, so a
/// regression fails (exit 23) instead of replacing the machine's /dev/stdout.
#[test]
fn output_to_dev_stdout_writes_stdout_in_order_with_the_head() {
    let (body, plan) = slow_ok(3000, 3000);
    let server = serve(plan);
    let dir = scratch();
    chmod(dir.path(), 0o755);
    let path = dir.path().join("stdout.txt");
    let stdout = std::fs::File::create(&path).unwrap();
    let mut child = unprivileged(&mut command(
        dir.path(),
        &["-o", "/dev/stdout", &server.url("/")],
    ))
    .stdout(stdout)
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn rawget");
    assert_eq!(wait_bounded(&mut child), 0);
    // Without -s the head goes to stdout too: head, then body, in order,
    // because the body is written through stdout's own open file.
    let mut expected = b"HTTP/1.1 200 OK\r\nContent-Length: 3000\r\n\r\n".to_vec();
    expected.extend_from_slice(&body);
    assert_same(&std::fs::read(&path).unwrap(), &expected, "stdout.txt");
    assert!(std::fs::symlink_metadata("/dev/stdout").is_ok_and(|m| m.file_type().is_symlink()));
}

/// Issue 11.1: a FIFO (here through a link) is written in place, never
/// renamed over.
#[test]
fn output_to_a_fifo_through_a_link_is_written_in_place() {
    let (body, plan) = slow_ok(3000, 1000);
    let server = serve(plan);
    let dir = scratch();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: mkfifo reads a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    std::os::unix::fs::symlink("fifo", dir.path().join("out")).unwrap();
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    let mut child = command(dir.path(), &["-s", "-o", "out", &server.url("/")])
        .spawn()
        .expect("spawn rawget");
    assert_eq!(wait_bounded(&mut child), 0);
    assert_same(&reader.join().unwrap(), &body, "the fifo's reader");
    assert!(std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo());
    assert_eq!(listing(dir.path()), vec!["fifo", "out"]);
}

// ---------- issue 11.2: modes, owners and links of the replaced file ----------

/// A server for a small body, and the body.
fn small_ok() -> (Vec<u8>, Server) {
    let body = patterned(2000);
    let mut response = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n".to_vec();
    response.extend_from_slice(&body);
    (body, serve(Plan::new(response)))
}

/// Runs `rawget -s -o OUT URL` in `dir` with umask 022 and returns the exit
/// code; `tune` adjusts the command (credentials) first.
fn fetch_to(dir: &Path, out: &str, server: &Server, tune: impl FnOnce(&mut Command)) -> i32 {
    let mut cmd = command(dir, &["-s", "-o", out, &server.url("/")]);
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0o022);
            Ok(())
        });
    }
    tune(&mut cmd);
    let mut child = cmd.stderr(Stdio::null()).spawn().expect("spawn rawget");
    wait_bounded(&mut child)
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Issue 11.2: a 0600 file came back 0644 (the temporary file's mode under
/// umask 022): a private file was made world-readable.
#[test]
fn replacing_a_file_keeps_its_mode() {
    let (body, server) = small_ok();
    let dir = scratch();
    let out = dir.path().join("out");
    std::fs::write(&out, "secret").unwrap();
    chmod(&out, 0o600);
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    assert_same(&std::fs::read(&out).unwrap(), &body, "out");
    assert_eq!(format!("{:o}", mode(&out)), "600");
}

/// Issue 11.2: as root, the replaced file became root's. Its owner and
/// group are kept (fchown on the temporary file before the rename).
#[test]
fn replacing_a_file_as_root_keeps_its_owner_and_group() {
    use std::os::unix::fs::MetadataExt;
    if !root() {
        cannot_run_here("needs root to own a file as another user");
        return;
    }
    let (_, server) = small_ok();
    let dir = scratch();
    let out = dir.path().join("out");
    std::fs::write(&out, "theirs").unwrap();
    std::os::unix::fs::chown(&out, Some(65534), Some(65534)).unwrap();
    chmod(&out, 0o640);
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    let meta = std::fs::metadata(&out).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    assert_eq!(format!("{:o}", mode(&out)), "640");
}

/// Issue 11.2: `-o link` replaced the symbolic link by a regular file. The
/// link's target is written (atomically: the temporary file beside the
/// target), through a chain of relative links.
#[test]
fn output_through_a_chain_of_links_writes_the_target() {
    let (body, server) = small_ok();
    let dir = scratch();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub/real"), "old").unwrap();
    // out -> sub/hop -> real (relative to sub/).
    std::os::unix::fs::symlink("sub/hop", dir.path().join("out")).unwrap();
    std::os::unix::fs::symlink("real", dir.path().join("sub/hop")).unwrap();
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    for link in ["out", "sub/hop"] {
        let meta = std::fs::symlink_metadata(dir.path().join(link)).unwrap();
        assert!(meta.file_type().is_symlink(), "{link} was replaced");
    }
    assert_same(
        &std::fs::read(dir.path().join("sub/real")).unwrap(),
        &body,
        "sub/real",
    );
    assert_eq!(listing(dir.path()), vec!["out", "sub"]);
    assert_eq!(listing(&dir.path().join("sub")), vec!["hop", "real"]);
}

/// Issue 11.2: a link to a name that does not exist yet creates the target
/// and keeps the link, as curl (which opens through the link) does.
#[test]
fn output_through_a_dangling_link_creates_its_target() {
    let (body, server) = small_ok();
    let dir = scratch();
    std::os::unix::fs::symlink("new.txt", dir.path().join("out")).unwrap();
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    assert!(std::fs::symlink_metadata(dir.path().join("out"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_same(
        &std::fs::read(dir.path().join("new.txt")).unwrap(),
        &body,
        "new.txt",
    );
}

/// Issue 11.2, the documented choice for hard links: FILE is replaced by a
/// rename, so it gets a new inode and its other links keep the old content
/// (docs/cli.md says so). Writing in place would break the promise that the
/// old content stays until the new body is complete.
#[test]
fn a_file_with_another_hard_link_is_replaced_and_the_other_link_keeps_the_old_content() {
    use std::os::unix::fs::MetadataExt;
    let (body, server) = small_ok();
    let dir = scratch();
    let out = dir.path().join("out");
    std::fs::write(&out, "old").unwrap();
    std::fs::hard_link(&out, dir.path().join("other")).unwrap();
    let before = std::fs::metadata(&out).unwrap().ino();
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    assert_same(&std::fs::read(&out).unwrap(), &body, "out");
    assert_eq!(std::fs::read(dir.path().join("other")).unwrap(), b"old");
    assert_ne!(std::fs::metadata(&out).unwrap().ino(), before);
}

// ---------- issue 11.3: a writable file in a directory rawget cannot write ----------

/// Waits (bounded) until `dir` holds a rawget temporary file; returns its name.
fn wait_for_temp(dir: &Path) -> String {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        if let Some(name) = listing(dir).into_iter().find(|n| n.contains(".rawget-")) {
            return name;
        }
        assert!(Instant::now() < deadline, "no temporary file appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A directory nobody (the unprivileged child) cannot write, holding a
/// file `out` it can, and a private `$TMPDIR` it can. Returned are the
/// scratch root, the directory and the temp directory.
fn read_only_dir_with_writable_file() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf)
{
    let root_dir = scratch();
    chmod(root_dir.path(), 0o755);
    let dir = root_dir.path().join("ro");
    let tmp = root_dir.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&tmp).unwrap();
    std::fs::write(dir.join("out"), "precious").unwrap();
    chmod(&dir.join("out"), 0o666);
    chmod(&dir, 0o555);
    chmod(&tmp, 0o777);
    (root_dir, dir, tmp)
}

/// Starts rawget in `dir` as nobody (when root), with `$TMPDIR` at `tmp`
/// and stderr piped.
fn spawn_unprivileged(dir: &Path, tmp: &Path, args: &[&str]) -> Child {
    unprivileged(&mut command(dir, args))
        .env("TMPDIR", tmp)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rawget")
}

/// Waits for a child started with stderr piped; its exit code and stderr.
fn finish(child: &mut Child) -> (i32, String) {
    let code = wait_bounded(child);
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("read stderr");
    }
    (code, stderr)
}

/// Issue 11.3: a writable FILE in a directory where no temporary file can
/// be made was exit 23 (curl writes it). rawget collects the body in
/// `$TMPDIR` and copies it over FILE when complete: FILE keeps its old
/// content until then, keeps its inode, and `-v` says so.
#[test]
fn writable_file_in_a_read_only_directory_is_written_through_tmpdir() {
    use std::os::unix::fs::MetadataExt;
    let (body, plan) = slow_ok(6000, 1000);
    let server = serve(plan);
    let (_root, dir, tmp) = read_only_dir_with_writable_file();
    let inode = std::fs::metadata(dir.join("out")).unwrap().ino();
    let mut child = spawn_unprivileged(&dir, &tmp, &["-v", "-s", "-o", "out", &server.url("/")]);
    let temp = wait_for_temp(&tmp);
    assert!(temp.starts_with(".out.rawget-"), "{temp}");
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"precious");
    let (code, stderr) = finish(&mut child);
    chmod(&dir, 0o755);
    assert_eq!(code, 0, "{stderr}");
    assert_same(&std::fs::read(dir.join("out")).unwrap(), &body, "out");
    assert_eq!(std::fs::metadata(dir.join("out")).unwrap().ino(), inode);
    assert!(
        stderr.contains(&format!(
            "* cannot create a temporary file beside out (Permission denied); writing through {}/.out.rawget-",
            tmp.display()
        )),
        "{stderr}"
    );
    assert_eq!(listing(&dir), vec!["out"]);
    assert!(listing(&tmp).is_empty(), "{:?}", listing(&tmp));
}

/// Issue 11.3: FILE is opened only when the body is complete; if it cannot
/// be opened then, that is exit 23 saying so, FILE keeps its old content
/// and the temporary file goes.
#[test]
fn a_file_that_cannot_be_opened_at_the_end_is_exit_23_and_keeps_its_content() {
    let (_, plan) = slow_ok(6000, 1000);
    let server = serve(plan);
    let (_root, dir, tmp) = read_only_dir_with_writable_file();
    let mut child = spawn_unprivileged(&dir, &tmp, &["-s", "-o", "out", &server.url("/")]);
    wait_for_temp(&tmp);
    // While the body arrives, FILE stops being writable.
    chmod(&dir.join("out"), 0o444);
    let (code, stderr) = finish(&mut child);
    chmod(&dir, 0o755);
    assert_eq!(code, 23, "{stderr}");
    assert_eq!(
        stderr,
        "rawget: error: could not open out to write the body: Permission denied\n"
    );
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), b"precious");
    assert!(listing(&tmp).is_empty(), "{:?}", listing(&tmp));
}

/// Issue 11.3's other face: in a sticky directory (like /tmp) a temporary
/// file can be made, but another user's FILE cannot be renamed over, only
/// written. That was exit 23 at the very end ("could not rename into");
/// the complete body is now copied over FILE, which keeps its owner.
#[test]
fn another_users_writable_file_in_a_sticky_directory_is_written() {
    use std::os::unix::fs::MetadataExt;
    if !root() {
        cannot_run_here("needs root to give the file to another user");
        return;
    }
    let (body, server) = small_ok();
    let root_dir = scratch();
    chmod(root_dir.path(), 0o755);
    let dir = root_dir.path().join("sticky");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o1777);
    // root's file, writable by all; the child runs as nobody.
    std::fs::write(dir.join("out"), "precious").unwrap();
    chmod(&dir.join("out"), 0o666);
    let mut child = spawn_unprivileged(&dir, &dir, &["-v", "-s", "-o", "out", &server.url("/")]);
    let (code, stderr) = finish(&mut child);
    assert_eq!(code, 0, "{stderr}");
    assert_same(&std::fs::read(dir.join("out")).unwrap(), &body, "out");
    assert_eq!(std::fs::metadata(dir.join("out")).unwrap().uid(), 0);
    assert!(
        stderr.contains("* cannot rename into out (Operation not permitted); copying over it\n"),
        "{stderr}"
    );
    assert_eq!(listing(&dir), vec!["out"]);
}

/// A directory nobody can write, without FILE in it: nothing can be made,
/// exit 23 as before (the fallback is for an existing, writable FILE).
#[test]
fn a_new_file_in_a_read_only_directory_is_still_exit_23() {
    // The output is opened before connecting: the server sees no client.
    let server = small_ok().1.expect_unused();
    let (_root, dir, tmp) = read_only_dir_with_writable_file();
    let mut cmd = command(&dir, &["-s", "-o", "new", &server.url("/")]);
    let run = unprivileged(&mut cmd)
        .env("TMPDIR", &tmp)
        .output()
        .expect("run rawget");
    chmod(&dir, 0o755);
    assert_eq!(run.status.code(), Some(23));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr),
        "rawget: error: could not create new: Permission denied\n"
    );
}

// ---------- issue 11.4: --keep-partial on SIGINT and SIGTERM ----------

/// Starts `rawget -s ARGS -o out URL` against a server that sends the head
/// and the first 10 body bytes, then holds the connection; returns once
/// the temporary file exists (rawget is waiting for the rest).
fn hanging_fetch(dir: &Path, extra: &[&str], tune: impl FnOnce(&mut Command)) -> (Child, Server) {
    let ok = fixture("ok.http");
    let server = serve(
        Plan::new(ok.clone())
            .cut(head_of(&ok).len() + 10)
            .end(End::Hang),
    );
    let address = server.url("/");
    let mut args = vec!["-s"];
    args.extend_from_slice(extra);
    args.extend(["-o", "out", &address]);
    let mut cmd = command(dir, &args);
    tune(&mut cmd);
    let child = cmd.stderr(Stdio::piped()).spawn().expect("spawn rawget");
    assert_eq!(server.wait_requests(1).len(), 1);
    wait_for_temp(dir);
    (child, server)
}

/// Waits until `dir`'s temporary file holds `n` bytes: the body bytes that
/// arrived were written.
fn wait_for_temp_size(dir: &Path, n: u64) {
    let deadline = Instant::now() + RUN_LIMIT;
    loop {
        let temp = wait_for_temp(dir);
        if std::fs::metadata(dir.join(&temp)).is_ok_and(|m| m.len() == n) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the temporary file never held {n} bytes"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: signalling our own child, which has not been reaped.
    assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
}

/// Issue 11.4: with --keep-partial, SIGINT and SIGTERM deleted the bytes
/// that arrived (the handler always unlinked the temporary file); they are
/// kept now, as after -m, by a rename in the handler.
#[test]
fn keep_partial_keeps_what_arrived_on_sigint_and_sigterm() {
    let ok = fixture("ok.http");
    let first = &body_of(&ok)[..10];
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let dir = scratch();
        std::fs::write(dir.path().join("out"), "precious").unwrap();
        let (mut child, _server) = hanging_fetch(dir.path(), &["--keep-partial"], |_| {});
        wait_for_temp_size(dir.path(), 10);
        signal(&child, sig);
        let (code, stderr) = finish(&mut child);
        assert_eq!(code, 128 + sig, "signal {sig}: {stderr}");
        assert_eq!(
            std::fs::read(dir.path().join("out")).unwrap(),
            first,
            "signal {sig}"
        );
        assert_eq!(listing(dir.path()), vec!["out"], "signal {sig}");
        assert_eq!(stderr, "rawget: kept the partial body in out (10 bytes)\n");
    }
}

/// Without --keep-partial the signal still leaves the old FILE and no
/// temporary file (the behaviour 11.4 must not lose).
#[test]
fn sigint_without_keep_partial_leaves_the_old_file() {
    let dir = scratch();
    std::fs::write(dir.path().join("out"), "precious").unwrap();
    let (mut child, _server) = hanging_fetch(dir.path(), &[], |_| {});
    signal(&child, libc::SIGINT);
    assert_eq!(wait_bounded(&mut child), 128 + libc::SIGINT);
    assert_eq!(std::fs::read(dir.path().join("out")).unwrap(), b"precious");
    assert_eq!(listing(dir.path()), vec!["out"]);
}

/// Issue 11.4 with the temporary file in `$TMPDIR` (issue 11.3): the
/// handler copies what arrived over FILE.
#[test]
fn keep_partial_on_sigterm_through_tmpdir_copies_what_arrived() {
    let ok = fixture("ok.http");
    let server = serve(
        Plan::new(ok.clone())
            .cut(head_of(&ok).len() + 10)
            .end(End::Hang),
    );
    let (_root, dir, tmp) = read_only_dir_with_writable_file();
    let mut child = spawn_unprivileged(
        &dir,
        &tmp,
        &["-s", "--keep-partial", "-o", "out", &server.url("/")],
    );
    wait_for_temp_size(&tmp, 10);
    signal(&child, libc::SIGTERM);
    let (code, stderr) = finish(&mut child);
    chmod(&dir, 0o755);
    assert_eq!(code, 128 + libc::SIGTERM, "{stderr}");
    assert_eq!(std::fs::read(dir.join("out")).unwrap(), &body_of(&ok)[..10]);
    assert!(listing(&tmp).is_empty(), "{:?}", listing(&tmp));
    assert_eq!(stderr, "rawget: kept the partial body in out (10 bytes)\n");
}
// ---------- issue 11.6: signals the user ignored stay ignored ----------

/// Issue 11.6: under `nohup` (SIGHUP ignored) a SIGHUP killed rawget, exit
/// 129 and the download lost, and a script's background job with SIGINT
/// ignored got it back. rawget now installs its cleanup only for a signal
/// that was not ignored: the ignored signal arrives mid-body and the fetch
/// completes.
#[test]
fn ignored_sighup_and_sigint_stay_ignored() {
    for sig in [libc::SIGHUP, libc::SIGINT] {
        let (body, plan) = slow_ok(6000, 1000);
        let server = serve(plan);
        let dir = scratch();
        let mut cmd = command(dir.path(), &["-s", "-o", "out", &server.url("/")]);
        // SAFETY: signal() is async-signal-safe and touches only the child.
        unsafe {
            cmd.pre_exec(move || {
                libc::signal(sig, libc::SIG_IGN);
                Ok(())
            });
        }
        let mut child = cmd.spawn().expect("spawn rawget");
        wait_for_temp(dir.path());
        signal(&child, sig);
        assert_eq!(wait_bounded(&mut child), 0, "signal {sig}");
        assert_same(
            &std::fs::read(dir.path().join("out")).unwrap(),
            &body,
            "out",
        );
        assert_eq!(listing(dir.path()), vec!["out"]);
    }
}

// ---------- issue 11.5: temporary files left by SIGKILL ----------

/// The id of a process that has exited (and been reaped): no process has
/// it now, barring reuse within milliseconds.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait true");
    pid
}

/// Issue 11.5: a temporary file left by SIGKILL stayed forever, through
/// later successful runs. A run to the same -o removes that FILE's stale
/// temporary files (their process is gone), never one whose process lives,
/// nor another FILE's.
#[test]
fn a_later_run_removes_stale_temporary_files_of_the_same_file() {
    let (body, server) = small_ok();
    let dir = scratch();
    let dead = dead_pid();
    let alive = std::process::id();
    let stale = format!(".out.rawget-{dead}-1a2b.part");
    let live = format!(".out.rawget-{alive}-3c4d.part");
    let other = format!(".other.rawget-{dead}-5e6f.part");
    // pid 0 would make kill(0, 0) ask about the process group: never taken
    // for dead or alive, just left.
    let odd = ".out.rawget-0-7a.part".to_owned();
    for name in [&stale, &live, &other, &odd] {
        std::fs::write(dir.path().join(name), "left over").unwrap();
    }
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    assert_same(
        &std::fs::read(dir.path().join("out")).unwrap(),
        &body,
        "out",
    );
    let mut expected = vec![live, other, odd, "out".to_owned()];
    expected.sort();
    assert_eq!(listing(dir.path()), expected);
}

/// Issue 11.5, end to end: SIGKILL mid-body leaves the temporary file; the
/// next run to the same FILE removes it.
#[test]
fn a_temporary_file_left_by_sigkill_is_removed_by_the_next_run() {
    let dir = scratch();
    let (mut child, _server) = hanging_fetch(dir.path(), &[], |_| {});
    signal(&child, libc::SIGKILL);
    assert_eq!(wait_bounded(&mut child), 128 + libc::SIGKILL);
    assert_eq!(listing(dir.path()).len(), 1, "{:?}", listing(dir.path()));
    let (body, server) = small_ok();
    assert_eq!(fetch_to(dir.path(), "out", &server, |_| {}), 0);
    assert_same(
        &std::fs::read(dir.path().join("out")).unwrap(),
        &body,
        "out",
    );
    assert_eq!(listing(dir.path()), vec!["out"]);
}

// ---------- issue 11.7: a stdout closed at exec ----------

/// Runs rawget with fd 1 closed (`rawget ARGS >&-`); returns the exit code
/// and stderr.
fn with_stdout_closed(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = command(dir, args);
    // SAFETY: close is async-signal-safe; it runs in the child after its
    // stdio is set up, so exec starts rawget with fd 1 closed.
    unsafe {
        cmd.pre_exec(|| {
            libc::close(1);
            Ok(())
        });
    }
    let out = cmd.stdout(Stdio::null()).output().expect("run rawget");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Issue 11.7: `rawget -s URL >&-` was exit 0, the body thrown away: Rust's
/// runtime points a closed fd 1 at /dev/null before main. curl gives 23.
/// Both ways the body is written: from the buffer (head and body in one
/// read) and by splice (the body after the head).
#[test]
fn a_body_to_a_closed_stdout_is_exit_23() {
    let dir = scratch();
    let ok = fixture("ok.http");
    let head = head_of(&ok).len();
    for plan in [
        Plan::new(ok.clone()),
        Plan::new(ok.clone())
            .piece(head)
            .delay(Duration::from_millis(20)),
    ] {
        let server = serve(plan);
        let (code, stderr) = with_stdout_closed(dir.path(), &["-s", &server.url("/")]);
        assert_eq!(code, 23, "{stderr}");
        assert_eq!(
            stderr,
            "rawget: error: could not write to stdout: Bad file descriptor\n"
        );
    }
}

/// Issue 11.7: only writing to the closed stdout fails; with no body to
/// write there is no failure.
#[test]
fn an_empty_body_with_stdout_closed_is_exit_0() {
    let dir = scratch();
    let server = serve(Plan::new(b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()));
    let (code, stderr) = with_stdout_closed(dir.path(), &["-s", &server.url("/")]);
    assert_eq!(code, 0, "{stderr}");
}

// ---------- issue 11.8: a head reader that stops reading ----------

/// Issue 11.8: `rawget -o f URL | head -1` was exit 23, silently, and f was
/// not written: the printed head's broken pipe was taken for the quiet
/// "reader went away" case. The body goes to a file, so the file is saved
/// and the exit is 0 (curl saves it too); the heads are no longer printed.
#[test]
fn a_closed_pipe_on_the_printed_head_does_not_end_a_download_to_a_file() {
    let (body, server) = small_ok();
    let dir = scratch();
    let run = command(dir.path(), &["-o", "f", &server.url("/")])
        .stdout(pipe_without_reader())
        .output()
        .expect("run rawget");
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(
        run.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_same(&std::fs::read(dir.path().join("f")).unwrap(), &body, "f");
    assert_eq!(listing(dir.path()), vec!["f"]);
}

/// Issue 11.8 with issue 11.7: a stdout closed at exec is no reader for the
/// head either; the file is saved, exit 0.
#[test]
fn a_stdout_closed_at_exec_does_not_end_a_download_to_a_file() {
    let (body, server) = small_ok();
    let dir = scratch();
    let (code, stderr) = with_stdout_closed(dir.path(), &["-o", "f", &server.url("/")]);
    assert_eq!(code, 0, "{stderr}");
    assert_same(&std::fs::read(dir.path().join("f")).unwrap(), &body, "f");
}

/// When the body itself goes to the closed pipe, the quiet 23 stays right:
/// the user closed the pipe on purpose (`rawget URL | head -c 10`).
#[test]
fn a_closed_pipe_on_the_body_is_still_a_quiet_23() {
    let (_, server) = small_ok();
    let dir = scratch();
    for extra in [&[][..], &["-i"], &["-D", "-"]] {
        let mut args = extra.to_vec();
        let address = server.url("/");
        args.extend(["-s", &address]);
        let run = command(dir.path(), &args)
            .stdout(pipe_without_reader())
            .output()
            .expect("run rawget");
        assert_eq!(run.status.code(), Some(23), "{extra:?}");
        assert!(
            run.stderr.is_empty(),
            "{extra:?}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
