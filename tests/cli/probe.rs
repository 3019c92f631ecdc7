//! `--probe` end to end: real servers started by each test (threads of this
//! binary) on loopback inside the test's private network namespace; names
//! come from a private hosts file bind-mounted in a private mount
//! namespace, as in resolve.rs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;

use crate::harness::{
    BIN, Etc, Opts, Run, in_netns, listener, portcheck, udp, who_json, without_new_processes,
};

// ---------------------------------------------------------------------------
// Servers

/// What a test server does with each connection.
#[derive(Clone)]
enum Behaviour {
    /// Reads the request, answers 200 with this `<title>`.
    Http(&'static str),
    /// Reads the request, answers 301 to this location.
    Redirect(&'static str),
    /// TLS (ALPN h2 and http/1.1 offered); over http/1.1 answers 200 with
    /// this title; over h2 closes.
    Tls(Arc<rustls::ServerConfig>, &'static str),
    /// Says this line first, then waits.
    Banner(&'static str),
    /// Accepts and says nothing.
    Silent,
    /// Accepts and closes at once.
    Closes,
    /// Accepts and resets (SO_LINGER 0).
    Resets,
    /// TLS when the first byte is 0x16 (a handshake record), else HTTP.
    Sniffs(Arc<rustls::ServerConfig>),
    /// After the request, a head that never ends: a byte every 50 ms.
    TrickleHead,
    /// Server-first, a line that never ends: a byte every 50 ms.
    TrickleBanner,
    /// After the request, megabytes of body.
    Megabytes,
    /// Server-first binary garbage.
    Garbage,
    /// Answers the ClientHello with a fatal handshake_failure alert.
    Alert,
}

/// A listener served by a thread until dropped; it records the requests
/// and TLS server names it saw.
struct Server {
    stop: Arc<AtomicBool>,
    accepting: Option<JoinHandle<()>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn start(address: &str, opts: Opts, behaviour: Behaviour) -> Server {
        let socket = listener(address, opts);
        let listener: TcpListener = socket.into();
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let accepting = {
            let stop = Arc::clone(&stop);
            let seen = Arc::clone(&seen);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let behaviour = behaviour.clone();
                            let stop = Arc::clone(&stop);
                            let seen = Arc::clone(&seen);
                            std::thread::spawn(move || {
                                serve(stream, &behaviour, &stop, &seen);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            })
        };
        Server {
            stop,
            accepting: Some(accepting),
            seen,
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("seen lock").clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.accepting.take() {
            let _ = thread.join();
        }
    }
}

fn serve(stream: TcpStream, behaviour: &Behaviour, stop: &AtomicBool, seen: &Mutex<Vec<String>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let wait_for_stop = || {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    let mut stream = stream;
    match behaviour {
        Behaviour::Http(title) => http_answer(&mut stream, title, seen),
        Behaviour::Redirect(location) => {
            record_request(&mut stream, seen);
            let _ = write!(
                stream,
                "HTTP/1.1 301 Moved Permanently\r\nLocation: {location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Behaviour::Tls(config, title) => tls_answer(stream, config, title, seen),
        Behaviour::Banner(line) => {
            let _ = stream.write_all(format!("{line}\r\n").as_bytes());
            wait_for_stop();
        }
        Behaviour::Silent => wait_for_stop(),
        Behaviour::Closes => drop(stream),
        Behaviour::Resets => {
            let socket = socket2::Socket::from(stream);
            let _ = socket.set_linger(Some(Duration::ZERO));
            drop(socket);
        }
        Behaviour::Sniffs(config) => {
            let mut first = [0u8; 1];
            if matches!(stream.peek(&mut first), Ok(1)) && first[0] == 0x16 {
                tls_answer(stream, config, "multiplexed tls", seen);
            } else {
                http_answer(&mut stream, "multiplexed http", seen);
            }
        }
        Behaviour::TrickleHead => {
            record_request(&mut stream, seen);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nX-Slow: ");
            trickle(&mut stream, stop);
        }
        Behaviour::TrickleBanner => {
            let _ = stream.write_all(b"220-slow");
            trickle(&mut stream, stop);
        }
        Behaviour::Megabytes => {
            record_request(&mut stream, seen);
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10000000\r\n\r\n",
            );
            let chunk = vec![b'a'; 64 * 1024];
            for _ in 0..160 {
                if stop.load(Ordering::Relaxed) || stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        }
        Behaviour::Alert => {
            let mut hello = [0u8; 512];
            if matches!(stream.read(&mut hello), Ok(n) if n > 0) {
                let _ = stream.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]);
            }
            wait_for_stop();
        }
        Behaviour::Garbage => {
            let garbage: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
            let _ = stream.write_all(&garbage);
            wait_for_stop();
        }
    }
}

fn trickle(stream: &mut TcpStream, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) && stream.write_all(b"x").is_ok() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Reads a request head and records it.
fn record_request(stream: &mut impl Read, seen: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let end = line == "\r\n";
                head.push_str(&line);
                if end {
                    break;
                }
            }
        }
    }
    seen.lock().expect("seen lock").push(head);
}

fn page(title: &str) -> String {
    let body = format!(
        "<!doctype html><html><head><TITLE>{title}</TITLE></head><body>hello</body></html>"
    );
    format!(
        "HTTP/1.1 200 OK\r\nServer: probe-test\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn http_answer(stream: &mut (impl Read + Write), title: &str, seen: &Mutex<Vec<String>>) {
    record_request(stream, seen);
    let _ = stream.write_all(page(title).as_bytes());
    let _ = stream.flush();
}

fn tls_answer(
    stream: TcpStream,
    config: &Arc<rustls::ServerConfig>,
    title: &str,
    seen: &Mutex<Vec<String>>,
) {
    let Ok(connection) = rustls::ServerConnection::new(Arc::clone(config)) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(connection, stream);
    while tls.conn.is_handshaking() {
        if tls.conn.complete_io(&mut tls.sock).is_err() {
            return;
        }
    }
    seen.lock().expect("seen lock").push(format!(
        "sni={} alpn={}",
        tls.conn.server_name().unwrap_or("-"),
        tls.conn
            .alpn_protocol()
            .map_or("-".into(), |p| String::from_utf8_lossy(p).into_owned())
    ));
    if tls.conn.alpn_protocol() == Some(b"h2") {
        return;
    }
    http_answer(&mut tls, title, seen);
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

/// A TLS server configuration with a certificate for `name` made here.
fn tls_config(name: &str) -> Arc<rustls::ServerConfig> {
    let mut params = rcgen::CertificateParams::new(vec![name.to_owned()]).expect("cert params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let key = rcgen::KeyPair::generate().expect("a key pair");
    let cert = params.self_signed(&key).expect("a self-signed certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert.der().to_vec())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("a server config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Arc::new(config)
}

// ---------------------------------------------------------------------------
// `resolve` through a private /etc (the harness's `Etc`)

/// `portcheck resolve ARGS --json` through `etc`, as raw JSON.
fn resolve_json(etc: &Etc, args: &[&str]) -> (Run, Value) {
    let mut full = vec!["resolve"];
    full.extend_from_slice(args);
    full.push("--json");
    let run = etc.portcheck(&full);
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {run:#?}"));
    (run, doc)
}

// ---------------------------------------------------------------------------
// Reading documents

const PROBE_KEYS: [&str; 12] = [
    "address",
    "banner",
    "bytes_read",
    "cut",
    "elapsed_ms",
    "error",
    "http",
    "multiplexed",
    "port",
    "protocol",
    "summary",
    "tls",
];

/// The probe object, its keys checked against the contract.
fn probe_of(holder: &Value) -> &Value {
    let probe = &holder["probe"];
    let keys: Vec<&str> = probe
        .as_object()
        .unwrap_or_else(|| panic!("no probe object in {holder:#}"))
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, PROBE_KEYS, "{holder:#}");
    if let Some(tls) = probe["tls"].as_object() {
        let keys: Vec<&str> = tls.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "alpn",
                "dns_names",
                "issuer",
                "not_after",
                "subject",
                "version"
            ]
        );
    }
    if let Some(http) = probe["http"].as_object() {
        for key in [
            "status",
            "reason",
            "server",
            "location",
            "content_type",
            "title",
            "body_excerpt",
        ] {
            assert!(http.contains_key(key), "{key} missing in {probe:#}");
        }
    }
    probe
}

fn destination<'a>(doc: &'a Value, address: &str) -> &'a Value {
    doc["destinations"]
        .as_array()
        .and_then(|list| list.iter().find(|d| d["address"] == address))
        .unwrap_or_else(|| panic!("no destination {address} in {doc:#}"))
}

fn warning<'a>(doc: &'a Value, code: &str) -> &'a str {
    doc["warnings"]
        .as_array()
        .and_then(|list| list.iter().find(|w| w["code"] == code))
        .and_then(|w| w["message"].as_str())
        .unwrap_or_else(|| panic!("no warning {code} in {doc:#}"))
}

/// `who ARGS --probe --json`, parsed, with how long it took (timed once
/// the harness's process lock is held, so other tests' runs do not count).
fn who_probe(args: &[&str]) -> (Run, Value, Duration) {
    let mut command = Command::new(BIN);
    command
        .arg("who")
        .args(args)
        .args(["--probe", "--json"])
        .env_remove("PORTCHECK_SOCKET_SOURCE")
        .env_remove("NO_COLOR")
        .current_dir("/")
        .stdin(Stdio::null());
    let (output, took) = without_new_processes(|| {
        let started = Instant::now();
        let output = command.output().expect("run portcheck");
        (output, started.elapsed())
    });
    let run = Run {
        code: output.status.code().expect("an exit code"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };
    let doc = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one JSON document ({e}): {run:#?}"));
    (run, doc, took)
}

fn socket_on<'a>(doc: &'a Value, address: &str, port: u16) -> &'a Value {
    doc["sockets"]
        .as_array()
        .and_then(|list| {
            list.iter().find(|s| {
                s["local_address"] == address && s["local_port"] == port && s["protocol"] == "tcp"
            })
        })
        .unwrap_or_else(|| panic!("no tcp socket {address}:{port} in {doc:#}"))
}

// ---------------------------------------------------------------------------
// Tests

/// Seed 001: `web` is ::1 and 127.0.0.1; a v6only [::] server and a
/// 0.0.0.0 server on one port, with different titles. Both are this test's
/// process, so only the probe tells them apart.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_seed_001_split_by_family_names_both_titles() {
    in_netns("probe_seed_001_split_by_family_names_both_titles", || {
        let etc = Etc::new("seed-001", "127.0.0.1 web\n::1 web\n");
        let v4 = Server::start("0.0.0.0:8000", Opts::new(), Behaviour::Http("ipv4 server"));
        let v6 = Server::start(
            "[::]:8000",
            Opts::new().v6only(true),
            Behaviour::Http("ipv6 server"),
        );

        let (run, doc) = resolve_json(&etc, &["web:8000", "--probe"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let ipv6 = probe_of(destination(&doc, "::1"));
        assert_eq!(ipv6["protocol"], "http", "{doc:#}");
        assert_eq!(ipv6["http"]["status"], 200, "{doc:#}");
        assert_eq!(ipv6["http"]["title"], "ipv6 server", "{doc:#}");
        assert_eq!(ipv6["http"]["server"], "probe-test", "{doc:#}");
        assert_eq!(ipv6["http"]["content_type"], "text/html", "{doc:#}");
        assert_eq!(ipv6["multiplexed"], serde_json::json!([]), "{doc:#}");
        assert_eq!(ipv6["summary"], "HTTP/1.1 200 OK, title \"ipv6 server\"");
        let ipv4 = probe_of(destination(&doc, "127.0.0.1"));
        assert_eq!(ipv4["http"]["title"], "ipv4 server", "{doc:#}");
        assert_eq!(ipv4["address"], "127.0.0.1");
        assert_eq!(ipv4["port"], 8000);

        let split = warning(&doc, "split_by_family");
        let (ipv6_part, ipv4_part) = split
            .split_once("IPv4-only clients get")
            .unwrap_or_else(|| panic!("{split}"));
        assert!(ipv6_part.starts_with("IPv6 clients get"), "{split}");
        assert!(ipv6_part.contains("title \"ipv6 server\""), "{split}");
        assert!(ipv4_part.contains("title \"ipv4 server\""), "{split}");

        // Polite: GET / with Host as the user named it and our User-Agent.
        // (The TLS ClientHello before it reads as an empty head here.)
        let gets = |server: &Server| -> Vec<String> {
            server
                .seen()
                .into_iter()
                .filter(|head| head.starts_with("GET "))
                .collect()
        };
        let requests = gets(&v6);
        assert_eq!(requests.len(), 1, "{requests:?}");
        let request = &requests[0];
        assert!(request.starts_with("GET / HTTP/1.1\r\n"), "{request}");
        assert!(request.contains("Host: web:8000\r\n"), "{request}");
        assert!(request.contains("User-Agent: portcheck/"), "{request}");
        assert_eq!(gets(&v4).len(), 1, "one GET each: {:?}", v4.seen());

        let human = etc.portcheck(&["resolve", "web:8000", "--probe"]);
        assert_eq!(human.code, 0, "{human:#?}");
        assert!(human.stdout.contains("ANSWERS"), "{}", human.stdout);
        assert!(
            human.stdout.contains("[split_by_family]"),
            "{}",
            human.stdout
        );
        eprintln!("seed 001, human view:\n{}", human.stdout);

        // A probe leaves no TIME_WAIT to block a later bind of the port.
        let (_, all) = who_json(&["8000", "--all"]);
        assert!(
            all.sockets.iter().all(|s| s.state != "TIME_WAIT"),
            "{all:#?}"
        );

        // Without --probe the same process on both: no split, no probe.
        let (_, plain) = resolve_json(&etc, &["web:8000"]);
        assert_eq!(plain["warnings"], serde_json::json!([]), "{plain:#}");
        assert_eq!(destination(&plain, "::1")["probe"], Value::Null);
    });
}

/// Seed 000: HTTPS on [::]:P v6only beside a plain-HTTP redirect on
/// 0.0.0.0:P: IPv6 clients get TLS, IPv4 clients a 301.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_seed_000_tls_beside_plain_redirect() {
    in_netns("probe_seed_000_tls_beside_plain_redirect", || {
        let etc = Etc::new("seed-000", "127.0.0.1 dual.test\n::1 dual.test\n");
        let tls = Server::start(
            "[::]:8443",
            Opts::new().v6only(true),
            Behaviour::Tls(tls_config("dual.test"), "secure"),
        );
        let _redirect = Server::start(
            "0.0.0.0:8443",
            Opts::new(),
            Behaviour::Redirect("https://dual.test:8443/"),
        );

        let (run, doc) = resolve_json(&etc, &["dual.test:8443", "--probe"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let ipv6 = probe_of(destination(&doc, "::1"));
        assert_eq!(ipv6["protocol"], "https", "{doc:#}");
        assert_eq!(ipv6["tls"]["version"], "TLS 1.3", "{doc:#}");
        assert_eq!(ipv6["tls"]["alpn"], "h2", "{doc:#}");
        assert_eq!(ipv6["tls"]["subject"], "CN=dual.test", "{doc:#}");
        assert_eq!(ipv6["tls"]["issuer"], "CN=dual.test", "{doc:#}");
        assert_eq!(ipv6["tls"]["dns_names"], serde_json::json!(["dual.test"]));
        assert!(ipv6["tls"]["not_after"].is_string(), "{doc:#}");
        // h2 was chosen: the page was asked for again over http/1.1.
        assert_eq!(ipv6["http"]["status"], 200, "{doc:#}");
        assert_eq!(ipv6["http"]["title"], "secure", "{doc:#}");
        assert_eq!(ipv6["multiplexed"], serde_json::json!([]), "{doc:#}");
        let ipv4 = probe_of(destination(&doc, "127.0.0.1"));
        assert_eq!(ipv4["protocol"], "http", "{doc:#}");
        assert_eq!(ipv4["http"]["status"], 301, "{doc:#}");
        assert_eq!(ipv4["http"]["location"], "https://dual.test:8443/");
        assert_eq!(ipv4["tls"], Value::Null, "{doc:#}");

        let split = warning(&doc, "split_by_family");
        assert!(split.contains("title \"secure\""), "{split}");
        assert!(
            split.contains("HTTP 301 → https://dual.test:8443/"),
            "{split}"
        );
        // SNI is the name the user gave.
        // (The server records it on its own thread: give it a moment.)
        let sni = |seen: &[String]| seen.iter().any(|s| s.starts_with("sni=dual.test alpn=h2"));
        let waited = Instant::now();
        while !sni(&tls.seen()) && waited.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(sni(&tls.seen()), "{:?}", tls.seen());

        let human = etc.portcheck(&["resolve", "dual.test:8443", "--probe"]);
        assert!(
            human.stdout.contains("TLS 1.3 h2 CN=dual.test"),
            "{}",
            human.stdout
        );
        eprintln!("seed 000, human view:\n{}", human.stdout);
    });
}

/// Banner, silence, a close, a reset, a multiplexed socket and plain HTTP,
/// all probed at once by `who --probe`, which ends within the bound.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_who_tells_each_kind_of_server_apart() {
    in_netns("probe_who_tells_each_kind_of_server_apart", || {
        let _ssh = Server::start(
            "127.0.0.1:2201",
            Opts::new(),
            Behaviour::Banner("SSH-2.0-OpenSSH_9.6"),
        );
        let _silent = Server::start("127.0.0.1:2202", Opts::new(), Behaviour::Silent);
        let _closes = Server::start("127.0.0.1:2203", Opts::new(), Behaviour::Closes);
        let _resets = Server::start("127.0.0.1:2204", Opts::new(), Behaviour::Resets);
        let _both = Server::start(
            "[::]:2205",
            Opts::new().v6only(false),
            Behaviour::Sniffs(tls_config("both.test")),
        );
        let _smtp = Server::start(
            "127.0.0.1:2206",
            Opts::new(),
            Behaviour::Banner("220 mail.test ESMTP ready"),
        );
        let _udp = udp("127.0.0.1:2207", Opts::new());
        let _alert = Server::start("127.0.0.1:2209", Opts::new(), Behaviour::Alert);
        // Bound to lo, where connections from this host arrive: probed.
        let _on_lo = Server::start(
            "127.0.0.1:2210",
            Opts::new().device("lo"),
            Behaviour::Http("on lo"),
        );
        // 127.0.0.1 reaches the specific socket: the wildcard is probed
        // through another loopback address that reaches it. (Both with
        // SO_REUSEPORT: otherwise the second bind fails.)
        let _specific = Server::start(
            "127.0.0.1:2208",
            Opts::new().reuseport(true),
            Behaviour::Http("specific"),
        );
        let _wildcard = Server::start(
            "0.0.0.0:2208",
            Opts::new().reuseport(true),
            Behaviour::Http("wildcard"),
        );

        let (run, doc, took) = who_probe(&[]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(took < Duration::from_secs(6), "took {took:?}");

        let ssh = probe_of(socket_on(&doc, "127.0.0.1", 2201));
        assert_eq!(ssh["protocol"], "ssh", "{doc:#}");
        assert_eq!(ssh["banner"], "SSH-2.0-OpenSSH_9.6", "{doc:#}");
        assert_eq!(ssh["summary"], "SSH-2.0-OpenSSH_9.6", "{doc:#}");

        let silent = probe_of(socket_on(&doc, "127.0.0.1", 2202));
        assert_eq!(silent["protocol"], "silent", "{doc:#}");
        assert!(
            silent["elapsed_ms"].as_u64().is_some_and(|ms| ms <= 3200),
            "{doc:#}"
        );

        let closes = probe_of(socket_on(&doc, "127.0.0.1", 2203));
        assert_eq!(closes["protocol"], "closed", "{doc:#}");
        let resets = probe_of(socket_on(&doc, "127.0.0.1", 2204));
        assert_eq!(resets["protocol"], "closed", "{doc:#}");

        let both = probe_of(socket_on(&doc, "::", 2205));
        assert_eq!(
            both["address"], "::1",
            "a wildcard is probed through loopback"
        );
        assert_eq!(both["protocol"], "https", "{doc:#}");
        assert_eq!(
            both["multiplexed"],
            serde_json::json!(["http", "tls"]),
            "{doc:#}"
        );
        assert_eq!(both["tls"]["subject"], "CN=both.test", "{doc:#}");
        assert_eq!(both["http"]["title"], "multiplexed tls", "{doc:#}");

        let specific = probe_of(socket_on(&doc, "127.0.0.1", 2208));
        assert_eq!(specific["http"]["title"], "specific", "{doc:#}");
        let wildcard = probe_of(socket_on(&doc, "0.0.0.0", 2208));
        assert_eq!(wildcard["address"], "127.0.0.2", "{doc:#}");
        assert_eq!(wildcard["http"]["title"], "wildcard", "{doc:#}");

        let on_lo = probe_of(socket_on(&doc, "127.0.0.1", 2210));
        assert_eq!(on_lo["http"]["title"], "on lo", "{doc:#}");
        assert_eq!(doc["warnings"], serde_json::json!([]), "{doc:#}");

        let alert = probe_of(socket_on(&doc, "127.0.0.1", 2209));
        assert_eq!(alert["protocol"], "tls", "{doc:#}");
        assert!(
            alert["summary"]
                .as_str()
                .is_some_and(|s| s.contains("HandshakeFailure")),
            "{doc:#}"
        );

        let smtp = probe_of(socket_on(&doc, "127.0.0.1", 2206));
        assert_eq!(smtp["protocol"], "smtp", "{doc:#}");

        let datagram = doc["sockets"]
            .as_array()
            .and_then(|list| list.iter().find(|s| s["protocol"] == "udp"))
            .expect("the UDP socket is listed");
        assert_eq!(datagram["probe"], Value::Null, "UDP is not probed");

        let human = portcheck(&["who", "--probe"]);
        assert!(human.stdout.contains("ANSWERS"), "{}", human.stdout);
        assert!(
            human.stdout.contains("SSH-2.0-OpenSSH_9.6"),
            "{}",
            human.stdout
        );
    });
}

/// A never-ending head, megabytes of body, a never-ending banner and
/// binary garbage are cut at the bounds, and say so.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_is_bounded_in_time_and_bytes() {
    in_netns("probe_is_bounded_in_time_and_bytes", || {
        let _head = Server::start("127.0.0.1:2301", Opts::new(), Behaviour::TrickleHead);
        let _big = Server::start("127.0.0.1:2302", Opts::new(), Behaviour::Megabytes);
        let _line = Server::start("127.0.0.1:2303", Opts::new(), Behaviour::TrickleBanner);
        let _garbage = Server::start("127.0.0.1:2304", Opts::new(), Behaviour::Garbage);

        let (run, doc, took) = who_probe(&["-t"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(took < Duration::from_secs(6), "took {took:?}");

        let head = probe_of(socket_on(&doc, "127.0.0.1", 2301));
        assert_eq!(head["protocol"], "http", "{doc:#}");
        assert_eq!(head["cut"], "time", "{doc:#}");
        assert_eq!(head["http"]["head_complete"], false, "{doc:#}");
        assert!(
            head["elapsed_ms"].as_u64().is_some_and(|ms| ms <= 3300),
            "{doc:#}"
        );

        let big = probe_of(socket_on(&doc, "127.0.0.1", 2302));
        assert_eq!(big["protocol"], "http", "{doc:#}");
        assert_eq!(big["cut"], "bytes", "{doc:#}");
        assert!(
            big["bytes_read"].as_u64().is_some_and(|n| n <= 64 * 1024),
            "{doc:#}"
        );
        assert!(
            big["summary"]
                .as_str()
                .is_some_and(|s| s.ends_with("(cut at 64 KiB)")),
            "{doc:#}"
        );

        let line = probe_of(socket_on(&doc, "127.0.0.1", 2303));
        assert_eq!(line["protocol"], "banner", "{doc:#}");
        assert_eq!(line["cut"], "time", "{doc:#}");
        assert!(
            line["elapsed_ms"].as_u64().is_some_and(|ms| ms <= 3300),
            "{doc:#}"
        );

        let garbage = probe_of(socket_on(&doc, "127.0.0.1", 2304));
        assert_eq!(garbage["protocol"], "banner", "{doc:#}");
        assert!(
            garbage["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("binary data")),
            "{doc:#}"
        );
        // The table shows untrusted bytes escaped, one line per socket.
        let human = portcheck(&["who", "-t", "--probe"]);
        assert!(!human.stdout.contains('\u{1b}'), "{}", human.stdout);
        assert!(!human.stdout.contains('\0'), "{}", human.stdout);
    });
}

/// UDP has no handshake to probe: `--probe` with `-u` is a usage error.
#[test]
fn probe_with_udp_is_refused() {
    for args in [
        ["resolve", "127.0.0.1:53", "-u", "--probe"],
        ["who", "53", "-u", "--probe"],
    ] {
        let run = portcheck(&args);
        assert_eq!(run.code, 2, "{run:#?}");
        assert!(run.stderr.contains("--probe"), "{run:#?}");
    }
}

/// Fifty silent listeners (the slowest answer a probe waits out) are
/// probed concurrently: `who --probe` still ends within a few seconds.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn probe_of_fifty_listeners_runs_concurrently() {
    in_netns("probe_of_fifty_listeners_runs_concurrently", || {
        let servers: Vec<Server> = (2600..2650)
            .map(|port| Server::start(&format!("127.0.0.1:{port}"), Opts::new(), Behaviour::Silent))
            .collect();
        let (run, doc, took) = who_probe(&["-t"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(took < Duration::from_secs(6), "took {took:?}");
        let sockets = doc["sockets"].as_array().expect("sockets");
        assert_eq!(sockets.len(), servers.len(), "{doc:#}");
        for socket in sockets {
            assert_eq!(probe_of(socket)["protocol"], "silent", "{socket:#}");
        }
    });
}
