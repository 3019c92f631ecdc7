//! The field suite's common ground: real programs (nginx, Redis,
//! PostgreSQL, MariaDB, socat, sshd, curl, wget, Apache, node, python3)
//! installed by `.ci/run` with apt, found here by name.
//!
//! A program that is missing is never skipped silently: the test prints
//! which program it lacked, and the name is appended to
//! `field-skipped.txt` in Cargo's target tmpdir, which `.ci/run` prints
//! after the suite ("field programs skipped: ...").

// Each helper serves the field tests of several issues; not all use each.
#![allow(dead_code)]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::without_new_processes;

/// Directories searched beyond `PATH`: Debian puts daemons in sbin and
/// PostgreSQL's server binaries under its versioned lib directory.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// The path of `name` (an executable), or `None` after recording that
/// `test` skipped because it is missing.
pub fn program(name: &str, test: &str) -> Option<PathBuf> {
    let found = find(name);
    if found.is_none() {
        record_skip(name, test);
    }
    found
}

/// PostgreSQL's server binaries (`initdb`, `postgres`), which Debian keeps
/// in `/usr/lib/postgresql/VERSION/bin`, newest version first.
pub fn postgres_bin(name: &str, test: &str) -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|path| is_executable(path))
        .collect();
    versions.sort();
    let found = versions.pop();
    if found.is_none() {
        record_skip(name, test);
    }
    found
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn record_skip(name: &str, test: &str) {
    eprintln!("skipping {test}: {name} is not installed (.ci/run installs it with apt)");
    let list = Path::new(env!("CARGO_TARGET_TMPDIR")).join("field-skipped.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list)
    {
        let _ = writeln!(file, "{name} ({test})");
    }
}

// ---------------------------------------------------------------------------
// Daemons and their files

/// The longest any daemon of this module may live, whatever happens.
pub const DAEMON_LIFETIME: &str = "60";

/// A program started by a test, stopped (SIGTERM to the `timeout` that
/// runs it, which passes it on; then SIGKILL) when dropped.
pub struct Daemon {
    pub name: String,
    pub child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program ARGS` under `timeout` in the calling thread's
    /// network namespace; its stdout and stderr go to `log`.
    pub fn start(program: &Path, args: &[&str], log: &Path) -> Daemon {
        Daemon::start_with(program, args, log, |_| {})
    }

    /// [`Daemon::start`], with the command adjusted first (user, env).
    pub fn start_with(
        program: &Path,
        args: &[&str],
        log: &Path,
        adjust: impl FnOnce(&mut Command),
    ) -> Daemon {
        let output =
            std::fs::File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let errors = output.try_clone().expect("clone the log file");
        let mut command = Command::new("timeout");
        command
            .args(["-s", "KILL", DAEMON_LIFETIME])
            .arg(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(output)
            .stderr(errors)
            .current_dir("/");
        adjust(&mut command);
        let child = without_new_processes(|| command.spawn())
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        Daemon {
            name: program.display().to_string(),
            child,
            log: log.to_owned(),
        }
    }

    /// Waits until something accepts on `address` (from the calling
    /// thread's namespace), failing with the daemon's log after `limit`.
    pub fn wait_for_tcp(&mut self, address: &str, limit: Duration) {
        let address: SocketAddr = address.parse().expect("a socket address");
        let start = Instant::now();
        while start.elapsed() < limit {
            if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "{} ended ({status}) before listening on {address}: {}",
                    self.name,
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "{} did not listen on {address} within {limit:?}: {}",
            self.name,
            self.log_text()
        );
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else {
            return;
        };
        // SAFETY: kill(2) on the pid of our own child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A temporary directory of this test, removed when dropped.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("portcheck-field-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Scratch(dir)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
