//! Writing a decoded body behind the decoder: a second thread writes one
//! buffer to FILE while the fetch decodes the next, so the decoder and the
//! kernel's copy into the page cache run at the same time instead of one
//! after the other.
//!
//! Why: decoding 1 GiB of gzip text is about 1.4 s of CPU and writing the
//! 1 GiB to tmpfs about 0.8 s of system time; done in turn they add up, in
//! two threads the wall time is close to the larger (figures in the
//! commit). The thread starts when one read of the socket decodes to a
//! full buffer; what a read leaves in a part-filled buffer goes on at
//! once ([`Behind::pass_on`]), so a body that trickles in is written as it
//! comes, directly, and starts no thread.
//!
//! Memory stays flat: at most [`BUFFERS`] buffers of [`BEHIND_BUF`] bytes
//! exist, one gathering while the other is written. Two are enough since
//! the write is the quicker side (0.8 s a GiB against the decoder's 1.4 s);
//! 128 KiB each keeps the hand-overs few (8,192 a GiB). Three of 256 KiB
//! were 0.5 MiB more peak RSS for no measurable gain; 64 KiB ones made
//! the hand-overs slow it down (figures in the commit). Bytes are in FILE
//! only after [`Behind::drain`]; a failed write is reported at the next
//! hand-over or at the drain, as the same error a direct write gives.
//!
//! A thread that waits for the other's buffer keeps looking (yielding the
//! CPU between looks) for [`SPIN`] before it sleeps ([`recv_soon`]): in a
//! steady transfer the next buffer comes within that, so neither thread
//! sleeps, and the futex wake-up a sleeping one needs (tens of microseconds
//! on a virtual machine, up to twice a buffer) is not paid thousands of
//! times a GiB. On one CPU there is nobody to wait for, and it sleeps at
//! once.

use std::fs::File;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Size of each buffer handed to the writer: each write(2) carries this
/// many bytes.
pub const BEHIND_BUF: usize = 128 * 1024;

/// Most buffers in use at once: one gathering, one being written.
const BUFFERS: usize = 2;

/// How long a thread waiting for a buffer looks before it sleeps. The
/// writer waits for the decoder, which fills a buffer in about 210 us
/// (brotli text), 160 us (gzip) or 120 us (zstd), less the time the write
/// took: so in a transfer that keeps both threads busy neither sleeps, and
/// one that trickles costs at most this much CPU per buffer.
const SPIN: Duration = Duration::from_micros(200);

/// The writer thread, once started.
struct Writer {
    /// Full buffers to write, with the bytes they hold; dropped to tell
    /// the thread to end.
    full: Option<SyncSender<(Vec<u8>, usize)>>,
    /// Buffers written, given back for reuse.
    empty: Receiver<Vec<u8>>,
    thread: Option<JoinHandle<io::Result<()>>>,
    /// Buffers made so far (at most [`BUFFERS`]).
    made: usize,
    /// How long to look before sleeping ([`SPIN`], or zero on one CPU).
    spin: Duration,
}

/// Bytes gathered for FILE, and the thread that writes them.
#[derive(Default)]
pub struct Behind {
    /// The buffer being filled: [`BEHIND_BUF`] bytes once it exists
    /// (empty before), of which the first `filled` are the body's.
    gather: Vec<u8>,
    filled: usize,
    writer: Option<Writer>,
}

impl Behind {
    /// Takes `data` for `file`: gathered, and handed to the writer thread
    /// (started on the first full buffer) whenever a buffer is full.
    pub fn write(&mut self, file: &File, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let room = self.room()?;
            let n = room.len().min(data.len());
            room[..n].copy_from_slice(&data[..n]);
            data = &data[n..];
            self.filled(file, n)?;
        }
        Ok(())
    }

    /// The free part of the buffer being gathered into (never empty):
    /// a decoder may write there directly, then say how much with
    /// [`Behind::filled`], saving the copy [`Behind::write`] makes.
    pub fn room(&mut self) -> io::Result<&mut [u8]> {
        if self.gather.is_empty() {
            self.gather = self.spare()?;
            self.filled = 0;
        }
        Ok(&mut self.gather[self.filled..])
    }

    /// `n` more bytes of [`Behind::room`] are the body's; a full buffer
    /// goes to the writer thread (started on the first).
    pub fn filled(&mut self, file: &File, n: usize) -> io::Result<()> {
        self.filled = (self.filled + n).min(self.gather.len());
        if self.filled == BEHIND_BUF {
            self.hand_over(file)?;
        }
        Ok(())
    }

    /// What is gathered goes on now, without waiting for a full buffer:
    /// to the thread when it runs, else written here. Called when the
    /// input runs dry, so a body that trickles in reaches FILE as it
    /// comes, as curl writes it, rather than a buffer's worth at a time.
    pub fn pass_on(&mut self, file: &File) -> io::Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        if self.writer.is_some() {
            return self.hand_over(file);
        }
        let mut direct = file;
        direct.write_all(&self.gather[..self.filled])?;
        self.filled = 0;
        Ok(())
    }

    /// Whether bytes are gathered or being written.
    pub fn is_idle(&self) -> bool {
        self.filled == 0 && self.writer.is_none()
    }

    /// Puts every byte taken so far in `file`: waits for the thread to
    /// write what it holds and end, then writes what is gathered. After
    /// it, `file` may be written directly again.
    pub fn drain(&mut self, file: &mut File) -> io::Result<()> {
        let ended = match self.writer.take() {
            Some(writer) => writer.end(),
            None => Ok(()),
        };
        let filled = std::mem::take(&mut self.filled);
        ended?;
        file.write_all(&self.gather[..filled])
    }

    /// A buffer to gather into: a written one given back, a new one while
    /// fewer than [`BUFFERS`] exist, else the next one the thread gives back.
    fn spare(&mut self) -> io::Result<Vec<u8>> {
        let Some(w) = &mut self.writer else {
            return Ok(vec![0; BEHIND_BUF]);
        };
        if let Ok(buf) = w.empty.try_recv() {
            return Ok(buf);
        }
        if w.made < BUFFERS {
            w.made += 1;
            return Ok(vec![0; BEHIND_BUF]);
        }
        match recv_soon(&w.empty, w.spin) {
            Some(buf) => Ok(buf),
            // The thread ended early: a write failed.
            None => Err(self.failed()),
        }
    }

    /// Hands the full gathering buffer to the thread, starting it if need be.
    fn hand_over(&mut self, file: &File) -> io::Result<()> {
        if self.writer.is_none() {
            match Writer::start(file) {
                Ok(w) => self.writer = Some(w),
                // No thread to be had: write it here, as without one.
                Err(_) => {
                    let mut direct = file;
                    direct.write_all(&self.gather[..self.filled])?;
                    self.filled = 0;
                    return Ok(());
                }
            }
        }
        let buf = std::mem::take(&mut self.gather);
        let filled = std::mem::take(&mut self.filled);
        let sent = match self.writer.as_ref().and_then(|w| w.full.as_ref()) {
            Some(full) => full.send((buf, filled)).is_ok(),
            None => false,
        };
        if !sent {
            return Err(self.failed());
        }
        Ok(())
    }

    /// The thread ended before it was told to: its error.
    fn failed(&mut self) -> io::Error {
        match self.writer.take() {
            Some(w) => w
                .end()
                .err()
                .unwrap_or_else(|| io::ErrorKind::BrokenPipe.into()),
            None => io::ErrorKind::BrokenPipe.into(),
        }
    }
}

/// The next item from `rx`, looking for up to `spin` before sleeping on
/// it; `None` once the other side is gone.
fn recv_soon<T>(rx: &Receiver<T>, spin: Duration) -> Option<T> {
    let start = Instant::now();
    while start.elapsed() < spin {
        match rx.try_recv() {
            Ok(item) => return Some(item),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            // Yielding rather than a PAUSE loop: anything else runnable
            // here (the server, on loopback) gets the CPU; and measured,
            // it was the quicker of the two (figures in the commit).
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv().ok()
}

impl Writer {
    /// Starts the thread on a second handle to `file` (the same open file,
    /// so the same offset: only one of the two writes at a time).
    fn start(file: &File) -> io::Result<Writer> {
        let mut out = file.try_clone()?;
        let spin = match std::thread::available_parallelism() {
            Ok(n) if n.get() > 1 => SPIN,
            _ => Duration::ZERO,
        };
        let (full, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(1);
        let (empty_tx, empty) = mpsc::sync_channel::<Vec<u8>>(BUFFERS);
        let thread = std::thread::Builder::new()
            .name("rawget-writer".into())
            .stack_size(64 * 1024)
            .spawn(move || {
                while let Some((buf, filled)) = recv_soon(&full_rx, spin) {
                    out.write_all(&buf[..filled])?;
                    // Never full: it has room for every buffer there is.
                    let _ = empty_tx.try_send(buf);
                }
                Ok(())
            })?;
        Ok(Writer {
            full: Some(full),
            empty,
            thread: Some(thread),
            // The one being gathered into when the thread starts.
            made: 1,
            spin,
        })
    }

    /// Tells the thread there is no more, and waits for it.
    fn end(mut self) -> io::Result<()> {
        drop(self.full.take());
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the writer thread panicked")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek};

    fn temp_file(name: &str) -> (File, std::path::PathBuf) {
        let path =
            std::env::temp_dir().join(format!("rawget-behind-{name}-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        (file, path)
    }

    #[test]
    fn a_wait_that_outlasts_the_spin_sleeps_until_the_item_comes() {
        let (tx, rx) = mpsc::sync_channel(1);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(7u8).unwrap();
        });
        assert_eq!(recv_soon(&rx, SPIN), Some(7));
        sender.join().unwrap();
        assert_eq!(recv_soon(&rx, SPIN), None, "the sender is gone");
        assert_eq!(recv_soon(&rx, Duration::ZERO), None);
    }

    #[test]
    fn an_item_already_there_is_taken_without_waiting() {
        let (tx, rx) = mpsc::sync_channel(2);
        tx.send(1u8).unwrap();
        tx.send(2u8).unwrap();
        drop(tx);
        assert_eq!(recv_soon(&rx, SPIN), Some(1));
        assert_eq!(recv_soon(&rx, Duration::ZERO), Some(2));
        assert_eq!(recv_soon(&rx, SPIN), None);
    }

    #[test]
    fn every_byte_arrives_in_order_whatever_the_piece_sizes() {
        let (mut file, path) = temp_file("order");
        let body: Vec<u8> = (0..3 * BEHIND_BUF as u32 + 12_345)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut b = Behind::default();
        let mut rest = &body[..];
        for size in [1, 7, 65_536, BEHIND_BUF, 3, BEHIND_BUF + 1].iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (*size).min(rest.len());
            b.write(&file, &rest[..n]).unwrap();
            rest = &rest[n..];
        }
        assert!(
            b.writer.is_some(),
            "a body of several buffers starts the thread"
        );
        b.drain(&mut file).unwrap();
        assert!(b.is_idle());
        // Written directly again after the drain, in order.
        file.write_all(b"end").unwrap();
        let mut got = Vec::new();
        file.rewind().unwrap();
        file.read_to_end(&mut got).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(&got[..body.len()], &body[..]);
        assert_eq!(&got[body.len()..], b"end");
    }

    #[test]
    fn a_small_body_starts_no_thread() {
        let (mut file, path) = temp_file("small");
        let mut b = Behind::default();
        b.write(&file, b"hello").unwrap();
        assert!(b.writer.is_none());
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        b.drain(&mut file).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn what_is_passed_on_is_written_at_once_or_by_the_thread() {
        let (mut file, path) = temp_file("pass-on");
        let mut b = Behind::default();
        // No thread: written here, at once.
        b.write(&file, b"trickle ").unwrap();
        b.pass_on(&file).unwrap();
        assert!(b.writer.is_none() && b.is_idle());
        assert_eq!(std::fs::read(&path).unwrap(), b"trickle ");
        // A full buffer starts the thread; a part-filled one then follows it.
        let big = vec![b'x'; BEHIND_BUF + 10];
        b.write(&file, &big).unwrap();
        assert!(b.writer.is_some());
        b.pass_on(&file).unwrap();
        assert_eq!(b.filled, 0);
        b.drain(&mut file).unwrap();
        let got = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.len(), 8 + big.len());
        assert!(got[8..] == big[..]);
    }

    #[test]
    fn a_failed_write_is_reported() {
        // /dev/full: every write fails with ENOSPC, in the thread too.
        let mut file = File::options().write(true).open("/dev/full").unwrap();
        let mut b = Behind::default();
        let big = vec![1u8; BEHIND_BUF];
        let mut first = Ok(());
        for _ in 0..(BUFFERS + 2) {
            first = b.write(&file, &big);
            if first.is_err() {
                break;
            }
        }
        let drained = b.drain(&mut file);
        let err = first.err().or(drained.err()).expect("ENOSPC is reported");
        assert_eq!(err.raw_os_error(), Some(libc::ENOSPC));
    }
}
