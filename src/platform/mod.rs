//! What differs per OS, behind one trait: the socket source, network
//! namespaces, describing sockets (owners, options, names) and NAT rules.
//!
//! Each OS has one module that implements [`Platform`], and [`Os`] names
//! the one this build runs on, so callers hold no `#[cfg]` and the trait
//! makes every OS's module keep the same signatures (as trippy's
//! `net/platform.rs` does). Only this file picks an OS; `.ci/check-non-linux-paths`
//! type-checks the other module on Linux by renaming its cfg.

use crate::error::Error;
use crate::model::Socket;
use crate::sockets::{DumpRequest, SocketSource};
use crate::target::PortRange;
use crate::warning::Warning;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::Linux as Os;

#[cfg(not(target_os = "linux"))]
mod other;
#[cfg(not(target_os = "linux"))]
pub use other::Other as Os;

/// The operations whose answer depends on the OS. Associated functions:
/// a platform has no state of its own.
pub trait Platform {
    /// The socket source `name` picks (`PORTCHECK_SOCKET_SOURCE`), or this
    /// OS's own for `None`; an unknown name is an error, not a fallback.
    fn source_named(name: Option<&str>) -> Result<Box<dyn SocketSource>, Error>;

    /// Moves this thread (and the threads it starts later) into the
    /// network namespace `spec` names (`--netns`).
    fn enter_netns(spec: &str) -> Result<(), Error>;

    /// The network namespace sockets are read in (`net:[INODE]`), if the
    /// OS has them.
    fn current_netns() -> Option<String>;

    /// The sockets of every network namespace a process here is in, each
    /// named in its own namespace, and what could not be read
    /// (`--all-netns`).
    fn every_netns(
        source: &dyn SocketSource,
        request: &DumpRequest,
    ) -> Result<(Vec<Socket>, Vec<Warning>), Error>;

    /// Whether this process may read the other network namespaces
    /// (looking for a port held elsewhere is skipped without it).
    fn may_read_other_netns() -> bool;

    /// The `ip netns` name of the namespace the sockets were read in, on
    /// each (who, try and resolve name the same socket alike).
    fn name_netns(sockets: &mut [Socket]);

    /// Fills owners, SO_REUSEADDR/SO_REUSEPORT and names of `sockets`, and
    /// says what could not be seen.
    fn describe(sockets: &mut [Socket]) -> Vec<Warning>;

    /// Owners, options and containers, for sockets whose names were filled
    /// in their own network namespace (`--all-netns` reads each namespace
    /// on a thread of its own, then finds the owners of all of them in one
    /// pass).
    fn describe_owners(sockets: &mut [Socket]) -> Vec<Warning>;

    /// NAT rules that forward any of `ports`, as the tools print them.
    fn nat_rules(ports: &[PortRange]) -> Vec<String>;
}
