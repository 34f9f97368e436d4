//! Unix: what SIGINT, SIGTERM and SIGHUP do to `-o FILE`'s temporary file.
//!
//! While a temporary file exists it is *armed* here: the handler removes
//! it, or with `--keep-partial` makes what arrived FILE (a rename, or a
//! copy when the temporary file is in `$TMPDIR`), then lets the signal end
//! the process as it would have, so the exit status still names it.
//! A signal the user ignored (`nohup`) is left ignored.
//!
//! The handler may only call async-signal-safe functions (POSIX.1-2017
//! 2.4.3): open, read, write, close, rename, unlink, stat, fstat,
//! ftruncate, nanosleep, sigaction and raise are on the list; malloc and formatting are not, so
//! everything it needs is prepared when the file is armed, and never freed
//! (a handler on another thread may still be reading it).

use std::ffi::{c_char, CString};
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU8, Ordering};

use super::OnSignal;

/// Everything the handler needs, as C strings made in advance.
struct Armed {
    temp: CString,
    target: CString,
    /// `rawget: kept the partial body in FILE (`, the count and ` bytes)`
    /// follow.
    note: Vec<u8>,
    /// A resume: FILE's descriptor and the length it had (-1 otherwise).
    fd: libc::c_int,
    len: libc::off_t,
}

/// The armed temporary file, or null. Leaked on purpose: see the module doc.
static ARMED: AtomicPtr<Armed> = AtomicPtr::new(std::ptr::null_mut());
/// An [`OnSignal`], as its `u8`.
static ACTION: AtomicU8 = AtomicU8::new(OnSignal::Remove as u8);
/// A handler is cleaning up; a second signal (on another thread) waits for
/// it before ending the process.
static CLEANING: AtomicBool = AtomicBool::new(false);

/// Arms the temporary file `temp` for FILE `target` (shown as `shown`).
pub(in crate::output) fn arm(temp: &Path, target: &Path, shown: &Path, action: OnSignal) {
    let (Ok(temp), Ok(target)) = (
        CString::new(temp.as_os_str().as_bytes()),
        CString::new(target.as_os_str().as_bytes()),
    ) else {
        // Paths come from the OS and cannot hold NUL; nothing to arm.
        return;
    };
    let mut note = b"rawget: kept the partial body in ".to_vec();
    note.extend_from_slice(shown.as_os_str().as_bytes());
    note.extend_from_slice(b" (");
    let armed = Box::into_raw(Box::new(Armed {
        temp,
        target,
        note,
        fd: -1,
        len: 0,
    }));
    ACTION.store(action as u8, Ordering::SeqCst);
    ARMED.store(armed, Ordering::SeqCst);
    install();
}

/// Arms a resume: FILE (open as `file`) had `len` bytes before the body
/// was appended; a signal cuts it back to them, or with `keep_partial`
/// keeps what was appended and says so. The descriptor stays valid while
/// armed: FileOut holds the file until it disarms.
pub(in crate::output) fn arm_append(file: &File, len: u64, shown: &Path, keep_partial: bool) {
    let fd = file.as_raw_fd();
    let Ok(len) = libc::off_t::try_from(len) else {
        return;
    };
    let mut note = b"rawget: kept the partial body in ".to_vec();
    note.extend_from_slice(shown.as_os_str().as_bytes());
    note.extend_from_slice(b" (");
    let armed = Box::into_raw(Box::new(Armed {
        temp: CString::default(),
        target: CString::default(),
        note,
        fd,
        len,
    }));
    let action = match keep_partial {
        true => OnSignal::KeepAppended,
        false => OnSignal::Cut,
    };
    ACTION.store(action as u8, Ordering::SeqCst);
    ARMED.store(armed, Ordering::SeqCst);
    install();
}

/// Changes what a signal does from now on.
pub(in crate::output) fn set(action: OnSignal) {
    ACTION.store(action as u8, Ordering::SeqCst);
}

/// The temporary file is gone or final: a signal does nothing to it now.
pub(in crate::output) fn disarm() {
    // The Armed is leaked, not freed: a handler may hold it.
    ARMED.store(std::ptr::null_mut(), Ordering::SeqCst);
}

extern "C" fn on_signal(sig: libc::c_int) {
    let armed = ARMED.swap(std::ptr::null_mut(), Ordering::SeqCst);
    if armed.is_null() {
        // Nothing armed, or another thread's handler is at work: let it
        // finish before the default action ends the process.
        while CLEANING.load(Ordering::SeqCst) {
            let pause = libc::timespec {
                tv_sec: 0,
                tv_nsec: 1_000_000,
            };
            // SAFETY: nanosleep is async-signal-safe; `pause` is valid.
            unsafe { libc::nanosleep(&pause, std::ptr::null_mut()) };
        }
    } else {
        CLEANING.store(true, Ordering::SeqCst);
        // SAFETY: a non-null ARMED points to a leaked, never-freed Armed.
        let armed = unsafe { &*armed };
        let action = ACTION.load(Ordering::SeqCst);
        // SAFETY: clean_up only makes async-signal-safe calls on the
        // prepared C strings.
        unsafe { clean_up(armed, action) };
        CLEANING.store(false, Ordering::SeqCst);
    }
    // SAFETY: restoring the default action and raising the signal again
    // (async-signal-safe) ends the process as the signal would have; it
    // is delivered when this handler returns.
    unsafe {
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(sig, &default, std::ptr::null_mut());
        libc::raise(sig);
    }
}

/// Does `action` to the armed temporary file.
///
/// # Safety
/// Only from the signal handler (or with the same care): it makes
/// async-signal-safe calls only.
unsafe fn clean_up(armed: &Armed, action: u8) {
    // A resume: FILE is the armed descriptor, and there is no temporary
    // file to touch.
    if action == OnSignal::Cut as u8 {
        libc::ftruncate(armed.fd, armed.len);
        return;
    }
    if action == OnSignal::KeepAppended as u8 {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::fstat(armed.fd, &mut st) == 0 {
            let appended = (st.st_size - armed.len).max(0) as u64;
            write_all(&armed.note);
            let mut digits = [0u8; 20];
            write_all(decimal(appended, &mut digits));
            write_all(b" bytes appended)\n");
        }
        return;
    }
    let kept = if action == OnSignal::Rename as u8 {
        if libc::rename(armed.temp.as_ptr(), armed.target.as_ptr()) == 0 {
            let mut st: libc::stat = std::mem::zeroed();
            let size = if libc::stat(armed.target.as_ptr(), &mut st) == 0 {
                st.st_size as u64
            } else {
                0
            };
            Some(size)
        } else {
            // Refused (a sticky directory): FILE may still be writable.
            copy(armed.temp.as_ptr(), armed.target.as_ptr())
        }
    } else if action == OnSignal::Copy as u8 {
        copy(armed.temp.as_ptr(), armed.target.as_ptr())
    } else {
        None
    };
    // After a rename there is nothing left to unlink; after a copy or for
    // Remove, the temporary file goes.
    libc::unlink(armed.temp.as_ptr());
    if let Some(size) = kept {
        write_all(&armed.note);
        let mut digits = [0u8; 20];
        write_all(decimal(size, &mut digits));
        write_all(b" bytes)\n");
    }
}

/// Copies `from` over `to` (truncated); the bytes copied, or `None`.
///
/// # Safety
/// Both are valid C strings; async-signal-safe calls only.
unsafe fn copy(from: *const c_char, to: *const c_char) -> Option<u64> {
    let src = libc::open(from, libc::O_RDONLY | libc::O_CLOEXEC);
    if src < 0 {
        return None;
    }
    let dst = libc::open(to, libc::O_WRONLY | libc::O_TRUNC | libc::O_CLOEXEC);
    if dst < 0 {
        libc::close(src);
        return None;
    }
    let mut buf = [0u8; 16 * 1024];
    let mut total = 0u64;
    let ok = loop {
        let n = libc::read(src, buf.as_mut_ptr().cast(), buf.len());
        if n == 0 {
            break true;
        }
        if n < 0 {
            if interrupted() {
                continue;
            }
            break false;
        }
        let n = n as usize;
        if !write_fd(dst, &buf[..n]) {
            break false;
        }
        total += n as u64;
    };
    libc::close(src);
    libc::close(dst);
    ok.then_some(total)
}

/// Whether the last call failed with EINTR (reads errno: no allocation).
fn interrupted() -> bool {
    std::io::Error::last_os_error().raw_os_error() == Some(libc::EINTR)
}

/// write(2) of all of `bytes` to `fd`, retrying short writes and EINTR.
///
/// # Safety
/// Async-signal-safe; `fd` is any descriptor (a bad one just fails).
unsafe fn write_fd(fd: libc::c_int, mut bytes: &[u8]) -> bool {
    while !bytes.is_empty() {
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        if n < 0 {
            if interrupted() {
                continue;
            }
            return false;
        }
        bytes = &bytes[n as usize..];
    }
    true
}

/// The note on stderr; a failure is ignored, as diag does.
fn write_all(bytes: &[u8]) {
    // SAFETY: write(2) on fd 2 with a valid buffer.
    unsafe { write_fd(2, bytes) };
}

/// `n` in decimal, in `buf`, without allocating.
fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Installs the handler, once, for each of SIGINT, SIGTERM and SIGHUP that
/// the user did not ignore.
///
/// An ignored signal stays ignored: under `nohup` SIGHUP is ignored so the
/// transfer outlives the terminal, and a shell starts a script's
/// background jobs with SIGINT ignored. Catching them anyway killed rawget
/// (exit 129, the download lost) where curl carries on. A signal ignored
/// is one rawget never sees, so it has nothing to clean up for it.
fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: sigaction with a null new action only reads the
            // current one into `old`, a plain C struct.
            let ignored = unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut old) != 0
                    || old.sa_sigaction == libc::SIG_IGN
            };
            if ignored {
                continue;
            }
            // SAFETY: installs a handler that only makes async-signal-safe
            // calls; the other two signals are blocked while it runs, so
            // one thread does not clean up twice. SA_RESTART: a read or
            // write the signal interrupts is resumed, as signal() did.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                for other in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                    libc::sigaddset(&mut action.sa_mask, other);
                }
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_without_allocating() {
        let mut buf = [0u8; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(1234567, &mut buf), b"1234567");
        assert_eq!(decimal(u64::MAX, &mut buf), u64::MAX.to_string().as_bytes());
    }
}
