//! What `stop` would do, decided from the sockets `who` found and facts
//! about their holders: which process (or unit, or container) to stop, in
//! what order, and what is refused. Pure: no /proc, no signal.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::method::{self, ManagerFacts, Method, Refusal};
use crate::model::{Container, OwnerGap, Process, Socket, State, endpoint};
use crate::text::Text;

/// What /proc says about a holder beyond what `who` lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcFacts {
    pub ppid: Option<u32>,
    /// Real and saved uid: kill(2) lets a sender whose real or effective
    /// uid is one of them signal the process (signal.c, kill_ok_by_cred).
    pub real_uid: Option<u32>,
    pub saved_uid: Option<u32>,
    /// The systemd cgroup path (see [`method::systemd_cgroup`]).
    pub cgroup: Option<String>,
    /// The parent is pid 1 systemd or a `systemd --user` manager.
    pub parent_is_manager: bool,
}

/// Who portcheck is, for the refusals.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub our_pid: u32,
    pub real_uid: u32,
    pub effective_uid: u32,
    /// Root may signal any process (CAP_KILL).
    pub privileged: bool,
    /// portcheck's own ancestors (its shell, its terminal, its init): never
    /// stopped, or portcheck would end itself and the session it runs in.
    pub ancestors: BTreeSet<u32>,
    pub init_is_systemd: bool,
}

/// A socket a step frees: checked again through the pidfd before a signal.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct HeldSocket {
    pub inode: u64,
    /// The holder's descriptors of it.
    pub fds: Vec<u32>,
    /// `tcp 127.0.0.1:8000 LISTEN`.
    pub shown: String,
    pub port: u16,
}

/// One thing to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub pid: u32,
    pub name: Option<Text>,
    pub cmdline: Arc<[Text]>,
    pub method: Method,
    /// The sockets this holder holds.
    pub sockets: Vec<HeldSocket>,
    /// Other holders that go with it: a master's workers, the other
    /// processes of a unit or container. They are not signalled.
    pub covers: Vec<u32>,
    /// Why this method, in words.
    pub why: String,
}

impl Step {
    pub fn port(&self) -> u16 {
        self.sockets.first().map_or(0, |s| s.port)
    }
}

/// A holder (or a socket) left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Refused {
    pub pid: Option<u32>,
    pub name: Option<Text>,
    pub code: &'static str,
    pub message: String,
    /// The port, for a socket-activation refusal turned into a step.
    pub port: u16,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
    pub refused: Vec<Refused>,
}

/// The plan for `sockets` (the sockets `who` lists for the targets: those
/// that hold the port for binding) and `time_wait` (how many TIME_WAIT
/// entries matched).
pub fn plan(
    sockets: &[Socket],
    time_wait: usize,
    facts: &BTreeMap<u32, ProcFacts>,
    context: &Context,
) -> Plan {
    let mut plan = Plan::default();
    if sockets.is_empty() && time_wait > 0 {
        plan.refused.push(Refused {
            pid: None,
            name: None,
            code: "kernel_owned",
            message: format!(
                "only {time_wait} TIME_WAIT entr{} left: the kernel holds {}, no process, so there is nothing to stop; each ends at most 60 s after its connection closed (Linux's fixed TCP_TIMEWAIT_LEN), and a server that sets SO_REUSEADDR binds beside it now",
                if time_wait == 1 { "y is" } else { "ies are" },
                if time_wait == 1 { "it" } else { "them" },
            ),
            port: 0,
        });
    }
    let holders = holders(sockets, context, &mut plan.refused);
    let owner_of = masters(&holders, facts);
    plan.steps = steps(&holders, &owner_of, facts, context, &mut plan.refused);
    for step in &mut plan.steps {
        step.covers.sort_unstable();
        step.covers.dedup();
        step.sockets.sort();
        step.sockets.dedup();
    }
    plan.refused.sort();
    plan.refused.dedup();
    plan
}

/// Every holder, with the sockets it holds.
type Holders<'a> = BTreeMap<u32, (&'a Process, Vec<HeldSocket>)>;

/// The holders of `sockets`; a socket whose holders are (partly) unseen
/// is refused.
fn holders<'a>(
    sockets: &'a [Socket],
    context: &Context,
    refused: &mut Vec<Refused>,
) -> Holders<'a> {
    let mut holders: Holders<'a> = BTreeMap::new();
    for socket in sockets {
        let place = format!(
            "{} {} {}",
            socket.protocol.name(),
            endpoint(
                socket.local_address,
                socket.local_port,
                socket.interface.as_deref()
            ),
            socket.state
        );
        if socket.processes.is_empty() {
            refused.push(unseen_owner(socket, &place, context));
            continue;
        }
        if socket.owner_gap == Some(OwnerGap::Unreadable) {
            // Some owners are listed, others may be hidden: stopping the
            // visible ones might not free the port, and says nothing wrong.
            refused.push(unseen_owner(socket, &place, context));
        }
        for process in &socket.processes {
            let entry = holders
                .entry(process.pid)
                .or_insert_with(|| (process, Vec::new()));
            if let Some(inode) = socket.inode {
                entry.1.push(HeldSocket {
                    inode,
                    fds: process.fds.clone(),
                    shown: place.clone(),
                    port: socket.local_port,
                });
            }
        }
    }
    holders
}

/// Each holder's master: a holder whose ancestor holds one of the same
/// sockets is that ancestor's (a worker of nginx, Apache, gunicorn or
/// PHP-FPM): the master is signalled and stops its workers itself.
fn masters(holders: &Holders<'_>, facts: &BTreeMap<u32, ProcFacts>) -> BTreeMap<u32, u32> {
    let inodes = |pid: u32| -> BTreeSet<u64> {
        holders
            .get(&pid)
            .map(|(_, held)| held.iter().map(|s| s.inode).collect())
            .unwrap_or_default()
    };
    let mut owner_of: BTreeMap<u32, u32> = BTreeMap::new();
    for &pid in holders.keys() {
        let mine = inodes(pid);
        let mut top = pid;
        let mut seen = BTreeSet::from([pid]);
        while let Some(parent) = facts.get(&top).and_then(|f| f.ppid) {
            if !seen.insert(parent) || !holders.contains_key(&parent) {
                break;
            }
            if inodes(parent).is_disjoint(&mine) {
                break;
            }
            top = parent;
        }
        owner_of.insert(pid, top);
    }
    owner_of
}

/// The steps by method: one per signalled master, one per unit, one per
/// container; and the holders refused.
fn steps(
    holders: &Holders<'_>,
    owner_of: &BTreeMap<u32, u32>,
    facts: &BTreeMap<u32, ProcFacts>,
    context: &Context,
    refused: &mut Vec<Refused>,
) -> Vec<Step> {
    let mut steps: BTreeMap<(Method, u32), Step> = BTreeMap::new();
    for (&pid, (process, held)) in holders {
        let top = owner_of.get(&pid).copied().unwrap_or(pid);
        if top != pid {
            continue;
        }
        let process_facts = facts.get(&pid).cloned().unwrap_or_default();
        let covered: Vec<u32> = owner_of
            .iter()
            .filter(|&(&worker, &master)| master == pid && worker != pid)
            .map(|(&worker, _)| worker)
            .collect();
        let name = process.name.as_ref().map_or(&[][..], Text::bytes);
        let refuse = |code, message: String| Refused {
            pid: Some(pid),
            name: process.name.clone(),
            code,
            message,
            port: held.first().map_or(0, |s| s.port),
        };
        // pid 1 is everyone's ancestor: `method::decide` says more about it.
        if pid == context.our_pid || (pid != 1 && context.ancestors.contains(&pid)) {
            refused.push(refuse(
                "portcheck_ancestor",
                format!(
                    "pid {pid} ({}) is portcheck itself or one of its ancestors (the shell or terminal it runs in): stopping it would end this session",
                    shown(process)
                ),
            ));
            continue;
        }
        let decided = method::decide(&ManagerFacts {
            pid,
            name,
            cgroup: process_facts.cgroup.as_deref(),
            container: process.container.as_ref(),
            init_is_systemd: context.init_is_systemd,
            parent_is_manager: process_facts.parent_is_manager,
            our_uid: context.effective_uid,
        });
        let method = match decided {
            Ok(method) => method,
            Err(Refusal { code, message }) => {
                refused.push(refuse(code, message));
                continue;
            }
        };
        if method == Method::Signal && !may_signal(context, &process_facts) {
            let owner = process_facts
                .real_uid
                .map_or_else(|| "another user".to_owned(), |uid| format!("uid {uid}"));
            refused.push(refuse(
                "not_permitted",
                format!(
                    "pid {pid} ({}) runs as {owner}, and portcheck runs as uid {}, which may not signal it; run portcheck as that user (portcheck never raises its own privileges)",
                    shown(process),
                    context.effective_uid
                ),
            ));
            continue;
        }
        let why = why(&method, process, &covered, process.container.as_ref());
        let key_pid = if method == Method::Signal { pid } else { 0 };
        let step = steps
            .entry((method.clone(), key_pid))
            .or_insert_with(|| Step {
                pid,
                name: process.name.clone(),
                cmdline: Arc::clone(&process.cmdline),
                method,
                sockets: Vec::new(),
                covers: Vec::new(),
                why,
            });
        if step.pid != pid {
            // Another process of the same unit or container.
            step.covers.push(pid);
        }
        step.covers.extend(covered);
        step.sockets.extend(held.iter().cloned());
    }
    steps.into_values().collect()
}

fn shown(process: &Process) -> String {
    process.shown_name().unwrap_or_else(|| "?".into())
}

fn unseen_owner(socket: &Socket, place: &str, context: &Context) -> Refused {
    // The kernel says whose socket it is: another user's processes are not
    // portcheck's to signal, seen or not.
    if let Some(uid) = socket
        .uid
        .filter(|&uid| !context.privileged && uid != context.effective_uid)
    {
        return Refused {
            pid: None,
            name: None,
            code: "not_permitted",
            message: format!(
                "{place} belongs to uid {uid}{}, and portcheck runs as uid {}: it may neither see nor signal that user's processes; run portcheck as that user or as root (portcheck never raises its own privileges)",
                socket
                    .user
                    .as_ref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default(),
                context.effective_uid
            ),
            port: socket.local_port,
        };
    }
    let why = match socket.owner_gap {
        Some(OwnerGap::Unreadable) => {
            "some processes could not be read (other users'): run as root to see every owner"
        }
        Some(OwnerGap::NoProc) => "/proc is missing or not the proc file system here",
        Some(OwnerGap::KernelOwned) => "the kernel holds it, no process",
        _ if socket.state == State::TimeWait => "the kernel holds it, no process",
        _ => {
            "no process visible here holds it: the owner is in another PID namespace (a container) or the kernel holds it"
        }
    };
    Refused {
        pid: None,
        name: None,
        code: "owner_unseen",
        message: format!("{place}: {why}; nothing is stopped while a holder is unseen"),
        port: socket.local_port,
    }
}

/// Whether kill(2) would let portcheck signal a process: root, or its real
/// or effective uid is the target's real or saved uid (kill_ok_by_cred in
/// the kernel's signal.c). Unknown uids are not assumed to match.
pub fn may_signal(context: &Context, facts: &ProcFacts) -> bool {
    if context.privileged {
        return true;
    }
    let ours = [context.real_uid, context.effective_uid];
    [facts.real_uid, facts.saved_uid]
        .into_iter()
        .flatten()
        .any(|uid| ours.contains(&uid))
}

fn why(
    method: &Method,
    process: &Process,
    covered: &[u32],
    container: Option<&Container>,
) -> String {
    let workers = if covered.is_empty() {
        String::new()
    } else {
        format!(
            "; it holds the socket with {} (pid {}) of its own, which it stops itself",
            crate::warning::counted(covered.len(), "child", "children"),
            covered
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    match method {
        Method::Signal => format!("{} holds it{workers}", shown(process)),
        Method::Systemctl { unit, user } => format!(
            "{} runs in {unit} of the systemd {} manager, which would restart it after a signal{workers}",
            shown(process),
            if *user { "user" } else { "system" }
        ),
        Method::Container { runtime, id: None } => format!(
            "{} forwards a port published by a {} container: the container is stopped, never the proxy",
            shown(process),
            runtime.program()
        ),
        Method::Container {
            runtime,
            id: Some(id),
        } => format!(
            "{} runs in {} container {}{workers}",
            shown(process),
            runtime.program(),
            container.map_or(id.as_str(), |c| c.id.get(..12).unwrap_or(&c.id))
        ),
    }
}

/// A socket-activation refusal (pid 1 holds the port) made a step once the
/// `.socket` unit is known from `systemctl list-sockets`: exactly one unit
/// on the port, or the refusal stands, saying why.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub fn socket_activation(
    refused: &Refused,
    list_sockets: Result<&str, &str>,
) -> Result<Step, Refused> {
    let units = match list_sockets {
        Ok(text) => method::socket_units(text, refused.port),
        Err(error) => {
            return Err(Refused {
                message: format!(
                    "{}; but `systemctl list-sockets` failed ({error}), so its .socket unit is not known",
                    refused.message
                ),
                ..refused.clone()
            });
        }
    };
    match units.as_slice() {
        [unit] => Ok(Step {
            pid: refused.pid.unwrap_or(1),
            name: refused.name.clone(),
            cmdline: Arc::from(Vec::new()),
            method: Method::Systemctl {
                unit: unit.clone(),
                user: false,
            },
            sockets: Vec::new(),
            covers: Vec::new(),
            why: format!(
                "pid 1 (systemd) listens for {unit} (socket activation): the socket unit is stopped"
            ),
        }),
        [] => Err(Refused {
            message: format!(
                "{}; but no .socket unit lists port {}",
                refused.message, refused.port
            ),
            ..refused.clone()
        }),
        many => Err(Refused {
            message: format!(
                "{}; several .socket units list port {} ({}): stop the one you mean with systemctl",
                refused.message,
                refused.port,
                many.join(", ")
            ),
            ..refused.clone()
        }),
    }
}

/// A holder that appeared after the old ones exited, and who started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Respawn {
    pub pid: u32,
    pub name: Option<Text>,
    pub parent_pid: Option<u32>,
    pub parent_name: Option<Text>,
    pub parent_cmdline: Arc<[Text]>,
    /// Whether the parent is the stopped holder's parent too: it restarts
    /// what exits (a shell loop, nodemon, a supervisor).
    pub same_parent: bool,
}

/// The new holders among `now` (pid, parent pid) that were not among the
/// `stopped` holders, with whether the parent is a stopped holder's parent.
#[cfg_attr(
    not(target_os = "linux"),
    allow(dead_code, reason = "used by the Linux platform only")
)]
pub fn respawned(
    stopped_parents: &BTreeSet<u32>,
    stopped: &BTreeSet<u32>,
    now: &[(u32, Option<u32>)],
) -> Vec<(u32, Option<u32>, bool)> {
    let mut found: Vec<(u32, Option<u32>, bool)> = now
        .iter()
        .filter(|(pid, _)| !stopped.contains(pid))
        .map(|&(pid, parent)| {
            (
                pid,
                parent,
                parent.is_some_and(|p| stopped_parents.contains(&p)),
            )
        })
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Protocol;

    fn process(pid: u32, name: &str) -> Process {
        Process {
            pid,
            name: Some(Text::from(name)),
            cmdline: Arc::from(vec![Text::from(name)]),
            fds: vec![3],
            uid: Some(0),
            user: None,
            container: None,
        }
    }

    fn listening(port: u16, inode: u64, owners: Vec<Process>) -> Socket {
        let mut socket = Socket::bare(
            Protocol::Tcp,
            "0.0.0.0".parse().expect("address"),
            port,
            State::Listen,
        );
        socket.inode = Some(inode);
        socket.processes = owners;
        socket
    }

    fn facts(entries: &[(u32, u32, u32)]) -> BTreeMap<u32, ProcFacts> {
        entries
            .iter()
            .map(|&(pid, ppid, uid)| {
                (
                    pid,
                    ProcFacts {
                        ppid: Some(ppid),
                        real_uid: Some(uid),
                        saved_uid: Some(uid),
                        cgroup: Some("/".into()),
                        parent_is_manager: ppid == 1,
                    },
                )
            })
            .collect()
    }

    fn root() -> Context {
        Context {
            our_pid: 9000,
            real_uid: 0,
            effective_uid: 0,
            privileged: true,
            ancestors: BTreeSet::from([8999, 1]),
            init_is_systemd: false,
        }
    }

    #[test]
    fn a_master_is_signalled_for_its_workers() {
        let sockets = [listening(
            80,
            7,
            vec![
                process(100, "nginx"),
                process(101, "nginx"),
                process(102, "nginx"),
            ],
        )];
        let plan = plan(
            &sockets,
            0,
            &facts(&[(100, 50, 0), (101, 100, 33), (102, 100, 33)]),
            &root(),
        );
        assert!(plan.refused.is_empty(), "{plan:?}");
        let [step] = plan.steps.as_slice() else {
            panic!("one step: {plan:?}")
        };
        assert_eq!((step.pid, step.method.clone()), (100, Method::Signal));
        assert_eq!(step.covers, vec![101, 102]);
    }

    #[test]
    fn unrelated_holders_of_one_socket_are_each_signalled() {
        // A socket passed to a process that is not a child (SCM_RIGHTS).
        let sockets = [listening(80, 7, vec![process(100, "a"), process(200, "b")])];
        let plan = plan(&sockets, 0, &facts(&[(100, 50, 0), (200, 60, 0)]), &root());
        let pids: Vec<u32> = plan.steps.iter().map(|s| s.pid).collect();
        assert_eq!(pids, vec![100, 200]);
    }

    #[test]
    fn a_child_holding_another_socket_is_its_own_step() {
        let sockets = [
            listening(80, 7, vec![process(100, "parent")]),
            listening(81, 8, vec![process(101, "child")]),
        ];
        let plan = plan(&sockets, 0, &facts(&[(100, 50, 0), (101, 100, 0)]), &root());
        assert_eq!(plan.steps.len(), 2);
    }

    #[test]
    fn refusals_say_why() {
        let mut context = root();
        context.privileged = false;
        context.real_uid = 65534;
        context.effective_uid = 65534;
        let sockets = [
            listening(80, 7, vec![process(100, "roots")]),
            listening(81, 8, vec![process(8999, "bash")]),
            listening(82, 9, vec![process(1, "init")]),
            listening(83, 10, Vec::new()),
            listening(84, 11, vec![process(300, "mine")]),
        ];
        let plan = plan(
            &sockets,
            0,
            &facts(&[
                (100, 50, 0),
                (8999, 1, 65534),
                (1, 0, 0),
                (300, 8999, 65534),
            ]),
            &context,
        );
        let codes: Vec<(Option<u32>, &str)> =
            plan.refused.iter().map(|r| (r.pid, r.code)).collect();
        assert_eq!(
            codes,
            vec![
                (None, "owner_unseen"),
                (Some(1), "pid_1"),
                (Some(100), "not_permitted"),
                (Some(8999), "portcheck_ancestor"),
            ]
        );
        let pids: Vec<u32> = plan.steps.iter().map(|s| s.pid).collect();
        assert_eq!(pids, vec![300]);
    }

    #[test]
    fn time_wait_alone_is_nothing_to_stop() {
        let plan = plan(&[], 2, &BTreeMap::new(), &root());
        assert_eq!(plan.refused.len(), 1);
        assert_eq!(plan.refused[0].code, "kernel_owned");
        assert!(plan.refused[0].message.contains("SO_REUSEADDR"));
        assert!(plan.steps.is_empty());
        assert_eq!(plan_of_nothing(), Plan::default());
    }

    fn plan_of_nothing() -> Plan {
        plan(&[], 0, &BTreeMap::new(), &root())
    }

    #[test]
    fn processes_of_one_unit_are_one_systemctl_step() {
        let sockets = [
            listening(80, 7, vec![process(100, "gunicorn")]),
            listening(81, 8, vec![process(200, "helper")]),
        ];
        let mut facts = facts(&[(100, 1, 0), (200, 1, 0)]);
        for f in facts.values_mut() {
            f.cgroup = Some("/system.slice/app.service".into());
        }
        let plan = plan(&sockets, 0, &facts, &root());
        let [step] = plan.steps.as_slice() else {
            panic!("one step: {plan:?}")
        };
        assert_eq!(
            step.method,
            Method::Systemctl {
                unit: "app.service".into(),
                user: false
            }
        );
        assert_eq!(step.covers, vec![200]);
        assert_eq!(step.sockets.len(), 2);
    }

    #[test]
    fn kill_permission_follows_the_kernel() {
        let user = Context {
            real_uid: 1000,
            effective_uid: 1000,
            ..Context::default()
        };
        let facts = |real, saved| ProcFacts {
            real_uid: Some(real),
            saved_uid: Some(saved),
            ..ProcFacts::default()
        };
        assert!(may_signal(&user, &facts(1000, 1000)));
        // A setuid program started by this user keeps its real uid.
        assert!(may_signal(&user, &facts(1000, 0)));
        assert!(!may_signal(&user, &facts(0, 0)));
        assert!(!may_signal(&user, &ProcFacts::default()));
    }

    #[test]
    fn socket_activation_finds_its_unit_or_says_why_not() {
        let refused = Refused {
            pid: Some(1),
            name: Some(Text::from("systemd")),
            code: "socket_activation",
            message: "pid 1 holds it".into(),
            port: 22,
        };
        let step =
            socket_activation(&refused, Ok("[::]:22 ssh.socket ssh.service\n")).expect("a step");
        assert_eq!(
            step.method.command(22).map(|c| c.join(" ")).as_deref(),
            Some("systemctl stop ssh.socket")
        );
        let offline = socket_activation(&refused, Err("System has not been booted with systemd"));
        assert!(offline.is_err_and(|r| r.message.contains("not known")));
        assert!(socket_activation(&refused, Ok("")).is_err());
    }

    #[test]
    fn respawns_name_the_parent_that_restarts() {
        let found = respawned(
            &BTreeSet::from([50]),
            &BTreeSet::from([100]),
            &[(100, Some(50)), (120, Some(50)), (130, Some(77))],
        );
        assert_eq!(found, vec![(120, Some(50), true), (130, Some(77), false)]);
    }
}
