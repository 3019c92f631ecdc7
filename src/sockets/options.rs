//! SO_REUSEADDR and SO_REUSEPORT of live sockets.
//!
//! No sock_diag attribute carries them, so they are read from the socket
//! itself: pidfd_open(2) on an owner, pidfd_getfd(2) to duplicate its
//! descriptor (root, or ptrace permission over the owner), getsockopt on the
//! copy, and the copy closed at once. The copy is checked to be the same
//! socket (inode) so a descriptor reused after a race is never read.

use rustix::fs::fstat;
use rustix::io::Errno;
use rustix::net::sockopt;
use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

use crate::model::Socket;

/// Why options could not be read, for the warning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum OptionsGap {
    /// Kernel-owned entries (TIME_WAIT): nobody to ask.
    NoOwner,
    /// No permission to duplicate the owner's descriptor.
    PermissionDenied,
    /// The kernel lacks pidfd_getfd (before 5.6) or forbids it here.
    Unsupported,
    /// The owner exited or closed the descriptor while we looked.
    Vanished,
}

/// Reads the options of every socket that lists an owner; returns the
/// sockets (by index) whose options stayed unknown, and why.
pub fn attach_options(sockets: &mut [Socket]) -> Vec<(usize, OptionsGap)> {
    let mut gaps = Vec::new();
    for (index, socket) in sockets.iter_mut().enumerate() {
        let Some(inode) = socket.inode else {
            gaps.push((index, OptionsGap::NoOwner));
            continue;
        };
        if socket.processes.is_empty() {
            gaps.push((index, OptionsGap::NoOwner));
            continue;
        }
        let mut last_gap = OptionsGap::Vanished;
        let mut read = None;
        'owners: for process in &socket.processes {
            for &fd in &process.fds {
                match read_options(process.pid, fd, inode) {
                    Ok(options) => {
                        read = Some(options);
                        break 'owners;
                    }
                    Err(gap) => last_gap = gap,
                }
            }
        }
        match read {
            Some((reuseaddr, reuseport)) => {
                socket.reuseaddr = Some(reuseaddr);
                socket.reuseport = Some(reuseport);
            }
            None => gaps.push((index, last_gap)),
        }
    }
    gaps
}

fn read_options(pid: u32, fd: u32, inode: u64) -> Result<(bool, bool), OptionsGap> {
    let pid = i32::try_from(pid)
        .ok()
        .and_then(Pid::from_raw)
        .ok_or(OptionsGap::Vanished)?;
    let target_fd = i32::try_from(fd).map_err(|_| OptionsGap::Vanished)?;
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).map_err(classify)?;
    let copy = pidfd_getfd(&pidfd, target_fd, PidfdGetfdFlags::empty()).map_err(classify)?;
    let same_socket = fstat(&copy).is_ok_and(|stat| stat.st_ino == inode);
    if !same_socket {
        return Err(OptionsGap::Vanished);
    }
    let reuseaddr = sockopt::socket_reuseaddr(&copy).map_err(classify)?;
    let reuseport = sockopt::socket_reuseport(&copy).map_err(classify)?;
    Ok((reuseaddr, reuseport))
}

fn classify(errno: Errno) -> OptionsGap {
    match errno {
        Errno::PERM | Errno::ACCESS => OptionsGap::PermissionDenied,
        Errno::NOSYS | Errno::INVAL => OptionsGap::Unsupported,
        _ => OptionsGap::Vanished,
    }
}
