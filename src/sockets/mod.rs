//! Reading the live socket table and describing each socket: owners,
//! options and names.
//!
//! A [`SocketSource`] only lists sockets; everything that /proc and the
//! owners' descriptors add is done by the platform's `describe`
//! ([`crate::platform`]), the same for every source.

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

use crate::error::Error;
use crate::model::{Family, Protocol, Socket};
use crate::platform::{Os, Platform};
use crate::target::PortRange;
use crate::warning::Warning;

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
    Os::source_named(std::env::var(SOURCE_VARIABLE).ok().as_deref())
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
    let warnings = Os::describe(&mut table);
    Os::name_netns(&mut table);
    table.sort_by(crate::model::display_order);
    Ok((table, warnings))
}
