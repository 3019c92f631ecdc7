//! Which processes hold a socket: one pass over /proc/*/fd mapping socket
//! inodes to every (pid, fd), then name, command line and user read for the
//! owners only.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use crate::model::{OwnerGap, Process, Socket};
use crate::sockets::names::UserNames;

/// What the scan could not see, for warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OwnerScan {
    /// Processes whose descriptors could not be listed (permission).
    pub unreadable_processes: usize,
    /// The uids of those processes.
    pub unreadable_uids: BTreeSet<u32>,
    /// Whether /proc could be listed at all.
    pub proc_readable: bool,
}

/// Fills `processes` (and `owner_gap` where none is found) for every socket
/// with an inode. `proc_root` is normally `/proc`.
pub fn attach_owners(sockets: &mut [Socket], proc_root: &Path, users: &mut UserNames) -> OwnerScan {
    let wanted: HashSet<u64> = sockets.iter().filter_map(|s| s.inode).collect();
    let mut scan = OwnerScan::default();
    let mut holders: HashMap<u64, BTreeMap<u32, Vec<u32>>> = HashMap::new();
    if !wanted.is_empty() {
        scan_fds(proc_root, &wanted, &mut holders, &mut scan);
    }

    let mut details: HashMap<u32, ProcessDetails> = HashMap::new();
    for socket in sockets.iter_mut() {
        let Some(inode) = socket.inode else {
            socket.owner_gap = Some(OwnerGap::KernelOwned);
            continue;
        };
        let Some(by_pid) = holders.get(&inode) else {
            socket.owner_gap = Some(if scan.unreadable_processes > 0 || !scan.proc_readable {
                OwnerGap::Unreadable
            } else {
                OwnerGap::NotVisible
            });
            continue;
        };
        socket.processes = by_pid
            .iter()
            .map(|(&pid, fds)| {
                let info = details
                    .entry(pid)
                    .or_insert_with(|| ProcessDetails::read(proc_root, pid));
                Process {
                    pid,
                    name: info.name.clone(),
                    cmdline: info.cmdline.clone(),
                    fds: fds.clone(),
                    uid: info.uid,
                    user: info.uid.and_then(|uid| users.name(uid)),
                    container: None,
                }
            })
            .collect();
        socket.owner_gap = None;
    }
    scan
}

/// The one pass over every process's descriptors.
fn scan_fds(
    proc_root: &Path,
    wanted: &HashSet<u64>,
    holders: &mut HashMap<u64, BTreeMap<u32, Vec<u32>>>,
    scan: &mut OwnerScan,
) {
    let Ok(entries) = fs::read_dir(proc_root) else {
        return;
    };
    scan.proc_readable = true;
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok())
        else {
            continue;
        };
        let fd_dir = entry.path().join("fd");
        let fds = match fs::read_dir(&fd_dir) {
            Ok(fds) => fds,
            Err(error) if matches!(error.kind(), ErrorKind::PermissionDenied) => {
                scan.unreadable_processes += 1;
                if let Ok(meta) = fs::metadata(entry.path()) {
                    scan.unreadable_uids
                        .insert(std::os::unix::fs::MetadataExt::uid(&meta));
                }
                continue;
            }
            // The process exited between listing /proc and reading it.
            Err(_) => continue,
        };
        for fd_entry in fds.flatten() {
            let Ok(link) = fs::read_link(fd_entry.path()) else {
                continue;
            };
            let Some(inode) = link.to_str().and_then(socket_inode) else {
                continue;
            };
            if !wanted.contains(&inode) {
                continue;
            }
            let Some(fd) = fd_entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            holders
                .entry(inode)
                .or_default()
                .entry(pid)
                .or_default()
                .push(fd);
        }
    }
    for by_pid in holders.values_mut() {
        for fds in by_pid.values_mut() {
            fds.sort_unstable();
        }
    }
}

/// The inode in a descriptor link of the form `socket:[12345]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

#[derive(Debug, Default, Clone)]
struct ProcessDetails {
    name: Option<String>,
    cmdline: Vec<String>,
    uid: Option<u32>,
}

impl ProcessDetails {
    fn read(proc_root: &Path, pid: u32) -> ProcessDetails {
        let dir = proc_root.join(pid.to_string());
        let name = fs::read(dir.join("comm")).ok().map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .trim_end_matches('\n')
                .to_owned()
        });
        let cmdline = fs::read(dir.join("cmdline"))
            .map(|bytes| parse_cmdline(&bytes))
            .unwrap_or_default();
        let uid = fs::read_to_string(dir.join("status"))
            .ok()
            .and_then(|status| effective_uid(&status));
        ProcessDetails { name, cmdline, uid }
    }
}

/// Splits /proc/PID/cmdline at NULs. A process may rewrite its command line
/// (nginx, postgres) into one string without NULs; that stays one argument.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    let trimmed = bytes.strip_suffix(b"\0").unwrap_or(bytes);
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed
        .split(|&b| b == 0)
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The effective uid from /proc/PID/status (`Uid: real effective saved fs`).
pub fn effective_uid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|uid| uid.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_give_inodes() {
        assert_eq!(socket_inode("socket:[5438]"), Some(5438));
        assert_eq!(socket_inode("pipe:[5438]"), None);
        assert_eq!(socket_inode("socket:[]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn cmdline_splits_on_nul_and_keeps_rewritten_titles() {
        assert_eq!(
            parse_cmdline(b"node\0server.js\0"),
            vec!["node", "server.js"]
        );
        assert_eq!(
            parse_cmdline(b"nginx: master process /usr/sbin/nginx"),
            vec!["nginx: master process /usr/sbin/nginx"]
        );
        assert!(parse_cmdline(b"").is_empty());
        assert_eq!(parse_cmdline(b"a\xff\0"), vec!["a\u{fffd}"]);
    }

    #[test]
    fn status_gives_the_effective_uid() {
        let status = "Name:\tx\nUid:\t1000\t1001\t1000\t1000\nGid:\t1\t1\t1\t1\n";
        assert_eq!(effective_uid(status), Some(1001));
        assert_eq!(effective_uid("Name: x\n"), None);
    }
}
