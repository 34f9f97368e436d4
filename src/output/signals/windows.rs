//! Windows: what Ctrl-C, Ctrl-Break and closing the console window do to
//! `-o FILE`'s temporary file.
//!
//! The console calls the handler on a thread of its own (there are no
//! signals), so unlike the Unix handler it may allocate and use std: it
//! takes the armed file under a lock, does what [`OnSignal`] says, and
//! returns FALSE, so that the next handler, the system's, ends the process
//! as the key would have (exit STATUS_CONTROL_C_EXIT). The lock is held
//! until then, so the main thread cannot commit or disarm half-way.
//! A process started with Ctrl-C ignored (`start /b`, a new process group)
//! never gets the event, as a Unix signal ignored under `nohup`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};

use windows_sys::core::BOOL;
use windows_sys::Win32::Foundation::FALSE;
use windows_sys::Win32::System::Console::SetConsoleCtrlHandler;

use super::OnSignal;
use crate::output::diag;

/// What the handler needs: the paths, or for a resume FILE's handle.
struct Armed {
    temp: PathBuf,
    target: PathBuf,
    /// FILE as the user named it, for the note.
    shown: PathBuf,
    /// A resume: a handle on FILE and the length it had.
    appended: Option<(File, u64)>,
}

static ARMED: Mutex<Option<Armed>> = Mutex::new(None);
/// An [`OnSignal`], as its `u8`.
static ACTION: AtomicU8 = AtomicU8::new(OnSignal::Remove as u8);

/// The lock, also after a panic elsewhere (the state is plain data).
fn armed() -> MutexGuard<'static, Option<Armed>> {
    ARMED.lock().unwrap_or_else(|e| e.into_inner())
}

/// Arms the temporary file `temp` for FILE `target` (shown as `shown`).
pub(in crate::output) fn arm(temp: &Path, target: &Path, shown: &Path, action: OnSignal) {
    ACTION.store(action as u8, Ordering::SeqCst);
    *armed() = Some(Armed {
        temp: temp.to_owned(),
        target: target.to_owned(),
        shown: shown.to_owned(),
        appended: None,
    });
    install();
}

/// Arms a resume: FILE (open as `file`) had `len` bytes before the body
/// was appended; Ctrl-C cuts it back to them, or with `keep_partial`
/// keeps what was appended and says so.
pub(in crate::output) fn arm_append(file: &File, len: u64, shown: &Path, keep_partial: bool) {
    let Ok(handle) = file.try_clone() else {
        return;
    };
    let action = match keep_partial {
        true => OnSignal::KeepAppended,
        false => OnSignal::Cut,
    };
    ACTION.store(action as u8, Ordering::SeqCst);
    *armed() = Some(Armed {
        temp: PathBuf::new(),
        target: PathBuf::new(),
        shown: shown.to_owned(),
        appended: Some((handle, len)),
    });
    install();
}

/// Changes what Ctrl-C does from now on.
pub(in crate::output) fn set(action: OnSignal) {
    ACTION.store(action as u8, Ordering::SeqCst);
}

/// The temporary file is gone or final: Ctrl-C does nothing to it now.
pub(in crate::output) fn disarm() {
    *armed() = None;
}

/// The console's handler: every event (Ctrl-C, Ctrl-Break, close, log-off,
/// shut-down) ends the process once the handler returns FALSE.
unsafe extern "system" fn on_event(_event: u32) -> BOOL {
    let mut guard = armed();
    if let Some(armed) = guard.take() {
        clean_up(&armed, ACTION.load(Ordering::SeqCst));
    }
    // Held on purpose: the main thread waits here until the process ends.
    std::mem::forget(guard);
    FALSE
}

/// Does `action` to the armed file; the note as the Unix handler writes it.
fn clean_up(armed: &Armed, action: u8) {
    let shown = armed.shown.display();
    if let Some((file, len)) = &armed.appended {
        if action == OnSignal::Cut as u8 {
            let _ = file.set_len(*len);
        } else if let Ok(meta) = file.metadata() {
            let appended = meta.len().saturating_sub(*len);
            diag::line(format_args!(
                "rawget: kept the partial body in {shown} ({appended} bytes appended)"
            ));
        }
        return;
    }
    let kept = if action == OnSignal::Rename as u8 {
        match fs::rename(&armed.temp, &armed.target) {
            Ok(()) => Some(fs::metadata(&armed.target).map_or(0, |m| m.len())),
            Err(_) => copy(&armed.temp, &armed.target).ok(),
        }
    } else if action == OnSignal::Copy as u8 {
        copy(&armed.temp, &armed.target).ok()
    } else {
        None
    };
    let _ = fs::remove_file(&armed.temp);
    if let Some(size) = kept {
        diag::line(format_args!(
            "rawget: kept the partial body in {shown} ({size} bytes)"
        ));
    }
}

/// Copies `from` over `to` (truncated); the bytes copied.
fn copy(from: &Path, to: &Path) -> io::Result<u64> {
    let mut src = File::open(from)?;
    let mut dst = OpenOptions::new().write(true).truncate(true).open(to)?;
    io::copy(&mut src, &mut dst)
}

/// Installs the handler, once.
fn install() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: registers a handler function that lives for the whole
        // program; a failure leaves the default handling, as before.
        unsafe { SetConsoleCtrlHandler(Some(on_event), 1) };
    });
}
