//! The /proc facts `stop` decides on: a holder's parent, uids and systemd
//! cgroup; portcheck's own ancestors.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::method::systemd_cgroup;
use super::plan::{Context, ProcFacts};
use crate::text::Text;

/// A process's parent, uids and cgroup, from /proc/PID/status and
/// /proc/PID/cgroup; `None` when it has exited.
pub fn facts(pid: u32) -> Option<ProcFacts> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .map(str::trim)
    };
    let uids: Vec<u32> = field("Uid:")
        .map(|ids| {
            ids.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
        .ok()
        .and_then(|text| systemd_cgroup(&text).map(str::to_owned));
    let parent = field("PPid:").and_then(|n| n.parse().ok());
    Some(ProcFacts {
        ppid: parent,
        parent_is_manager: parent.is_some_and(is_systemd_manager),
        real_uid: uids.first().copied(),
        saved_uid: uids.get(2).copied(),
        cgroup,
    })
}

/// Whether `pid` is a systemd manager: pid 1 named systemd, or a user's
/// `systemd --user` (named systemd, in `user@UID.service/init.scope`).
fn is_systemd_manager(pid: u32) -> bool {
    let named_systemd =
        std::fs::read(format!("/proc/{pid}/comm")).is_ok_and(|name| name == b"systemd\n");
    if !named_systemd {
        return false;
    }
    pid == 1
        || std::fs::read_to_string(format!("/proc/{pid}/cgroup")).is_ok_and(|text| {
            systemd_cgroup(&text).is_some_and(|path| {
                matches!(
                    super::method::unit_of(path),
                    Some(super::method::UnitPlace::UserManager { .. })
                )
            })
        })
}

/// The name and command line of a process (for a parent that restarts a
/// holder, which `who` did not list).
pub fn describe(pid: u32) -> (Option<Text>, Arc<[Text]>) {
    let name = std::fs::read(format!("/proc/{pid}/comm"))
        .ok()
        .map(|bytes| Text::from_bytes(bytes.strip_suffix(b"\n").unwrap_or(&bytes)));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|bytes| crate::sockets::owners::parse_cmdline(&bytes))
        .unwrap_or_default();
    (name, cmdline.into())
}

/// Who portcheck is: its pid, uids, ancestors, and whether pid 1 here is
/// systemd.
pub fn context() -> Context {
    let our_pid = std::process::id();
    let mut ancestors = BTreeSet::new();
    let mut pid = our_pid;
    while let Some(parent) = facts(pid).and_then(|f| f.ppid) {
        if parent == 0 || !ancestors.insert(parent) {
            break;
        }
        pid = parent;
    }
    let effective_uid = rustix::process::geteuid().as_raw();
    Context {
        our_pid,
        real_uid: rustix::process::getuid().as_raw(),
        effective_uid,
        privileged: effective_uid == 0,
        ancestors,
        init_is_systemd: std::fs::read("/proc/1/comm").is_ok_and(|name| name == b"systemd\n"),
    }
}
