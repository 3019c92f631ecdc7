//! The conflict model: how Linux decides bind() and listen(), as pure
//! functions over plain data.
//!
//! Sources, read in the kernel tree: `__inet_bind` (net/ipv4/af_inet.c) and
//! `__inet6_bind` (net/ipv6/af_inet6.c) for the order of the EADDRNOTAVAIL,
//! EACCES and EINVAL checks; `inet_csk_bind_conflict` and
//! `inet_bind_conflict` (net/ipv4/inet_connection_sock.c) for TCP sharing;
//! `udp_lib_lport_inuse` (net/ipv4/udp.c) for UDP; `ipv6_rcv_saddr_equal` and
//! `ipv4_rcv_saddr_equal` for when two addresses overlap. Each function
//! names the kernel function it follows and, where the kernel surprised,
//! what was seen; the cases are in `tests.rs`, and the differential matrix
//! of `portcheck try` in tests/cli holds this module to the real kernel.
//!
//! Facts that could not be read (another user's SO_REUSEPORT, a TIME_WAIT
//! entry's SO_REUSEADDR) are `None`, and the model answers "depends" rather
//! than guessing: logic here is three-valued.

mod address;
mod catalogue;
mod conflict;
mod overlap;
mod plan;
#[cfg(test)]
mod properties;
mod tcp;
#[cfg(test)]
mod tests;
mod types;
mod udp;

pub use catalogue::{Rule, rules_help};
pub use overlap::overlaps;
pub use plan::predict_plan;
pub use types::*;
