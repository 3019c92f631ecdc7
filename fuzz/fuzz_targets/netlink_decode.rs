//! sock_diag dump messages as the kernel sends them: arbitrary bytes
//! through the netlink decoder, and every InetResponse it yields through
//! portcheck's conversion to a socket.
#![no_main]
use libfuzzer_sys::fuzz_target;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_sock_diag::SockDiagMessage;
use portcheck::model::Protocol;
use portcheck::sockets::netlink::to_socket;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = NetlinkMessage::<SockDiagMessage>::deserialize(data)
        && let NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) =
            message.payload
    {
        for protocol in [Protocol::Tcp, Protocol::Udp] {
            let _ = to_socket(protocol, &response);
        }
    }
});
