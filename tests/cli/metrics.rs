//! `who --format openmetrics|prometheus` and `--output` (issue #21), read
//! by the real consumers: Prometheus's `promtool check metrics` and
//! node_exporter's textfile collector, started on the loopback of the
//! test's own network namespace and scraped over HTTP.

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::field;
use crate::harness::{
    Opts, fork_sharing, in_netns, listener, port_of, portcheck, portcheck_with_source,
    without_new_processes,
};

/// A directory of the test's own under the temporary directory.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("portcheck-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir scratch");
    dir
}

/// The sample lines of `metric` (no comments), as written.
fn samples<'a>(text: &'a str, metric: &str) -> Vec<&'a str> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(metric)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .collect()
}

/// `promtool check metrics` on `text` (the Prometheus text format): its
/// exit code and what it said.
fn promtool(promtool: &Path, text: &str) -> (bool, String) {
    let mut child = without_new_processes(|| {
        Command::new(promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    })
    .expect("start promtool");
    child
        .stdin
        .take()
        .expect("promtool's stdin")
        .write_all(text.as_bytes())
        .expect("feed promtool");
    let output = child.wait_with_output().expect("promtool ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    )
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn openmetrics_lists_each_socket_with_its_holder_and_ends_in_eof() {
    in_netns("openmetrics_lists_each_socket", || {
        let socket = listener("127.0.0.1:0", Opts::new());
        let port = port_of(&socket);
        let holder = fork_sharing(&socket);
        drop(socket);
        let port_text = port.to_string();

        let run = portcheck(&["who", &port_text, "--format", "openmetrics"]);
        assert_eq!(run.code, 0, "{run:?}");
        let text = &run.stdout;
        assert_eq!(text.lines().last(), Some("# EOF"), "{text}");
        assert!(text.contains("# TYPE portcheck_socket info\n"), "{text}");
        let sockets = samples(text, "portcheck_socket_info");
        assert_eq!(sockets.len(), 1, "one socket, one holder: {text}");
        for label in [
            "protocol=\"tcp\"".to_owned(),
            "address=\"127.0.0.1\"".to_owned(),
            format!("port=\"{port}\""),
            "state=\"LISTEN\"".to_owned(),
            "takes=\"IPv4\"".to_owned(),
            format!("pid=\"{}\"", holder.pid()),
            "user=\"root\"".to_owned(),
            format!("netns=\"{}\"", crate::harness::thread_netns()),
        ] {
            assert!(sockets[0].contains(&label), "{label} in {}", sockets[0]);
        }
        assert!(sockets[0].ends_with("} 1"), "{}", sockets[0]);
        assert_eq!(
            samples(text, "portcheck_complete"),
            ["portcheck_complete 1"]
        );
        assert!(samples(text, "portcheck_warnings").is_empty(), "{text}");

        // The text-format variant: the same series, gauges, no `# EOF`.
        let run = portcheck(&["who", &port_text, "--format", "prometheus"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert!(!run.stdout.contains("# EOF"), "{}", run.stdout);
        assert!(run.stdout.contains("# TYPE portcheck_socket_info gauge\n"));
        assert_eq!(samples(&run.stdout, "portcheck_socket_info"), sockets);
        if let Some(promtool_path) = field::program("promtool", "openmetrics_lists_each_socket") {
            let (ok, said) = promtool(&promtool_path, &run.stdout);
            assert!(ok, "promtool check metrics: {said}\n{}", run.stdout);
        }
        drop(holder);
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn format_and_json_agree_or_are_refused() {
    in_netns("format_and_json", || {
        let json = portcheck(&["who", "--format", "json"]);
        assert_eq!(json.code, 1, "nothing listens here: {json:?}");
        let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("one JSON document");
        assert_eq!(doc["command"], "who");
        let refused = portcheck(&["--json", "who", "--format", "openmetrics"]);
        assert_eq!(refused.code, 2, "{refused:?}");
        assert!(refused.stderr.contains("--json"), "{refused:?}");
        // Nothing held: no series, and a complete view that says so.
        let empty = portcheck(&["who", "--format", "openmetrics"]);
        assert_eq!(empty.code, 1, "{empty:?}");
        assert!(samples(&empty.stdout, "portcheck_socket_info").is_empty());
        assert_eq!(
            samples(&empty.stdout, "portcheck_complete"),
            ["portcheck_complete 1"]
        );
    });
}

/// The name the holder runs under (its comm: the base name of the file
/// executed): a quote, a backslash, a newline and an escape sequence.
const HOSTILE_NAME: &[u8] = b"a\"b\\c\nd\x1b[2J";

/// `/bin/sh`, run through a link named [`HOSTILE_NAME`], holding `socket`
/// as its standard output until its standard input closes.
fn start_hostile_holder(dir: &Path, socket: socket2::Socket) -> Child {
    let link = dir.join(OsStr::from_bytes(HOSTILE_NAME));
    std::os::unix::fs::symlink("/bin/sh", &link).expect("symlink");
    let mut command = Command::new(&link);
    command
        .args(["-c", "read line"])
        .stdin(Stdio::piped())
        .stdout(Stdio::from(OwnedFd::from(socket)))
        .stderr(Stdio::null());
    let child = without_new_processes(|| command.spawn()).expect("start the shell");
    let comm = format!("/proc/{}/comm", child.id());
    let deadline = Instant::now() + Duration::from_secs(2);
    while !std::fs::read(&comm).is_ok_and(|c| c.starts_with(HOSTILE_NAME)) {
        assert!(Instant::now() < deadline, "the shell never ran as its link");
        std::thread::sleep(Duration::from_millis(10));
    }
    child
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn a_hostile_process_name_stays_one_escaped_label_value() {
    in_netns("hostile_process_name_in_metrics", || {
        let dir = scratch("hostile-metrics");
        let socket = listener("127.0.0.1:0", Opts::new());
        let port = port_of(&socket).to_string();
        let mut holder = start_hostile_holder(&dir, socket);

        let run = portcheck(&["who", &port, "--format", "prometheus"]);
        drop(holder.stdin.take());
        let _ = holder.wait();
        let _ = std::fs::remove_dir_all(&dir);

        assert_eq!(run.code, 0, "{run:?}");
        // Escaped as tables escape it, then as the format escapes a value:
        // one line, no raw control character, the quote and backslashes
        // unable to end the value.
        let sockets = samples(&run.stdout, "portcheck_socket_info");
        assert_eq!(sockets.len(), 1, "{}", run.stdout);
        assert!(
            sockets[0].contains(r#"process="a\"b\\c\\nd\\u{1b}[2J""#),
            "{}",
            sockets[0]
        );
        assert!(
            !run.stdout.chars().any(|c| c.is_control() && c != '\n'),
            "{:?}",
            run.stdout
        );
        if let Some(promtool_path) = field::program("promtool", "hostile_process_name_in_metrics") {
            let (ok, said) = promtool(&promtool_path, &run.stdout);
            assert!(ok, "promtool check metrics: {said}\n{}", run.stdout);
        }
    });
}

/// node_exporter on `address`, reading textfiles from `dir`, until dropped.
struct NodeExporter(Child);

impl NodeExporter {
    fn start(binary: &Path, address: &str, dir: &Path) -> NodeExporter {
        let mut command = Command::new(binary);
        command
            .arg(format!("--web.listen-address={address}"))
            .arg("--collector.disable-defaults")
            .arg("--collector.textfile")
            .arg(format!("--collector.textfile.directory={}", dir.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        NodeExporter(without_new_processes(|| command.spawn()).expect("start node_exporter"))
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `GET /metrics` from `address`, retried while the server starts.
fn scrape(address: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match std::net::TcpStream::connect(address) {
            Ok(mut stream) => {
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                stream
                    .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                    .expect("send the request");
                let mut response = String::new();
                stream
                    .read_to_string(&mut response)
                    .expect("read the answer");
                return response;
            }
            Err(error) => {
                assert!(
                    Instant::now() < deadline,
                    "node_exporter never listened: {error}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn node_exporter_serves_the_textfile_portcheck_wrote() {
    const TEST: &str = "node_exporter_textfile";
    in_netns(TEST, || {
        let Some(exporter) = field::program("prometheus-node-exporter", TEST)
            .or_else(|| field::program("node_exporter", TEST))
        else {
            return;
        };
        let dir = scratch(TEST);
        let socket = listener("[::1]:0", Opts::new().v6only(true));
        let port = port_of(&socket);
        let holder = fork_sharing(&socket);
        drop(socket);

        // Unshadowed: the uid 65534 shadow would write the same file.
        let textfile = dir.join("portcheck.prom");
        let textfile_arg = textfile.display().to_string();
        let port_text = port.to_string();
        let run = portcheck_with_source(
            "netlink",
            &[
                "who",
                &port_text,
                "--format",
                "prometheus",
                "--output",
                &textfile_arg,
            ],
        );
        assert_eq!(run.code, 0, "{run:?}");
        assert!(
            run.stdout.is_empty(),
            "the output went to the file: {run:?}"
        );
        // And the OpenMetrics form beside it, which the textfile collector
        // (Prometheus's text parser) refuses: why `prometheus` exists.
        let openmetrics = dir.join("openmetrics.prom").display().to_string();
        let run = portcheck_with_source(
            "netlink",
            &[
                "who",
                &port_text,
                "--format",
                "openmetrics",
                "--output",
                &openmetrics,
            ],
        );
        assert_eq!(run.code, 0, "{run:?}");
        let files: Vec<_> = std::fs::read_dir(&dir)
            .expect("list")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(files.len(), 2, "no temporary file left: {files:?}");

        let address = "127.0.0.1:9100";
        let server = NodeExporter::start(&exporter, address, &dir);
        let response = scrape(address);
        drop(server);
        drop(holder);
        let _ = std::fs::remove_dir_all(&dir);

        assert!(
            response
                .lines()
                .next()
                .is_some_and(|status| status.contains(" 200 ")),
            "{response}"
        );
        let series = samples(&response, "portcheck_socket_info");
        assert_eq!(series.len(), 1, "{response}");
        for label in [
            "address=\"::1\"".to_owned(),
            format!("port=\"{port}\""),
            "takes=\"IPv6\"".to_owned(),
        ] {
            assert!(series[0].contains(&label), "{label} in {}", series[0]);
        }
        assert!(response.contains("portcheck_complete 1\n"), "{response}");
        // The textfile collector says which file it could not read.
        let mtimes = samples(&response, "node_textfile_mtime_seconds");
        assert!(
            mtimes.iter().any(|line| line.contains("portcheck.prom")),
            "{response}"
        );
        assert!(
            !mtimes.iter().any(|line| line.contains("openmetrics.prom")),
            "node_exporter read the OpenMetrics file after all: {response}"
        );
        assert!(
            response.contains("node_textfile_scrape_error 1\n"),
            "{response}"
        );
    });
}

/// Serves `body` as OpenMetrics on `listener` to every request, until
/// `stop` is set (the listener is non-blocking: polled).
fn serve_openmetrics(
    listener: &std::net::TcpListener,
    body: &str,
    stop: &std::sync::atomic::AtomicBool,
) {
    use std::sync::atomic::Ordering;
    listener.set_nonblocking(true).expect("non-blocking");
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let _ = stream.set_nonblocking(false);
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                // The request head; its content does not matter here.
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// `GET path` on `address`: the body of the answer.
fn http_get(address: &str, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
}

/// Prometheus itself (its OpenMetrics parser, which wants `# EOF` and
/// knows `info`) scrapes `--format openmetrics`: without `# EOF` the same
/// scrape fails (`up` 0, no series), checked by hand when this was written.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn prometheus_scrapes_the_openmetrics_output() {
    const TEST: &str = "prometheus_scrapes_openmetrics";
    in_netns(TEST, || {
        let Some(prometheus) = field::program("prometheus", TEST) else {
            return;
        };
        let dir = scratch(TEST);
        let socket = listener("127.0.0.1:0", Opts::new());
        let port = port_of(&socket);
        let holder = fork_sharing(&socket);
        drop(socket);
        let run = portcheck(&["who", &port.to_string(), "--format", "openmetrics"]);
        assert_eq!(run.code, 0, "{run:?}");

        // A scrape target that answers with the OpenMetrics content type.
        let target = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the target");
        let target_address = target.local_addr().expect("address").to_string();
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, scrape_timeout: 1s}}\nscrape_configs:\n  - job_name: portcheck\n    static_configs: [{{targets: ['{target_address}']}}]\n"
            ),
        )
        .expect("write the configuration");
        let stop = std::sync::atomic::AtomicBool::new(false);
        let web = "127.0.0.1:9090";
        let found = std::thread::scope(|scope| {
            scope.spawn(|| serve_openmetrics(&target, &run.stdout, &stop));
            let mut command = Command::new(&prometheus);
            command
                .arg(format!("--config.file={}", config.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address={web}"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut server = without_new_processes(|| command.spawn()).expect("start prometheus");
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut last = String::new();
            let found = loop {
                // {__name__=~"portcheck_socket_info|up"}
                if let Some(body) = http_get(
                    web,
                    "/api/v1/query?query=%7B__name__%3D~%22portcheck_socket_info%7Cup%22%7D",
                ) {
                    let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let series = answer["data"]["result"]
                        .as_array()
                        .cloned()
                        .unwrap_or_default();
                    if series
                        .iter()
                        .any(|s| s["metric"]["__name__"] == "portcheck_socket_info")
                    {
                        break Some(series);
                    }
                    last = body;
                }
                if Instant::now() > deadline {
                    break None;
                }
                std::thread::sleep(Duration::from_millis(200));
            };
            let _ = server.kill();
            let _ = server.wait();
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
            found.ok_or(last)
        });
        drop(holder);
        let _ = std::fs::remove_dir_all(&dir);

        let series = found.unwrap_or_else(|last| panic!("no portcheck series scraped: {last}"));
        let socket = series
            .iter()
            .find(|s| s["metric"]["__name__"] == "portcheck_socket_info")
            .expect("the socket series");
        assert_eq!(
            socket["metric"]["port"],
            port.to_string().as_str(),
            "{socket}"
        );
        assert_eq!(socket["metric"]["state"], "LISTEN", "{socket}");
        assert_eq!(socket["value"][1], "1", "{socket}");
        let up = series
            .iter()
            .find(|s| s["metric"]["__name__"] == "up")
            .expect("up");
        assert_eq!(up["value"][1], "1", "the scrape succeeded: {up}");
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn an_output_that_cannot_be_written_is_a_clear_error() {
    in_netns("output_cannot_be_written", || {
        let dir = scratch("output-cannot-be-written");
        let missing = dir.join("no-such-directory").join("portcheck.prom");
        let missing = missing.display().to_string();
        let run = portcheck_with_source(
            "netlink",
            &["who", "--format", "prometheus", "--output", &missing],
        );
        assert_eq!(run.code, 2, "{run:?}");
        assert!(run.stderr.contains(&missing), "{run:?}");
        assert!(!run.stderr.contains("panicked"), "{run:?}");
        let json = portcheck_with_source("netlink", &["--json", "who", "--output", &missing]);
        assert_eq!(json.code, 2, "{json:?}");
        let doc: serde_json::Value = serde_json::from_str(&json.stdout).expect("an error document");
        assert_eq!(doc["error"]["code"], "io_error", "{doc}");
        let _ = std::fs::remove_dir_all(&dir);
    });
}
