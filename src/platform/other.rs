//! Every OS but Linux: netstat2 lists the sockets with their owners' pids,
//! sysinfo names the owners; there are no network namespaces, no
//! SO_REUSEADDR/SO_REUSEPORT of another process and no NAT tools to ask.

use super::Platform;
use crate::error::Error;
use crate::model::Socket;
use crate::sockets::{DumpRequest, SOURCE_VARIABLE, SocketSource, netstat2};
use crate::target::PortRange;
use crate::warning::Warning;

pub struct Other;

impl Platform for Other {
    /// Off Linux netstat2 is the only source; naming another is an error,
    /// not a silent fallback.
    fn source_named(name: Option<&str>) -> Result<Box<dyn SocketSource>, Error> {
        match name {
            None | Some("" | "netstat2") => Ok(Box::<netstat2::Netstat2Source>::default()),
            Some(other) => Err(Error::Unsupported(format!(
                "{SOURCE_VARIABLE}={other}: on this OS the only source is 'netstat2'"
            ))),
        }
    }

    fn enter_netns(spec: &str) -> Result<(), Error> {
        Err(Error::Unsupported(format!(
            "--netns {spec}: network namespaces exist only on Linux"
        )))
    }

    fn current_netns() -> Option<String> {
        None
    }

    /// Network namespaces are Linux's.
    fn every_netns(
        _source: &dyn SocketSource,
        _request: &DumpRequest,
    ) -> Result<(Vec<Socket>, Vec<Warning>), Error> {
        Err(Error::Unsupported(
            "--all-netns: network namespaces exist only on Linux".into(),
        ))
    }

    fn may_read_other_netns() -> bool {
        false
    }

    fn name_netns(_sockets: &mut [Socket]) {}

    /// The owners' pids come with the table; only their names are looked
    /// up. What cannot be read stays `None` (the source's warnings say
    /// which fields).
    fn describe(sockets: &mut [Socket]) -> Vec<Warning> {
        netstat2::attach_owner_details(sockets);
        Vec::new()
    }

    /// Names come with netstat2's table: describing the owners is all of
    /// describing.
    fn describe_owners(sockets: &mut [Socket]) -> Vec<Warning> {
        Self::describe(sockets)
    }

    fn nat_rules(_ports: &[PortRange]) -> Vec<String> {
        Vec::new()
    }
}
