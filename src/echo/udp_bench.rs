//! `rawget echo-client --udp --bench`: the UDP load generator, which
//! measures loss, reordering, duplication and corruption as well as rate
//! and round-trip time.
//!
//! Owns the datagram format (a header with the sequence number, the peer
//! and a check of the whole datagram, then a payload), the per-peer tally
//! that turns echoes into counts, the two sending modes (ping-pong, and
//! paced with `--rate`) and the report (text or `--json`).
//!
//! The counts, exactly (also in docs/echo.md):
//! - sent: sequence numbers a peer sent, the warm-up not included;
//! - echoed: sent datagrams of which at least one intact echo came back;
//! - lost: sent less echoed, that is no intact echo by the time the peer
//!   had stopped sending and then waited `--timeout` (or had them all);
//! - reordered: echoes whose first intact copy arrived after the first
//!   intact copy of a higher sequence number from the same peer;
//! - duplicated: intact copies beyond the first of a sequence number;
//! - corrupted: datagrams received that fail the check (wrong length,
//!   wrong check, another peer's, or a sequence number never sent).
//!
//! Datagram layout (little-endian), [`HEADER`] bytes then the payload:
//! `0..8` sequence number (`u64::MAX` for the warm-up), `8..12` peer
//! number, `12..16` check, `16..24` send time in ns since the bench began,
//! then a payload pattern of the peer. The check is a 32-bit hash of the
//! sequence number, peer, send time and payload. A relay can read the
//! sequence number from the first 8 bytes (the tests' relay does).

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{Barrier, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::bench::{latency_json, latency_text, pattern, per_sec, percentiles, Limit};
use super::udp_client::{io_error, local_for, MAX_DATAGRAM};
use crate::cli::EchoClientArgs;
use crate::{Error, ErrorKind};

/// Bytes of header at the start of every datagram (so the least `--size`).
pub const HEADER: usize = 24;

/// The sequence number of the warm-up datagrams.
pub const WARM_UP: u64 = u64::MAX;

/// Warm-up datagrams a peer sends (each waited for `--timeout`) before it
/// gives up on the server.
const WARM_UP_TRIES: u32 = 3;

/// After a refused warm-up, how long to wait before the next try.
const REFUSED_PAUSE: Duration = Duration::from_millis(50);

/// Highest `--rate`: beyond it the pacing is meaningless (tokio's timer
/// has a 1 ms grain, so a peer sends rate/1000 datagrams per tick).
const MAX_RATE: f64 = 10_000_000.0;

/// The outcome of a UDP bench run.
#[derive(Debug, Clone, PartialEq)]
pub struct UdpReport {
    /// Peers (sockets) that ran.
    pub peers: usize,
    /// Datagram size in bytes.
    pub size: usize,
    /// `--rate`, datagrams per second per peer; `None` is ping-pong.
    pub rate: Option<f64>,
    /// Wall time from the start signal to the last peer's last send (in
    /// ping-pong, its last echo or timeout); the wait for late echoes is
    /// not counted.
    pub seconds: f64,
    /// Counts over all peers.
    pub counts: Counts,
    /// Round trips of first intact echoes, ns: p50, p90, p99, max.
    pub latency_ns: [u64; 4],
}

/// The counts of a run (see the module docs for their exact meaning).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Sequence numbers sent.
    pub sent: u64,
    /// Sequence numbers with an intact echo.
    pub echoed: u64,
    /// First echoes that came after a higher sequence number's.
    pub reordered: u64,
    /// Intact copies beyond the first.
    pub duplicated: u64,
    /// Datagrams that failed the check.
    pub corrupted: u64,
}

impl Counts {
    /// Sent and never echoed intact.
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.echoed)
    }

    /// `lost` as a percentage of `sent`.
    pub fn loss_percent(&self) -> f64 {
        match self.sent {
            0 => 0.0,
            sent => self.lost() as f64 * 100.0 / sent as f64,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.sent += o.sent;
        self.echoed += o.echoed;
        self.reordered += o.reordered;
        self.duplicated += o.duplicated;
        self.corrupted += o.corrupted;
    }
}

impl UdpReport {
    /// Echoed datagrams per second.
    pub fn datagrams_per_sec(&self) -> f64 {
        per_sec(self.counts.echoed, self.seconds)
    }

    /// Echoed payload per second, one direction, in MiB.
    pub fn mib_per_sec(&self) -> f64 {
        self.datagrams_per_sec() * self.size as f64 / (1024.0 * 1024.0)
    }

    /// The human-readable report, one figure per line.
    pub fn text(&self) -> String {
        let c = &self.counts;
        let rate = match self.rate {
            Some(r) => format!("{r}/s per peer"),
            None => "ping-pong".to_string(),
        };
        format!(
            "peers        {}\nsize         {} B\nrate         {rate}\nseconds      {:.3}\n\
             sent         {}\nechoed       {}\nlost         {} ({:.3}%)\nreordered    {}\n\
             duplicated   {}\ncorrupted    {}\ndatagrams/s  {:.0}\nMiB/s        {:.2}\n{}",
            self.peers,
            self.size,
            self.seconds,
            c.sent,
            c.echoed,
            c.lost(),
            c.loss_percent(),
            c.reordered,
            c.duplicated,
            c.corrupted,
            self.datagrams_per_sec(),
            self.mib_per_sec(),
            latency_text(self.latency_ns),
        )
    }

    /// The same report as one JSON object on one line.
    pub fn json(&self) -> String {
        let c = &self.counts;
        let rate = self.rate.map_or("null".to_string(), |r| r.to_string());
        format!(
            "{{\"peers\":{},\"size\":{},\"rate\":{rate},\"seconds\":{:.6},\"sent\":{},\
             \"echoed\":{},\"lost\":{},\"loss_percent\":{:.3},\"reordered\":{},\
             \"duplicated\":{},\"corrupted\":{},\"datagrams_per_sec\":{:.1},\
             \"mib_per_sec\":{:.3},{}}}\n",
            self.peers,
            self.size,
            self.seconds,
            c.sent,
            c.echoed,
            c.lost(),
            c.loss_percent(),
            c.reordered,
            c.duplicated,
            c.corrupted,
            self.datagrams_per_sec(),
            self.mib_per_sec(),
            latency_json(self.latency_ns),
        )
    }
}

// ---------------------------------------------------------------- format

/// A 64-bit hash of `bytes`, word by word (the check must be cheap for
/// 64 KiB datagrams too). Not cryptographic: it catches damage, not forgery.
fn hash(bytes: &[u8]) -> u64 {
    let mix = |x: u64| {
        let x = (x ^ (x >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    };
    let mut h = 0x243F_6A88_85A3_08D3 ^ bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(w);
        h = mix(h ^ u64::from_le_bytes(word));
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    mix(h ^ u64::from_le_bytes(last))
}

/// The check of a datagram: its header fields and the hash of its payload.
fn check(seq: u64, peer: u32, sent_ns: u64, payload_hash: u64) -> u32 {
    let h = hash(
        &[
            seq.to_le_bytes(),
            u64::from(peer).to_le_bytes(),
            sent_ns.to_le_bytes(),
            payload_hash.to_le_bytes(),
        ]
        .concat(),
    );
    (h ^ (h >> 32)) as u32
}

/// Writes the header of datagram `seq` of `peer` into `msg`, whose payload
/// (after [`HEADER`]) hashes to `payload_hash`.
pub fn stamp(msg: &mut [u8], seq: u64, peer: u32, sent_ns: u64, payload_hash: u64) {
    msg[0..8].copy_from_slice(&seq.to_le_bytes());
    msg[8..12].copy_from_slice(&peer.to_le_bytes());
    msg[12..16].copy_from_slice(&check(seq, peer, sent_ns, payload_hash).to_le_bytes());
    msg[16..24].copy_from_slice(&sent_ns.to_le_bytes());
}

/// What a received datagram is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// An intact echo.
    Echo {
        /// Its sequence number.
        seq: u64,
        /// When it was sent, ns since the bench began.
        sent_ns: u64,
    },
    /// An intact echo of a warm-up datagram.
    WarmUp,
    /// Wrong length, wrong check, or another peer's.
    Corrupted,
}

/// Reads a datagram received by `peer`, which sends `size`-byte datagrams.
pub fn verdict(d: &[u8], size: usize, peer: u32) -> Verdict {
    if d.len() != size || d.len() < HEADER {
        return Verdict::Corrupted;
    }
    let field = |r: std::ops::Range<usize>| {
        let mut b = [0u8; 8];
        b[..r.len()].copy_from_slice(&d[r]);
        u64::from_le_bytes(b)
    };
    let (seq, from, sent_ns) = (field(0..8), field(8..12) as u32, field(16..24));
    let claimed = field(12..16) as u32;
    if claimed != check(seq, from, sent_ns, hash(&d[HEADER..])) || from != peer {
        return Verdict::Corrupted;
    }
    if seq == WARM_UP {
        return Verdict::WarmUp;
    }
    Verdict::Echo { seq, sent_ns }
}

/// One peer's counts as echoes arrive.
#[derive(Debug, Default)]
pub struct Tally {
    /// Bit `seq` is set once `seq` has had an intact echo.
    echoed: Vec<u64>,
    /// The highest sequence number echoed so far.
    highest: Option<u64>,
    /// The counts (`sent` is set by the sender).
    pub counts: Counts,
    /// Round trips of first echoes, ns.
    pub latency_ns: Vec<u64>,
}

impl Tally {
    /// Whether `seq` has been echoed.
    fn has(&self, seq: u64) -> bool {
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        self.echoed.get(word).is_some_and(|w| w & (1 << bit) != 0)
    }

    /// Counts one received datagram; `now_ns` is the time since the bench
    /// began. Returns the sequence number of an intact echo, if it is one.
    pub fn record(&mut self, v: Verdict, now_ns: u64) -> Option<u64> {
        let (seq, sent_ns) = match v {
            Verdict::WarmUp => return None,
            Verdict::Corrupted => {
                self.counts.corrupted += 1;
                return None;
            }
            Verdict::Echo { seq, .. } if seq >= self.counts.sent => {
                self.counts.corrupted += 1;
                return None;
            }
            Verdict::Echo { seq, sent_ns } => (seq, sent_ns),
        };
        if self.has(seq) {
            self.counts.duplicated += 1;
            return Some(seq);
        }
        let (word, bit) = ((seq / 64) as usize, seq % 64);
        if self.echoed.len() <= word {
            self.echoed.resize(word + 1, 0);
        }
        self.echoed[word] |= 1 << bit;
        self.counts.echoed += 1;
        if self.highest.is_some_and(|h| h > seq) {
            self.counts.reordered += 1;
        }
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
        self.latency_ns.push(now_ns.saturating_sub(sent_ns));
        Some(seq)
    }

    /// Every sent datagram has its echo.
    fn complete(&self) -> bool {
        self.counts.echoed >= self.counts.sent
    }
}

// ---------------------------------------------------------------- run

/// What every peer does.
#[derive(Debug, Clone, Copy)]
struct Plan {
    size: usize,
    limit: Limit,
    rate: Option<f64>,
    timeout: Duration,
}

/// Runs the UDP bench the flags describe and prints its report.
pub fn run(args: &EchoClientArgs, timeout: Duration) -> crate::Result<()> {
    let usage = |msg: String| Err(Error::new(ErrorKind::Usage, msg));
    if args.connections == 0 {
        return usage("--connections must be at least 1".into());
    }
    if !(HEADER..=MAX_DATAGRAM).contains(&args.size) {
        return usage(format!(
            "--size must be {HEADER} to {MAX_DATAGRAM} bytes with --udp \
             ({HEADER} bytes of sequence number, peer, check and time)"
        ));
    }
    if args.connections > u32::MAX as usize {
        return usage("--connections is too large".into());
    }
    let rate = match args.rate {
        None => None,
        Some(r) if r.is_finite() && r > 0.0 && r <= MAX_RATE => Some(r),
        Some(r) => {
            return usage(format!(
                "--rate must be above 0 and at most {MAX_RATE}, not {r}"
            ))
        }
    };
    let plan = Plan {
        size: args.size,
        limit: super::bench::limit(args)?,
        rate,
        timeout,
    };
    let server = *super::resolve(&args.addr)?.first().ok_or_else(|| {
        Error::new(
            ErrorKind::Resolve,
            format!("could not resolve {}", args.addr),
        )
    })?;
    super::raise_nofile_limit();
    let rt = super::bench::runtime()?;
    let report = rt.block_on(bench(server, &args.addr, args.connections, plan))?;
    super::bench::print(&if args.json {
        report.json()
    } else {
        report.text()
    })
}

async fn bench(
    server: SocketAddr,
    shown: &str,
    peers: usize,
    plan: Plan,
) -> crate::Result<UdpReport> {
    let base = Instant::now();
    let start_line = Arc::new(Barrier::new(peers));
    let started: Arc<OnceLock<Instant>> = Arc::default();
    let shown: Arc<str> = Arc::from(shown);
    // One warm-up at a time: a server that forks per peer (socat's
    // UDP-LISTEN,fork) takes the datagrams queued while it forks as the new
    // child's, so peers that warm up together steal each other's.
    let warm_ups = Arc::new(Semaphore::new(1));
    let mut set = JoinSet::new();
    for id in 0..peers {
        let (start_line, started, shown) = (start_line.clone(), started.clone(), shown.clone());
        let warm_ups = warm_ups.clone();
        set.spawn(async move {
            let socket = open(server, &shown).await?;
            let mut peer = Peer::new(socket, id as u32, plan, base, shown);
            let turn = warm_ups.acquire().await;
            peer.warm_up().await?;
            drop(turn);
            start_line.wait().await;
            started.get_or_init(Instant::now);
            peer.run().await
        });
    }
    let mut counts = Counts::default();
    let mut latency_ns = Vec::new();
    let mut last_end = None;
    while let Some(done) = set.join_next().await {
        let (tally, end) = done.unwrap_or_else(|e| {
            Err(Error::new(ErrorKind::Recv, "a bench peer failed").with_source(e))
        })?;
        counts.add(&tally.counts);
        latency_ns.extend_from_slice(&tally.latency_ns);
        last_end = Some(last_end.map_or(end, |l: Instant| l.max(end)));
    }
    let seconds = match (started.get(), last_end) {
        (Some(&s), Some(e)) => e.saturating_duration_since(s).as_secs_f64(),
        _ => 0.0,
    };
    Ok(UdpReport {
        peers,
        size: plan.size,
        rate: plan.rate,
        seconds,
        counts,
        latency_ns: percentiles(&mut latency_ns),
    })
}

/// A socket of its own for one peer, connected to the server.
async fn open(server: SocketAddr, shown: &str) -> crate::Result<UdpSocket> {
    let failed = |e: std::io::Error| {
        Error::new(ErrorKind::Connect, format!("could not connect to {shown}"))
            .with_source(super::clean(e))
    };
    let socket = UdpSocket::bind(local_for(server)).await.map_err(failed)?;
    socket.connect(server).await.map_err(failed)?;
    Ok(socket)
}

/// One bench peer: its socket, its datagram and its tally.
struct Peer {
    socket: UdpSocket,
    id: u32,
    plan: Plan,
    /// The datagram being sent; the payload never changes.
    msg: Vec<u8>,
    payload_hash: u64,
    /// Room for any datagram, and one byte more.
    buf: Vec<u8>,
    tally: Tally,
    base: Instant,
    shown: Arc<str>,
}

impl Peer {
    fn new(socket: UdpSocket, id: u32, plan: Plan, base: Instant, shown: Arc<str>) -> Peer {
        let mut msg = vec![0u8; HEADER];
        msg.extend_from_slice(&pattern(id as usize, plan.size - HEADER));
        let payload_hash = hash(&msg[HEADER..]);
        Peer {
            socket,
            id,
            plan,
            msg,
            payload_hash,
            buf: vec![0u8; MAX_DATAGRAM + 1],
            tally: Tally::default(),
            base,
            shown,
        }
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Sends datagram `seq`. A refusal left by an earlier datagram's ICMP
    /// error is taken, and the datagram sent again once; a datagram that
    /// still cannot be sent counts as sent (and so as lost).
    async fn send(&mut self, seq: u64) {
        let now = self.now_ns();
        stamp(&mut self.msg, seq, self.id, now, self.payload_hash);
        if self.socket.send(&self.msg).await.is_err() {
            let _ = self.socket.send(&self.msg).await;
        }
    }

    /// Takes one received datagram into the tally.
    fn take(&mut self, n: usize) -> Option<u64> {
        let v = verdict(&self.buf[..n], self.plan.size, self.id);
        let now = self.now_ns();
        self.tally.record(v, now)
    }

    /// Until one warm-up echo is back: the server answers, and (for servers
    /// that fork per peer) has set up this peer before the clock starts.
    ///
    /// "Connection refused" (an ICMP port unreachable for an earlier
    /// datagram) is one failed try, not the end: socat's UDP-LISTEN,fork
    /// has no socket on its port for a moment while it forks, and the
    /// kernel refuses what comes then. Refused every time is exit 7.
    async fn warm_up(&mut self) -> crate::Result<()> {
        let wait = self.plan.timeout;
        let mut refused = None;
        for _ in 0..WARM_UP_TRIES {
            self.send(WARM_UP).await;
            let until = Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(until, self.socket.recv(&mut self.buf)).await {
                    Err(_) => {
                        refused = None;
                        break;
                    }
                    Ok(Ok(n)) => {
                        if verdict(&self.buf[..n], self.plan.size, self.id) == Verdict::WarmUp {
                            return Ok(());
                        }
                    }
                    Ok(Err(e)) => {
                        refused = Some(e);
                        tokio::time::sleep(REFUSED_PAUSE.min(wait)).await;
                        break;
                    }
                }
            }
        }
        if let Some(e) = refused {
            return Err(io_error(
                format!("peer {}: no echo from {}", self.id + 1, self.shown),
                e,
            ));
        }
        Err(Error::new(
            ErrorKind::Timeout,
            format!(
                "peer {}: no echo from {} within {} s ({WARM_UP_TRIES} tries)",
                self.id + 1,
                self.shown,
                wait.as_secs_f64()
            ),
        ))
    }

    /// Whether the peer has sent all it should by `now`.
    fn done(&self, started: Instant, now: Instant) -> bool {
        match self.plan.limit {
            Limit::Messages(m) => self.tally.counts.sent >= m,
            Limit::Duration(d) => now >= started + d,
        }
    }

    /// Sends until the limit, then waits for late echoes; returns the
    /// tally and when sending ended.
    async fn run(mut self) -> crate::Result<(Tally, Instant)> {
        let started = Instant::now();
        match self.plan.rate {
            None => self.ping_pong(started).await,
            Some(rate) => self.paced(started, rate).await,
        }
        let end = Instant::now();
        let until = end + self.plan.timeout;
        while !self.tally.complete() {
            match tokio::time::timeout_at(until, self.socket.recv(&mut self.buf)).await {
                Err(_) => break,
                Ok(Ok(n)) => {
                    self.take(n);
                }
                Ok(Err(_)) => {}
            }
        }
        Ok((self.tally, end))
    }

    /// One datagram at a time: send, wait for its echo or the timeout.
    async fn ping_pong(&mut self, started: Instant) {
        while !self.done(started, Instant::now()) {
            let seq = self.tally.counts.sent;
            self.send(seq).await;
            self.tally.counts.sent += 1;
            let until = Instant::now() + self.plan.timeout;
            loop {
                match tokio::time::timeout_at(until, self.socket.recv(&mut self.buf)).await {
                    Err(_) => break,
                    Ok(Ok(n)) => {
                        if self.take(n) == Some(seq) {
                            break;
                        }
                    }
                    // A refusal (nothing listening any more): this one is
                    // lost; go on to the next.
                    Ok(Err(_)) => break,
                }
            }
        }
    }

    /// `--rate`: datagram k leaves at start + k/rate whatever comes back;
    /// echoes are taken as they arrive. The timer's grain is 1 ms, so above
    /// 1,000 per second the datagrams due in a tick leave together.
    async fn paced(&mut self, started: Instant, rate: f64) {
        let mut next = started;
        let mut sent_all = false;
        while !sent_all {
            tokio::select! {
                biased;
                got = self.socket.recv(&mut self.buf) => {
                    if let Ok(n) = got {
                        self.take(n);
                    }
                }
                () = tokio::time::sleep_until(next) => {
                    let now = Instant::now();
                    while next <= now {
                        if self.done(started, now) {
                            sent_all = true;
                            break;
                        }
                        let seq = self.tally.counts.sent;
                        self.send(seq).await;
                        self.tally.counts.sent += 1;
                        let k = self.tally.counts.sent as f64;
                        next = started + Duration::from_secs_f64(k / rate);
                    }
                    if !sent_all && self.done(started, Instant::now()) {
                        sent_all = true;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datagram(seq: u64, peer: u32, size: usize) -> Vec<u8> {
        let mut d = vec![0u8; HEADER];
        d.extend_from_slice(&pattern(peer as usize, size - HEADER));
        let h = hash(&d[HEADER..]);
        stamp(&mut d, seq, peer, seq.wrapping_add(1000), h);
        d
    }

    #[test]
    fn an_intact_datagram_reads_back() {
        let d = datagram(7, 3, 64);
        assert_eq!(
            verdict(&d, 64, 3),
            Verdict::Echo {
                seq: 7,
                sent_ns: 1007
            }
        );
        assert_eq!(verdict(&datagram(WARM_UP, 3, 64), 64, 3), Verdict::WarmUp);
    }

    #[test]
    fn any_flipped_bit_wrong_length_or_peer_is_corrupted() {
        let d = datagram(7, 3, 100);
        for byte in 0..d.len() {
            for bit in 0..8 {
                let mut bad = d.clone();
                bad[byte] ^= 1 << bit;
                assert_eq!(
                    verdict(&bad, 100, 3),
                    Verdict::Corrupted,
                    "byte {byte} bit {bit}"
                );
            }
        }
        assert_eq!(verdict(&d[..99], 100, 3), Verdict::Corrupted);
        assert_eq!(verdict(&d, 100, 4), Verdict::Corrupted);
        assert_eq!(verdict(&d[..10], 10, 3), Verdict::Corrupted);
    }

    #[test]
    fn the_tally_counts_each_case_once() {
        let mut t = Tally::default();
        t.counts.sent = 10;
        let echo = |seq| Verdict::Echo { seq, sent_ns: 0 };
        // 0 1 2 4 3 (3 reordered) 4 again (duplicated) 5 missing, 12 never sent.
        for seq in [0, 1, 2, 4, 3, 4] {
            t.record(echo(seq), 10);
        }
        t.record(echo(12), 10);
        t.record(Verdict::Corrupted, 10);
        t.record(Verdict::WarmUp, 10);
        for seq in 5..10 {
            if seq != 7 {
                t.record(echo(seq), 10);
            }
        }
        assert_eq!(
            t.counts,
            Counts {
                sent: 10,
                echoed: 9,
                reordered: 1,
                duplicated: 1,
                corrupted: 2,
            }
        );
        assert_eq!(t.counts.lost(), 1);
        assert_eq!(t.counts.loss_percent(), 10.0);
        assert_eq!(t.latency_ns.len(), 9);
    }

    #[test]
    fn reports_have_every_count() {
        let r = UdpReport {
            peers: 2,
            size: 64,
            rate: Some(1000.0),
            seconds: 2.0,
            counts: Counts {
                sent: 200,
                echoed: 190,
                reordered: 3,
                duplicated: 2,
                corrupted: 1,
            },
            latency_ns: [1500, 2500, 9000, 12000],
        };
        let t = r.text();
        for line in [
            "peers        2",
            "rate         1000/s per peer",
            "sent         200",
            "echoed       190",
            "lost         10 (5.000%)",
            "reordered    3",
            "duplicated   2",
            "corrupted    1",
            "datagrams/s  95",
        ] {
            assert!(t.lines().any(|l| l == line), "{line:?} missing in\n{t}");
        }
        let j = r.json();
        assert!(
            j.starts_with(
                "{\"peers\":2,\"size\":64,\"rate\":1000,\"seconds\":2.000000,\"sent\":200,\
                 \"echoed\":190,\"lost\":10,\"loss_percent\":5.000,\"reordered\":3,\
                 \"duplicated\":2,\"corrupted\":1,"
            ),
            "{j}"
        );
        let ping_pong = UdpReport { rate: None, ..r };
        assert!(ping_pong.json().contains("\"rate\":null"));
        assert!(ping_pong.text().contains("rate         ping-pong"));
    }
}
