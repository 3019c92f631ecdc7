//! `resolve --dns`: a DNS responder of the test's own on loopback, inside a
//! private network namespace, against a hosts file that shadows it.

use std::net::{Ipv4Addr, UdpSocket};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hickory_proto::op::{Message, OpCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};

use super::harness::{BIN, Etc, in_netns, without_new_processes};

/// What the test's DNS server says `web.` is: an address the hosts file
/// does not have.
const DNS_ONLY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

/// Answers A queries for `web.` with `DNS_ONLY` (AAAA: no records) until
/// `stop` is set.
fn serve(socket: &UdpSocket, stop: &AtomicBool) {
    let mut buffer = [0u8; 1500];
    socket
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    while !stop.load(Ordering::Relaxed) {
        let Ok((size, peer)) = socket.recv_from(&mut buffer) else {
            continue;
        };
        let Ok(query) = Message::from_vec(&buffer[..size]) else {
            continue;
        };
        let mut response = Message::response(query.metadata.id, OpCode::Query);
        response.metadata.recursion_desired = query.metadata.recursion_desired;
        response.metadata.recursion_available = true;
        for question in &query.queries {
            response.add_query(question.clone());
            if question.query_type() == RecordType::A && question.name().to_ascii() == "web." {
                response.add_answer(Record::from_rdata(
                    question.name().clone(),
                    60,
                    RData::A(A(DNS_ONLY)),
                ));
            }
        }
        if let Ok(bytes) = response.to_vec() {
            let _ = socket.send_to(&bytes, peer);
        }
    }
}

/// Stops the DNS server when dropped, also when an assertion fails, so the
/// thread scope can end.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// Runs portcheck with a private hosts file (the harness's private /etc,
/// so the real /etc/hosts is never touched); its exit code and document.
fn with_hosts(hosts: &str, args: &[&str]) -> (i32, serde_json::Value) {
    let run = Etc::new("dns", hosts).portcheck(args);
    let document = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:#?}"));
    (run.code, document)
}

/// The warning codes of a JSON document, in its order.
pub fn warning_codes(document: &serde_json::Value) -> Vec<String> {
    document["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["code"].as_str().map(str::to_owned))
        .collect()
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn dns_view_shows_what_the_hosts_file_hides() {
    in_netns("dns_view_shows_what_the_hosts_file_hides", || {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the DNS server");
        let server = socket.local_addr().expect("address").to_string();
        let stop = Arc::new(AtomicBool::new(false));
        std::thread::scope(|scope| {
            let flag = Arc::clone(&stop);
            let socket = &socket;
            scope.spawn(move || serve(socket, &flag));
            let stopper = StopOnDrop(Arc::clone(&stop));
            let (code, document) = with_hosts(
                "127.0.0.1 web\n",
                &["resolve", "web:8000", "--dns-server", &server, "--json"],
            );
            drop(stopper);
            assert_eq!(code, 1, "nothing listens on 8000: {document}");
            let dns = &document["dns"];
            assert_eq!(dns["servers"], serde_json::json!([server]));
            assert_eq!(dns["a"], serde_json::json!([DNS_ONLY.to_string()]));
            assert_eq!(dns["aaaa"], serde_json::json!([]));
            assert_eq!(dns["errors"], serde_json::json!([]), "{document}");
            // The system answer comes from the hosts file alone.
            let destinations = document["destinations"].as_array().expect("destinations");
            assert_eq!(destinations.len(), 1);
            assert_eq!(destinations[0]["address"], "127.0.0.1");
            assert_eq!(destinations[0]["origin"], "hosts");
            let codes = warning_codes(&document);
            assert!(
                codes.contains(&"dns_hidden_by_system".to_owned()),
                "{codes:?}"
            );
            assert!(
                codes.contains(&"system_not_from_dns".to_owned()),
                "{codes:?}"
            );
            assert_eq!(document["complete"], true);
        });
    });
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn dns_view_says_which_server_did_not_answer() {
    in_netns("dns_view_says_which_server_did_not_answer", || {
        // A port nobody listens on, in a namespace of our own.
        let (code, document) = with_hosts(
            "127.0.0.1 web\n",
            &[
                "resolve",
                "web:8000",
                "--dns-server",
                "127.0.0.1:5",
                "--json",
            ],
        );
        assert_eq!(code, 1);
        assert_eq!(
            document["dns"]["servers"],
            serde_json::json!(["127.0.0.1:5"])
        );
        assert_eq!(document["dns"]["errors"].as_array().map(Vec::len), Some(2));
        assert!(warning_codes(&document).contains(&"dns_unanswered".to_owned()));
        assert_eq!(document["complete"], false);
    });
}

#[test]
fn dns_server_flag_rejects_a_bad_address() {
    let output = without_new_processes(|| {
        Command::new(BIN)
            .args([
                "resolve",
                "web:80",
                "--dns-server",
                "not-an-address",
                "--json",
            ])
            .output()
            .expect("run portcheck")
    });
    assert_eq!(output.status.code(), Some(2));
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(document["error"]["code"], "bad_host");
}

/// Only what a server sent is shown: with nothing on the port there is no
/// answer at all, not the resolver library's built-in `localhost`, and
/// the ICMP refusal is heard at once instead of after a timeout.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn dns_server_that_refuses_gives_no_answers_at_once() {
    in_netns("dns_server_that_refuses_gives_no_answers_at_once", || {
        for host in ["localhost", "web"] {
            let started = std::time::Instant::now();
            let (code, document) = with_hosts(
                "127.0.0.1 localhost web\n::1 localhost\n",
                &[
                    "resolve",
                    &format!("{host}:8000"),
                    "--dns-server",
                    "127.0.0.1:5399",
                    "--json",
                ],
            );
            let elapsed = started.elapsed();
            assert_eq!(code, 1, "nothing listens on 8000: {document}");
            let dns = &document["dns"];
            assert_eq!(dns["servers"], serde_json::json!(["127.0.0.1:5399"]));
            assert_eq!(dns["a"], serde_json::json!([]), "{host}: {document}");
            assert_eq!(dns["aaaa"], serde_json::json!([]), "{host}: {document}");
            let errors: Vec<&str> = dns["errors"]
                .as_array()
                .expect("errors")
                .iter()
                .filter_map(serde_json::Value::as_str)
                .collect();
            assert_eq!(errors.len(), 2, "{errors:?}");
            assert!(
                errors.iter().all(|e| e.contains("127.0.0.1:5399 refused")),
                "{errors:?}"
            );
            assert!(
                elapsed < std::time::Duration::from_millis(1500),
                "a refused server is said at once, not after a timeout: {elapsed:?}"
            );
            let codes = warning_codes(&document);
            assert!(codes.contains(&"dns_unanswered".to_owned()), "{codes:?}");
            assert!(
                !codes.contains(&"dns_hidden_by_system".to_owned()),
                "no answer hides nothing: {codes:?}"
            );
            assert_eq!(document["complete"], false);
        }
    });
}
