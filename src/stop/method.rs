//! How a holder is stopped: a signal, or the manager that would restart
//! it (systemd, a container runtime). Pure functions of captured facts
//! (cgroup path, pid, name, container), unit-tested on real cgroup paths.

use crate::model::Container;

/// What stops a holder.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    /// A signal through a pidfd.
    Signal,
    /// `systemctl [--user] stop UNIT`: a signal would only make a unit
    /// with `Restart=` start it again.
    Systemctl { unit: String, user: bool },
    /// `docker stop ID` (or `podman stop ID`); `id` is `None` for a
    /// docker-proxy, whose container is found by the port it publishes.
    Container {
        runtime: Runtime,
        id: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Runtime {
    Docker,
    Podman,
}

impl Runtime {
    pub fn program(self) -> &'static str {
        match self {
            Runtime::Docker => "docker",
            Runtime::Podman => "podman",
        }
    }
}

impl Method {
    /// The JSON `method`.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Signal => "signal",
            Method::Systemctl { .. } => "systemctl",
            Method::Container { runtime, .. } => runtime.program(),
        }
    }

    /// The command line run, for people and JSON (`None` for a signal,
    /// which is no command).
    pub fn command(&self, port: u16) -> Option<Vec<String>> {
        match self {
            Method::Signal => None,
            Method::Systemctl { unit, user } => {
                let mut line = vec!["systemctl".to_owned()];
                if *user {
                    line.push("--user".into());
                }
                line.extend(["stop".to_owned(), unit.clone()]);
                Some(line)
            }
            Method::Container { runtime, id } => Some(vec![
                runtime.program().to_owned(),
                "stop".to_owned(),
                id.clone()
                    .unwrap_or_else(|| format!("$(docker ps -q --filter publish={port})")),
            ]),
        }
    }
}

/// A holder that is not stopped, and why: each has a stable `code`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refusal {
    pub code: &'static str,
    pub message: String,
}

impl Refusal {
    pub fn new(code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// The facts about one holder that decide how it is stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManagerFacts<'a> {
    pub pid: u32,
    /// comm, exactly (`systemd`, `docker-proxy`).
    pub name: &'a [u8],
    /// The systemd cgroup path: the unified line (`0::/system.slice/x.service`)
    /// or the `name=systemd` hierarchy's, without the `0::` prefix.
    pub cgroup: Option<&'a str>,
    pub container: Option<&'a Container>,
    /// Whether pid 1 of the PID namespace portcheck runs in is systemd
    /// (otherwise a holder at pid 1 is some other init: a container's).
    pub init_is_systemd: bool,
    /// The holder's parent is the systemd manager (pid 1 systemd, or the
    /// user's `systemd --user`): the holder is a unit's own process, which
    /// the unit restarts. A process further down a unit's tree (a CI job
    /// under a runner's service, a child of a shell script) gets a signal:
    /// stopping the whole unit would stop far more than the holder.
    pub parent_is_manager: bool,
    /// The uid portcheck runs as (a user unit is stopped by its own user's
    /// manager).
    pub our_uid: u32,
}

/// How to stop a holder, or why not. Precedence: a container (its runtime
/// restarts or owns it) before a systemd unit (the container's scope sits
/// inside system.slice too), before a plain signal.
pub fn decide(facts: &ManagerFacts<'_>) -> Result<Method, Refusal> {
    if facts.pid == 1 {
        return Err(if facts.init_is_systemd && facts.name == b"systemd" {
            Refusal::new(
                "socket_activation",
                "pid 1 (systemd) holds the socket itself: socket activation; its .socket unit is stopped instead (found by `systemctl list-sockets`)",
            )
        } else {
            Refusal::new(
                "pid_1",
                format!(
                    "pid 1 ({}) is the init of this PID namespace: stopping it ends every process in it",
                    crate::text::escape(facts.name, 32)
                ),
            )
        });
    }
    if facts.name == b"docker-proxy" {
        // docker-proxy forwards a published port to a container; signalling
        // it breaks the container's port and docker starts no new one: the
        // container is what holds the port.
        return Ok(Method::Container {
            runtime: Runtime::Docker,
            id: None,
        });
    }
    if let Some(container) = facts.container {
        return match container.runtime {
            "docker" => Ok(Method::Container {
                runtime: Runtime::Docker,
                id: Some(container.id.clone()),
            }),
            "podman" => Ok(Method::Container {
                runtime: Runtime::Podman,
                id: Some(container.id.clone()),
            }),
            "kubernetes" | "cri-o" => Err(Refusal::new(
                "kubernetes_pod",
                format!(
                    "pid {} runs in a Kubernetes pod (container {}): the kubelet restarts what is stopped; delete or scale the pod with kubectl",
                    facts.pid,
                    short_id(&container.id)
                ),
            )),
            other => Err(Refusal::new(
                "unmanaged_container",
                format!(
                    "pid {} runs in a {other} container ({}), which portcheck does not stop; stop it with that runtime's tools (nerdctl stop, ctr task kill)",
                    facts.pid,
                    short_id(&container.id)
                ),
            )),
        };
    }
    match facts.cgroup.and_then(unit_of) {
        Some(UnitPlace::System(_) | UnitPlace::User { .. }) if !facts.parent_is_manager => {
            Ok(Method::Signal)
        }
        Some(UnitPlace::System(unit)) => Ok(Method::Systemctl { unit, user: false }),
        Some(UnitPlace::User { uid, unit }) if uid == facts.our_uid => {
            Ok(Method::Systemctl { unit, user: true })
        }
        Some(UnitPlace::User { uid, unit }) => Err(Refusal::new(
            "other_users_unit",
            format!(
                "pid {} belongs to {unit} of uid {uid}'s systemd user manager, which restarts it: run `systemctl --user stop {unit}` as that user",
                facts.pid
            ),
        )),
        Some(UnitPlace::UserManager { uid }) => Err(Refusal::new(
            "socket_activation",
            format!(
                "pid {} is uid {uid}'s systemd user manager holding the socket itself (socket activation): stop its .socket unit, found by `systemctl --user list-sockets`",
                facts.pid
            ),
        )),
        None => Ok(Method::Signal),
    }
}

fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// Where a cgroup path puts a process in systemd's tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnitPlace {
    /// A service of the system manager: `system.slice/NAME.service`.
    System(String),
    /// A service of user `uid`'s manager:
    /// `user.slice/user-UID.slice/user@UID.service/…/NAME.service`.
    User { uid: u32, unit: String },
    /// The user manager itself (`user@UID.service/init.scope`).
    UserManager { uid: u32 },
}

/// The unit a cgroup path (`/system.slice/nginx.service`) belongs to. Only
/// services restart what is stopped: a scope (a login session, a
/// `systemd-run --scope`) or the root cgroup is no unit to stop, so its
/// processes get a signal.
pub fn unit_of(path: &str) -> Option<UnitPlace> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    // The user manager's subtree: user@UID.service owns what is below it.
    if let Some(at) = segments
        .iter()
        .position(|s| s.starts_with("user@") && s.ends_with(".service"))
    {
        let uid = segments[at]
            .strip_prefix("user@")?
            .strip_suffix(".service")?
            .parse()
            .ok()?;
        let below = segments.get(at + 1..).unwrap_or_default();
        return match below.iter().rev().find(|s| s.ends_with(".service")) {
            Some(unit) => Some(UnitPlace::User {
                uid,
                unit: (*unit).to_owned(),
            }),
            None if below.first() == Some(&"init.scope") => Some(UnitPlace::UserManager { uid }),
            None => None,
        };
    }
    // The outermost service below the root: a service may delegate and
    // make cgroups of its own below it (`x.service/payload`).
    segments
        .iter()
        .find(|s| s.ends_with(".service"))
        .map(|unit| UnitPlace::System((*unit).to_owned()))
}

/// The systemd cgroup path of /proc/PID/cgroup: the unified hierarchy's
/// line (`0::PATH`) when systemd runs there, else the `name=systemd`
/// hierarchy's (cgroup v1).
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub fn systemd_cgroup(text: &str) -> Option<&str> {
    fn path_of(line: &str) -> Option<&str> {
        line.splitn(3, ':').nth(2)
    }
    text.lines()
        .find(|line| line.split(':').nth(1) == Some("name=systemd"))
        .and_then(path_of)
        .filter(|path| *path != "/")
        .or_else(|| {
            text.lines()
                .find(|l| l.starts_with("0::"))
                .and_then(path_of)
        })
}

/// The `.socket` unit listening on `port`, from `systemctl list-sockets
/// --all --full --no-legend` (`LISTEN UNIT ACTIVATES`, one per line, e.g.
/// `[::]:22 ssh.socket ssh.service`). Several units on the port are all
/// returned, sorted.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub fn socket_units(list_sockets: &str, port: u16) -> Vec<String> {
    let mut units: Vec<String> = list_sockets
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let listen = words.next()?;
            let unit = words.next()?;
            let listen_port = listen.rsplit(':').next()?.parse::<u16>().ok()?;
            (listen_port == port && unit.ends_with(".socket")).then(|| unit.to_owned())
        })
        .collect();
    units.sort();
    units.dedup();
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "4f1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c";

    fn facts<'a>(
        pid: u32,
        name: &'a str,
        cgroup: Option<&'a str>,
        container: Option<&'a Container>,
    ) -> ManagerFacts<'a> {
        ManagerFacts {
            pid,
            name: name.as_bytes(),
            cgroup,
            container,
            init_is_systemd: true,
            parent_is_manager: true,
            our_uid: 1000,
        }
    }

    #[test]
    fn cgroup_paths_name_the_unit_that_restarts() {
        // The shapes systemd gives (systemd's docs/CGROUP_DELEGATION.md:
        // system.slice, user@UID.service, session-N.scope, app.slice).
        assert_eq!(
            unit_of("/system.slice/nginx.service"),
            Some(UnitPlace::System("nginx.service".into()))
        );
        assert_eq!(
            unit_of("/system.slice/containerd.service/payload"),
            Some(UnitPlace::System("containerd.service".into()))
        );
        assert_eq!(
            unit_of("/user.slice/user-1000.slice/user@1000.service/app.slice/vite.service"),
            Some(UnitPlace::User {
                uid: 1000,
                unit: "vite.service".into()
            })
        );
        assert_eq!(
            unit_of("/user.slice/user-1000.slice/user@1000.service/init.scope"),
            Some(UnitPlace::UserManager { uid: 1000 })
        );
        // A terminal in a desktop session: a scope, no restarting manager.
        assert_eq!(
            unit_of(
                "/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-org.gnome.Terminal-4242.scope"
            ),
            None
        );
        assert_eq!(unit_of("/user.slice/user-1000.slice/session-2.scope"), None);
        assert_eq!(unit_of("/"), None);
        assert_eq!(unit_of(""), None);
        assert_eq!(
            unit_of("/user.slice/user-x.slice/user@x.service/a.service"),
            None
        );
    }

    #[test]
    fn the_systemd_line_of_proc_cgroup_is_found_on_v1_and_v2() {
        let v2 = "0::/system.slice/redis-server.service\n";
        assert_eq!(
            systemd_cgroup(v2),
            Some("/system.slice/redis-server.service")
        );
        let v1 =
            "12:pids:/system.slice/ssh.service\n1:name=systemd:/system.slice/ssh.service\n0::/\n";
        assert_eq!(systemd_cgroup(v1), Some("/system.slice/ssh.service"));
        // This machine's (no systemd): name=systemd at the root.
        let here = "9:name=systemd:/\n4:memory:/process_api/e58de0\n0::/\n";
        assert_eq!(systemd_cgroup(here), Some("/"));
        assert_eq!(systemd_cgroup(""), None);
    }

    #[test]
    fn units_are_stopped_through_their_manager() {
        assert_eq!(
            decide(&facts(
                812,
                "nginx",
                Some("/system.slice/nginx.service"),
                None
            )),
            Ok(Method::Systemctl {
                unit: "nginx.service".into(),
                user: false
            })
        );
        assert_eq!(
            decide(&facts(
                4242,
                "node",
                Some("/user.slice/user-1000.slice/user@1000.service/app.slice/dev.service"),
                None
            )),
            Ok(Method::Systemctl {
                unit: "dev.service".into(),
                user: true
            })
        );
        let other = decide(&facts(
            4242,
            "node",
            Some("/user.slice/user-1001.slice/user@1001.service/app.slice/dev.service"),
            None,
        ));
        assert_eq!(other.map_err(|r| r.code), Err("other_users_unit"));
        assert_eq!(
            decide(&facts(
                4242,
                "python3",
                Some("/user.slice/user-1000.slice/session-2.scope"),
                None
            )),
            Ok(Method::Signal)
        );
        assert_eq!(
            decide(&facts(4242, "python3", Some("/"), None)),
            Ok(Method::Signal)
        );
        // A test server started by a CI job under the runner's service:
        // the runner is not stopped to free its port.
        let mut job = facts(
            4242,
            "python3",
            Some("/system.slice/actions.runner.octo.service"),
            None,
        );
        job.parent_is_manager = false;
        assert_eq!(decide(&job), Ok(Method::Signal));
        assert_eq!(
            decide(&facts(4242, "python3", None, None)),
            Ok(Method::Signal)
        );
    }

    #[test]
    fn pid_1_is_refused_or_socket_activation() {
        let systemd = decide(&facts(1, "systemd", Some("/init.scope"), None));
        assert_eq!(systemd.map_err(|r| r.code), Err("socket_activation"));
        let mut tini = facts(1, "tini", None, None);
        tini.init_is_systemd = false;
        assert_eq!(decide(&tini).map_err(|r| r.code), Err("pid_1"));
        // A process calling itself systemd is pid 1 of another init.
        let mut named = facts(1, "systemd", None, None);
        named.init_is_systemd = false;
        assert_eq!(decide(&named).map_err(|r| r.code), Err("pid_1"));
    }

    #[test]
    fn containers_are_stopped_by_their_runtime_never_by_a_signal_to_docker_proxy() {
        let docker = Container {
            runtime: "docker",
            id: ID.into(),
        };
        let in_scope = format!("/system.slice/docker-{ID}.scope");
        assert_eq!(
            decide(&facts(5000, "nginx", Some(&in_scope), Some(&docker))),
            Ok(Method::Container {
                runtime: Runtime::Docker,
                id: Some(ID.into())
            })
        );
        assert_eq!(
            decide(&facts(
                3100,
                "docker-proxy",
                Some("/system.slice/docker.service"),
                None
            )),
            Ok(Method::Container {
                runtime: Runtime::Docker,
                id: None
            })
        );
        let podman = Container {
            runtime: "podman",
            id: ID.into(),
        };
        assert_eq!(
            decide(&facts(5000, "redis-server", None, Some(&podman))).map(|m| m.name()),
            Ok("podman")
        );
        let k8s = Container {
            runtime: "kubernetes",
            id: ID.into(),
        };
        assert_eq!(
            decide(&facts(5000, "app", None, Some(&k8s))).map_err(|r| r.code),
            Err("kubernetes_pod")
        );
    }

    #[test]
    fn commands_are_what_is_run() {
        let unit = Method::Systemctl {
            unit: "dev.service".into(),
            user: true,
        };
        assert_eq!(
            unit.command(3000),
            Some(vec![
                "systemctl".into(),
                "--user".into(),
                "stop".into(),
                "dev.service".into()
            ])
        );
        let proxy = Method::Container {
            runtime: Runtime::Docker,
            id: None,
        };
        assert_eq!(
            proxy.command(8080).map(|c| c.join(" ")).as_deref(),
            Some("docker stop $(docker ps -q --filter publish=8080)")
        );
        assert_eq!(Method::Signal.command(1), None);
    }

    #[test]
    fn list_sockets_output_names_the_socket_unit() {
        // The columns systemctl prints (LISTEN, UNIT, ACTIVATES:
        // src/systemctl/systemctl-list-units.c); not run here, where no
        // systemd runs.
        let text = "\
/run/dbus/system_bus_socket dbus.socket                dbus.service
[::]:22                     ssh.socket                 ssh.service
0.0.0.0:631                 cups.socket                cups.service
[::]:631                    cups.socket                cups.service
/run/systemd/journal/stdout systemd-journald.socket    systemd-journald.service
";
        assert_eq!(socket_units(text, 22), vec!["ssh.socket"]);
        assert_eq!(socket_units(text, 631), vec!["cups.socket"]);
        assert!(socket_units(text, 80).is_empty());
        assert!(socket_units("", 22).is_empty());
    }
}
