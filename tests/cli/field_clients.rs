//! The field suite of issue #16 (items 1-6): real servers and clients
//! (node, nginx, Redis, PostgreSQL, MariaDB, sshd, curl, wget, python3)
//! started by each test in its own network namespace, and what portcheck
//! says about them checked against what the programs did.
//!
//! Every daemon runs under `timeout` (so none outlives a crashed test),
//! is started under the harness's process lock, and is stopped by its pid
//! when the test ends.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::field;
use super::harness::{in_netns, portcheck, without_new_processes};

// ---------------------------------------------------------------------------
// Daemons

/// The longest any daemon of this module may live, whatever happens.
const DAEMON_LIFETIME: &str = "60";

/// A program started by a test, stopped (SIGTERM to the `timeout` that
/// runs it, which passes it on; then SIGKILL) when dropped.
struct Daemon {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `program ARGS` under `timeout` in the calling thread's
    /// network namespace; its stdout and stderr go to `log`.
    fn start(program: &Path, args: &[&str], log: &Path) -> Daemon {
        Daemon::start_with(program, args, log, |_| {})
    }

    /// [`Daemon::start`], with the command adjusted first (user, env).
    fn start_with(
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
            .arg(DAEMON_LIFETIME)
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
    fn wait_for_tcp(&mut self, address: &str, limit: Duration) {
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

    fn log_text(&self) -> String {
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
struct Scratch(PathBuf);

impl Scratch {
    fn new(test: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("portcheck-field-{}-{test}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn json(run: &super::harness::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

// ---------------------------------------------------------------------------
// 1. -4 selects the sockets that take IPv4

/// Node's `listen({host: '::'})` is dual-stack (libuv leaves IPV6_V6ONLY
/// off), so it takes IPv4 port 3000: `who -4` lists it and `wait -4
/// --until free` is not met.
#[test]
fn ipv4_filter_meets_nodes_dual_stack_listener() {
    const TEST: &str = "ipv4_filter_meets_nodes_dual_stack_listener";
    let Some(node) = field::program("node", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        let mut server = Daemon::start(
            &node,
            &[
                "-e",
                "require('http').createServer((q, s) => s.end('node')).listen({port: 3000, host: '::'})",
            ],
            &scratch.path("node.log"),
        );
        // Reached over IPv4: the kernel itself says it is dual-stack.
        server.wait_for_tcp("127.0.0.1:3000", Duration::from_secs(10));

        let run = portcheck(&["who", "-4", "3000", "--json"]);
        assert_eq!(run.code, 0, "node's [::]:3000 takes IPv4: {run:#?}");
        let document = json(&run);
        let sockets = document["sockets"].as_array().expect("sockets");
        assert_eq!(sockets.len(), 1, "{document}");
        assert_eq!(sockets[0]["local_address"], "::");
        assert_eq!(sockets[0]["accepts_ipv4"], true);
        assert_eq!(sockets[0]["processes"][0]["name"], "node", "{document}");
        assert_eq!(document["query"]["families"], serde_json::json!(["ipv4"]));

        let table = portcheck(&["who", "-4", "3000"]);
        assert_eq!(table.code, 0, "{table:#?}");
        assert!(
            table
                .stdout
                .contains("-4 lists [::]:3000 (tcp): an IPv6 socket that takes IPv4 (dual-stack"),
            "the table says why an IPv6 row is listed under -4: {table:#?}"
        );
        // -6 lists it too: it takes IPv6 as well.
        assert_eq!(portcheck(&["who", "-6", "3000", "--json"]).code, 0);

        let started = Instant::now();
        let wait = portcheck(&[
            "wait",
            "-4",
            "3000",
            "--until",
            "free",
            "--timeout",
            "300ms",
            "--json",
        ]);
        assert_eq!(wait.code, 1, "IPv4 port 3000 is not free: {wait:#?}");
        assert_eq!(json(&wait)["met"], false);
        assert!(started.elapsed() < Duration::from_secs(5));
        drop(server);
    });
}
