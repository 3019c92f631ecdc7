//! TCP's SO_REUSEPORT shortcut (the bind bucket's fastreuseport).

use super::overlap::{Side, devices_overlap, rcv_saddr_equal};
use super::types::Binding;

/// The kernel's shortcut for SO_REUSEPORT on a TCP port: the bind
/// bucket's `fastreuseport` with `fastuid` and the `fast_*rcv_saddr` of the
/// socket that set it (`sk_reuseport_match`, `inet_csk_update_fastreuse`
/// in net/ipv4/inet_connection_sock.c). A socket with SO_REUSEPORT that
/// the shortcut matches gets the port, at bind and at listen, without the
/// pairwise check against the other sockets on it; seen on Linux 6.18:
/// `127.0.0.1:P` with SO_REUSEADDR, then `0.0.0.0:P` with SO_REUSEADDR and
/// SO_REUSEPORT, then `127.0.0.1:P` with SO_REUSEPORT alone binds, though
/// it conflicts with the first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Shortcut {
    /// The port has no sockets: the next one starts the state afresh.
    Fresh,
    /// `fastreuseport` 0: every bind takes the pairwise check.
    Off,
    /// `FASTREUSEPORT_ANY`: every socket on the port set SO_REUSEPORT under
    /// this uid (the pairwise check would agree).
    Any { uid: u32 },
    /// `FASTREUSEPORT_STRICT`: set by the last SO_REUSEPORT socket that did
    /// not match; a later one of this uid whose address that socket's
    /// address covers is let in unchecked.
    Strict { uid: u32, by: Box<Binding> },
}

impl Shortcut {
    /// The states a port with these live sockets can be in. Without their
    /// bind order (no socket table has it) every state some order leads to
    /// is possible; sockets that came and went are not known and ignored.
    pub(super) fn possible_states(on_port: &[&Binding]) -> Vec<Shortcut> {
        if on_port.is_empty() {
            return vec![Shortcut::Fresh];
        }
        let first_uid = on_port[0].uid;
        if first_uid.is_some()
            && on_port
                .iter()
                .all(|b| b.reuseport == Some(true) && b.uid == first_uid)
        {
            return first_uid
                .map(|uid| Shortcut::Any { uid })
                .into_iter()
                .collect();
        }
        let mut states = Vec::new();
        if on_port.iter().any(|b| b.reuseport != Some(true)) {
            states.push(Shortcut::Off);
        }
        for socket in on_port {
            if socket.reuseport != Some(false)
                && !socket.time_wait
                && let Some(uid) = socket.uid
            {
                let state = Shortcut::Strict {
                    uid,
                    by: Box::new((*socket).clone()),
                };
                if !states.contains(&state) {
                    states.push(state);
                }
            }
        }
        if states.is_empty() {
            states.push(Shortcut::Off);
        }
        states
    }

    /// `sk_reuseport_match`: the new socket gets the port unchecked.
    pub(super) fn admits(&self, new: &Binding) -> bool {
        if new.reuseport != Some(true) {
            return false;
        }
        match self {
            Shortcut::Fresh | Shortcut::Off => false,
            Shortcut::Any { uid } => new.uid == Some(*uid),
            // `fast_*rcv_saddr` covers the new address: the fast socket's
            // wildcard counts, the new socket's does not.
            Shortcut::Strict { uid, by } => {
                new.uid == Some(*uid)
                    && devices_overlap(by, new)
                    && rcv_saddr_equal(&Side::of(by), &Side::of(new), true, false) == Some(true)
            }
        }
    }

    /// `inet_csk_update_fastreuse` once `socket` got the port (bind, or
    /// listen).
    pub(super) fn update(&mut self, socket: &Binding) {
        let reuseport = socket.reuseport == Some(true);
        *self = match (&*self, socket.uid) {
            (Shortcut::Fresh, Some(uid)) if reuseport => Shortcut::Any { uid },
            (Shortcut::Fresh, _) => Shortcut::Off,
            _ if !reuseport => Shortcut::Off,
            (state, _) if state.admits(socket) => state.clone(),
            (_, Some(uid)) => Shortcut::Strict {
                uid,
                by: Box::new(socket.clone()),
            },
            (_, None) => Shortcut::Off,
        };
    }
}
