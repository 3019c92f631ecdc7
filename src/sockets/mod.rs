//! Reading the live socket table and describing each socket: owners,
//! options and names.
//!
//! A [`SocketSource`] only lists sockets; everything that /proc and the
//! owners' descriptors add is done here, the same for every source.

// Linux's own readers: sock_diag, /proc, pidfd_getfd and cgroups.
#[cfg(target_os = "linux")]
mod bytecode;
// Plain cgroup parsing; elsewhere its /proc reads find nothing.
pub mod containers;
#[cfg(target_os = "linux")]
pub mod names;
#[cfg(target_os = "linux")]
pub mod netlink;
#[cfg(any(not(target_os = "linux"), feature = "netstat2"))]
pub mod netstat2;
#[cfg(target_os = "linux")]
pub mod options;
#[cfg(target_os = "linux")]
pub mod owners;

#[cfg(target_os = "linux")]
use std::collections::BTreeSet;
#[cfg(target_os = "linux")]
use std::path::Path;

use crate::error::Error;
#[cfg(target_os = "linux")]
use crate::model::OwnerGap;
use crate::model::{Family, Protocol, Socket};
use crate::target::PortRange;
use crate::warning::Warning;
#[cfg(target_os = "linux")]
use crate::warning::counted;
#[cfg(target_os = "linux")]
use names::UserNames;
#[cfg(target_os = "linux")]
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

    /// What this source could not supply in this run (fields it leaves
    /// `None`, sockets it cannot list), said once per run, not per dump.
    fn warnings(&self) -> Vec<Warning> {
        Vec::new()
    }

    /// Whether TCP sockets that are bound but do not listen are listed: a
    /// source that cannot see them cannot promise a port is free.
    fn lists_bound_only_tcp(&self) -> bool {
        true
    }
}

/// The variable that picks a source on Linux: a diagnostic aid, and how
/// the netstat2 source is tested against the netlink one.
pub const SOURCE_VARIABLE: &str = "PORTCHECK_SOCKET_SOURCE";

/// The source for this platform, or the one `PORTCHECK_SOCKET_SOURCE` names.
pub fn source_from_env() -> Result<Box<dyn SocketSource>, Error> {
    source_named(std::env::var(SOURCE_VARIABLE).ok().as_deref())
}

#[cfg(target_os = "linux")]
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

/// Off Linux netstat2 is the only source; naming another is an error, not
/// a silent fallback.
#[cfg(not(target_os = "linux"))]
fn source_named(name: Option<&str>) -> Result<Box<dyn SocketSource>, Error> {
    match name {
        None | Some("" | "netstat2") => Ok(Box::<netstat2::Netstat2Source>::default()),
        Some(other) => Err(Error::Unsupported(format!(
            "{SOURCE_VARIABLE}={other}: on this OS the only source is 'netstat2'"
        ))),
    }
}

/// The network namespace sockets are read in (`net:[INODE]`); none
/// outside Linux.
pub fn current_netns() -> Option<String> {
    #[cfg(target_os = "linux")]
    return names::current_netns();
    #[cfg(not(target_os = "linux"))]
    None
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
    name_netns(&mut table);
    table.sort_by(crate::model::display_order);
    Ok((table, warnings))
}

/// The `ip netns` name of the namespace the sockets were read in, on each
/// (who, try and resolve name the same socket alike).
#[cfg(target_os = "linux")]
pub fn name_netns(sockets: &mut [Socket]) {
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

#[cfg(not(target_os = "linux"))]
pub fn name_netns(_sockets: &mut [Socket]) {}

/// Fills owners, SO_REUSEADDR/SO_REUSEPORT and names of `sockets`, and says
/// what could not be seen.
#[cfg(target_os = "linux")]
pub fn describe(sockets: &mut [Socket]) -> Vec<Warning> {
    names::attach_names(sockets, &mut UserNames::default());
    describe_owners(sockets)
}

/// Off Linux the owners' pids come with the table; only their names are
/// looked up. What cannot be read stays `None` (the source's warnings say
/// which fields).
#[cfg(not(target_os = "linux"))]
pub fn describe(sockets: &mut [Socket]) -> Vec<Warning> {
    netstat2::attach_owner_details(sockets);
    Vec::new()
}

/// Owners, options and containers, for sockets whose names were filled in
/// their own network namespace (`--all-netns` reads each namespace on a
/// thread of its own, then finds the owners of all of them in one pass).
#[cfg(target_os = "linux")]
pub fn describe_owners(sockets: &mut [Socket]) -> Vec<Warning> {
    let mut users = UserNames::default();
    let scan = owners::attach_owners(sockets, Path::new("/proc"), &mut users);
    let option_gaps = options::attach_options(sockets);
    containers::attach_forwarding(sockets);

    let mut warnings = owner_warnings(sockets, &scan);
    warnings.extend(option_warnings(sockets, &option_gaps));
    warnings.sort();
    warnings
}

#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
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
