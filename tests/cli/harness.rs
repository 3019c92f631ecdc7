//! Helpers: private network namespaces, socket holders, running portcheck.
//!
//! Every test that binds runs on a thread of its own inside a network
//! namespace of its own ([`in_netns`]): `unshare(CLONE_NEWNET)` moves only
//! the calling thread, and the sockets that thread creates and the processes
//! it starts (portcheck, forked holders) live there too. So portcheck sees
//! only that test's sockets, fixed ports cannot collide, and the tests run
//! in parallel without touching anything they did not create.

use std::collections::BTreeMap;
use std::fs::File;
use std::fs::Permissions;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use serde::{Deserialize, Deserializer};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::shadow;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_portcheck");

/// The uid and gid of `nobody`, for holders and runs without privileges.
pub const NOBODY: u32 = 65534;

/// Every process this test binary starts (portcheck runs, forked holders)
/// is started under this lock, and a portcheck run keeps it until it has
/// exited. Between fork and exec (or until a holder has closed what it does
/// not keep) a new process shares every descriptor of this binary, other
/// tests' sockets included, and a portcheck run of another test would list
/// it as one more owner of them.
static PROCESSES: Mutex<()> = Mutex::new(());

fn processes_lock() -> MutexGuard<'static, ()> {
    PROCESSES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` while no process is being started, so no short-lived copy of
/// this binary's descriptors exists: a socket closed in `f` is closed at
/// once (the order of closes that makes a TIME_WAIT depends on it). Tests
/// that start processes of their own must do it through this harness.
pub fn without_new_processes<R>(f: impl FnOnce() -> R) -> R {
    let _lock = processes_lock();
    f()
}

// ---------------------------------------------------------------------------
// Root and network namespaces

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

// Every test that needs root carries
// `#[cfg_attr(not(portcheck_root), ignore = "needs root ...")]`; build.rs
// sets `portcheck_root` when the build runs as root, so a non-root
// `cargo test` reports those tests as ignored and `cargo test` as root (CI)
// runs them all. build.rs says why this design.

/// The uid the tests were built as (build.rs), "unknown" without /proc.
pub const BUILD_UID: &str = env!("PORTCHECK_BUILD_UID");

/// Fails the test unless it runs as root. A test that needs root is
/// ignored unless built as root, so this fails only where the build and
/// the run are different users (or `--ignored` is asked of a non-root
/// run): loudly, never a pass that ran nothing.
pub fn require_root(test: &str) {
    let uid = rustix::process::geteuid().as_raw();
    assert!(
        uid == 0,
        "{test} needs root (a private network namespace, sockets of another uid); \
         built as uid {BUILD_UID}, run as uid {uid}: rebuild as this user \
         (`cargo test` then reports it as ignored) or run as root"
    );
}

/// The root tests were built for the uid that runs them: as root they are
/// compiled in (not ignored), as another user ignored. A binary built as
/// another user and run as root would report them all as ignored, so root
/// would run none of them and pass: this says so instead. (Built as root
/// and run as another user, each of them fails in [`require_root`].)
#[test]
fn the_root_tests_are_built_for_the_uid_that_runs_them() {
    let uid = rustix::process::geteuid().as_raw();
    assert_eq!(
        cfg!(portcheck_root),
        uid == 0,
        "built as uid {BUILD_UID}, run as uid {uid}: the tests that need root were compiled \
         for the other; rebuild as this user (build.rs reruns when USER, LOGNAME, HOME or \
         SUDO_UID changes, or `touch build.rs`)"
    );
}

/// Runs `body` on a new thread inside a new network namespace whose
/// loopback is up. Fails when not root ([`require_root`]). A panic in
/// `body` fails the test.
pub fn in_netns<F: FnOnce() + Send>(test: &str, body: F) {
    require_root(test);
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .name(test.to_owned())
            .spawn_scoped(scope, move || {
                enter_new_netns();
                body();
            })
            .expect("spawn the test thread");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

fn enter_new_netns() {
    // SAFETY: unshare(2) with CLONE_NEWNET moves only the calling thread
    // into a new network namespace; it touches no memory of ours.
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "unshare(CLONE_NEWNET): {}",
        io::Error::last_os_error()
    );
    loopback_up();
}

/// `ip link set lo up`, by ioctl: the kernel then adds 127.0.0.1/8 and ::1.
fn loopback_up() {
    let probe = Socket::new(Domain::IPV4, Type::DGRAM, None).expect("an AF_INET socket for ioctl");
    // SAFETY: ifreq is plain old data; all zeroes is a valid value.
    let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, byte) in request.ifr_name.iter_mut().zip(b"lo\0") {
        *slot = libc::c_char::from_ne_bytes([*byte]);
    }
    // SAFETY: SIOCGIFFLAGS reads the name and writes the flags of `request`,
    // which lives for the call.
    let rc = unsafe { libc::ioctl(probe.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) };
    assert_eq!(rc, 0, "SIOCGIFFLAGS lo: {}", io::Error::last_os_error());
    let up = libc::c_short::try_from(libc::IFF_UP).expect("IFF_UP fits a short");
    // SAFETY: after SIOCGIFFLAGS the union holds the flags.
    unsafe { request.ifr_ifru.ifru_flags |= up };
    // SAFETY: as above; SIOCSIFFLAGS only reads `request`.
    let rc = unsafe { libc::ioctl(probe.as_raw_fd(), libc::SIOCSIFFLAGS, &raw const request) };
    assert_eq!(rc, 0, "SIOCSIFFLAGS lo up: {}", io::Error::last_os_error());
}

/// The network namespace of the calling thread, `net:[INODE]`.
pub fn thread_netns() -> String {
    std::fs::read_link("/proc/thread-self/ns/net")
        .expect("readlink /proc/thread-self/ns/net")
        .to_string_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------
// Sockets held by the test itself

/// Options of a test socket. Everything is off (and set off explicitly)
/// unless asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    v6only: Option<bool>,
    reuseaddr: bool,
    reuseport: bool,
    device: Option<&'static str>,
}

impl Opts {
    pub fn new() -> Opts {
        Opts::default()
    }

    /// IPV6_V6ONLY (IPv6 sockets only).
    #[must_use]
    pub fn v6only(mut self, on: bool) -> Opts {
        self.v6only = Some(on);
        self
    }

    #[must_use]
    pub fn reuseaddr(mut self, on: bool) -> Opts {
        self.reuseaddr = on;
        self
    }

    #[must_use]
    pub fn reuseport(mut self, on: bool) -> Opts {
        self.reuseport = on;
        self
    }

    /// SO_BINDTODEVICE.
    #[must_use]
    pub fn device(mut self, name: &'static str) -> Opts {
        self.device = Some(name);
        self
    }
}

pub fn socket_address(address: &str) -> SocketAddr {
    address
        .parse()
        .unwrap_or_else(|e| panic!("test address {address}: {e}"))
}

/// A socket of `kind` with `opts`, bound to `address` (`127.0.0.1:8000`,
/// `[::]:8000`), not listening.
pub fn bound(kind: Type, address: &str, opts: Opts) -> Socket {
    let address = socket_address(address);
    let socket = Socket::new(Domain::for_address(address), kind, None).expect("socket()");
    if let Some(only) = opts.v6only {
        socket.set_only_v6(only).expect("IPV6_V6ONLY");
    }
    socket
        .set_reuse_address(opts.reuseaddr)
        .expect("SO_REUSEADDR");
    socket.set_reuse_port(opts.reuseport).expect("SO_REUSEPORT");
    if let Some(device) = opts.device {
        socket
            .bind_device(Some(device.as_bytes()))
            .expect("SO_BINDTODEVICE");
    }
    socket
        .bind(&address.into())
        .unwrap_or_else(|e| panic!("bind {address}: {e}"));
    socket
}

/// A listening TCP socket.
pub fn listener(address: &str, opts: Opts) -> Socket {
    let socket = bound(Type::STREAM, address, opts);
    socket.listen(128).expect("listen()");
    socket
}

/// A bound UDP socket.
pub fn udp(address: &str, opts: Opts) -> Socket {
    bound(Type::DGRAM, address, opts)
}

/// The descriptor number of a socket, as portcheck reports it.
pub fn fd_of(socket: &impl AsRawFd) -> u32 {
    u32::try_from(socket.as_raw_fd()).expect("descriptors are not negative")
}

/// The socket's inode, as fstat(2) gives it.
pub fn inode_of(socket: &impl AsFd) -> u64 {
    rustix::fs::fstat(socket).expect("fstat").st_ino
}

/// The local port of a bound socket.
pub fn port_of(socket: &Socket) -> u16 {
    socket
        .local_addr()
        .expect("getsockname")
        .as_socket()
        .expect("an inet socket")
        .port()
}

// ---------------------------------------------------------------------------
// Forked holders

/// A forked child holding a socket until dropped; dropping kills it
/// (SIGKILL by pid) and reaps it.
#[derive(Debug)]
pub struct Holder {
    pid: libc::pid_t,
    fd: u32,
    reaped: bool,
}

impl Holder {
    pub fn pid(&self) -> u32 {
        u32::try_from(self.pid).expect("pids are positive")
    }

    /// The descriptor number of the held socket in the child.
    pub fn fd(&self) -> u32 {
        self.fd
    }

    fn reap(&mut self) -> libc::c_int {
        let mut status = 0;
        // SAFETY: our own child, killed first so waitpid returns.
        unsafe {
            libc::kill(self.pid, libc::SIGKILL);
            libc::waitpid(self.pid, &raw mut status, 0);
        }
        self.reaped = true;
        status
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        if !self.reaped {
            self.reap();
        }
    }
}

/// What a forked holder does before it says it is ready.
enum Plan {
    /// Keep an inherited descriptor (a socket shared across fork).
    Keep(RawFd),
    /// Become uid and gid `id`, then create a TCP socket, bind and listen.
    ListenAs { id: libc::c_uint, address: SockAddr },
}

/// Forks a child that keeps `socket` at the same descriptor number (and no
/// other descriptor of this binary) until the holder is dropped.
pub fn fork_sharing(socket: &Socket) -> Holder {
    fork_holder(&Plan::Keep(socket.as_raw_fd()))
}

/// Forks a child that drops to uid and gid `id`, then binds `address` and
/// listens, until the holder is dropped.
pub fn fork_listener_as(id: u32, address: &str) -> Holder {
    fork_holder(&Plan::ListenAs {
        id,
        address: socket_address(address).into(),
    })
}

fn fork_holder(plan: &Plan) -> Holder {
    let mut ends: [RawFd; 2] = [0; 2];
    // SAFETY: pipe2 writes two descriptors into `ends`.
    let rc = unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2: {}", io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned only here.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(ends[0]), OwnedFd::from_raw_fd(ends[1])) };

    let lock = processes_lock();
    // SAFETY: the child runs only async-signal-safe libc calls (holder_main)
    // and never returns into Rust code of this multi-threaded process.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        holder_main(plan, write_end.as_raw_fd());
    }
    assert!(pid > 0, "fork: {}", io::Error::last_os_error());
    let mut holder = Holder {
        pid,
        fd: u32::MAX,
        reaped: false,
    };
    drop(write_end);
    match wait_ready(read_end) {
        Ok(fd) => holder.fd = fd,
        Err(why) => {
            let status = holder.reap();
            panic!("holder {pid} did not get ready: {why} (wait status {status:#x})");
        }
    }
    drop(lock);
    holder
}

/// Waits (at most 10 s) for the holder's ready message: the descriptor
/// number of the socket it holds.
fn wait_ready(read_end: OwnedFd) -> Result<u32, String> {
    let mut poll = libc::pollfd {
        fd: read_end.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd that lives for the call.
    let ready = unsafe { libc::poll(&raw mut poll, 1, 10_000) };
    if ready != 1 {
        return Err("no ready message within 10 s".into());
    }
    let mut bytes = [0u8; 4];
    File::from(read_end)
        .read_exact(&mut bytes)
        .map_err(|e| format!("it exited first ({e})"))?;
    u32::try_from(i32::from_ne_bytes(bytes)).map_err(|e| e.to_string())
}

/// The forked child. Only raw libc calls: the parent has other threads,
/// whose locks may be held at the moment of the fork.
fn holder_main(plan: &Plan, ready: RawFd) -> ! {
    let kept = match plan {
        Plan::Keep(fd) => *fd,
        Plan::ListenAs { .. } => -1,
    };
    // SAFETY: async-signal-safe system calls on descriptors and memory of
    // this process only; every failure ends the child with _exit.
    unsafe {
        if !close_all_but([kept, ready]) {
            libc::_exit(100);
        }
        let fd = match plan {
            Plan::Keep(fd) => *fd,
            Plan::ListenAs { id, address } => {
                let id = libc::c_long::from(*id);
                if libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()) != 0
                    || libc::syscall(libc::SYS_setgid, id) != 0
                    || libc::syscall(libc::SYS_setuid, id) != 0
                {
                    libc::_exit(101);
                }
                let fd = libc::socket(libc::c_int::from(address.family()), libc::SOCK_STREAM, 0);
                if fd < 0 {
                    libc::_exit(102);
                }
                if libc::bind(fd, address.as_ptr().cast(), address.len()) != 0 {
                    libc::_exit(103);
                }
                if libc::listen(fd, 16) != 0 {
                    libc::_exit(104);
                }
                fd
            }
        };
        let message = fd.to_ne_bytes();
        if libc::write(ready, message.as_ptr().cast(), message.len()) != 4 {
            libc::_exit(105);
        }
        loop {
            libc::pause();
        }
    }
}

/// Closes every descriptor from 3 up except `keep` (negative entries are
/// ignored), with close_range(2).
unsafe fn close_all_but(mut keep: [RawFd; 2]) -> bool {
    keep.sort_unstable();
    let mut from: libc::c_uint = 3;
    for fd in keep {
        let Ok(fd) = libc::c_uint::try_from(fd) else {
            continue;
        };
        if fd < from {
            continue;
        }
        // SAFETY: closes descriptors of this (forked) process only.
        if fd > from && unsafe { libc::syscall(libc::SYS_close_range, from, fd - 1, 0) } != 0 {
            return false;
        }
        from = fd + 1;
    }
    // SAFETY: as above.
    unsafe { libc::syscall(libc::SYS_close_range, from, libc::c_uint::MAX, 0) == 0 }
}

// ---------------------------------------------------------------------------
// Running portcheck

/// One finished run of portcheck.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.args(args);
    configure(&mut command);
    command
}

/// The environment every portcheck run gets.
fn configure(command: &mut Command) {
    command
        .env_remove("PORTCHECK_SOCKET_SOURCE")
        .env_remove("NO_COLOR")
        .current_dir("/")
        .stdin(Stdio::null());
}

fn finish(output: std::process::Output) -> Run {
    let code = output
        .status
        .code()
        .unwrap_or_else(|| panic!("portcheck ended by a signal: {:?}", output.status));
    Run {
        code,
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// Runs `portcheck ARGS` (in the calling thread's network namespace), then,
/// for the command lines the shadow covers, the same as uid 65534, held to
/// the shadow's invariants (see shadow.rs).
pub fn portcheck(args: &[&str]) -> Run {
    let mut command = command(args);
    let run = {
        let _lock = processes_lock();
        finish(command.output().expect("run portcheck"))
    };
    shadow::after(args, &run, |args| portcheck_as(NOBODY, args));
    run
}

/// Runs `portcheck ARGS` reading sockets through `source`
/// (`PORTCHECK_SOCKET_SOURCE`).
pub fn portcheck_with_source(source: &str, args: &[&str]) -> Run {
    let mut command = command(args);
    command.env("PORTCHECK_SOCKET_SOURCE", source);
    let _lock = processes_lock();
    finish(command.output().expect("run portcheck"))
}

/// Runs `portcheck ARGS` as uid and gid `id`, without supplementary groups.
pub fn portcheck_as(id: u32, args: &[&str]) -> Run {
    let mut command = Command::new(unprivileged_bin());
    command.args(args);
    configure(&mut command);
    // std drops the supplementary groups when root changes uid.
    command.uid(id).gid(id);
    let _lock = processes_lock();
    finish(command.output().expect("run portcheck as another user"))
}

/// The binary under test, at a path any user may execute: [`BIN`] itself
/// when every directory above it lets others through and the file is
/// world-readable and -executable; otherwise a copy made once, in a
/// directory of this test binary's own under the temporary directory
/// (nothing outside the tests' own files has its mode changed).
pub fn unprivileged_bin() -> &'static Path {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let bin = Path::new(BIN);
        if world_executable(bin) {
            return bin.to_owned();
        }
        let dir = std::env::temp_dir().join(format!("portcheck-unprivileged-{}", std::process::id()));
        let copy = dir.join("portcheck");
        let made = std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::set_permissions(&dir, Permissions::from_mode(0o755)))
            .and_then(|()| std::fs::copy(bin, &copy))
            .and_then(|_| std::fs::set_permissions(&copy, Permissions::from_mode(0o755)));
        if let Err(e) = made {
            panic!(
                "{BIN} cannot be run by uid {NOBODY} (a directory above it or the file itself is closed to other users), and copying it to {} failed: {e}",
                copy.display()
            );
        }
        assert!(
            world_executable(&copy),
            "{} is still not executable by other users (is the temporary directory {} closed to them?)",
            copy.display(),
            std::env::temp_dir().display()
        );
        eprintln!("{BIN} is closed to other users: unprivileged runs use a copy, {}", copy.display());
        copy
    })
}

/// Whether a user with no rights of its own may execute `path`: every
/// directory above it searchable by others, the file readable and
/// executable by them.
fn world_executable(path: &Path) -> bool {
    let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode());
    mode(path) & 0o005 == 0o005
        && path
            .ancestors()
            .skip(1)
            .filter(|dir| !dir.as_os_str().is_empty())
            .all(|dir| mode(dir) & 0o001 != 0)
}

/// Runs `portcheck ARGS` with `input` on its standard input, shadowed as
/// [`portcheck`] is (the unprivileged twin gets the same input).
pub fn portcheck_fed(args: &[&str], input: &[u8]) -> Run {
    let run = fed(Command::new(BIN), args, input);
    shadow::after(args, &run, |args| {
        let mut command = Command::new(unprivileged_bin());
        command.uid(NOBODY).gid(NOBODY);
        fed(command, args, input)
    });
    run
}

fn fed(mut command: Command, args: &[&str], input: &[u8]) -> Run {
    command.args(args);
    configure(&mut command);
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let _lock = processes_lock();
    let mut child = command.spawn().expect("spawn portcheck");
    let mut stdin = child.stdin.take().expect("piped stdin");
    let output = std::thread::scope(|scope| {
        // portcheck may stop reading early (a match, the 16 MiB cap): a
        // broken pipe here is expected.
        scope.spawn(move || {
            let _ = stdin.write_all(input);
        });
        child.wait_with_output().expect("wait for portcheck")
    });
    finish(output)
}

/// Runs `portcheck ARGS` with its standard output a pipe whose read end is
/// closed at once (`portcheck ... | head -0`).
pub fn portcheck_into_closed_pipe(args: &[&str]) -> Run {
    let mut command = command(args);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let _lock = processes_lock();
    let mut child = command.spawn().expect("spawn portcheck");
    drop(child.stdout.take());
    finish(child.wait_with_output().expect("wait for portcheck"))
}

/// Runs `portcheck who ARGS --json` and parses the one document it prints.
pub fn who_json(args: &[&str]) -> (Run, WhoDoc) {
    let mut full = vec!["who"];
    full.extend_from_slice(args);
    full.push("--json");
    let run = portcheck(&full);
    let doc = parse_who(&run);
    (run, doc)
}

/// The `who` document of a run; panics, showing the run, on anything that is
/// not exactly one document of the contract's shape.
pub fn parse_who(run: &Run) -> WhoDoc {
    let doc: WhoDoc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one `who` document ({e}): {run:#?}"));
    assert_eq!(doc.schema_version, 1, "{run:#?}");
    assert_eq!(doc.command, "who", "{run:#?}");
    doc
}

/// The error document of a failed run.
pub fn parse_error(run: &Run) -> ErrorDoc {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one error document ({e}): {run:#?}"))
}

// ---------------------------------------------------------------------------
// The JSON contract, mirrored field by field. `deny_unknown_fields` and
// `present` lock the schema: a key added, renamed or omitted fails every
// test that parses a document.

/// A nullable field that must still be present: the contract writes `null`
/// for what cannot be known and never omits a key.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}

/// A protocol a demultiplexer (sslh) routes, and where.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDoc {
    pub protocol: String,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhoDoc {
    pub schema_version: u32,
    pub command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "present")]
    pub hostname: Option<String>,
    #[serde(deserialize_with = "present")]
    pub kernel: Option<String>,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    pub query: QueryDoc,
    pub sockets: Vec<SocketDoc>,
    pub summary: SummaryDoc,
}

impl WhoDoc {
    pub fn warning_codes(&self) -> Vec<&str> {
        self.warnings.iter().map(|w| w.code.as_str()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarningDoc {
    pub code: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryDoc {
    pub targets: Vec<String>,
    pub protocols: Vec<String>,
    pub families: Vec<String>,
    pub all: bool,
    pub all_netns: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryDoc {
    pub by_state: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SocketDoc {
    pub protocol: String,
    pub family: String,
    pub local_address: String,
    pub local_port: u16,
    #[serde(deserialize_with = "present")]
    pub remote_address: Option<String>,
    #[serde(deserialize_with = "present")]
    pub remote_port: Option<u16>,
    pub state: String,
    #[serde(deserialize_with = "present")]
    pub v6only: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub accepts_ipv4: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub interface: Option<String>,
    #[serde(deserialize_with = "present")]
    pub uid: Option<u32>,
    #[serde(deserialize_with = "present")]
    pub user: Option<String>,
    #[serde(deserialize_with = "present")]
    pub inode: Option<u64>,
    #[serde(deserialize_with = "present")]
    pub reuseaddr: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub reuseport: Option<bool>,
    #[serde(deserialize_with = "present")]
    pub netns: Option<String>,
    #[serde(deserialize_with = "present")]
    pub netns_name: Option<String>,
    #[serde(deserialize_with = "present")]
    pub forwards_to: Option<String>,
    #[serde(deserialize_with = "present")]
    pub demultiplexer: Option<String>,
    pub forwards_by_protocol: Vec<RouteDoc>,
    pub processes: Vec<ProcessDoc>,
    #[serde(deserialize_with = "present")]
    pub owner_gap: Option<String>,
    /// `--probe` (probe.rs checks its shape); null without it.
    #[serde(deserialize_with = "present")]
    pub probe: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessDoc {
    pub pid: u32,
    #[serde(deserialize_with = "present")]
    pub name: Option<String>,
    /// The exact bytes of `name` in base64 when they are not UTF-8.
    #[serde(deserialize_with = "present")]
    pub name_bytes: Option<String>,
    pub cmdline: Vec<String>,
    /// Every argument's exact bytes in base64 when one is not UTF-8.
    #[serde(deserialize_with = "present")]
    pub cmdline_bytes: Option<Vec<String>>,
    #[serde(deserialize_with = "present")]
    pub fd: Option<u32>,
    pub fds: Vec<u32>,
    #[serde(deserialize_with = "present")]
    pub uid: Option<u32>,
    #[serde(deserialize_with = "present")]
    pub user: Option<String>,
    #[serde(deserialize_with = "present")]
    pub container: Option<ContainerDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDoc {
    pub runtime: String,
    pub id: String,
}

/// The `wait` document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitDoc {
    pub schema_version: u32,
    pub command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "present")]
    pub hostname: Option<String>,
    #[serde(deserialize_with = "present")]
    pub kernel: Option<String>,
    pub complete: bool,
    pub warnings: Vec<WarningDoc>,
    pub target: String,
    pub until: String,
    pub met: bool,
    pub waited_ms: u64,
    pub polls: u32,
    pub timeout_ms: u64,
    pub destinations: Vec<String>,
    pub sockets: Vec<SocketDoc>,
    pub summary: SummaryDoc,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorDoc {
    pub schema_version: u32,
    pub command: String,
    /// Every document: `uname -n` and `uname -r` (issue #21).
    #[serde(deserialize_with = "present")]
    pub hostname: Option<String>,
    #[serde(deserialize_with = "present")]
    pub kernel: Option<String>,
    pub error: ErrorBody,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

// ---------------------------------------------------------------------------
// A private /etc: generated files bind-mounted in a private mount namespace,
// so name lookups see a test's own hosts file and the real /etc is never
// touched (`unshare --propagation private` keeps the mounts from leaking).

/// A unique temporary directory holding the files bind-mounted over /etc
/// for the processes a test starts; removed when dropped.
pub struct Etc {
    dir: PathBuf,
    /// (generated file, the /etc file it covers)
    mounts: Vec<(PathBuf, &'static str)>,
}

static ETC_DIRS: AtomicUsize = AtomicUsize::new(0);

impl Etc {
    /// `hosts` becomes /etc/hosts; /etc/nsswitch.conf says `hosts: files`;
    /// /etc/gai.conf is empty (the default policy), where it exists.
    pub fn new(test: &str, hosts: &str) -> Etc {
        let dir = std::env::temp_dir().join(format!(
            "portcheck-etc-{}-{}-{test}",
            std::process::id(),
            ETC_DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        let mut etc = Etc {
            dir,
            mounts: Vec::new(),
        };
        etc.cover("hosts", "/etc/hosts", hosts);
        etc.cover(
            "nsswitch.conf",
            "/etc/nsswitch.conf",
            "passwd: files\ngroup: files\nhosts: files\n",
        );
        if Path::new("/etc/gai.conf").exists() {
            etc.cover("gai.conf", "/etc/gai.conf", "");
        }
        etc
    }

    /// The same, with `gai` as /etc/gai.conf; `None` (the reason printed)
    /// when this host has no /etc/gai.conf to mount over.
    pub fn with_gai_conf(test: &str, hosts: &str, gai: impl AsRef<[u8]>) -> Option<Etc> {
        if !Path::new("/etc/gai.conf").exists() {
            eprintln!(
                "skipping {test}: there is no /etc/gai.conf to bind-mount over (the real /etc is never changed)"
            );
            return None;
        }
        let mut etc = Etc::new(test, hosts);
        etc.mounts.retain(|(_, target)| *target != "/etc/gai.conf");
        etc.cover("gai.conf", "/etc/gai.conf", gai);
        Some(etc)
    }

    /// Also covers `target`, an /etc file that must exist, with `text`
    /// (in place of what covered it before); `None` (the reason printed)
    /// when this host has no such file to mount over.
    pub fn with(self, test: &str, target: &'static str, content: &str) -> Option<Etc> {
        self.with_bytes(test, target, content.as_bytes())
    }

    /// [`Etc::with`], for a file that need not be UTF-8.
    pub fn with_bytes(mut self, test: &str, target: &'static str, content: &[u8]) -> Option<Etc> {
        if !Path::new(target).is_file() {
            eprintln!(
                "skipping {test}: there is no {target} to bind-mount over (the real /etc is never changed)"
            );
            return None;
        }
        self.mounts.retain(|(_, covered)| *covered != target);
        let name = Path::new(target)
            .file_name()
            .and_then(|name| name.to_str())
            .expect("an /etc file name");
        self.cover(name, target, content);
        Some(self)
    }

    fn cover(&mut self, name: &str, target: &'static str, text: impl AsRef<[u8]>) {
        let path = self.dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        self.mounts.push((path, target));
    }

    /// Runs `program ARGS` in a private mount namespace with the generated
    /// files mounted, in the calling thread's network namespace, under the
    /// harness's process lock.
    pub fn run(&self, program: &str, args: &[&str]) -> Run {
        const SCRIPT: &str = r#"
            while [ "$1" != -- ]; do
                mount --bind "$1" "$2" || { echo "private /etc: mount --bind $1 $2 failed" >&2; exit 125; }
                shift 2
            done
            shift"#;
        let mut setup_args: Vec<&std::ffi::OsStr> = self
            .mounts
            .iter()
            .flat_map(|(file, target)| [file.as_os_str(), target.as_ref()])
            .collect();
        setup_args.push("--".as_ref());
        let mut command = vec![program];
        command.extend_from_slice(args);
        with_private_mounts(SCRIPT, &setup_args, &command)
    }

    /// `portcheck ARGS` in the private /etc, shadowed as [`portcheck`] is:
    /// the unprivileged twin runs in a private /etc of its own with the same
    /// files, dropping privileges (setpriv) after the mounts.
    pub fn portcheck(&self, args: &[&str]) -> Run {
        let run = self.run(BIN, args);
        shadow::after(args, &run, |args| {
            let id = format!("{NOBODY}");
            let mut line = vec![
                format!("--reuid={id}"),
                format!("--regid={id}"),
                "--clear-groups".to_owned(),
            ];
            line.push(unprivileged_bin().to_string_lossy().into_owned());
            line.extend(args.iter().map(|a| (*a).to_owned()));
            let line: Vec<&str> = line.iter().map(String::as_str).collect();
            self.run("setpriv", &line)
        });
        run
    }

    /// The order glibc's getaddrinfo gives `name` (`getent ahosts`, one
    /// line per address and socket type; the STREAM lines). getent sets
    /// AI_ADDRCONFIG, which drops nothing here: either no family has a
    /// non-loopback address (then glibc filters neither) or both have.
    pub fn system_order(&self, name: &str) -> Vec<String> {
        let run = self.run("getent", &["ahosts", name]);
        assert_eq!(run.code, 0, "{run:#?}");
        run.stdout
            .lines()
            .filter(|line| line.split_whitespace().nth(1) == Some("STREAM"))
            .filter_map(|line| line.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    }
}

/// Runs `ARGV` in a private mount namespace (`unshare --mount
/// --propagation private`: nothing mounted there is seen outside) after the
/// shell script `setup` has run there with `setup_args` as its `$@` (it
/// must `shift` them away; exit 125 says it failed), in the calling
/// thread's network namespace, under the harness's process lock. How a
/// test gives portcheck an odd /proc or /etc without touching the host's.
pub fn with_private_mounts(setup: &str, setup_args: &[&std::ffi::OsStr], argv: &[&str]) -> Run {
    let script = format!("{setup}\nexec \"$@\"");
    let mut command = Command::new("unshare");
    command
        .args([
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            &script,
            "sh",
        ])
        .args(setup_args)
        .args(argv)
        .env_remove("PORTCHECK_SOCKET_SOURCE")
        .env_remove("NO_COLOR")
        .current_dir("/")
        .stdin(Stdio::null());
    let output = without_new_processes(|| command.output())
        .unwrap_or_else(|e| panic!("run unshare for {argv:?}: {e}"));
    let run = Run {
        code: output
            .status
            .code()
            .unwrap_or_else(|| panic!("{argv:?} ended by a signal: {:?}", output.status)),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    assert_ne!(
        run.code, 125,
        "the private mounts could not be set up: {run:#?}"
    );
    assert!(
        !run.stderr.starts_with("unshare:"),
        "unshare failed: {run:#?}"
    );
    run
}

impl Drop for Etc {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The check behind [`unprivileged_bin`]: a file other users may read and
/// execute is still closed to them when a directory above it is.
#[test]
fn harness_tells_when_other_users_cannot_execute_a_file() {
    let dir = std::env::temp_dir().join(format!("portcheck-exec-check-{}", std::process::id()));
    let inner = dir.join("inner");
    std::fs::create_dir_all(&inner).expect("mkdir");
    let file = inner.join("program");
    std::fs::write(&file, "#!/bin/sh\n").expect("write");
    let set = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, Permissions::from_mode(mode)).expect("chmod our own file");
    };
    set(&dir, 0o755);
    set(&inner, 0o755);
    set(&file, 0o755);
    let open = world_executable(&file);
    set(&inner, 0o700);
    let closed_dir = world_executable(&file);
    set(&inner, 0o755);
    set(&file, 0o750);
    let closed_file = world_executable(&file);
    std::fs::remove_dir_all(&dir).expect("cleanup");
    assert!(open && !closed_dir && !closed_file);
}

/// `(local port, state)` of every TCP socket of this thread's namespace.
pub fn tcp_table() -> Vec<(u16, u8)> {
    let mut out = Vec::new();
    for file in ["/proc/thread-self/net/tcp", "/proc/thread-self/net/tcp6"] {
        let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(state)) = (fields.get(1), fields.get(3)) else {
                continue;
            };
            let port = local
                .rsplit_once(':')
                .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
            if let (Some(port), Ok(state)) = (port, u8::from_str_radix(state, 16)) {
                out.push((port, state));
            }
        }
    }
    out
}

/// The TCP state numbers of LISTEN and TIME_WAIT in `/proc/net/tcp`.
pub const TCP_LISTEN: u8 = 0x0A;
pub const TCP_TIME_WAIT: u8 = 6;

/// Polls this thread's TCP table (at most `limit`) until something listens
/// on `port`; true when it did. Reads the kernel's table directly, so a
/// program that starts slowly is waited for without running portcheck (whose
/// every run is shadowed, and would race the program's start twice).
pub fn wait_tcp_listening(port: u16, limit: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if tcp_table().contains(&(port, TCP_LISTEN)) {
            return true;
        }
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
