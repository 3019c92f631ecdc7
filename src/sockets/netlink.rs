//! Linux: the socket table from sock_diag over netlink, as `ss` reads it.
//!
//! Unlike netstat2, this keeps IPV6_V6ONLY, UDP state and remote address,
//! the bound device and the inode, filters ports in the kernel, and treats a
//! netlink error as an error rather than the end of the list.

use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::{
    SockDiagMessage,
    constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP},
    inet::{ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags, nlas::Nla},
};
use netlink_sys::{
    Socket as NetlinkSocket, SocketAddr as NetlinkAddr, protocols::NETLINK_SOCK_DIAG,
};

use super::{DumpRequest, SocketSource, bytecode};
use crate::error::Error;
use crate::model::{Family, Protocol, Socket, State};

/// `INET_DIAG_REQ_BYTECODE`, the request attribute carrying a filter program.
const INET_DIAG_REQ_BYTECODE: u16 = 1;

/// Every state, including `TCP_BOUND_INACTIVE` (bit 13), which newer
/// kernels need before they dump bound TCP sockets that do not listen.
const ALL_STATES: u32 = u32::MAX;

/// Large enough that a dump arrives in few reads; the kernel fills each
/// read up to this size.
const RECEIVE_BUFFER: usize = 1 << 16;

pub struct NetlinkSource;

impl SocketSource for NetlinkSource {
    fn name(&self) -> &'static str {
        "netlink"
    }

    fn dump(&self, request: &DumpRequest) -> Result<Vec<Socket>, Error> {
        let filter = bytecode::local_port_filter(&request.ports);
        let socket = open()?;
        let mut sockets = Vec::new();
        let mut buffer = vec![0u8; RECEIVE_BUFFER];
        for &protocol in &request.protocols {
            for &family in &request.families {
                let message = request_bytes(protocol, family, &filter);
                socket
                    .send(&message, 0)
                    .map_err(|e| Error::Netlink(format!("sending the dump request: {e}")))?;
                receive_dump(&socket, protocol, &mut buffer, &mut sockets)?;
            }
        }
        Ok(sockets)
    }
}

fn open() -> Result<NetlinkSocket, Error> {
    let mut socket = NetlinkSocket::new(NETLINK_SOCK_DIAG)
        .map_err(|e| Error::Netlink(format!("opening a NETLINK_SOCK_DIAG socket: {e}")))?;
    socket
        .bind_auto()
        .map_err(|e| Error::Netlink(format!("binding the netlink socket: {e}")))?;
    socket
        .connect(&NetlinkAddr::new(0, 0))
        .map_err(|e| Error::Netlink(format!("connecting the netlink socket: {e}")))?;
    Ok(socket)
}

/// The serialized dump request, with the filter program appended as an
/// `INET_DIAG_REQ_BYTECODE` attribute (the crate models the request header
/// only, so the attribute is added here and the length patched).
fn request_bytes(protocol: Protocol, family: Family, filter: &[u8]) -> Vec<u8> {
    let (af, socket_id) = match family {
        Family::Ipv4 => (AF_INET, SocketId::new_v4()),
        Family::Ipv6 => (AF_INET6, SocketId::new_v6()),
    };
    let ip_protocol = match protocol {
        Protocol::Tcp => IPPROTO_TCP,
        Protocol::Udp => IPPROTO_UDP,
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    let mut packet = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family: af,
            protocol: ip_protocol,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::from_bits_retain(ALL_STATES),
            socket_id,
        })
        .into(),
    );
    packet.finalize();
    let mut bytes = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut bytes);

    if !filter.is_empty() {
        let attribute_len = 4 + filter.len();
        bytes.extend_from_slice(
            &u16::try_from(attribute_len)
                .unwrap_or(u16::MAX)
                .to_ne_bytes(),
        );
        bytes.extend_from_slice(&INET_DIAG_REQ_BYTECODE.to_ne_bytes());
        bytes.extend_from_slice(filter);
        let total = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        bytes[0..4].copy_from_slice(&total.to_ne_bytes());
    }
    bytes
}

fn receive_dump(
    socket: &NetlinkSocket,
    protocol: Protocol,
    buffer: &mut [u8],
    out: &mut Vec<Socket>,
) -> Result<(), Error> {
    loop {
        let size = match socket.recv(&mut &mut buffer[..], 0) {
            Ok(size) => size,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::Netlink(format!("reading the dump: {e}"))),
        };
        if size == 0 {
            return Err(Error::Netlink("the kernel closed the dump early".into()));
        }
        let mut offset = 0;
        while offset < size {
            let message = <NetlinkMessage<SockDiagMessage>>::deserialize(&buffer[offset..size])
                .map_err(|e| Error::Netlink(format!("decoding a dump message: {e}")))?;
            let length = message.header.length as usize;
            match message.payload {
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                    out.push(to_socket(protocol, &response));
                }
                NetlinkPayload::Done(_) => return Ok(()),
                NetlinkPayload::Error(error) => {
                    if let Some(code) = error.code {
                        let os = std::io::Error::from_raw_os_error(-code.get());
                        return Err(Error::Netlink(format!("the kernel refused the dump: {os}")));
                    }
                }
                NetlinkPayload::Overrun(_) => {
                    return Err(Error::Netlink("the dump overran its buffer".into()));
                }
                _ => {}
            }
            if length == 0 {
                return Err(Error::Netlink("a dump message had length 0".into()));
            }
            // Netlink messages are 4-byte aligned.
            offset += (length + 3) & !3;
        }
    }
}

/// One decoded dump entry, as a socket without owners or options yet.
pub fn to_socket(protocol: Protocol, response: &InetResponse) -> Socket {
    let header = &response.header;
    let id = &header.socket_id;
    let state = State::from_kernel(header.state);
    let mut socket = Socket::bare(protocol, id.source_address, id.source_port, state);
    socket.remote = remote(id.destination_address, id.destination_port);
    socket.interface_index = id.interface_id;
    socket.recv_queue = header.recv_queue;
    // The kernel reports uid 0 and inode 0 for entries no process owns
    // (TIME_WAIT and request sockets): those are unknown, not root's.
    let kernel_owned = header.inode == 0 && matches!(state, State::TimeWait | State::SynRecv);
    socket.uid = (!kernel_owned).then_some(header.uid);
    socket.inode = (header.inode != 0).then_some(u64::from(header.inode));
    socket.v6only = response.nlas.iter().find_map(|nla| match nla {
        Nla::SkV6Only(only) => Some(*only),
        _ => None,
    });
    if socket.family == Family::Ipv4 {
        socket.v6only = None;
    }
    socket
}

fn remote(address: IpAddr, port: u16) -> Option<(IpAddr, u16)> {
    (port != 0 || !address.is_unspecified()).then_some((address, port))
}
