//! The three stories portcheck was built from, replayed with real programs
//! (python3, node) in private network namespaces: what the README's
//! "Stories" section shows, and every claim about who gets a connection or
//! a datagram checked by sending real ones.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::field;
use crate::harness::{in_netns, portcheck, without_new_processes};

/// A real server process, killed (by its pid) and reaped when dropped.
struct Server {
    child: Child,
    name: String,
}

impl Server {
    /// Starts `program args...` and waits for the line "ready" on its
    /// standard output.
    fn start(program: &std::path::Path, args: &[&str], name: &str) -> Server {
        let mut child = without_new_processes(|| {
            Command::new(program)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
        })
        .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the server's first line");
        assert_eq!(line.trim(), "ready", "{name} did not start");
        Server {
            child,
            name: name.to_owned(),
        }
    }

    fn pid(&self) -> u64 {
        u64::from(self.child.id())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A python3 TCP server on `address`:`port` (`reuseport`: SO_REUSEPORT)
/// that answers every connection with its name.
const PY_TCP: &str = "
import socket, sys
family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if sys.argv[3] == 'reuseport':
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(128)
print('ready', flush=True)
while True:
    c, _ = s.accept()
    try:
        c.sendall(sys.argv[4].encode())
        # Held until the client closes, so that `--connect` finds its owner.
        c.recv(1)
    except OSError:
        pass
    c.close()
";

/// A python3 UDP server that answers every datagram with its name; with
/// `reuseaddr`, SO_REUSEADDR (not SO_REUSEPORT), as the story's servers.
const PY_UDP: &str = "
import socket, sys
family = socket.AF_INET6 if ':' in sys.argv[1] else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
if sys.argv[3] == 'reuseaddr':
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if sys.argv[3] == 'reuseport':
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
print('ready', flush=True)
while True:
    data, peer = s.recvfrom(100)
    s.sendto(sys.argv[4].encode(), peer)
";

fn python() -> Option<std::path::PathBuf> {
    field::program("python3", "stories")
}

fn py_tcp(python: &std::path::Path, address: &str, port: u16, mode: &str, name: &str) -> Server {
    Server::start(
        python,
        &["-c", PY_TCP, address, &port.to_string(), mode, name],
        name,
    )
}

fn py_udp(python: &std::path::Path, address: &str, port: u16, mode: &str, name: &str) -> Server {
    Server::start(
        python,
        &["-c", PY_UDP, address, &port.to_string(), mode, name],
        name,
    )
}

/// `portcheck ARGS --json`, parsed (its schema is locked by the command's
/// own test module).
fn json(args: &[&str]) -> (i32, Value) {
    let mut full = args.to_vec();
    full.push("--json");
    let run = portcheck(&full);
    let doc: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("not one document ({e}): {run:#?}"));
    (run.code, doc)
}

fn warnings<'a>(doc: &'a Value, code: &str) -> Vec<&'a str> {
    doc["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["code"] == code)
        .filter_map(|w| w["message"].as_str())
        .collect()
}

/// A connection to `address` that gives up reading after 2 s.
fn connected(address: &str) -> TcpStream {
    let stream = TcpStream::connect(address).unwrap_or_else(|e| panic!("connect {address}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    stream
}

/// The name a TCP server answers with.
fn answer(address: &str) -> String {
    let mut stream = connected(address);
    let mut buffer = [0u8; 100];
    let n = stream.read(&mut buffer).expect("read the answer");
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

/// The name the UDP server that receives a datagram to `address` answers
/// with, from a fresh client socket (a new source port each time).
fn udp_answer(address: &str) -> String {
    let client = UdpSocket::bind("127.0.0.1:0").expect("bind a client");
    client
        .set_read_timeout(Some(Duration::from_secs(2)))
        .expect("timeout");
    client.send_to(b"who", address).expect("send");
    let mut buffer = [0u8; 100];
    let (n, _) = client.recv_from(&mut buffer).expect("an answer");
    String::from_utf8_lossy(&buffer[..n]).into_owned()
}

fn pids(sockets: &Value) -> Vec<u64> {
    sockets
        .as_array()
        .expect("a list of sockets")
        .iter()
        .flat_map(|s| s["processes"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p["pid"].as_u64())
        .collect()
}

fn write_sysctl(path: &str, value: &str) {
    std::fs::write(path, value).unwrap_or_else(|e| panic!("write {path}: {e}"));
}

/// SO_REUSEPORT on Linux: two python3 servers on 0.0.0.0:8000. `who`
/// shows them as one group (size, owners, uid, how connections spread,
/// and `net.ipv4.tcp_migrate_req` read in this namespace, set both ways);
/// `resolve` says "hash" and names both; real connections from many
/// source ports reach both, and `--connect` names the member that took one.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_reuseport_group_spreads_connections_by_hash() {
    let Some(python) = python() else { return };
    in_netns(
        "stories_reuseport_group_spreads_connections_by_hash",
        || {
            let first = py_tcp(&python, "0.0.0.0", 8000, "reuseport", "first");
            let second = py_tcp(&python, "0.0.0.0", 8000, "reuseport", "second");
            for (value, shown) in [("0", "tcp_migrate_req=0"), ("1", "tcp_migrate_req=1")] {
                write_sysctl("/proc/sys/net/ipv4/tcp_migrate_req", value);
                let (code, who) = json(&["who", "8000"]);
                assert_eq!(code, 0);
                let groups = warnings(&who, "reuseport_group");
                assert_eq!(groups.len(), 1, "one warning per group: {who:#}");
                let message = groups[0];
                assert!(message.contains("tcp 0.0.0.0:8000"), "{message}");
                assert!(message.contains("group of 2 sockets"), "{message}");
                assert!(
                    message.contains(&format!("pid {}", first.pid())),
                    "{message}"
                );
                assert!(
                    message.contains(&format!("pid {}", second.pid())),
                    "{message}"
                );
                assert!(message.contains("uid 0"), "{message}");
                assert!(
                    message.contains("hash of the client's address and port"),
                    "{message}"
                );
                assert!(message.contains(shown), "{message}");
            }
            write_sysctl("/proc/sys/net/ipv4/tcp_migrate_req", "0");
            assert!(
                warnings(&json(&["who", "8000"]).1, "reuseport_group")[0]
                    .contains("set net.ipv4.tcp_migrate_req=1")
            );

            let (code, resolve) = json(&["resolve", "127.0.0.1:8000", "--connect"]);
            assert_eq!(code, 0, "{resolve:#}");
            let destination = &resolve["destinations"][0];
            assert_eq!(destination["delivery"], "hash", "{resolve:#}");
            let mut members = pids(&destination["listeners"]);
            members.sort_unstable();
            let mut expected = vec![first.pid(), second.pid()];
            expected.sort_unstable();
            assert_eq!(members, expected, "{resolve:#}");
            // --connect: the member that took the connection, one of the two.
            let took = pids(&Value::Array(vec![resolve["connect"][0]["socket"].clone()]));
            assert!(
                took.len() == 1 && expected.contains(&took[0]),
                "{:#}",
                resolve["connect"]
            );
            // The kernel's word: connections from many source ports reach both.
            let answers: std::collections::BTreeSet<String> =
                (0..64).map(|_| answer("127.0.0.1:8000")).collect();
            assert_eq!(
                answers,
                [first.name.clone(), second.name.clone()]
                    .into_iter()
                    .collect(),
                "more than one member answers"
            );
        },
    );
}

/// UDP with SO_REUSEADDR on every socket (no SO_REUSEPORT): three python3
/// servers on 0.0.0.0:5454. Linux gives every unicast datagram to the one
/// bound last; `resolve -u` names that one, "newest".
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_udp_reuseaddr_datagrams_go_to_the_newest() {
    let Some(python) = python() else { return };
    in_netns("stories_udp_reuseaddr_datagrams_go_to_the_newest", || {
        let servers: Vec<Server> = ["oldest", "middle", "newest"]
            .iter()
            .map(|name| py_udp(&python, "0.0.0.0", 5454, "reuseaddr", name))
            .collect();
        let (code, resolve) = json(&["resolve", "-u", "127.0.0.1:5454"]);
        assert_eq!(code, 0, "{resolve:#}");
        let destination = &resolve["destinations"][0];
        assert_eq!(destination["delivery"], "newest", "{resolve:#}");
        assert_eq!(
            pids(&destination["listeners"]),
            [servers[2].pid()],
            "{resolve:#}"
        );
        assert_eq!(
            pids(&Value::Array(vec![resolve["reached"]["socket"].clone()])),
            [servers[2].pid()]
        );
        // The kernel's word, from many source ports.
        for _ in 0..16 {
            assert_eq!(udp_answer("127.0.0.1:5454"), "newest");
        }
        drop(servers);
    });
}

/// A UDP reuseport group: datagrams are spread by the client's address and
/// port, and `resolve -u` says "hash".
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_udp_reuseport_group_spreads_datagrams() {
    let Some(python) = python() else { return };
    in_netns("stories_udp_reuseport_group_spreads_datagrams", || {
        let _a = py_udp(&python, "0.0.0.0", 5455, "reuseport", "a");
        let _b = py_udp(&python, "0.0.0.0", 5455, "reuseport", "b");
        let (_, resolve) = json(&["resolve", "-u", "127.0.0.1:5455"]);
        assert_eq!(
            resolve["destinations"][0]["delivery"], "hash",
            "{resolve:#}"
        );
        assert_eq!(pids(&resolve["destinations"][0]["listeners"]).len(), 2);
        let (_, who) = json(&["who", "-u", "5455"]);
        let groups = warnings(&who, "reuseport_group");
        assert_eq!(groups.len(), 1, "{who:#}");
        assert!(groups[0].contains("udp 0.0.0.0:5455") && !groups[0].contains("tcp_migrate_req"));
        let answers: std::collections::BTreeSet<String> =
            (0..64).map(|_| udp_answer("127.0.0.1:5455")).collect();
        assert_eq!(answers.len(), 2, "both members receive: {answers:?}");
    });
}

/// The story's two node servers: one on 0.0.0.0:8000, one on [::]:8000
/// with IPV6_V6ONLY (`server.listen({ port, host: '::', ipv6Only: true })`).
const NODE_IPV4: &str = "require('http').createServer((req, res) => res.setHeader('content-type', 'text/html').end('<title>ipv4 server</title>')).listen(8000, '0.0.0.0', () => console.log('ready'));";
const NODE_IPV6: &str = "require('http').createServer((req, res) => res.setHeader('content-type', 'text/html').end('<title>ipv6 server</title>')).listen({ port: 8000, host: '::', ipv6Only: true }, () => console.log('ready'));";

/// The page a real HTTP request to `address` gets.
fn http_get(address: &str) -> String {
    let mut stream = connected(address);
    std::io::Write::write_all(
        &mut stream,
        b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    )
    .expect("send the request");
    let mut page = String::new();
    let _ = stream.read_to_string(&mut page);
    page
}

/// "How many services can run on one port?": two node servers share 8000
/// by family; `localhost` reaches the IPv6 one (resolve --probe, checked by
/// real requests), and `try 8000` says no TCP service fits any more while
/// UDP is all free.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_two_node_servers_share_a_port_by_family() {
    let Some(node) = field::program("node", "stories_two_node_servers_share_a_port_by_family")
    else {
        return;
    };
    in_netns("stories_two_node_servers_share_a_port_by_family", || {
        let ipv4 = Server::start(&node, &["-e", NODE_IPV4], "ipv4 server");
        let ipv6 = Server::start(&node, &["-e", NODE_IPV6], "ipv6 server");
        let etc = crate::harness::Etc::new("stories-node", "127.0.0.1 localhost\n::1 localhost\n");
        let run = etc.portcheck(&["resolve", "localhost:8000", "--probe", "--json"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let doc: Value = serde_json::from_str(&run.stdout).expect("a resolve document");
        let first = &doc["destinations"][0];
        assert_eq!(first["address"], "::1", "{doc:#}");
        assert_eq!(pids(&first["listeners"]), [ipv6.pid()], "{doc:#}");
        assert_eq!(first["delivery"], "single");
        assert_eq!(first["probe"]["http"]["title"], "ipv6 server", "{doc:#}");
        assert_eq!(doc["reached"]["address"], "::1");
        assert_eq!(pids(&doc["destinations"][1]["listeners"]), [ipv4.pid()]);
        assert_eq!(warnings(&doc, "split_by_family").len(), 1, "{doc:#}");
        // The kernel's word, by real requests to each address.
        assert!(http_get("[::1]:8000").contains("ipv6 server"));
        assert!(http_get("127.0.0.1:8000").contains("ipv4 server"));

        let (code, slots) = json(&["try", "8000"]);
        assert_eq!(code, 1, "{slots:#}");
        let protocols = slots["port_map"]["protocols"]
            .as_array()
            .expect("protocols");
        let more = |name: &str| {
            protocols
                .iter()
                .find(|p| p["protocol"] == name)
                .and_then(|p| p["more"].as_u64())
        };
        assert_eq!((more("tcp"), more("udp")), (Some(0), Some(2)), "{slots:#}");
        let human = portcheck(&["try", "8000"]);
        assert!(
            human.stdout.contains("port 8000: no more TCP services; UDP: all free (2 services: on 0.0.0.0 and [::] (v6only))"),
            "{}",
            human.stdout
        );
    });
}

/// The Rust server: `[::]:443` binds without IPV6_V6ONLY, so its own
/// `0.0.0.0:443` redirect fails (at listen, as both set SO_REUSEADDR);
/// with IPV6_V6ONLY both bind. The trial is the kernel's word.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_rust_server_dual_stack_then_ipv4() {
    in_netns("stories_rust_server_dual_stack_then_ipv4", || {
        let (code, plan) = json(&["try", "[::]:443", "0.0.0.0:443"]);
        assert_eq!(code, 1);
        let second = &plan["candidates"][1];
        assert_eq!(
            second["prediction"]["rule"],
            "dual_stack_wildcard_overlaps_ipv4"
        );
        assert_eq!(second["prediction"]["stage"], "listen");
        assert_eq!(second["trial"]["error"], "EADDRINUSE", "{plan:#}");
        let (code, fixed) = json(&["try", "[::]:443/v6only", "0.0.0.0:443"]);
        assert_eq!(code, 0, "{fixed:#}");
        assert_eq!(fixed["candidates"][1]["trial"]["ok"], true);
    });
}

/// TCP and UDP on one port are two ports: a TCP and a UDP server both
/// hold 5353, `who` lists both, and each protocol's slots are taken only
/// by its own server.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_tcp_and_udp_share_a_port_number() {
    let Some(python) = python() else { return };
    in_netns("stories_tcp_and_udp_share_a_port_number", || {
        let tcp = py_tcp(&python, "0.0.0.0", 5353, "plain", "tcp");
        let udp = py_udp(&python, "0.0.0.0", 5353, "reuseaddr", "udp");
        let (code, who) = json(&["who", "5353"]);
        assert_eq!(code, 0);
        let sockets = who["sockets"].as_array().expect("sockets");
        let by = |protocol: &str| -> Vec<u64> {
            pids(&Value::Array(
                sockets
                    .iter()
                    .filter(|s| s["protocol"] == protocol)
                    .cloned()
                    .collect(),
            ))
        };
        assert_eq!(
            (by("tcp"), by("udp")),
            (vec![tcp.pid()], vec![udp.pid()]),
            "{who:#}"
        );
        assert_eq!(answer("127.0.0.1:5353"), "tcp");
        assert_eq!(udp_answer("127.0.0.1:5353"), "udp");
        let (_, slots) = json(&["try", "5353"]);
        for candidate in slots["candidates"].as_array().expect("candidates") {
            // The IPv4 slots and the dual-stack wildcard meet the servers.
            let takes_ipv4 = candidate["family"] == "ipv4"
                || (candidate["address"] == "::" && candidate["options"]["v6only"] == false);
            if takes_ipv4 {
                let conflicts = candidate["prediction"]["conflicts"]
                    .as_array()
                    .expect("conflicts");
                assert!(!conflicts.is_empty(), "{candidate:#}");
                for conflict in conflicts {
                    assert_eq!(
                        conflict["socket"]["protocol"], candidate["protocol"],
                        "{candidate:#}"
                    );
                }
            } else {
                assert_eq!(candidate["prediction"]["ok"], true, "{candidate:#}");
            }
        }
    });
}

/// Two addresses on one port: servers on 127.0.0.1:9000 and [::1]:9000
/// both bind; `localhost` reaches the IPv6 one first, and each address
/// reaches its own server.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_two_addresses_on_one_port() {
    let Some(python) = python() else { return };
    in_netns("stories_two_addresses_on_one_port", || {
        let v4 = py_tcp(&python, "127.0.0.1", 9000, "plain", "v4");
        let v6 = py_tcp(&python, "::1", 9000, "plain", "v6");
        let etc = crate::harness::Etc::new("stories-two", "127.0.0.1 localhost\n::1 localhost\n");
        let run = etc.portcheck(&["resolve", "localhost:9000", "--json"]);
        let doc: Value = serde_json::from_str(&run.stdout).expect("a resolve document");
        assert_eq!(doc["destinations"][0]["address"], "::1", "{doc:#}");
        assert_eq!(pids(&doc["destinations"][0]["listeners"]), [v6.pid()]);
        assert_eq!(pids(&doc["destinations"][1]["listeners"]), [v4.pid()]);
        assert_eq!(answer("[::1]:9000"), "v6");
        assert_eq!(answer("127.0.0.1:9000"), "v4");
    });
}

/// Protocol demultiplexing: the real sslh (Debian's package) on
/// 127.0.0.1:4443, told by its command line to send SSH to 127.0.0.1:22
/// and TLS to 127.0.0.1:443. `who` names it and its routes.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn stories_sslh_is_named_with_its_routes() {
    let Some(sslh) = field::program("sslh", "stories_sslh_is_named_with_its_routes") else {
        return;
    };
    in_netns("stories_sslh_is_named_with_its_routes", || {
        let mut child = without_new_processes(|| {
            Command::new(&sslh)
                .args([
                    "-f",
                    "-n",
                    "-p",
                    "127.0.0.1:4443",
                    "--ssh",
                    "127.0.0.1:22",
                    "--tls",
                    "127.0.0.1:443",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        })
        .expect("start sslh");
        // sslh has no ready line: wait for its listener.
        let listening = crate::harness::wait_tcp_listening(4443, Duration::from_secs(10));
        let (_code, doc) = json(&["who", "-t", "4443"]);
        // sslh forks a listener child that outlives its parent: end every
        // process holding the socket (all started by this test, in its
        // namespace), by pid.
        for pid in pids(&doc["sockets"]) {
            if let Ok(pid) = libc::pid_t::try_from(pid) {
                // SAFETY: kill(2) with a pid this test's sslh holds.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            listening,
            "sslh did not listen on 127.0.0.1:4443 within 10 s"
        );
        let socket = &doc["sockets"][0];
        assert_eq!(socket["demultiplexer"], "sslh", "{doc:#}");
        assert_eq!(
            socket["forwards_by_protocol"],
            serde_json::json!([
                {"protocol": "ssh", "to": "127.0.0.1:22"},
                {"protocol": "tls", "to": "127.0.0.1:443"}
            ]),
            "{doc:#}"
        );
    });
}
