//! Reading the live socket table and describing each socket: owners,
//! options and names.
//!
//! A [`SocketSource`] only lists sockets; everything that /proc and the
//! owners' descriptors add is done here, the same for every source.

mod bytecode;
pub mod containers;
pub mod names;
pub mod netlink;
pub mod options;
pub mod owners;

use std::collections::BTreeSet;
use std::path::Path;

use crate::error::Error;
use crate::model::{Family, OwnerGap, Protocol, Socket};
use crate::target::PortRange;
use crate::warning::{Warning, counted};
use names::UserNames;
use options::OptionsGap;

/// What to dump. Empty `ports` means every port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpRequest {
    pub protocols: Vec<Protocol>,
    pub families: Vec<Family>,
    pub ports: Vec<PortRange>,
}

/// The platform boundary: a source lists the sockets of the current network
/// namespace with protocol, addresses, state and whatever else it knows,
/// leaving what it cannot know as `None`.
pub trait SocketSource: Sync {
    fn name(&self) -> &'static str;
    fn dump(&self, request: &DumpRequest) -> Result<Vec<Socket>, Error>;
}

/// The source for this platform, or the one `PORTCHECK_SOCKET_SOURCE` names.
pub fn source_from_env() -> Result<Box<dyn SocketSource>, Error> {
    match std::env::var("PORTCHECK_SOCKET_SOURCE").ok().as_deref() {
        None | Some("" | "netlink") => Ok(Box::new(netlink::NetlinkSource)),
        Some(other) => Err(Error::Unsupported(format!(
            "PORTCHECK_SOCKET_SOURCE={other}: this build knows only 'netlink'"
        ))),
    }
}

/// The sockets of `protocols` on `ports` (both families) that `keep`
/// accepts, described (owners, options, names) and in display order: the
/// table `try` and `resolve` decide against.
pub fn described_table(
    source: &dyn SocketSource,
    protocols: Vec<Protocol>,
    ports: Vec<PortRange>,
    keep: impl Fn(&Socket) -> bool,
) -> Result<(Vec<Socket>, Vec<Warning>), Error> {
    if ports.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let request = DumpRequest {
        protocols,
        families: Family::ALL.to_vec(),
        ports,
    };
    let mut table: Vec<Socket> = source
        .dump(&request)?
        .into_iter()
        .filter(|s| keep(s))
        .collect();
    let warnings = describe(&mut table);
    table.sort_by(crate::model::display_order);
    Ok((table, warnings))
}

/// Fills owners, SO_REUSEADDR/SO_REUSEPORT and names of `sockets`, and says
/// what could not be seen.
pub fn describe(sockets: &mut [Socket]) -> Vec<Warning> {
    names::attach_names(sockets, &mut UserNames::default());
    describe_owners(sockets)
}

/// Owners, options and containers, for sockets whose names were filled in
/// their own network namespace (`--all-netns` reads each namespace on a
/// thread of its own, then finds the owners of all of them in one pass).
pub fn describe_owners(sockets: &mut [Socket]) -> Vec<Warning> {
    let mut users = UserNames::default();
    let scan = owners::attach_owners(sockets, Path::new("/proc"), &mut users);
    let option_gaps = options::attach_options(sockets);
    containers::attach_containers(sockets);

    let mut warnings = owner_warnings(sockets, &scan);
    warnings.extend(option_warnings(sockets, &option_gaps));
    warnings.sort();
    warnings
}

fn owner_warnings(sockets: &[Socket], scan: &owners::OwnerScan) -> Vec<Warning> {
    let count = |gap| sockets.iter().filter(|s| s.owner_gap == Some(gap)).count();
    let mut warnings = Vec::new();
    if !scan.proc_readable && sockets.iter().any(|s| s.inode.is_some()) {
        warnings.push(Warning::gap(
            "proc_unreadable",
            "/proc could not be listed, so no socket's owner could be found",
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
