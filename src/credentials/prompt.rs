//! Asking for the password `-u USER` left out, as curl asks: `Enter host
//! password for user 'USER':` on the terminal, with echo off; and for the
//! passphrase of an encrypted `--key` given without `--pass`, as OpenSSL
//! asks for curl: `Enter PEM pass phrase:`.
//!
//! The terminal is `/dev/tty`, opened for this alone, so a prompt reaches
//! the user even when stdout and stderr are redirected and stdin carries a
//! body; the echo is turned off with termios (libc, already a dependency:
//! twenty lines, not worth a crate; on Windows, `CONIN$`'s console mode)
//! and restored whatever happens. Without a terminal (a script, CI)
//! nothing is asked: the password is empty, as curl sends it, and the key
//! is refused with a line that names `--pass`.

use std::io::{self, BufRead, Write};

/// The password for `user`, read from the terminal; empty without one.
pub fn password(user: &str) -> String {
    read_from_tty(&format!("Enter host password for user '{user}':")).unwrap_or_default()
}

/// The passphrase of an encrypted PEM key, read from the terminal; `None`
/// without one.
pub fn key_passphrase() -> Option<String> {
    read_from_tty("Enter PEM pass phrase:").ok()
}

#[cfg(unix)]
fn read_from_tty(prompt: &str) -> io::Result<String> {
    use std::os::fd::AsRawFd;
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")?;
    let fd = tty.as_raw_fd();
    let mut saved = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: fd is open (tty lives until the end), and tcgetattr writes a
    // whole termios into `saved` when it returns 0.
    if unsafe { libc::tcgetattr(fd, saved.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: initialised by the successful tcgetattr above.
    let saved = unsafe { saved.assume_init() };
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    let mut out = &tty;
    write!(out, "{prompt}")?;
    out.flush()?;
    // SAFETY: fd is open; `quiet` is a valid termios copied from the
    // terminal's own.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) };
    let mut line = String::new();
    let read = io::BufReader::new(&tty).read_line(&mut line);
    // SAFETY: as above; the terminal gets its own settings back.
    unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &saved) };
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

/// Windows: the console's input (`CONIN$`, whatever stdin is) with
/// ENABLE_ECHO_INPUT off, restored afterwards; the prompt on `CONOUT$`.
#[cfg(windows)]
fn read_from_tty(prompt: &str) -> io::Result<String> {
    use std::os::windows::io::AsRawHandle;
    use windows_sys::Win32::System::Console::{
        GetConsoleMode, SetConsoleMode, CONSOLE_MODE, ENABLE_ECHO_INPUT,
    };
    let input = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("CONIN$")?;
    let mut out = std::fs::OpenOptions::new().write(true).open("CONOUT$")?;
    let handle = input.as_raw_handle();
    let mut saved: CONSOLE_MODE = 0;
    // SAFETY: `handle` is the console input opened above, alive until the
    // end; GetConsoleMode writes one CONSOLE_MODE.
    if unsafe { GetConsoleMode(handle, &mut saved) } == 0 {
        return Err(io::Error::last_os_error());
    }
    write!(out, "{prompt}")?;
    out.flush()?;
    // SAFETY: as above; the mode is the console's own less the echo.
    unsafe { SetConsoleMode(handle, saved & !ENABLE_ECHO_INPUT) };
    let mut line = String::new();
    let read = io::BufReader::new(&input).read_line(&mut line);
    // SAFETY: as above; the console gets its own mode back.
    unsafe { SetConsoleMode(handle, saved) };
    // The Enter the user typed was not echoed either.
    let _ = writeln!(out);
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

#[cfg(not(any(unix, windows)))]
fn read_from_tty(_prompt: &str) -> io::Result<String> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}
