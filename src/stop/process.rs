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
    Some(ProcFacts {
        ppid: field("PPid:").and_then(|n| n.parse().ok()),
        real_uid: uids.first().copied(),
        saved_uid: uids.get(2).copied(),
        cgroup,
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
