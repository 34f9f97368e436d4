//! Paced waits for a body that streams in through a proxy.
//!
//! A proxy relays in small writes (tinyproxy 2 KiB, microsocks 1 KiB) and,
//! on one host, runs a core flat out doing it. Each write that finds
//! rawget asleep on the socket makes the proxy wake it: a cross-CPU wake-up
//! inside the proxy's send, 4-6% of its CPU in perf (`sock_def_readable`),
//! and as much of the fetch's time. So while a body streams (since a read
//! took at least [`STREAMING`] bytes), a read that would wait first naps on
//! a timer, up to [`NAPS`] times [`NAP`], and then takes what came
//! meanwhile: with nobody asleep on the socket, the proxy has nobody to
//! wake. A read that finds bytes waiting takes them at once, however few.
//! A body that pauses longer than the naps is no longer streaming and is
//! waited for on the socket as before (as is a trickle, whose reads are
//! small), so a pause costs at most `NAPS × NAP` more, and a stall still
//! ends at `--max-time` (the read after the naps is the one the deadline
//! holds).
//!
//! Measured on 1 GiB over loopback (2 cores), rounds alternating the build
//! before, this one and curl, medians: through tinyproxy, two sets of 10,
//! 3.80 and 4.16 s paced, 3.85 and 4.72 s unpaced, curl 4.44 and 4.76 s;
//! through microsocks, 9 rounds, 6.06 s paced, 6.71 s unpaced, curl 7.05 s
//! (the proxy's CPU 5.71 s, 6.30 s, 6.40 s). Not for direct connections:
//! paced, a direct https fetch from nginx was slower (2.14 s against
//! 1.95 s), both ends being busy with TLS.

use std::time::Duration;

/// How long one nap lasts: long enough for a proxy relaying at 200-300
/// MB/s to queue a read buffer's worth, short enough not to show.
pub const NAP: Duration = Duration::from_millis(1);

/// Most naps before a read waits on the socket instead.
pub const NAPS: u32 = 2;

/// A read this large means the body is streaming: a trickle's reads are
/// smaller, and are never paced.
pub const STREAMING: usize = 32 * 1024;

/// Whether reads on one connection are paced, and whether its body is
/// streaming now.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pace {
    /// Paced at all: the connection goes through a proxy.
    on: bool,
    /// A read took at least [`STREAMING`] bytes, and no wait since has
    /// outlasted the naps.
    streaming: bool,
}

impl Pace {
    /// Pacing for a connection through a proxy (`on`), or none; made
    /// afresh for each exchange, so a head is read before any large read
    /// can start pacing.
    pub fn new(on: bool) -> Pace {
        Pace {
            on,
            streaming: false,
        }
    }

    /// Before a read that may wait: while the body streams and `ready`
    /// (bytes wait, asked without waiting) says no, naps; at most
    /// [`NAPS`] times, after which the body is no longer streaming.
    pub fn wait(&mut self, mut ready: impl FnMut() -> bool) {
        if !self.streaming {
            return;
        }
        for _ in 0..NAPS {
            if ready() {
                return;
            }
            std::thread::sleep(NAP);
        }
        self.streaming = ready();
    }

    /// After a read that took `n` bytes: a large one starts pacing.
    pub fn took(&mut self, n: usize) {
        if self.on && n >= STREAMING {
            self.streaming = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::time::Instant;

    #[test]
    fn only_a_streaming_body_through_a_proxy_is_paced() {
        // Bytes never wait; `asked` counts the looks, one before each nap.
        let asked = Cell::new(0);
        let nothing = || {
            asked.set(asked.get() + 1);
            false
        };
        let mut pace = Pace::new(true);
        pace.wait(nothing);
        assert_eq!(asked.get(), 0, "nothing read yet: no pacing");
        pace.took(STREAMING - 1);
        pace.wait(nothing);
        assert_eq!(asked.get(), 0, "a trickle's read: no pacing");
        pace.took(STREAMING);
        let started = Instant::now();
        pace.wait(nothing);
        assert_eq!(
            asked.get(),
            NAPS + 1,
            "streaming: a look before each nap and after"
        );
        assert!(started.elapsed() >= NAP * NAPS);
        pace.wait(nothing);
        assert_eq!(
            asked.get(),
            NAPS + 1,
            "a pause outlasted the naps: no longer paced"
        );

        let mut direct = Pace::new(false);
        direct.took(1 << 20);
        direct.wait(nothing);
        assert_eq!(asked.get(), NAPS + 1, "not through a proxy: never paced");
    }

    #[test]
    fn bytes_already_waiting_end_the_naps_at_once() {
        let mut pace = Pace::new(true);
        pace.took(STREAMING);
        let mut asked = 0;
        pace.wait(|| {
            asked += 1;
            true
        });
        assert_eq!(asked, 1, "bytes waited: asked once, no nap");
        pace.took(1);
        pace.wait(|| {
            asked += 1;
            true
        });
        assert_eq!(
            asked, 2,
            "a small read that found bytes waiting keeps pacing"
        );
    }
}
