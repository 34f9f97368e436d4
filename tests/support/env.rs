//! What a test needs of the machine it runs on: no silent skips. A test
//! that cannot run here fails under CI and says so loudly elsewhere; a test
//! that runs as root (as CI does) still tests what it claims.

use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

/// `nobody`'s user and group id on Linux distributions.
const NOBODY: libc::uid_t = 65534;

/// Whether the tests run in CI (which sets `CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// For a test that cannot run on this machine (`why`): under CI a failure,
/// since CI must run every test; elsewhere a line on the terminal, past the
/// test harness's capture, and the caller returns.
#[track_caller]
pub fn cannot_run_here(why: &str) {
    skip_or_fail(under_ci(), why);
}

#[track_caller]
fn skip_or_fail(ci: bool, why: &str) {
    assert!(!ci, "this test cannot run here, and CI must run it: {why}");
    // Written to the descriptor, not with eprintln!, which libtest captures
    // and drops for a passing test.
    let _ = writeln!(io::stderr(), "SKIPPED {}: {why}", test_name());
}

fn test_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string()
}

/// Makes `cmd` run without root's privileges when the tests run as root:
/// as nobody, with no supplementary groups, so that file permissions apply
/// to it as to any user (root's CAP_DAC_OVERRIDE ignores them). `dir`, a
/// scratch directory (tempfile makes them 0700), is opened to it. Not root:
/// `cmd` runs as this user, to whom permissions already apply.
pub fn unprivileged(cmd: &mut Command, dir: &Path) {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .expect("open the scratch directory to nobody");
    // SAFETY: the closure runs in the forked child before exec and calls
    // only setgroups, setgid and setuid, which are async-signal-safe; it
    // allocates nothing and touches no lock. Groups go first: after setuid
    // the child may no longer change them.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setgroups(0, std::ptr::null()) != 0
                || libc::setgid(NOBODY) != 0
                || libc::setuid(NOBODY) != 0
            {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[test]
#[should_panic(expected = "CI must run it: no such device")]
fn under_ci_a_test_that_cannot_run_fails() {
    skip_or_fail(true, "no such device");
}
