//! `--probe`: what actually answers on a socket. Bounded and polite: wait
//! briefly for a server-first banner, else a TLS handshake (the certificate
//! is read, never trusted or rejected), then one `GET /`, inside TLS when
//! TLS worked, plain otherwise. Blocking std sockets, one thread per target.

mod banner;
mod http;
mod service;
mod tls;

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use crate::text::untrusted;

pub use http::HttpInfo;
pub use service::Expected;
pub use tls::TlsInfo;

/// Connecting may take this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Each read may wait this long.
pub const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// One socket's whole probe ends within this.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);
/// At most this much is read from one socket (all connections together).
pub const READ_LIMIT: usize = 64 * 1024;
/// How long a server gets to speak first.
const BANNER_WAIT: Duration = Duration::from_millis(300);
/// Probes running at once.
const CONCURRENCY: usize = 64;

/// What to probe: an address of the socket, the name the user gave (SNI
/// and `Host`) when it is a name, and what the socket is expected to be
/// (from its owner and port), which decides what is sent to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub address: SocketAddr,
    pub host_name: Option<String>,
    pub expect: Expected,
}

impl Target {
    /// The target for `address`, expected to be what the socket's owners
    /// (if any is known) serve.
    pub fn new(
        address: SocketAddr,
        host_name: Option<String>,
        socket: Option<&crate::model::Socket>,
    ) -> Target {
        let owners: Vec<String> = socket
            .into_iter()
            .flat_map(|s| s.processes.iter())
            .filter_map(|p| p.name.as_ref().map(|n| n.lossy().into_owned()))
            .collect();
        Target {
            address,
            host_name,
            expect: service::expected(&owners, address.port()),
        }
    }
}

/// What answered, in the contract's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Http,
    Https,
    Tls,
    Ssh,
    Smtp,
    Ftp,
    Mysql,
    Redis,
    Postgres,
    Banner,
    Silent,
    Closed,
    Error,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Https => "https",
            Kind::Tls => "tls",
            Kind::Ssh => "ssh",
            Kind::Smtp => "smtp",
            Kind::Ftp => "ftp",
            Kind::Mysql => "mysql",
            Kind::Redis => "redis",
            Kind::Postgres => "postgres",
            Kind::Banner => "banner",
            Kind::Silent => "silent",
            Kind::Closed => "closed",
            Kind::Error => "error",
        }
    }
}

/// Which bound stopped a probe early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// 64 KiB read.
    Bytes,
    /// 3 s spent.
    Time,
}

impl Cut {
    pub fn name(self) -> &'static str {
        match self {
            Cut::Bytes => "bytes",
            Cut::Time => "time",
        }
    }
}

/// The outcome of probing one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub target: Target,
    pub kind: Kind,
    /// `["http","tls"]` when one socket completes both.
    pub multiplexed: Vec<&'static str>,
    pub summary: String,
    /// The first line a server-first protocol sent (control characters
    /// escaped).
    pub banner: Option<String>,
    pub tls: Option<TlsInfo>,
    pub http: Option<HttpInfo>,
    /// What went wrong, for `error` (and a reset for `closed`).
    pub error: Option<String>,
    pub cut: Option<Cut>,
    pub bytes_read: usize,
    pub elapsed: Duration,
}

impl Probe {
    /// A few words for a sentence: `title "ipv6 server"`, `HTTP 301 →
    /// https://x/`, `TLS 1.3`, `SSH-2.0-OpenSSH_9.6`, `silent`. Text from
    /// the network has its control characters escaped.
    pub fn gist(&self) -> String {
        if let Some(title) = self.http.as_ref().and_then(|h| h.title.as_deref()) {
            return format!("title \"{}\"", untrusted(title, 80));
        }
        if let Some(http) = &self.http
            && let Some(status) = http.status
        {
            let scheme = if self.kind == Kind::Https {
                "HTTPS"
            } else {
                "HTTP"
            };
            return match &http.location {
                Some(location) => format!("{scheme} {status} → {}", untrusted(location, 80)),
                None => format!("{scheme} {status}"),
            };
        }
        if let Some(tls) = &self.tls {
            return tls.version.clone();
        }
        if let Some(banner) = &self.banner {
            return untrusted(banner, 60);
        }
        self.kind.name().to_owned()
    }

    /// What two probes compare on to tell "the same service" apart.
    pub fn answer_key(&self) -> (Kind, Option<&str>) {
        (
            self.kind,
            self.http.as_ref().and_then(|h| h.title.as_deref()),
        )
    }
}

/// Probes every target, at most [`CONCURRENCY`] at once, each within
/// [`PROBE_TIMEOUT`]. The results are in the order of `targets`.
pub fn probe_all(targets: &[Target]) -> Vec<Probe> {
    if targets.is_empty() {
        return Vec::new();
    }
    let results: Vec<Mutex<Option<Probe>>> = targets.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = targets.len().clamp(1, CONCURRENCY);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            // A thread that cannot be started leaves its targets to the
            // others (or reported as not finished).
            let _ = std::thread::Builder::new().spawn_scoped(scope, || {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(index) else {
                        break;
                    };
                    let probe = probe(target);
                    if let Some(slot) = results.get(index) {
                        *slot
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(probe);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .zip(targets)
        .map(|(slot, target)| {
            slot.into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .unwrap_or_else(|| failed(target, "the probe did not finish", Instant::now()))
        })
        .collect()
}

/// A probe that could not be made.
fn failed(target: &Target, error: &str, started: Instant) -> Probe {
    Probe {
        target: target.clone(),
        kind: Kind::Error,
        multiplexed: Vec::new(),
        summary: format!("error: {error}"),
        banner: None,
        tls: None,
        http: None,
        error: Some(error.to_owned()),
        cut: None,
        bytes_read: 0,
        elapsed: started.elapsed(),
    }
}

/// The budget of one probe, shared by its connections: the deadline and
/// the bytes read so far.
#[derive(Debug)]
struct Budget {
    deadline: Instant,
    read: usize,
    cut: Option<Cut>,
}

impl Budget {
    fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn connect(&mut self, address: SocketAddr) -> io::Result<Conn> {
        let wait = self.remaining().min(CONNECT_TIMEOUT);
        if wait.is_zero() {
            self.cut = Some(Cut::Time);
            return Err(io::Error::new(io::ErrorKind::TimedOut, "out of time"));
        }
        let stream = TcpStream::connect_timeout(&address, wait)?;
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(READ_TIMEOUT))?;
        Ok(Conn(stream))
    }
}

/// A probe's connection. When the server has already closed its side, it
/// is closed with a reset, which ends the server's side at once: a probe
/// leaves no TIME_WAIT on the server's port to block a later bind there.
/// (Otherwise it closes as usual, and the TIME_WAIT, if any, is ours, on
/// an ephemeral port.)
struct Conn(TcpStream);

impl Drop for Conn {
    fn drop(&mut self) {
        let mut byte = [0u8; 1];
        let peer_closed =
            self.0.set_nonblocking(true).is_ok() && matches!(self.0.peek(&mut byte), Ok(0));
        if peer_closed {
            let _ = socket2::SockRef::from(&self.0).set_linger(Some(Duration::ZERO));
        }
    }
}

/// A connection whose reads are bounded by its budget: each read waits at
/// most `per_read` (and never past the deadline), and reading stops at
/// [`READ_LIMIT`] bytes over the whole probe.
struct Bounded<'a> {
    stream: Conn,
    budget: &'a mut Budget,
    per_read: Duration,
}

impl<'a> Bounded<'a> {
    fn new(stream: Conn, budget: &'a mut Budget) -> Bounded<'a> {
        Bounded {
            stream,
            budget,
            per_read: READ_TIMEOUT,
        }
    }
}

impl Read for Bounded<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let room = READ_LIMIT.saturating_sub(self.budget.read);
        if room == 0 {
            self.budget.cut = Some(Cut::Bytes);
            return Err(io::Error::other("read limit reached"));
        }
        let wait = self.budget.remaining().min(self.per_read);
        if wait.is_zero() {
            self.budget.cut = Some(Cut::Time);
            return Err(io::Error::new(io::ErrorKind::TimedOut, "out of time"));
        }
        self.stream.0.set_read_timeout(Some(wait))?;
        let take = buf.len().min(room);
        let slice = buf.get_mut(..take).unwrap_or_default();
        match self.stream.0.read(slice) {
            Ok(n) => {
                self.budget.read += n;
                Ok(n)
            }
            Err(error) => {
                if timed_out(&error) && self.budget.remaining().is_zero() {
                    self.budget.cut = Some(Cut::Time);
                }
                Err(error)
            }
        }
    }
}

impl Write for Bounded<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.stream.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.0.flush()
    }
}

fn timed_out(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// The server reset the connection. Writing our request after its RST
/// arrived fails with EPIPE rather than ECONNRESET, so which of the two is
/// seen depends only on how soon the server reset: both mean the same.
fn was_reset(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// The errno name of an I/O error where it has one (`ECONNREFUSED`), else
/// its text.
fn describe_error(error: &io::Error) -> String {
    if error.raw_os_error().is_some() {
        crate::bind::trial::errno_name(error)
    } else {
        error.to_string()
    }
}

/// Probes one target within its bounds.
pub fn probe(target: &Target) -> Probe {
    let started = Instant::now();
    let mut budget = Budget {
        deadline: started + PROBE_TIMEOUT,
        read: 0,
        cut: None,
    };
    let mut probe = run(target, &mut budget, started);
    probe.cut = probe.cut.or(budget.cut);
    if let Some(cut) = probe.cut {
        probe.summary.push_str(match cut {
            Cut::Time => " (cut at 3 s)",
            Cut::Bytes => " (cut at 64 KiB)",
        });
    }
    probe.bytes_read = budget.read;
    probe.elapsed = started.elapsed();
    probe
}

fn run(target: &Target, budget: &mut Budget, started: Instant) -> Probe {
    let stream = match budget.connect(target.address) {
        Ok(stream) => stream,
        Err(error) => {
            return failed(
                target,
                &format!("connect: {}", describe_error(&error)),
                started,
            );
        }
    };
    let mut base = failed(target, "", started);
    base.error = None;

    // A client-first service known by its owner or port gets its own
    // question, and nothing that could alarm it (see service.rs).
    let mut first = Bounded::new(stream, budget);
    match target.expect {
        Expected::Redis => return service::redis(base, &mut first),
        Expected::Postgres => return service::postgres(base, &mut first),
        Expected::ServerFirst(_) | Expected::Unknown => {}
    }

    // 1. A server-first protocol speaks within moments; one known to speak
    // first is given longer.
    first.per_read = match target.expect {
        Expected::ServerFirst(_) => READ_TIMEOUT,
        _ => BANNER_WAIT,
    };
    let mut byte = [0u8; 1024];
    match first.read(&mut byte) {
        Ok(0) => {
            base.kind = Kind::Closed;
            "closed without a word".clone_into(&mut base.summary);
            return base;
        }
        Ok(n) => {
            let mut seen = byte.get(..n).unwrap_or_default().to_vec();
            first.per_read = READ_TIMEOUT;
            banner::read_line(&mut first, &mut seen);
            return banner::report(base, &seen, first.budget.cut);
        }
        Err(error) if was_reset(&error) => {
            base.kind = Kind::Closed;
            "reset without a word".clone_into(&mut base.summary);
            base.error = Some(describe_error(&error));
            return base;
        }
        Err(error) if timed_out(&error) => {
            if let Expected::ServerFirst(protocol) = target.expect {
                return service::silent_server_first(base, protocol);
            }
        }
        Err(error) => {
            return failed(
                target,
                &format!("waiting for a banner: {}", describe_error(&error)),
                started,
            );
        }
    }
    first.per_read = READ_TIMEOUT;

    // 2. TLS on the same connection.
    match tls::handshake(first, target) {
        tls::Attempt::Done(done) => {
            let (info, http) = *done;
            base.kind = if http.as_ref().is_some_and(|h| h.status.is_some()) {
                Kind::Https
            } else {
                Kind::Tls
            };
            base.tls = Some(info);
            base.http = http;
            // 3. A socket that really answers plain HTTP too is
            // multiplexed; a TLS server's rejection of plain HTTP (nginx's
            // 400 "The plain HTTP request was sent to HTTPS port") is not.
            let plain = http::get(budget, target, false).ok();
            let rejection = plain.as_ref().and_then(http::plain_http_rejection);
            if plain.as_ref().is_some_and(|p| p.status.is_some()) && rejection.is_none() {
                base.multiplexed = vec!["http", "tls"];
            }
            base.summary = summary(&base);
            if let Some(rejection) = rejection {
                let _ = write!(base.summary, "; TLS only (rejects plain HTTP: {rejection})");
            }
            base
        }
        tls::Attempt::Refused(alert) => {
            base.kind = Kind::Tls;
            base.summary = format!("TLS, handshake refused: alert {alert}");
            base.error = Some(format!("TLS alert {alert}"));
            base
        }
        tls::Attempt::NotTls => plain_http(base, budget, target),
    }
}

/// Not TLS: one plain `GET /` on a new connection.
fn plain_http(mut base: Probe, budget: &mut Budget, target: &Target) -> Probe {
    match http::get(budget, target, false) {
        Ok(info) if info.status.is_some() => {
            base.kind = Kind::Http;
            base.http = Some(info);
            base.summary = summary(&base);
        }
        Ok(info) if info.raw_bytes == 0 && info.closed => {
            base.kind = Kind::Closed;
            "closed without a word".clone_into(&mut base.summary);
        }
        Ok(info) if info.raw_bytes == 0 => {
            base.kind = Kind::Silent;
            base.summary = "silent: no banner, no answer to TLS or HTTP".into();
        }
        Ok(info)
            if banner::classify(info.body_excerpt.as_deref().unwrap_or("")) != Kind::Banner =>
        {
            // A server-first protocol whose greeting came late (an SMTP
            // greet pause): the line arrived after our request.
            let line = info.body_excerpt.unwrap_or_default();
            base.kind = banner::classify(&line);
            base.summary = format!("{} (late banner)", untrusted(&line, 100));
            base.banner = Some(line);
        }
        Ok(info) => {
            base.kind = Kind::Error;
            base.summary = format!(
                "answers HTTP with something else: {}",
                info.body_excerpt.as_deref().unwrap_or("")
            );
            base.error = Some("not an HTTP response".into());
            base.http = None;
        }
        Err(error) if timed_out(&error) => {
            base.kind = Kind::Silent;
            base.summary = "silent: no banner, no answer to TLS or HTTP".into();
        }
        Err(error) if was_reset(&error) => {
            base.kind = Kind::Closed;
            base.summary = "reset without a word".into();
            base.error = Some(describe_error(&error));
        }
        Err(error) => {
            base.kind = Kind::Error;
            base.summary = format!("error: {}", describe_error(&error));
            base.error = Some(describe_error(&error));
        }
    }
    base
}

/// One line for people: `HTTP/1.1 200 OK, title "x"`, `TLS 1.3 h2
/// CN=x; HTTP/1.1 301 Moved Permanently → https://x/`.
fn summary(probe: &Probe) -> String {
    let mut parts = Vec::new();
    if let Some(tls) = &probe.tls {
        parts.push(tls.summary());
    }
    if let Some(http) = &probe.http {
        parts.push(http.summary());
    }
    let mut text = parts.join("; ");
    if !probe.multiplexed.is_empty() {
        text.push_str("; plain HTTP too (multiplexed)");
    }
    text
}

/// The address to probe a socket bound to `address` through: the
/// loopback of its family for a wildcard, the IPv4 address of a mapped one.
pub fn reachable_address(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_probed_through_loopback() {
        let v4: IpAddr = "0.0.0.0".parse().expect("addr");
        let v6: IpAddr = "::".parse().expect("addr");
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().expect("addr");
        assert_eq!(reachable_address(v4).to_string(), "127.0.0.1");
        assert_eq!(reachable_address(v6).to_string(), "::1");
        assert_eq!(reachable_address(mapped).to_string(), "127.0.0.2");
    }
}
