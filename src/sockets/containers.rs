//! What a process's cgroup and command line say about containers: the
//! runtime and container id, and where a port forwarder sends traffic.

use crate::model::Socket;
use crate::text::Text;

/// Fills each socket's forwarding target when its owner is `docker-proxy`,
/// and names a protocol demultiplexer (sslh) and its routes. (Each owner's
/// container is read with its other details, on the /proc pass: see
/// `owners::ProcessDetails::read` and [`container_of`].)
pub fn attach_forwarding(sockets: &mut [Socket]) {
    for socket in sockets.iter_mut() {
        socket.forwards_to = socket
            .processes
            .iter()
            .filter(|p| {
                p.name
                    .as_ref()
                    .is_some_and(|n| n.bytes() == b"docker-proxy")
            })
            .find_map(|p| docker_proxy_target(&p.cmdline));
        if let Some(process) = socket.processes.iter().find(|p| {
            p.name
                .as_ref()
                .is_some_and(|n| demultiplexer(n.bytes()).is_some())
        }) {
            socket.demultiplexer = process.name.as_ref().and_then(|n| demultiplexer(n.bytes()));
            socket.forwards_by_protocol = sslh_routes(&process.cmdline);
        }
    }
}

/// The known protocol demultiplexers, by process name: sslh's builds
/// (`sslh` is sslh-fork in Debian's package; `sslh-select`, `sslh-ev`).
pub fn demultiplexer(name: &[u8]) -> Option<&'static str> {
    matches!(name, b"sslh" | b"sslh-fork" | b"sslh-select" | b"sslh-ev").then_some("sslh")
}

/// The protocols sslh routes and where, from its command line: `--ssh
/// 127.0.0.1:22`, `--tls=127.0.0.1:443` (getopt_long takes both; `--ssl`
/// is sslh's older name for `--tls`), as `sslh -V` 1.20's usage lists them.
/// A configuration file (`-F`) is not read: then nothing is said. Targets
/// are a process's own text: only HOST:PORT with a numeric port is taken,
/// escaped. sslh cuts its own arguments at the last ':' while it parses
/// them (a NUL written there), so a running sslh 1.20 shows `--ssh
/// 127.0.0.1 22` in /proc/PID/cmdline (seen with Debian's sslh): a host
/// followed by a port argument is read as HOST:PORT too.
pub fn sslh_routes(cmdline: &[Text]) -> Vec<(String, String)> {
    const PROTOCOLS: [&str; 11] = [
        "ssh",
        "tls",
        "ssl",
        "http",
        "openvpn",
        "tinc",
        "xmpp",
        "adb",
        "socks5",
        "anyprot",
        "on-timeout",
    ];
    let mut routes = Vec::new();
    let args: Vec<String> = cmdline.iter().map(|a| a.lossy().into_owned()).collect();
    let mut index = 0;
    while let Some(arg) = args.get(index) {
        index += 1;
        let Some(option) = arg.strip_prefix("--") else {
            continue;
        };
        let (name, inline) = match option.split_once('=') {
            Some((name, value)) => (name, Some(value.to_owned())),
            None => (option, None),
        };
        if !PROTOCOLS.contains(&name) {
            continue;
        }
        let mut value = if let Some(value) = inline {
            value
        } else {
            let Some(next) = args.get(index) else { break };
            index += 1;
            next.clone()
        };
        let is_port = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let cut = !value.contains(':') || value.ends_with(']');
        if cut && let Some(port) = args.get(index).filter(|next| is_port(next)) {
            value = format!("{value}:{port}");
            index += 1;
        }
        let well_formed = value
            .rsplit_once(':')
            .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
        if well_formed {
            let protocol = if name == "ssl" { "tls" } else { name };
            routes.push((protocol.to_owned(), crate::text::untrusted(&value, 80)));
        }
    }
    routes
}

/// A container a process runs in, from its cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// `docker`, `podman`, `containerd` or `kubernetes`.
    pub runtime: &'static str,
    /// The container id (64 hex digits as the runtime names it).
    pub id: String,
}

/// Reads /proc/PID/cgroup text. Recognises the paths systemd and cgroupfs
/// drivers give: `docker-ID.scope`, `/docker/ID`, `libpod-ID.scope`,
/// `cri-containerd-ID.scope`, and anything under `kubepods`.
pub fn container_of(cgroup: &str) -> Option<Container> {
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or("");
        let kubernetes = path.contains("kubepods");
        for segment in path.split('/').rev() {
            let segment = segment.strip_suffix(".scope").unwrap_or(segment);
            let (runtime, id) = if let Some(id) = segment.strip_prefix("docker-") {
                ("docker", id)
            } else if let Some(id) = segment.strip_prefix("libpod-") {
                ("podman", id)
            } else if let Some(id) = segment.strip_prefix("cri-containerd-") {
                ("containerd", id)
            } else if let Some(id) = segment.strip_prefix("crio-") {
                ("cri-o", id)
            } else if is_container_id(segment) {
                let runtime = if path.contains("/docker/") {
                    "docker"
                } else {
                    "containerd"
                };
                (runtime, segment)
            } else {
                continue;
            };
            if is_container_id(id) {
                let runtime = if kubernetes { "kubernetes" } else { runtime };
                return Some(Container {
                    runtime,
                    id: id.to_owned(),
                });
            }
        }
    }
    None
}

fn is_container_id(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Where `docker-proxy` forwards, from its command line
/// (`-container-ip 172.17.0.2 -container-port 80`). Any process may call
/// itself docker-proxy: only an address and a port are taken from it.
pub fn docker_proxy_target(cmdline: &[Text]) -> Option<String> {
    let value = |flag: &str| {
        cmdline
            .iter()
            .position(|arg| {
                let arg = arg.bytes();
                arg == flag.as_bytes() || arg.strip_prefix(b"-") == Some(flag.as_bytes())
            })
            .and_then(|i| cmdline.get(i + 1))
            .map(|arg| arg.lossy())
    };
    let address: std::net::IpAddr = value("-container-ip")?.parse().ok()?;
    let port: u16 = value("-container-port")?.parse().ok()?;
    Some(crate::model::endpoint(address, port, None))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c";

    #[test]
    fn cgroup_paths_name_the_runtime() {
        let docker_systemd = format!("0::/system.slice/docker-{ID}.scope\n");
        assert_eq!(
            container_of(&docker_systemd),
            Some(Container {
                runtime: "docker",
                id: ID.into()
            })
        );
        let docker_cgroupfs = format!("12:memory:/docker/{ID}\n");
        assert_eq!(
            container_of(&docker_cgroupfs).map(|c| c.runtime),
            Some("docker")
        );
        let podman = format!(
            "0::/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-{ID}.scope/container\n"
        );
        assert_eq!(container_of(&podman).map(|c| c.runtime), Some("podman"));
        let k8s = format!(
            "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1234.slice/cri-containerd-{ID}.scope\n"
        );
        assert_eq!(
            container_of(&k8s),
            Some(Container {
                runtime: "kubernetes",
                id: ID.into()
            })
        );
        assert_eq!(
            container_of("0::/user.slice/user-1000.slice/session-2.scope\n"),
            None
        );
        assert_eq!(container_of("0::/system.slice/docker-short.scope\n"), None);
        assert_eq!(container_of(""), None);
    }

    fn args(line: &str) -> Vec<Text> {
        line.split(' ').map(Text::from).collect()
    }

    #[test]
    fn sslh_command_lines_give_the_routes() {
        let routes = sslh_routes(&args(
            "/usr/sbin/sslh -f -p 0.0.0.0:4443 --ssh 127.0.0.1:22 --tls=127.0.0.1:443 --ssl [::1]:8443 --http",
        ));
        assert_eq!(
            routes,
            [
                ("ssh".to_owned(), "127.0.0.1:22".to_owned()),
                ("tls".to_owned(), "127.0.0.1:443".to_owned()),
                ("tls".to_owned(), "[::1]:8443".to_owned()),
            ]
        );
        // As a running sslh shows it: cut at each ':'.
        assert_eq!(
            sslh_routes(&args(
                "/usr/sbin/sslh -f -p 127.0.0.1 4443 --ssh 127.0.0.1 22 --tls=[::1] 443"
            )),
            [
                ("ssh".to_owned(), "127.0.0.1:22".to_owned()),
                ("tls".to_owned(), "[::1]:443".to_owned()),
            ]
        );
        assert!(sslh_routes(&args("sslh -F/etc/sslh.cfg")).is_empty());
        assert!(sslh_routes(&args("sslh --ssh nonsense")).is_empty());
        assert_eq!(demultiplexer(b"sslh-select"), Some("sslh"));
        assert_eq!(demultiplexer(b"nginx"), None);
    }

    #[test]
    fn docker_proxy_command_lines_give_the_target() {
        let args: Vec<Text> = "/usr/bin/docker-proxy -proto tcp -host-ip 0.0.0.0 -host-port 8080 -container-ip 172.17.0.2 -container-port 80"
            .split(' ')
            .map(Text::from)
            .collect();
        assert_eq!(docker_proxy_target(&args).as_deref(), Some("172.17.0.2:80"));
        let v6: Vec<Text> = [
            "docker-proxy",
            "--container-ip",
            "fd00::2",
            "--container-port",
            "443",
        ]
        .map(Text::from)
        .to_vec();
        assert_eq!(docker_proxy_target(&v6).as_deref(), Some("[fd00::2]:443"));
        assert_eq!(docker_proxy_target(&[Text::from("docker-proxy")]), None);
        // A process that only calls itself docker-proxy gives no text.
        let forged = [
            "docker-proxy",
            "-container-ip",
            "\x1b[2J",
            "-container-port",
            "80",
        ];
        assert_eq!(docker_proxy_target(&forged.map(Text::from)), None);
    }
}
