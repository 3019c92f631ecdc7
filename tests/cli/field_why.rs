//! `why` in the field: real programs fail for real on ports held inside a
//! private network namespace, and their real output is piped into `why`.
//!
//! Every program is found with `field::program` (a missing one is recorded
//! as skipped by name), started under `without_new_processes` and under
//! `timeout`, so that one which unexpectedly succeeds ends by itself.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::field;
use crate::harness::{
    Holder, Opts, fork_sharing, in_netns, listener, portcheck, udp, without_new_processes,
};
use crate::why::{WhyDoc, parse_why, why_stdin};

/// What a program printed (standard output, then standard error) and its
/// exit code; `timeout` ends it after `seconds`.
struct Ran {
    code: Option<i32>,
    output: String,
}

fn run_program(program: &PathBuf, args: &[&str], seconds: u32) -> Ran {
    let mut command = Command::new("timeout");
    command
        .arg("-s")
        .arg("KILL")
        .arg(seconds.to_string())
        .arg(program)
        .args(args)
        .current_dir("/")
        .stdin(Stdio::null());
    let output = without_new_processes(|| command.output()).expect("run the program");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Ran {
        code: output.status.code(),
        output: text,
    }
}

/// A listener on `address` held only by a forked child.
fn held_by_child(address: &str, opts: Opts) -> Holder {
    let socket = listener(address, opts);
    let child = fork_sharing(&socket);
    without_new_processes(|| drop(socket));
    child
}

/// The story's Rust server (`examples/rust_dual_stack.rs`), which `cargo
/// test` builds beside this test binary.
fn rust_server() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target/debug");
    let path = dir.join("examples").join("rust_dual_stack");
    assert!(
        path.exists(),
        "{} is missing: `cargo test` builds it (or `cargo build --example rust_dual_stack`)",
        path.display()
    );
    path
}

/// Redis keeps nothing on disk: no snapshot, no append-only file.
const REDIS_EPHEMERAL: [&str; 4] = ["--save", "", "--appendonly", "no"];

/// redis-server's arguments to listen on `bind` port `port`, keeping
/// nothing on disk.
fn redis_args<'a>(port: &'a str, bind: &'a str) -> [&'a str; 8] {
    let [save, none, append, no] = REDIS_EPHEMERAL;
    ["--port", port, "--bind", bind, save, none, append, no]
}

/// An nginx configuration in `dir` that runs in the foreground, logs to
/// standard error and keeps every file it writes in `dir`.
fn write_nginx_conf(dir: &std::path::Path, processes: &str, server: &str) {
    let d = dir.display();
    std::fs::write(
        dir.join("nginx.conf"),
        format!(
            "daemon off;\n{processes}\npid {d}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n server {{ {server} }}\n}}\n"
        ),
    )
    .expect("nginx.conf");
}

/// `why ARGS` on `input`, which finds the cause here (exit 0).
fn diagnosed(args: &[&str], input: &[u8]) -> WhyDoc {
    let run = why_stdin(args, input);
    assert_eq!(run.code, 0, "{run:#?}");
    parse_why(&run)
}

fn kinds(doc: &WhyDoc) -> Vec<&str> {
    doc.fixes.iter().map(|f| f.kind.as_str()).collect()
}

// ---------------------------------------------------------------------------
// The Rust story

/// A Rust server binds `[::]:443` as std does (dual-stack), then its
/// redirect on `0.0.0.0:443`, and dies. Its own first socket is in the
/// way: `why` reads it from the log and says so, with fixes in Rust's
/// terms, and no "start it again". Both of Rust's error shapes.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_rust_server_is_in_its_own_way() {
    in_netns("field_why_rust_server", || {
        let server = rust_server();
        for mode in ["hyper", "debug"] {
            let ran = run_program(&server, &["443", mode], 10);
            assert_eq!(ran.code, Some(1), "{mode}: {}", ran.output);
            assert!(
                ran.output.contains("listening on [::]:443"),
                "{}",
                ran.output
            );
            let shape = if mode == "hyper" {
                "error binding to 0.0.0.0:443: error creating server listener: Address already in use (os error 98)"
            } else {
                "Error: Os { code: 98, kind: AddrInUse"
            };
            assert!(ran.output.contains(shape), "{mode}: {}", ran.output);

            let run = why_stdin(&["--json"], ran.output.as_bytes());
            assert_eq!(run.code, 0, "{mode}: {run:#?}");
            let doc = parse_why(&run);
            assert_eq!(doc.recognised.runtime, "Rust", "{mode}");
            assert_eq!(doc.diagnosis.status, "own_socket", "{mode}: {doc:#?}");
            let own = &doc.diagnosis.own_sockets;
            assert_eq!(own.len(), 1, "{mode}: {own:#?}");
            assert_eq!(
                (
                    own[0].protocol.as_str(),
                    own[0].address.as_str(),
                    own[0].port,
                    own[0].line
                ),
                ("tcp", "::", 443, 1),
                "{mode}"
            );
            assert!(
                doc.diagnosis.holders.is_empty(),
                "{mode}: nothing else holds 443"
            );
            assert_eq!(
                doc.try_field("/address").and_then(|v| v.as_str()),
                Some("0.0.0.0"),
                "{mode}: the failed bind is the redirect's"
            );
            assert_eq!(
                doc.try_field("/prediction/rule").and_then(|v| v.as_str()),
                Some("dual_stack_wildcard_overlaps_ipv4"),
                "{mode}"
            );
            assert_eq!(
                doc.try_field("/prediction/conflicts/0/candidate")
                    .and_then(serde_json::Value::as_u64),
                Some(0),
                "{mode}: the conflict is the program's own first socket"
            );
            assert_eq!(
                doc.try_field("/trial/error").and_then(|v| v.as_str()),
                Some("EADDRINUSE"),
                "{mode}: the kernel agrees"
            );
            assert!(!kinds(&doc).contains(&"retry"), "{mode}: {:#?}", doc.fixes);
            assert!(
                doc.fixes.iter().any(|f| f.kind == "set_v6only"
                    && f.setting
                        .as_deref()
                        .is_some_and(|s| s.contains("set_only_v6(true)"))),
                "{mode}: {:#?}",
                doc.fixes
            );
            assert!(
                doc.fixes.iter().any(|f| f
                    .setting
                    .as_deref()
                    .is_some_and(|s| s.contains("from_std") && s.contains("from_tcp_rustls"))),
                "{mode}: {:#?}",
                doc.fixes
            );
            assert!(kinds(&doc).contains(&"one_socket"), "{mode}");
            assert!(
                doc.fix("other_port").description.contains("port 80"),
                "{mode}: the redirect on port 80"
            );
            assert!(doc.also.is_empty(), "{mode}: {:#?}", doc.also);
        }
        // The fix it names works: with socket2's set_only_v6(true) on
        // [::]:443 both sockets bind.
        let fixed = run_program(&server, &["443", "v6only"], 10);
        assert_eq!(fixed.code, Some(0), "{}", fixed.output);
        assert!(
            fixed.output.contains("redirect listening on 0.0.0.0:443"),
            "{}",
            fixed.output
        );
    });
}

/// The failure line alone (no announcement) and nothing in the way now:
/// never only "start it again". The plan it names, run as given, finds the
/// program's own [::]:443 in the way.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_rust_failure_alone_names_the_plan_to_check() {
    in_netns("field_why_rust_alone", || {
        let ran = run_program(&rust_server(), &["443", "hyper"], 10);
        let failure = ran
            .output
            .lines()
            .find(|l| l.starts_with("error binding to"))
            .expect("the failure line");
        let run = why_stdin(&["--json"], failure.as_bytes());
        assert_eq!(run.code, 1, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.diagnosis.status, "gone");
        assert!(doc.diagnosis.own_sockets.is_empty());
        assert!(
            doc.diagnosis.summary.contains("or was the program itself"),
            "{}",
            doc.diagnosis.summary
        );
        let check = doc.fix("check_own_sockets");
        assert_eq!(
            check.command.as_deref(),
            Some("portcheck try '[::]:443' 0.0.0.0:443")
        );
        let tried = portcheck(&["try", "--json", "[::]:443", "0.0.0.0:443"]);
        assert_eq!(tried.code, 1, "the plan fails: {tried:#?}");
        let plan: serde_json::Value = serde_json::from_str(&tried.stdout).expect("try JSON");
        assert_eq!(
            plan.pointer("/candidates/1/prediction/rule")
                .and_then(|v| v.as_str()),
            Some("dual_stack_wildcard_overlaps_ipv4"),
            "{plan:#}"
        );
    });
}

/// An announced socket that something else holds now is not what ran:
/// the failed bind is checked alone and its live holder named.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_an_announced_socket_held_by_another_is_not_blamed() {
    in_netns("field_why_own_held_elsewhere", || {
        let ran = run_program(&rust_server(), &["8443", "hyper"], 10);
        let holder = held_by_child("[::]:8443", Opts::new().reuseaddr(true).v6only(false));
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        assert_eq!(doc.diagnosis.status, "present", "{doc:#?}");
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        assert_eq!(doc.diagnosis.own_sockets.len(), 1, "still listed as read");
    });
}

// ---------------------------------------------------------------------------
// Servers that fail on a held port

/// nginx fails on both of its listens (and retries each five times), then
/// Redis on the same port: every distinct failure line is diagnosed, once.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_every_failure_line_is_diagnosed() {
    const TEST: &str = "field_why_every_failure_line";
    let (Some(nginx), Some(redis)) = (
        field::program("nginx", TEST),
        field::program("redis-server", TEST),
    ) else {
        return;
    };
    in_netns(TEST, || {
        let holder = held_by_child("[::]:8080", Opts::new().reuseaddr(true).v6only(false));
        let scratch = field::Scratch::new("why-nginx");
        let dir = &scratch.0;
        let d = dir.display();
        write_nginx_conf(dir, "master_process off;", "listen 8080; listen [::]:8080;");
        let conf = dir.join("nginx.conf");
        let ran = run_program(
            &nginx,
            &["-p", &d.to_string(), "-c", &conf.display().to_string()],
            20,
        );
        assert_eq!(ran.code, Some(1), "{}", ran.output);
        let redis_ran = run_program(&redis, &redis_args("8080", "127.0.0.1"), 20);
        assert_eq!(redis_ran.code, Some(1), "{}", redis_ran.output);
        let log = format!("{}{}", ran.output, redis_ran.output);

        let doc = diagnosed(&["--json"], log.as_bytes());
        assert_eq!(doc.recognised.pattern, "nginx_bind");
        assert_eq!(doc.recognised.address.as_deref(), Some("0.0.0.0"));
        assert_eq!(doc.diagnosis.status, "present");
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        let also: Vec<(&str, Option<&str>, &str)> = doc
            .also
            .iter()
            .map(|a| {
                (
                    a.recognised.pattern.as_str(),
                    a.recognised.address.as_deref(),
                    a.diagnosis.status.as_str(),
                )
            })
            .collect();
        assert_eq!(
            also,
            [
                ("nginx_bind", Some("::"), "present"),
                ("redis_listen", Some("127.0.0.1"), "present")
            ],
            "each distinct failure once: {:#?}",
            doc.also
        );
        for other in &doc.also {
            let pids: Vec<u32> = other
                .diagnosis
                .holders
                .iter()
                .flat_map(|s| s.processes.iter().map(|p| p.pid))
                .collect();
            assert_eq!(pids, vec![holder.pid()], "{other:#?}");
            assert!(
                other
                    .fixes
                    .iter()
                    .any(|f| f.kind == "stop_process" && f.pid == Some(holder.pid()))
            );
        }
        let human = why_stdin(&[], log.as_bytes());
        assert_eq!(human.code, 0);
        assert!(human.stdout.contains("also, line 2"), "{}", human.stdout);
        assert!(
            human
                .stdout
                .contains("Could not create server TCP listening socket"),
            "{}",
            human.stdout
        );
    });
}

/// socat says the same for TCP and UDP: TCP is assumed and said; `-u`
/// checks UDP and finds the UDP holder. Its connect failure is read too.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_socat_bind_and_connect() {
    const TEST: &str = "field_why_socat";
    let Some(socat) = field::program("socat", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let tcp = held_by_child("0.0.0.0:7000", Opts::new());
        let socket = udp("0.0.0.0:7000", Opts::new());
        let udp_holder = fork_sharing(&socket);
        without_new_processes(|| drop(socket));

        let ran = run_program(&socat, &["TCP-LISTEN:7000", "-"], 10);
        assert!(ran.output.contains("E bind("), "{}", ran.output);
        let doc = parse_why(&why_stdin(&["--json"], ran.output.as_bytes()));
        assert_eq!(doc.recognised.pattern, "socat_bind");
        assert_eq!(doc.recognised.runtime, "socat");
        assert_eq!(doc.recognised.protocol, "tcp");
        assert!(
            doc.recognised
                .assumed
                .iter()
                .any(|a| a.field == "protocol" && a.value == "tcp"),
            "{:#?}",
            doc.recognised.assumed
        );
        assert_eq!(doc.holder_pids(), vec![tcp.pid()]);
        assert_eq!(
            doc.try_field("/options/reuseaddr")
                .and_then(serde_json::Value::as_bool),
            Some(false),
            "socat 1.7 binds without SO_REUSEADDR"
        );

        let ran = run_program(&socat, &["UDP-LISTEN:7000", "-"], 10);
        assert!(ran.output.contains("E bind("), "{}", ran.output);
        let doc = diagnosed(&["--json", "-u"], ran.output.as_bytes());
        assert_eq!(doc.recognised.protocol, "udp");
        assert!(doc.recognised.assumed.iter().all(|a| a.field != "protocol"));
        assert_eq!(doc.holder_pids(), vec![udp_holder.pid()]);

        let ran = run_program(&socat, &["-", "TCP:127.0.0.1:7001"], 10);
        assert!(ran.output.contains("E connect("), "{}", ran.output);
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        assert_eq!(doc.recognised.pattern, "socat_connect");
        assert_eq!(doc.recognised.error, "ECONNREFUSED");
        assert_eq!(doc.recognised.port, Some(7001));
        assert_eq!(doc.diagnosis.status, "present");
        assert_eq!(
            doc.fix("start_service").command.as_deref(),
            Some("portcheck wait 7001 --until listening")
        );
    });
}

/// MariaDB names the port and address only on the lines around its error.
/// Its client says (115) for every connect failure: not called "refused"
/// unless the socket table shows it.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_mariadb_server_and_client() {
    const TEST: &str = "field_why_mariadb";
    let (Some(server), Some(client)) = (
        field::program("mariadbd", TEST),
        field::program("mariadb", TEST),
    ) else {
        return;
    };
    in_netns(TEST, || {
        let holder = held_by_child("0.0.0.0:3399", Opts::new().reuseaddr(true));
        let scratch = field::Scratch::new("why-mariadb");
        let dir = &scratch.0;
        let d = dir.display().to_string();
        let ran = run_program(
            &server,
            &[
                "--no-defaults",
                &format!("--datadir={d}"),
                "--user=root",
                "--port=3399",
                &format!("--socket={d}/sock"),
                &format!("--pid-file={d}/pid"),
                "--skip-grant-tables",
            ],
            30,
        );
        assert_eq!(ran.code, Some(1), "{}", ran.output);
        assert!(
            ran.output
                .contains("Can't start server: Bind on TCP/IP port"),
            "{}",
            ran.output
        );
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        assert_eq!(doc.recognised.pattern, "mysql_server");
        assert_eq!(doc.recognised.port, Some(3399));
        assert_eq!(doc.recognised.port_from.as_deref(), Some("context"));
        assert_eq!(doc.recognised.address.as_deref(), Some("0.0.0.0"));
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        drop(holder);

        let ran = run_program(&client, &["-h", "127.0.0.1", "-P", "3399"], 10);
        assert!(ran.output.contains("(115)"), "{}", ran.output);
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        assert_eq!(doc.recognised.pattern, "mysql_client");
        assert_eq!(doc.recognised.error, "CONNECT_FAILED");
        assert_eq!(doc.recognised.port, None);
        assert_eq!(doc.diagnosis.status, "present");
        assert!(
            doc.diagnosis.summary.contains("is refused"),
            "{}",
            doc.diagnosis.summary
        );
    });
}

// ---------------------------------------------------------------------------
// Clients

/// wget's and curl's refusals on this host, and curl's "Couldn't connect"
/// to an address with no route: unreachable, no ssh advice.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_wget_and_curl() {
    const TEST: &str = "field_why_wget_curl";
    let (Some(wget), Some(curl)) = (field::program("wget", TEST), field::program("curl", TEST))
    else {
        return;
    };
    in_netns(TEST, || {
        let ran = run_program(&wget, &["-O-", "http://127.0.0.1:3999/"], 10);
        assert!(
            ran.output.contains("failed: Connection refused."),
            "{}",
            ran.output
        );
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        assert_eq!(doc.recognised.pattern, "wget_connect_address");
        assert_eq!(doc.recognised.address.as_deref(), Some("127.0.0.1"));
        assert_eq!(doc.recognised.port, Some(3999));
        assert_eq!(doc.diagnosis.status, "present");
        // With a name, wget writes `NAME (NAME)|ADDRESS|:PORT`.
        let ran = run_program(&wget, &["-O-", "http://localhost:3999/"], 10);
        let doc = parse_why(&why_stdin(&["--json"], ran.output.as_bytes()));
        assert_eq!(doc.recognised.pattern, "wget_connect", "{}", ran.output);
        assert_eq!(doc.recognised.port, Some(3999));

        let ran = run_program(&curl, &["-sS", "http://127.0.0.1:3999/"], 10);
        assert!(ran.output.contains("(7)"), "{}", ran.output);
        let doc = parse_why(&why_stdin(&["--json"], ran.output.as_bytes()));
        assert_eq!(doc.recognised.error, "CONNECT_FAILED");
        assert_eq!(doc.diagnosis.status, "present");
        assert!(
            doc.diagnosis.summary.contains("is refused"),
            "decided by the socket table: {}",
            doc.diagnosis.summary
        );
        let human = why_stdin(&[], ran.output.as_bytes());
        assert!(
            human
                .stdout
                .contains("refused, unreachable or timed out: curl does not say which"),
            "{}",
            human.stdout
        );

        let ran = run_program(&curl, &["-sS", "http://10.200.0.99/"], 10);
        assert!(
            ran.output
                .contains("Failed to connect to 10.200.0.99 port 80"),
            "{}",
            ran.output
        );
        let run = why_stdin(&["--json"], ran.output.as_bytes());
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.error, "CONNECT_FAILED");
        assert!(
            doc.diagnosis.summary.contains("unreachable"),
            "{}",
            doc.diagnosis.summary
        );
        assert!(
            !doc.diagnosis.summary.contains("refused"),
            "{}",
            doc.diagnosis.summary
        );
        assert!(
            doc.fixes
                .iter()
                .all(|f| f.command.as_deref().is_none_or(|c| !c.starts_with("ssh "))),
            "{:#?}",
            doc.fixes
        );
        assert_eq!(
            doc.fix("check_route").command.as_deref(),
            Some("ip route get 10.200.0.99")
        );

        // Python says which: [Errno 113] is unreachable.
        let run = why_stdin(
            &[
                "--json",
                "--address",
                "10.200.0.99",
                "--port",
                "80",
                "OSError: [Errno 113] No route to host",
            ],
            b"",
        );
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.error, "EHOSTUNREACH");
        assert!(
            doc.fixes
                .iter()
                .all(|f| f.command.as_deref().is_none_or(|c| !c.starts_with("ssh ")))
        );
    });
}

/// nginx (master and two workers) holds the port and Redis fails on it:
/// the fix names the master once, as `portcheck stop PORT` and `nginx -s
/// quit`, never a worker.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_nginx_workers_are_stopped_through_their_master() {
    const TEST: &str = "field_why_nginx_master";
    let (Some(nginx), Some(redis)) = (
        field::program("nginx", TEST),
        field::program("redis-server", TEST),
    ) else {
        return;
    };
    in_netns(TEST, || {
        let scratch = field::Scratch::new("why-nginx-master");
        let dir = &scratch.0;
        let d = dir.display();
        write_nginx_conf(
            dir,
            "master_process on; worker_processes 2;",
            "listen 8081;",
        );
        let conf = dir.join("nginx.conf").display().to_string();
        let prefix = d.to_string();
        let server = field::Daemon::start(
            &nginx,
            &["-p", &prefix, "-c", &conf],
            &scratch.path("nginx.log"),
        );
        // Wait until the master listens and has started both workers
        // (not through portcheck: its shadow run would see a later state).
        let mut workers = 0;
        for _ in 0..100 {
            let master = std::fs::read_to_string(dir.join("nginx.pid"))
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok());
            let listening = std::net::TcpStream::connect("127.0.0.1:8081").is_ok();
            workers = master.map_or(0, children_of);
            if listening && workers == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let failed = run_program(&redis, &redis_args("8081", "0.0.0.0"), 20);
        let master = std::fs::read_to_string(dir.join("nginx.pid"))
            .ok()
            .and_then(|t| t.trim().parse::<u32>().ok());
        let run = why_stdin(&["--json"], failed.output.as_bytes());
        // `timeout` passes SIGTERM on to nginx, whose master then stops
        // its workers.
        drop(server);

        assert_eq!(workers, 2, "nginx started two workers");
        let master = master.expect("nginx wrote its pid file");
        assert_eq!(run.code, 0, "{run:#?}");
        let doc = parse_why(&run);
        assert_eq!(doc.recognised.pattern, "redis_listen");
        assert_eq!(doc.holder_pids().len(), 3);
        let stops: Vec<&crate::why::FixDoc> = doc
            .fixes
            .iter()
            .filter(|f| f.kind == "stop_process")
            .collect();
        assert_eq!(stops.len(), 1, "the master only: {:#?}", doc.fixes);
        assert_eq!(stops[0].pid, Some(master));
        assert_eq!(stops[0].command.as_deref(), Some("portcheck stop 8081"));
        assert!(
            stops[0].description.contains("2 workers"),
            "{:#?}",
            stops[0]
        );
        let quit = doc.fix("stop_master");
        assert_eq!(quit.pid, Some(master));
        assert_eq!(quit.command.as_deref(), Some("nginx -s quit"));
    });
}

/// How many processes have `parent` as their parent (from /proc/PID/stat).
fn children_of(parent: u32) -> usize {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| std::fs::read_to_string(entry.path().join("stat")).ok())
        .filter(|stat| {
            stat.rsplit_once(')')
                .and_then(|(_, after)| after.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(parent)
        })
        .count()
}

/// nginx's `listen [::]:8082 ipv6only=off` beside a holder of
/// 0.0.0.0:8082: the message does not say ipv6only, nginx's default
/// (on) is assumed and said, and the other value, which finds the holder,
/// is named.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_nginx_ipv6only_off_names_the_ipv4_holder() {
    const TEST: &str = "field_why_nginx_ipv6only";
    let Some(nginx) = field::program("nginx", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let holder = held_by_child("0.0.0.0:8082", Opts::new().reuseaddr(true));
        let scratch = field::Scratch::new("why-nginx-ipv6only");
        let dir = &scratch.0;
        let d = dir.display();
        write_nginx_conf(dir, "master_process off;", "listen [::]:8082 ipv6only=off;");
        let conf = dir.join("nginx.conf").display().to_string();
        let ran = run_program(&nginx, &["-p", &d.to_string(), "-c", &conf], 20);
        assert_eq!(ran.code, Some(1), "{}", ran.output);
        assert!(
            ran.output.contains("bind() to [::]:8082 failed"),
            "{}",
            ran.output
        );
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        let assumed = doc
            .recognised
            .assumed
            .iter()
            .find(|a| a.field == "options")
            .expect("the ipv6only assumption");
        assert_eq!(assumed.value, "ipv6only=on");
        assert_eq!(doc.diagnosis.status, "present");
        assert!(
            doc.diagnosis.summary.starts_with("if ipv6only=off"),
            "{}",
            doc.diagnosis.summary
        );
        assert_eq!(doc.holder_pids(), vec![holder.pid()]);
        assert_eq!(
            doc.try_field("/options/v6only")
                .and_then(serde_json::Value::as_bool),
            Some(false)
        );
    });
}

// ---------------------------------------------------------------------------
// The flags fix lines use, checked against the programs themselves

/// Every flag in `ADDRESS_FLAGS` is one its program accepts: listed by its
/// `--help` here, or, for redis-server (which takes any directive as
/// `--NAME` and lists none), a run with it binds the address given.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_fix_flags_are_the_programs_own() {
    const TEST: &str = "field_why_fix_flags";
    in_netns(TEST, || {
        for (program, flag) in portcheck::why::fixes::ADDRESS_FLAGS {
            let mut words = program.split_whitespace();
            let name = words.next().expect("a program");
            let Some(path) = field::program(name, TEST) else {
                continue;
            };
            let mut args: Vec<&str> = words.collect();
            if *program == "redis-server" {
                let _held = held_by_child("127.0.0.1:6391", Opts::new());
                args.extend([flag, "127.0.0.1", "--port", "6391"]);
                args.extend(REDIS_EPHEMERAL);
                let ran = run_program(&path, &args, 20);
                assert!(
                    ran.output.contains("listening socket 127.0.0.1:6391"),
                    "{program} {flag}: {}",
                    ran.output
                );
                continue;
            }
            args.push("--help");
            let ran = run_program(&path, &args, 20);
            let listed = ran
                .output
                .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                .any(|w| w == *flag);
            assert!(
                listed,
                "{program} --help does not list {flag}: {}",
                ran.output
            );
        }
        for (program, flag) in portcheck::why::fixes::PORT_FLAGS {
            let Some(path) = field::program(program, TEST) else {
                continue;
            };
            let ran = run_program(&path, &["--help"], 20);
            let listed = ran
                .output
                .split(|c: char| c.is_whitespace() || c == ',' || c == '=')
                .any(|w| w == *flag);
            assert!(
                listed,
                "{program} --help does not list {flag}: {}",
                ran.output
            );
        }
    });
}

/// redis-cli asks ::1 while Redis listens on 127.0.0.1 only: the fix
/// lines use redis-cli's and redis-server's own flags.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_redis_client_fixes_use_redis_flags() {
    redis_client_fails(
        "field_why_redis_client",
        "127.0.0.1",
        &["-h", "::1", "-p", "6379"],
        "Could not connect to Redis at ::1:6379",
        |ran, redis| {
            let run = why_stdin(&["--json"], ran.output.as_bytes());
            drop(redis);
            assert_eq!(run.code, 0, "{run:#?}");
            let doc = parse_why(&run);
            assert_eq!(doc.recognised.pattern, "redis_client");
            assert_eq!(doc.diagnosis.status, "present");
            assert_eq!(
                doc.fix("connect_to_listener").setting.as_deref(),
                Some("redis-cli -h 127.0.0.1")
            );
            assert_eq!(
                doc.fix("listen_on_family").setting.as_deref(),
                Some("redis-server --bind 127.0.0.1 ::1")
            );
        },
    );
}

/// psql's Unix-socket failure is read as what it is: the socket file is
/// missing; TCP on the same port is what can be checked here, and where a
/// server accepts there, the fix is psql over TCP.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_psql_unix_socket_is_answered_honestly() {
    const TEST: &str = "field_why_psql_socket";
    let Some(psql) = field::program("psql", TEST) else {
        return;
    };
    in_netns(TEST, || {
        let ran = run_program(&psql, &["-p", "5499"], 10);
        assert!(ran.output.contains(".s.PGSQL.5499"), "{}", ran.output);
        let doc = diagnosed(&["--json"], ran.output.as_bytes());
        assert_eq!(doc.recognised.pattern, "postgres_socket");
        assert_eq!(doc.recognised.error, "ENOENT");
        assert_eq!(doc.recognised.port, Some(5499));
        assert!(
            doc.recognised
                .assumed
                .iter()
                .any(|a| a.field == "address" && a.why.contains("Unix socket")),
            "{:#?}",
            doc.recognised.assumed
        );
        assert_eq!(doc.diagnosis.status, "present");
        let human = why_stdin(&[], ran.output.as_bytes());
        assert!(
            human.stdout.contains("the Unix socket /"),
            "{}",
            human.stdout
        );

        let _tcp = held_by_child("127.0.0.1:5499", Opts::new());
        let doc = parse_why(&why_stdin(&["--json"], ran.output.as_bytes()));
        assert_eq!(
            doc.fix("connect_to_listener").command.as_deref(),
            Some("psql -h 127.0.0.1 -p 5499")
        );
        assert!(!kinds(&doc).contains(&"retry"), "{:#?}", doc.fixes);
    });
}

// ---------------------------------------------------------------------------
// A refused client: where the program it talks to really listens

/// redis-server on 127.0.0.1:6379 (or [::1]:6379 only) for the tests below.
fn redis_on(server: &std::path::Path, bind: &str, scratch: &field::Scratch) -> field::Daemon {
    let mut redis = field::Daemon::start(
        server,
        &redis_args("6379", bind),
        &scratch.path("redis.log"),
    );
    let address = if bind.contains(':') {
        format!("[{bind}]:6379")
    } else {
        format!("{bind}:6379")
    };
    redis.wait_for_tcp(&address, std::time::Duration::from_secs(10));
    redis
}

/// In a namespace of its own, redis-server listens on `bind` port 6379
/// and `redis-cli ARGS ping` fails, printing `expected`; `check` gets what
/// it printed while redis-server still runs (its guard, to stop it early).
/// Skipped, by name, where either program is missing.
fn redis_client_fails(
    test: &str,
    bind: &str,
    args: &[&str],
    expected: &str,
    check: impl FnOnce(&Ran, field::Daemon) + Send,
) {
    let (Some(server), Some(client)) = (
        field::program("redis-server", test),
        field::program("redis-cli", test),
    ) else {
        return;
    };
    in_netns(test, || {
        let scratch = field::Scratch::new(test);
        let redis = redis_on(&server, bind, &scratch);
        let mut line = args.to_vec();
        line.push("ping");
        let ran = run_program(&client, &line, 10);
        assert!(ran.output.contains(expected), "{}", ran.output);
        check(&ran, redis);
    });
}

/// The parent pid of `pid`, from /proc/PID/stat (after the name's `)`).
fn parent_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// `redis-cli -p 6390 ping` is refused while redis-server listens on
/// 6379: `why` names redis-server (its pid) on 6379 as the port the client
/// likely meant, and the fix is redis-cli's own `-p`.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_refused_client_is_pointed_at_its_servers_port() {
    redis_client_fails(
        "field_why_nearby_port",
        "127.0.0.1",
        &["-p", "6390"],
        "Could not connect to Redis at 127.0.0.1:6390: Connection refused",
        |ran, redis| {
            let doc = diagnosed(&["--json"], ran.output.as_bytes());
            assert_eq!(doc.recognised.pattern, "redis_client");
            assert_eq!(doc.diagnosis.status, "present");
            assert!(doc.diagnosis.holders.is_empty(), "{:#?}", doc.diagnosis);
            let [meant] = doc.diagnosis.nearby.as_slice() else {
                panic!("one listener meant: {:#?}", doc.diagnosis.nearby);
            };
            assert_eq!((meant.address.as_str(), meant.port), ("127.0.0.1", 6379));
            assert!(meant.same_program, "{meant:#?}");
            assert_eq!(meant.process.as_deref(), Some("redis-server"));
            // redis-server is the child of the `timeout` this test started.
            let pid = meant.pid.expect("redis-server's pid");
            assert_eq!(parent_of(pid), Some(redis.child.id()), "{meant:#?}");
            let fix = doc.fix("connect_to_port");
            assert_eq!(fix.setting.as_deref(), Some("redis-cli -p 6379"));
            assert_eq!((fix.port, fix.pid), (Some(6379), Some(pid)));
            let human = why_stdin(&[], ran.output.as_bytes());
            assert!(
                human.stdout.contains(&format!(
                    "redis-server (pid {pid}) listens on 127.0.0.1:6379"
                )),
                "{}",
                human.stdout
            );
            drop(redis);
            // Nothing listens anywhere now: no port is named.
            let doc = parse_why(&why_stdin(&["--json"], ran.output.as_bytes()));
            assert!(doc.diagnosis.nearby.is_empty(), "{:#?}", doc.diagnosis);
            assert!(
                !kinds(&doc).contains(&"connect_to_port"),
                "{:#?}",
                doc.fixes
            );
        },
    );
}

/// redis-server on [::1]:6379 only, and `redis-cli -h 127.0.0.1` refused:
/// `why` says that IPv4-only clients fail, with the fixes in Redis's own
/// flags (connect to ::1, or bind 127.0.0.1 too).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn field_why_loopback_v6_only_listener_fails_ipv4_clients() {
    redis_client_fails(
        "field_why_v6_only_listener",
        "::1",
        &["-h", "127.0.0.1", "-p", "6379"],
        "Could not connect to Redis at 127.0.0.1:6379: Connection refused",
        |ran, _redis| {
            let doc = diagnosed(&["--json"], ran.output.as_bytes());
            assert_eq!(doc.diagnosis.status, "present");
            let [holder] = doc.diagnosis.holders.as_slice() else {
                panic!("the ::1 listener: {:#?}", doc.diagnosis.holders);
            };
            assert_eq!(holder.local_address, "::1");
            let human = why_stdin(&[], ran.output.as_bytes());
            assert!(
                human
                    .stdout
                    .contains("listens on ::1 only: IPv4-only clients fail"),
                "{}",
                human.stdout
            );
            assert_eq!(
                doc.fix("connect_to_listener").setting.as_deref(),
                Some("redis-cli -h ::1")
            );
            assert_eq!(
                doc.fix("listen_on_family").setting.as_deref(),
                Some("redis-server --bind ::1 127.0.0.1")
            );
        },
    );
}
