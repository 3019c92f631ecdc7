//! Linux: sockets from sock_diag (or netstat2 when asked), owners from
//! /proc and pidfd_getfd, network namespaces, iptables/nft NAT rules.

use std::collections::BTreeSet;
use std::path::Path;

use super::Platform;
use crate::error::Error;
use crate::model::{OwnerGap, Socket};
use crate::sockets::names::{self, UserNames};
#[cfg(feature = "netstat2")]
use crate::sockets::netstat2;
use crate::sockets::options::{self, OptionsGap};
use crate::sockets::{DumpRequest, SOURCE_VARIABLE, SocketSource, containers, netlink, owners};
use crate::target::PortRange;
use crate::warning::{Warning, counted};
use crate::{elsewhere, netns};

pub struct Linux;

impl Platform for Linux {
    fn source_named(name: Option<&str>) -> Result<Box<dyn SocketSource>, Error> {
        match name {
            None | Some("" | "netlink") => Ok(Box::new(netlink::NetlinkSource)),
            #[cfg(feature = "netstat2")]
            Some("netstat2") => Ok(Box::<netstat2::Netstat2Source>::default()),
            #[cfg(not(feature = "netstat2"))]
            Some("netstat2") => Err(Error::Unsupported(format!(
                "{SOURCE_VARIABLE}=netstat2: this build has no netstat2 source; build with `--features netstat2`"
            ))),
            Some(other) => Err(Error::Unsupported(format!(
                "{SOURCE_VARIABLE}={other}: the sources are 'netlink' and 'netstat2'"
            ))),
        }
    }

    fn enter_netns(spec: &str) -> Result<(), Error> {
        netns::enter(spec)
    }

    fn current_netns() -> Option<String> {
        names::current_netns()
    }

    fn every_netns(
        source: &dyn SocketSource,
        request: &DumpRequest,
    ) -> Result<(Vec<Socket>, Vec<Warning>), Error> {
        Ok(dump_every_netns(source, request))
    }

    /// Entering other namespaces needs root.
    fn may_read_other_netns() -> bool {
        rustix::process::geteuid().is_root()
    }

    fn name_netns(sockets: &mut [Socket]) {
        if let Some(name) = sockets
            .first()
            .and_then(|s| s.netns.as_deref())
            .and_then(crate::netns::name_of)
        {
            for socket in sockets {
                socket.netns_name = Some(name.clone());
            }
        }
    }

    fn describe(sockets: &mut [Socket]) -> Vec<Warning> {
        names::attach_names(sockets, &mut UserNames::default());
        Self::describe_owners(sockets)
    }

    fn describe_owners(sockets: &mut [Socket]) -> Vec<Warning> {
        let mut users = UserNames::default();
        let scan = owners::attach_owners(sockets, Path::new("/proc"), &mut users);
        let option_gaps = options::attach_options(sockets);
        containers::attach_forwarding(sockets);

        let mut warnings = owner_warnings(sockets, &scan);
        warnings.extend(option_warnings(sockets, &option_gaps));
        warnings.sort();
        warnings
    }

    fn nat_rules(ports: &[PortRange]) -> Vec<String> {
        elsewhere::nat_rules(ports)
    }
}

fn owner_warnings(sockets: &[Socket], scan: &owners::OwnerScan) -> Vec<Warning> {
    let count = |gap| sockets.iter().filter(|s| s.owner_gap == Some(gap)).count();
    let mut warnings = Vec::new();
    if !scan.proc_readable && sockets.iter().any(|s| s.inode.is_some()) {
        warnings.push(Warning::gap(
            "proc_unreadable",
            "/proc is missing, unreadable or not the proc file system here (a container's odd mount?), so no socket's owner could be found; the sockets themselves come from the kernel and are all listed",
        ));
    }
    if let Some(mode) = &scan.hidepid
        && count(OwnerGap::Unreadable) > 0
    {
        warnings.push(Warning::gap(
            "proc_hidepid",
            format!(
                "/proc is mounted with hidepid={mode}: other users' processes are hidden from this user, and {} without a visible owner may belong to them; run as root to see every owner",
                counted(count(OwnerGap::Unreadable), "socket", "sockets"),
            ),
        ));
    }
    if scan.unreadable_processes > 0 {
        let uids: Vec<String> = scan.unreadable_uids.iter().map(u32::to_string).collect();
        let unowned = count(OwnerGap::Unreadable);
        warnings.push(Warning::gap(
            "owners_unreadable",
            format!(
                "{} (uid {}) could not be read; {} without a visible owner (or with owners of another uid only) may belong to them: run as root to see every owner",
                counted(scan.unreadable_processes, "process", "processes"),
                uids.join(", "),
                counted(unowned, "socket", "sockets"),
            ),
        ));
    }
    let hidden = count(OwnerGap::NotVisible);
    if hidden > 0 {
        warnings.push(Warning::gap(
            "owner_not_visible",
            format!(
                "{} held by no process visible here: the owner is in another PID namespace (a container) or the kernel holds it",
                counted(hidden, "socket is", "sockets are")
            ),
        ));
    }
    let kernel = count(OwnerGap::KernelOwned);
    if kernel > 0 {
        warnings.push(Warning::note(
            "kernel_owned",
            format!(
                "{} (TIME_WAIT or half-open) no process owns; the kernel keeps their SO_REUSEADDR/SO_REUSEPORT to itself",
                counted(kernel, "entry", "entries")
            ),
        ));
    }
    warnings
}

fn option_warnings(sockets: &[Socket], gaps: &[(usize, OptionsGap)]) -> Vec<Warning> {
    let reasons: BTreeSet<OptionsGap> = gaps
        .iter()
        .filter(|(index, gap)| *gap != OptionsGap::NoOwner && sockets.get(*index).is_some())
        .map(|(_, gap)| *gap)
        .collect();
    let unread = gaps
        .iter()
        .filter(|(_, gap)| *gap != OptionsGap::NoOwner)
        .count();
    if unread == 0 {
        return Vec::new();
    }
    let why: Vec<&str> = reasons
        .iter()
        .map(|gap| match gap {
            OptionsGap::PermissionDenied => {
                "duplicating the owner's descriptor was refused (root or ptrace rights over the owner are needed)"
            }
            OptionsGap::Unsupported => "this kernel does not offer pidfd_getfd(2) here",
            OptionsGap::Vanished | OptionsGap::NoOwner => "the owner closed the socket while it was read",
        })
        .collect();
    vec![Warning::gap(
        "options_unreadable",
        format!(
            "SO_REUSEADDR/SO_REUSEPORT could not be read for {}: {}",
            counted(unread, "socket", "sockets"),
            why.join("; ")
        ),
    )]
}

/// The sockets of every network namespace a process here is in, each
/// named in its own namespace (devices, netns) on a thread of its own.
fn dump_every_netns(
    source: &dyn SocketSource,
    request: &DumpRequest,
) -> (Vec<Socket>, Vec<Warning>) {
    if !crate::sockets::owners::proc_mounted() {
        // The namespaces are found through /proc/PID/ns/net: without /proc
        // only this one can be searched, and that is said, not implied.
        let warning = Warning::gap(
            "netns_unreadable",
            "/proc is missing or not the proc file system here, so no other network namespace could be found: only this one was searched",
        );
        return match source.dump(request) {
            Ok(mut found) => {
                names::attach_names(&mut found, &mut names::UserNames::default());
                (found, vec![warning])
            }
            Err(error) => (
                Vec::new(),
                vec![
                    warning,
                    Warning::gap("netns_unreadable", format!("this namespace: {error}")),
                ],
            ),
        };
    }
    let (namespaces, hidden) = netns::all();
    let mut sockets = Vec::new();
    let mut unreadable = Vec::new();
    for namespace in &namespaces {
        let dumped = netns::run_in(namespace, || {
            source.dump(request).map(|mut found| {
                names::attach_names(&mut found, &mut names::UserNames::default());
                found
            })
        });
        match dumped {
            Ok(Ok(mut found)) => {
                for socket in &mut found {
                    socket.netns_name.clone_from(&namespace.name);
                }
                sockets.extend(found);
            }
            Ok(Err(error)) => unreadable.push(format!("{}: {error}", namespace.id)),
            Err(error) => unreadable.push(format!("{}: {error}", namespace.id)),
        }
    }
    let mut warnings = Vec::new();
    if !unreadable.is_empty() {
        warnings.push(Warning::gap(
            "netns_unreadable",
            format!(
                "network namespaces that could not be read: {}",
                unreadable.join("; ")
            ),
        ));
    }
    if hidden > 0 {
        warnings.push(Warning::gap(
            "netns_hidden",
            hidden_netns_message(hidden, rustix::process::geteuid().is_root()),
        ));
    }
    (sockets, warnings)
}

/// Why some processes' namespaces were not seen: another user's, unless
/// portcheck is root already, when root cannot be the cure (the process
/// ended during the scan, or the kernel hides its namespace link).
fn hidden_netns_message(hidden: usize, root: bool) -> String {
    let processes = counted(hidden, "process", "processes");
    if root {
        format!(
            "the network namespace of {processes} could not be seen even as root (it ended during the scan, or the kernel does not show its /proc/PID/ns/net)"
        )
    } else {
        format!(
            "the network namespace of {processes} could not be seen (run as root to see every namespace)"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_is_not_told_to_run_as_root() {
        assert!(hidden_netns_message(2, false).contains("run as root"));
        let as_root = hidden_netns_message(2, true);
        assert!(!as_root.contains("run as root"), "{as_root}");
        assert!(as_root.contains("even as root"), "{as_root}");
    }
}
