//! The field suite of issue #16 (items 1-6): real servers and clients
//! (node, nginx, Redis, PostgreSQL, MariaDB, sshd, curl, wget, python3)
//! started by each test in its own network namespace, and what portcheck
//! says about them checked against what the programs did.
//!
//! Every daemon runs under `timeout` (so none outlives a crashed test),
//! is started under the harness's process lock, and is stopped by its pid
//! when the test ends.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::dns::warning_codes;
use super::field;
use super::field::{DAEMON_LIFETIME, Daemon, Scratch};
use super::harness::{NOBODY, in_netns, portcheck, without_new_processes};

fn json(run: &super::harness::Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"))
}

// ---------------------------------------------------------------------------
// 1. -4 selects the sockets that take IPv4

/// Node's `listen({host: '::'})` is dual-stack (libuv leaves IPV6_V6ONLY
/// off), so it takes IPv4 port 3000: `who -4` lists it and `wait -4
/// --until free` is not met.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
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

// ---------------------------------------------------------------------------
// 4. and 5. --probe against real servers

/// The probe object of the one socket `who PORT --probe` lists.
fn probe_of_port(port: u16) -> Value {
    let run = portcheck(&["who", &port.to_string(), "-t", "--probe", "--json"]);
    assert_eq!(run.code, 0, "{run:#?}");
    let document = json(&run);
    let sockets = document["sockets"].as_array().expect("sockets");
    let listening: Vec<&Value> = sockets.iter().filter(|s| s["state"] == "LISTEN").collect();
    assert_eq!(listening.len(), 1, "{document:#}");
    listening[0]["probe"].clone()
}

/// Fails when `log` (a server's own log) has a line with any of `alarms`.
fn assert_no_alarm(server: &str, log: &Path, alarms: &[&str]) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        for alarm in alarms {
            assert!(
                !line.contains(alarm),
                "the probe alarmed {server}: {line}\nwhole log:\n{text}"
            );
        }
    }
}

/// Writes a self-signed certificate and its key for `localhost` (rcgen).
fn self_signed(cert: &Path, key: &Path) {
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("cert params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let pair = rcgen::KeyPair::generate().expect("a key pair");
    let certificate = params
        .self_signed(&pair)
        .expect("a self-signed certificate");
    std::fs::write(cert, certificate.pem()).expect("write the certificate");
    std::fs::write(key, pair.serialize_pem()).expect("write the key");
}

/// nginx `listen 8443 ssl` answers plain HTTP with its own 400 "The plain
/// HTTP request was sent to HTTPS port": TLS only, not multiplexed.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_calls_nginx_ssl_port_tls_only_not_multiplexed() {
    const TEST: &str = "probe_calls_nginx_ssl_port_tls_only_not_multiplexed";
    let Some(nginx) = field::program("nginx", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        let dir = scratch.0.display().to_string();
        self_signed(&scratch.path("cert.pem"), &scratch.path("key.pem"));
        let config = format!(
            "pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 64; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  server {{
    listen 8443 ssl;
    ssl_certificate {dir}/cert.pem;
    ssl_certificate_key {dir}/key.pem;
    location / {{ return 200 \"tls only\\n\"; }}
  }}
}}
"
        );
        std::fs::write(scratch.path("nginx.conf"), config).expect("write nginx.conf");
        let conf = scratch.path("nginx.conf").display().to_string();
        let error_log = scratch.path("error.log").display().to_string();
        let mut server = Daemon::start(
            &nginx,
            &[
                "-p",
                &dir,
                "-c",
                &conf,
                "-e",
                &error_log,
                "-g",
                "daemon off;",
            ],
            &scratch.path("nginx.out"),
        );
        server.wait_for_tcp("127.0.0.1:8443", Duration::from_secs(10));

        let probe = probe_of_port(8443);
        assert_eq!(probe["protocol"], "https", "{probe:#}");
        assert_eq!(probe["http"]["status"], 200, "{probe:#}");
        assert_eq!(
            probe["multiplexed"],
            serde_json::json!([]),
            "a TLS server's refusal of plain HTTP is not a second protocol: {probe:#}"
        );
        let summary = probe["summary"].as_str().expect("summary");
        assert!(
            summary.contains(
                "TLS only (rejects plain HTTP: 400 The plain HTTP request was sent to HTTPS port)"
            ),
            "{summary}"
        );
        // nginx's own log shows the plain request was its 400.
        let access = std::fs::read_to_string(scratch.path("access.log")).unwrap_or_default();
        assert!(access.contains("\" 400 "), "{access}");
        drop(server);
    });
}

/// Redis, probed as Redis (`PING`), logs no "SECURITY ATTACK".
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_asks_redis_ping_and_trips_no_alarm() {
    const TEST: &str = "probe_asks_redis_ping_and_trips_no_alarm";
    let Some(redis) = field::program("redis-server", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        let log = scratch.path("redis.log");
        let dir = scratch.0.display().to_string();
        let mut server = Daemon::start(
            &redis,
            &[
                "--port",
                "6379",
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &dir,
                "--daemonize",
                "no",
            ],
            &log,
        );
        server.wait_for_tcp("127.0.0.1:6379", Duration::from_secs(10));
        let probe = probe_of_port(6379);
        // Redis writes its log line at once; give it a moment anyway.
        std::thread::sleep(Duration::from_millis(200));
        assert_no_alarm("redis-server", &log, &["SECURITY ATTACK"]);
        assert_eq!(probe["protocol"], "redis", "{probe:#}");
        assert!(
            probe["summary"]
                .as_str()
                .is_some_and(|s| s.contains("+PONG")),
            "{probe:#}"
        );
        drop(server);
    });
}

/// PostgreSQL, probed with an SSLRequest, logs no "invalid length of
/// startup packet" (nor any other startup complaint).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_asks_postgres_sslrequest_and_trips_no_alarm() {
    const TEST: &str = "probe_asks_postgres_sslrequest_and_trips_no_alarm";
    let (Some(initdb), Some(postgres)) = (
        field::postgres_bin("initdb", TEST),
        field::postgres_bin("postgres", TEST),
    ) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        // PostgreSQL refuses to run as root: it runs as nobody, in a
        // directory of its own.
        std::os::unix::fs::chown(&scratch.0, Some(NOBODY), Some(NOBODY)).expect("chown");
        let data = scratch.path("data").display().to_string();
        let as_nobody = |command: &mut Command| {
            use std::os::unix::process::CommandExt;
            command.uid(NOBODY).gid(NOBODY).env("LC_ALL", "C");
        };
        let mut init = Command::new("timeout");
        init.args(["60"])
            .arg(&initdb)
            .args(["-D", &data, "-U", "postgres", "--auth=trust", "--no-sync"])
            .current_dir("/")
            .stdin(Stdio::null());
        as_nobody(&mut init);
        let made = without_new_processes(|| init.output()).expect("run initdb");
        assert!(made.status.success(), "initdb: {made:?}");
        let log = scratch.path("postgres.log");
        let dir = scratch.0.display().to_string();
        let mut server = Daemon::start_with(
            &postgres,
            &[
                "-D",
                &data,
                "-k",
                &dir,
                "-p",
                "5432",
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "logging_collector=off",
            ],
            &log,
            as_nobody,
        );
        server.wait_for_tcp("127.0.0.1:5432", Duration::from_secs(20));
        let probe = probe_of_port(5432);
        std::thread::sleep(Duration::from_millis(300));
        assert_no_alarm(
            "postgres",
            &log,
            &[
                "invalid length of startup packet",
                "startup packet",
                "unsupported frontend protocol",
            ],
        );
        assert_eq!(probe["protocol"], "postgres", "{probe:#}");
        assert!(
            probe["summary"]
                .as_str()
                .is_some_and(|s| s.contains("SSLRequest answered N")),
            "{probe:#}"
        );
        drop(server);
    });
}

/// MariaDB greets first: its greeting is read and nothing is sent.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_reads_the_mariadb_greeting_and_sends_nothing() {
    const TEST: &str = "probe_reads_the_mariadb_greeting_and_sends_nothing";
    let Some(mariadbd) = field::program("mariadbd", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        let data = scratch.path("db");
        std::fs::create_dir(&data).expect("mkdir datadir");
        let log = scratch.path("mariadb.err");
        let datadir = format!("--datadir={}", data.display());
        let socket = format!("--socket={}", scratch.path("sock").display());
        let log_error = format!("--log-error={}", log.display());
        let pid_file = format!("--pid-file={}", scratch.path("pid").display());
        // No system tables are needed to greet: --skip-grant-tables.
        let mut server = Daemon::start(
            &mariadbd,
            &[
                "--no-defaults",
                &datadir,
                &socket,
                &log_error,
                &pid_file,
                "--port=3306",
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--user=root",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=8M",
            ],
            &scratch.path("mariadb.out"),
        );
        server.wait_for_tcp("127.0.0.1:3306", Duration::from_secs(30));
        let probe = probe_of_port(3306);
        assert_eq!(probe["protocol"], "mysql", "{probe:#}");
        assert!(
            probe["summary"].as_str().is_some_and(
                |s| s.starts_with("MySQL protocol 10, server ") && s.contains("MariaDB")
            ),
            "{probe:#}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_no_alarm("mariadbd", &log, &["Bad handshake", "packets out of order"]);
        drop(server);
    });
}

/// sshd greets first: its banner is read and nothing is sent (an HTTP
/// request would make it log "invalid format" / "Bad protocol version").
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_reads_the_sshd_banner_and_sends_nothing() {
    const TEST: &str = "probe_reads_the_sshd_banner_and_sends_nothing";
    let (Some(sshd), Some(keygen)) = (
        field::program("sshd", TEST),
        field::program("ssh-keygen", TEST),
    ) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        let key = scratch.path("host_key");
        let mut make_key = Command::new(&keygen);
        make_key
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .stdin(Stdio::null());
        let made = without_new_processes(|| make_key.output()).expect("run ssh-keygen");
        assert!(made.status.success(), "ssh-keygen: {made:?}");
        let config = format!(
            "ListenAddress 127.0.0.1:22\nHostKey {}\nPidFile {}\nUsePAM no\nLogLevel VERBOSE\n",
            key.display(),
            scratch.path("sshd.pid").display()
        );
        std::fs::write(scratch.path("sshd_config"), config).expect("write sshd_config");
        let log = scratch.path("sshd.log");
        // sshd needs its privilege separation directory, /run/sshd: made on
        // a tmpfs over /run in a private mount namespace, so the host's
        // /run is never touched.
        let script = "mount -t tmpfs tmpfs /run && mkdir -m 755 /run/sshd && exec \"$@\"";
        let unshare = Path::new("/usr/bin/unshare");
        let config_path = scratch.path("sshd_config").display().to_string();
        let log_path = log.display().to_string();
        let sshd_path = sshd.display().to_string();
        let mut server = Daemon::start(
            unshare,
            &[
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                "sh",
                &sshd_path,
                "-D",
                "-f",
                &config_path,
                "-E",
                &log_path,
            ],
            &scratch.path("sshd.out"),
        );
        server.wait_for_tcp("127.0.0.1:22", Duration::from_secs(10));
        let probe = probe_of_port(22);
        assert_eq!(probe["protocol"], "ssh", "{probe:#}");
        assert!(
            probe["banner"]
                .as_str()
                .is_some_and(|b| b.starts_with("SSH-2.0-OpenSSH")),
            "{probe:#}"
        );
        std::thread::sleep(Duration::from_millis(300));
        assert_no_alarm(
            "sshd",
            &log,
            &[
                "Bad protocol version",
                "invalid format",
                "banner line contains invalid",
            ],
        );
        drop(server);
    });
}

// ---------------------------------------------------------------------------
// 2. Another host: "cannot tell from here", not "refused"

/// A named network namespace joined to the test's own by a veth pair: a
/// second host at `REMOTE` (the test's side is `LOCAL`). Deleted (with
/// its end of the pair) when dropped.
struct OtherHost {
    name: String,
}

const LOCAL: &str = "10.203.0.1";
const REMOTE: &str = "10.203.0.2";

fn ip(args: &[&str]) {
    let output = without_new_processes(|| Command::new("ip").args(args).output())
        .unwrap_or_else(|e| panic!("run ip {args:?}: {e}"));
    assert!(output.status.success(), "ip {args:?}: {output:?}");
}

impl OtherHost {
    /// Must be called on the test's netns thread.
    fn new(tag: &str) -> OtherHost {
        let name = format!("pc-{tag}-{}", std::process::id());
        let _ = without_new_processes(|| {
            Command::new("ip")
                .args(["netns", "del", &name])
                .stderr(Stdio::null())
                .status()
        });
        ip(&["netns", "add", &name]);
        let host = OtherHost { name };
        let peer = format!("pcv{}", std::process::id() % 100_000);
        ip(&[
            "link", "add", "pcveth0", "type", "veth", "peer", "name", &peer, "netns", &host.name,
        ]);
        ip(&["addr", "add", &format!("{LOCAL}/24"), "dev", "pcveth0"]);
        ip(&["link", "set", "pcveth0", "up"]);
        ip(&[
            "-n",
            &host.name,
            "addr",
            "add",
            &format!("{REMOTE}/24"),
            "dev",
            &peer,
        ]);
        ip(&["-n", &host.name, "link", "set", &peer, "up"]);
        ip(&["-n", &host.name, "link", "set", "lo", "up"]);
        host
    }

    /// Starts `program ARGS` on the other host.
    fn start(&self, program: &Path, args: &[&str], log: &Path) -> Daemon {
        let mut line = vec![
            "netns",
            "exec",
            &self.name,
            "timeout",
            "-s",
            "KILL",
            DAEMON_LIFETIME,
        ];
        let program = program.display().to_string();
        line.push(&program);
        line.extend_from_slice(args);
        // `ip netns exec` execs the program: the pid is timeout's.
        let mut daemon = Daemon::start(Path::new("ip"), &line, log);
        daemon.name = program;
        daemon
    }
}

impl Drop for OtherHost {
    fn drop(&mut self) {
        let _ = without_new_processes(|| {
            Command::new("ip")
                .args(["netns", "del", &self.name])
                .status()
        });
    }
}

/// python3's http.server on another host (a namespace behind a veth):
/// `resolve` cannot see its sockets, so it never says "fails"; `--probe`
/// and `--connect` reach it and make it `accept`; a closed port there,
/// refused to a probe, is a known refusal (exit 1).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn resolve_says_cannot_tell_for_another_host_until_asked() {
    const TEST: &str = "resolve_says_cannot_tell_for_another_host_until_asked";
    let Some(python) = field::program("python3", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = Scratch::new(TEST);
        let other = OtherHost::new("fc");
        let mut server = other.start(
            &python,
            &[
                "-m",
                "http.server",
                "8080",
                "--bind",
                REMOTE,
                "--directory",
                "/nonexistent-dir-for-listing",
            ],
            &scratch.path("http.log"),
        );
        server.wait_for_tcp(&format!("{REMOTE}:8080"), Duration::from_secs(10));
        let etc = super::harness::Etc::new(TEST, &format!("{REMOTE} backend.test\n"));

        // Not asked: cannot tell.
        let run = etc.portcheck(&["resolve", "backend.test:8080", "--json"]);
        assert_eq!(run.code, 0, "another host is not a failure: {run:#?}");
        let document = json(&run);
        assert_eq!(
            document["destinations"][0]["outcome"], "not_local",
            "{document:#}"
        );
        assert_eq!(document["complete"], false, "{document:#}");
        assert!(
            warning_codes(&document).contains(&"not_local_unseen".to_owned()),
            "{document:#}"
        );
        let table = etc.portcheck(&["resolve", "backend.test:8080"]);
        assert_eq!(table.code, 0, "{table:#?}");
        assert!(!table.stdout.contains("fails"), "{table:#?}");
        assert!(table.stdout.contains("cannot tell from here"), "{table:#?}");

        // Asked: a probe that got an answer, or a real connection, accepts.
        for flag in ["--probe", "--connect"] {
            let run = etc.portcheck(&["resolve", "backend.test:8080", flag, "--json"]);
            assert_eq!(run.code, 0, "{flag}: {run:#?}");
            let document = json(&run);
            assert_eq!(
                document["destinations"][0]["outcome"], "accept",
                "{flag}: {document:#}"
            );
            assert_eq!(
                document["reached"]["address"], REMOTE,
                "{flag}: {document:#}"
            );
            assert!(
                !warning_codes(&document).contains(&"not_local_unseen".to_owned()),
                "{flag}: {document:#}"
            );
            if flag == "--probe" {
                let probe = &document["destinations"][0]["probe"];
                assert_eq!(probe["protocol"], "http", "{probe:#}");
                assert!(probe["http"]["status"].is_u64(), "{probe:#}");
            } else {
                assert_eq!(document["connect"][0]["outcome"], "accept", "{document:#}");
            }
        }

        // A port nobody holds there: the probe is refused, a known refusal.
        let run = etc.portcheck(&["resolve", "backend.test:8081", "--probe", "--json"]);
        assert_eq!(run.code, 1, "{run:#?}");
        assert_eq!(json(&run)["destinations"][0]["outcome"], "refused");
        drop(server);
        drop(other);
    });
}

// ---------------------------------------------------------------------------
// 3. Which clients go where: observed, and held to the table in the source

/// An HTTP server on a listener of the test's own, answering every request
/// with a page titled `identity`, until dropped.
struct Identity {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Identity {
    fn serve(socket: socket2::Socket, identity: &'static str) -> Identity {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener: std::net::TcpListener = socket.into();
        listener.set_nonblocking(true).expect("O_NONBLOCK");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let Ok((mut stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = Vec::new();
                let mut buffer = [0u8; 2048];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buffer[..n]),
                    }
                }
                let body = format!("<html><title>{identity}</title>{identity}</html>");
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Identity {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Identity {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A client as run here: how to fetch a URL and how to ask its version.
struct Client {
    /// As in the source's table (`portcheck::resolve::clients::OBSERVED`).
    name: &'static str,
    program: &'static str,
    fetch: &'static [&'static str],
    version: &'static [&'static str],
    /// Which word of the version output is the version.
    version_word: usize,
}

const CLIENTS: &[Client] = &[
    Client {
        name: "curl",
        program: "curl",
        fetch: &["-s", "--max-time", "5"],
        version: &["--version"],
        version_word: 1,
    },
    Client {
        name: "wget",
        program: "wget",
        fetch: &["-q", "-O-", "--timeout=5", "--tries=1"],
        version: &["--version"],
        version_word: 2,
    },
    Client {
        name: "python3 urllib",
        program: "python3",
        fetch: &[
            "-c",
            "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())",
        ],
        version: &["--version"],
        version_word: 1,
    },
    Client {
        name: "node fetch",
        program: "node",
        fetch: &[
            "-e",
            "fetch(process.argv[1]).then(r => r.text()).then(t => console.log(t))",
        ],
        version: &["--version"],
        version_word: 0,
    },
    Client {
        name: "node http",
        program: "node",
        fetch: &[
            "-e",
            "require('http').get(process.argv[1], r => { let b = ''; r.on('data', d => b += d); r.on('end', () => console.log(b)); })",
        ],
        version: &["--version"],
        version_word: 0,
    },
];

/// Runs curl, wget, python3 urllib, node fetch and node http against an
/// IPv4 server on 127.0.0.1 and a v6only IPv6 server on ::1 (one port,
/// each answering its identity), for `localhost` and another name, and
/// fails when a client reaches another server than the table in
/// src/resolve/clients.rs says. Go's net/http is not run (.ci/run does
/// not install Go): its absence is recorded by name, and Go is not named.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn clients_reach_the_listeners_the_table_says() {
    use portcheck::resolve::clients::{OBSERVED, reached, tries_first};
    const TEST: &str = "clients_reach_the_listeners_the_table_says";
    let _ = field::program("go", TEST);
    in_netns(TEST, || {
        use super::harness::{Opts, listener};
        let _ipv4 = Identity::serve(listener("127.0.0.1:8700", Opts::new()), "ipv4");
        let _ipv6 = Identity::serve(listener("[::1]:8700", Opts::new().v6only(true)), "ipv6");
        let etc = super::harness::Etc::new(
            TEST,
            "127.0.0.1 localhost dual.test\n::1 localhost dual.test\n",
        );
        let mut observed = Vec::new();
        for client in CLIENTS {
            let Some(program) = field::program(client.program, TEST) else {
                continue;
            };
            let program = program.display().to_string();
            let row = OBSERVED
                .iter()
                .find(|row| row.client == client.name)
                .unwrap_or_else(|| panic!("{} is run here but not in the table", client.name));
            let version_run = etc.run(&program, client.version);
            let version = version_run
                .stdout
                .split_whitespace()
                .nth(client.version_word)
                .unwrap_or("?")
                .trim_start_matches('v')
                .to_owned();
            if !version.starts_with(row.version) {
                eprintln!(
                    "{TEST}: {} is {version} here, the table observed {}: the behaviour is checked below",
                    client.name, row.version
                );
            }
            for host in ["localhost", "dual.test"] {
                let order: Vec<std::net::IpAddr> = etc
                    .system_order(host)
                    .iter()
                    .map(|a| a.parse().expect("an address"))
                    .collect();
                let tries = tries_first(row, host).expect("both kinds of name were tried");
                let expected = match reached(tries, &order, |_| true) {
                    Some(std::net::IpAddr::V4(_)) => "ipv4",
                    _ => "ipv6",
                };
                let url = format!("http://{host}:8700/");
                let mut args: Vec<&str> = client.fetch.to_vec();
                args.push(&url);
                let run = etc.run(&program, &args);
                let got = if run.stdout.contains("<title>ipv4</title>") {
                    "ipv4"
                } else if run.stdout.contains("<title>ipv6</title>") {
                    "ipv6"
                } else {
                    panic!(
                        "{} {version} fetched nothing from {url}: {run:#?}",
                        client.name
                    )
                };
                observed.push(format!("{} {version} {host} -> {got}", client.name));
                assert_eq!(
                    got, expected,
                    "{} {version} reached the {got} server for {url}; the table in src/resolve/clients.rs says {expected} ({tries:?})",
                    client.name
                );
            }
        }
        eprintln!("{TEST}: observed {observed:#?}");

        // The split note says it per client, for the clients of the table.
        let run = etc.portcheck(&["resolve", "localhost:8700", "--probe", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let document = json(&run);
        let split = document["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .find(|w| w["code"] == "split_by_family")
            .unwrap_or_else(|| panic!("no split_by_family: {document:#}"));
        let message = split["message"].as_str().expect("message");
        assert!(
            message.contains("curl 7.88.1 reaches 127.0.0.1")
                && message.contains("node http 20 reach ::1"),
            "{message}"
        );
        assert!(
            !message.contains("browsers"),
            "browsers were not run: {message}"
        );
    });
}
