//! Names for numbers: users for uids, devices for interface indexes, and the
//! network namespace we are reading.

use std::collections::HashMap;
use std::os::fd::OwnedFd;

use rustix::net::{AddressFamily, SocketType, netdevice, socket};

use crate::model::Socket;

/// uid -> user name through the system's user database (NSS), cached.
#[derive(Default)]
pub struct UserNames {
    cache: HashMap<u32, Option<String>>,
}

impl UserNames {
    pub fn name(&mut self, uid: u32) -> Option<String> {
        self.cache
            .entry(uid)
            .or_insert_with(|| {
                uzers::get_user_by_uid(uid).map(|user| user.name().to_string_lossy().into_owned())
            })
            .clone()
    }
}

/// Fills `user`, `interface` and `netns` of `sockets`.
pub fn attach_names(sockets: &mut [Socket], users: &mut UserNames) {
    let netns = current_netns();
    let probe: Option<OwnedFd> = socket(AddressFamily::INET, SocketType::DGRAM, None).ok();
    let mut devices: HashMap<u32, Option<String>> = HashMap::new();
    for socket in sockets.iter_mut() {
        socket.user = socket.uid.and_then(|uid| users.name(uid));
        socket.netns.clone_from(&netns);
        if socket.interface_index != 0 {
            socket.interface = devices
                .entry(socket.interface_index)
                .or_insert_with(|| {
                    probe
                        .as_ref()
                        .and_then(|fd| netdevice::index_to_name(fd, socket.interface_index).ok())
                })
                .clone()
                // A device that vanished keeps its number so the socket
                // still reads as bound to something.
                .or_else(|| Some(format!("if{}", socket.interface_index)));
        }
    }
}

/// The network namespace of the calling thread, as `net:[INODE]`.
pub fn current_netns() -> Option<String> {
    std::fs::read_link("/proc/thread-self/ns/net")
        .ok()
        .map(|link| link.to_string_lossy().into_owned())
}
