//! Waiting on sockets without reading them: poll(2) on Unix, WSAPoll on
//! Windows (the same call under another name, with the same struct).
//!
//! The happy-eyeballs race waits for several connects at once
//! ([`Interest::Writable`]) and the `Expect: 100-continue` wait for the
//! first byte of an answer ([`Interest::Readable`]); both only need "which
//! of these sockets is ready within this time", which std cannot ask.

use std::io;
use std::time::Duration;

/// What a socket is waited for.
#[derive(Clone, Copy)]
pub(super) enum Interest {
    /// A connect finished (or failed): POLLOUT.
    Writable,
    /// Bytes (or the end) arrived: POLLIN.
    Readable,
    /// Either: `rawget send --pipeline`, which writes and reads in turn.
    Both,
}

#[cfg(unix)]
pub(super) use std::os::fd::AsRawFd as AsSocket;
#[cfg(windows)]
pub(super) use std::os::windows::io::AsRawSocket as AsSocket;

/// Waits up to `timeout` (`None`: without end) for any of `sockets`;
/// which ones are ready (a failed connect counts as ready: its error is
/// then read with `take_error`). An interrupted wait is resumed with the
/// whole timeout again, as before (a signal here ends rawget anyway).
pub(super) fn ready<S: AsSocket>(
    sockets: &[&S],
    interest: Interest,
    timeout: Option<Duration>,
) -> io::Result<Vec<bool>> {
    // Rounded up: a wake-up a millisecond early would spin.
    let ms = timeout.map_or(-1, |t| {
        let ms = t.as_micros().div_ceil(1000);
        i32::try_from(ms).unwrap_or(i32::MAX)
    });
    sys::ready(sockets, interest, ms)
}

#[cfg(unix)]
mod sys {
    use super::{AsSocket, Interest};
    use std::io;

    pub(super) fn ready<S: AsSocket>(
        sockets: &[&S],
        interest: Interest,
        ms: i32,
    ) -> io::Result<Vec<bool>> {
        let events = match interest {
            Interest::Writable => libc::POLLOUT,
            Interest::Readable => libc::POLLIN,
            Interest::Both => libc::POLLIN | libc::POLLOUT,
        };
        let mut fds: Vec<libc::pollfd> = sockets
            .iter()
            .map(|s| libc::pollfd {
                fd: s.as_raw_fd(),
                events,
                revents: 0,
            })
            .collect();
        loop {
            // SAFETY: `fds` is a live, exclusively borrowed array of
            // `fds.len()` pollfd structs; poll writes only their `revents`.
            let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
            if n >= 0 {
                return Ok(fds.iter().map(|f| f.revents != 0).collect());
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }
}

#[cfg(windows)]
mod sys {
    use super::{AsSocket, Interest};
    use std::io;
    use windows_sys::Win32::Networking::WinSock::{
        WSAGetLastError, WSAPoll, POLLRDNORM, POLLWRNORM, SOCKET_ERROR, WSAPOLLFD,
    };

    pub(super) fn ready<S: AsSocket>(
        sockets: &[&S],
        interest: Interest,
        ms: i32,
    ) -> io::Result<Vec<bool>> {
        // WSAPoll refuses POLLIN/POLLOUT's priority bits: the NORM ones only.
        let events = match interest {
            Interest::Writable => POLLWRNORM,
            Interest::Readable => POLLRDNORM,
            Interest::Both => POLLRDNORM | POLLWRNORM,
        };
        let mut fds: Vec<WSAPOLLFD> = sockets
            .iter()
            .map(|s| WSAPOLLFD {
                fd: s.as_raw_socket() as usize,
                events,
                revents: 0,
            })
            .collect();
        let count = u32::try_from(fds.len()).unwrap_or(u32::MAX);
        // SAFETY: `fds` is a live, exclusively borrowed array of `count`
        // WSAPOLLFD structs; WSAPoll writes only their `revents`.
        let n = unsafe { WSAPoll(fds.as_mut_ptr(), count, ms) };
        if n == SOCKET_ERROR {
            // SAFETY: reads this thread's last socket error.
            return Err(io::Error::from_raw_os_error(unsafe { WSAGetLastError() }));
        }
        Ok(fds.iter().map(|f| f.revents != 0).collect())
    }
}
