//! When nothing here holds a port: is it held in another network namespace
//! (a container), or forwarded by NAT rules? Said plainly, never guessed.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::model::Socket;
use crate::target::PortRange;

/// NAT tools get this long before portcheck stops waiting for them.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
const TOOL_TIMEOUT: Duration = Duration::from_secs(2);

/// At most this much of a tool's output is read (a kube-proxy host's rule
/// set is megabytes).
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
const MAX_TOOL_OUTPUT: u64 = 64 << 20;

/// Runs `program args` if it is installed, with a deadline; its stdout.
/// The output is read while the tool runs: a tool that writes more than a
/// pipe holds (64 KiB) would otherwise wait for a reader until the
/// deadline, and its answer would be lost.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
fn run_tool(program: &str, args: &[&str]) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let stdout = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stdout
            .take(MAX_TOOL_OUTPUT)
            .read_to_end(&mut bytes)
            .map(|_| bytes)
    });
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let succeeded = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.success(),
            Err(_) => break false,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    // The tool has exited (or been killed): its end of the pipe is closed,
    // unless a child of its own keeps it; the reader then ends with it.
    let bytes = reader.join().ok()?.ok()?;
    succeeded.then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// DNAT rules for any of `ports`, from `iptables-save -t nat` and
/// `nft list ruleset` where those are installed and readable.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub fn nat_rules(ports: &[PortRange]) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(text) = run_tool("iptables-save", &["-t", "nat"]) {
        found.extend(matching_rules(&text, ports, "DNAT", "--dport"));
    }
    if let Some(text) = run_tool("nft", &["list", "ruleset"]) {
        found.extend(matching_rules(&text, ports, "dnat", "dport"));
    }
    found
}

/// Lines that carry `action` and a `keyword PORT` (or `keyword LOW:HIGH`,
/// `LOW-HIGH`) naming one of `ports`.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub fn matching_rules(text: &str, ports: &[PortRange], action: &str, keyword: &str) -> Vec<String> {
    text.lines()
        .filter(|line| line.contains(action))
        .filter(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words
                .windows(2)
                .any(|pair| pair[0] == keyword && port_spec_overlaps(pair[1], ports))
        })
        .map(|line| line.trim().to_owned())
        .collect()
}

#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
fn port_spec_overlaps(spec: &str, ports: &[PortRange]) -> bool {
    let (low, high) = match spec.split_once([':', '-']) {
        Some((low, high)) => (low.parse::<u16>(), high.parse::<u16>()),
        None => (spec.parse::<u16>(), spec.parse::<u16>()),
    };
    let (Ok(low), Ok(high)) = (low, high) else {
        return false;
    };
    ports.iter().any(|r| low <= r.high && r.low <= high)
}

/// `pcB (python3 pid 812)`: where a socket of another namespace is.
pub fn describe_foreign(socket: &Socket) -> String {
    // A namespace name is a file name under /run/netns: any bytes.
    let namespace = socket
        .netns_name
        .as_deref()
        .map(|name| crate::text::untrusted(name, 64))
        .or_else(|| socket.netns.clone())
        .unwrap_or_else(|| "another namespace".into());
    let owners: Vec<String> = socket
        .processes
        .iter()
        .map(|p| {
            let container = p
                .container
                .as_ref()
                .map(|c| {
                    format!(
                        ", {} {}",
                        c.runtime,
                        c.id.chars().take(12).collect::<String>()
                    )
                })
                .unwrap_or_default();
            format!(
                "{} pid {}{container}",
                p.shown_name().as_deref().unwrap_or("?"),
                p.pid
            )
        })
        .collect();
    let endpoint = crate::model::endpoint(socket.local_address, socket.local_port, None);
    if owners.is_empty() {
        format!("{endpoint} in {namespace}")
    } else {
        format!("{endpoint} in {namespace} ({})", owners.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_that_writes_more_than_a_pipe_holds_is_read_whole_and_in_time() {
        let started = Instant::now();
        let text = run_tool("sh", &["-c", "head -c 300000 /dev/zero | tr '\\0' x"]);
        assert_eq!(text.map(|t| t.len()), Some(300_000));
        assert!(started.elapsed() < TOOL_TIMEOUT, "{:?}", started.elapsed());
    }

    #[test]
    fn a_failing_or_missing_tool_gives_nothing() {
        assert_eq!(run_tool("sh", &["-c", "echo partial; exit 3"]), None);
        assert_eq!(run_tool("/nonexistent/iptables-save", &[]), None);
    }

    #[test]
    fn dnat_rules_for_the_port_are_found() {
        let ports = [PortRange::single(8080)];
        let iptables = "*nat\n-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n-A DOCKER -p tcp -m tcp --dport 9090 -j DNAT --to-destination 172.17.0.3:80\nCOMMIT\n";
        let found = matching_rules(iptables, &ports, "DNAT", "--dport");
        assert_eq!(found.len(), 1);
        assert!(found[0].contains("172.17.0.2:80"));
        let nft = "table ip nat {\n  chain DOCKER {\n    tcp dport 8000-8100 dnat to 172.17.0.2:80\n    tcp dport 22 accept\n  }\n}\n";
        assert_eq!(matching_rules(nft, &ports, "dnat", "dport").len(), 1);
        assert!(matching_rules(nft, &[PortRange::single(22)], "dnat", "dport").is_empty());
    }
}
