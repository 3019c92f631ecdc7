//! Signals through pidfds: a pidfd refers to one process, not to a number,
//! so a signal sent through it never reaches a process that took the pid
//! later. The pidfd is opened when the holder is looked up, and checked to
//! be the holder (it has the socket) before it is kept.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use rustix::fs::fstat;
use rustix::io::Errno;
use rustix::process::{
    Pid, PidfdFlags, PidfdGetfdFlags, Signal, pidfd_getfd, pidfd_open, pidfd_send_signal,
};

use super::plan::HeldSocket;

/// An open pidfd on a holder.
#[derive(Debug)]
pub struct Handle {
    pub pid: u32,
    fd: OwnedFd,
}

/// What opening a holder's pidfd found.
#[derive(Debug)]
pub enum Opened {
    Ready(Handle),
    /// The process exited, or the pid now belongs to a process that does
    /// not hold the socket (it was reused): nothing to signal.
    Gone,
    Failed(String),
}

/// Opens a pidfd on `pid` and keeps it only if that process holds one of
/// `sockets`. With no socket to check (a parent that restarts holders)
/// `start_time` is checked instead: the process start time read when it
/// was looked up, in clock ticks since boot.
pub fn open(pid: u32, sockets: &[HeldSocket], start_time: Option<u64>) -> Opened {
    let Some(raw) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
        return Opened::Gone;
    };
    let fd = match pidfd_open(raw, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(Errno::SRCH) => return Opened::Gone,
        Err(e) => return Opened::Failed(format!("pidfd_open({pid}): {e}")),
    };
    let handle = Handle { pid, fd };
    let is_holder = if sockets.is_empty() {
        start_time.is_some_and(|expected| handle.start_time() == Some(expected)) && handle.alive()
    } else {
        sockets.iter().any(|socket| handle.holds(socket))
    };
    if is_holder {
        Opened::Ready(handle)
    } else {
        Opened::Gone
    }
}

impl Handle {
    /// Whether this process has `socket` at one of its descriptors: the
    /// descriptor duplicated through the pidfd (pidfd_getfd) has the
    /// socket's inode. Where duplicating is not allowed (no ptrace right
    /// over the process), /proc/PID/fd is read and the pidfd is checked
    /// to still name a live process afterwards, so the /proc read was this
    /// process's.
    fn holds(&self, socket: &HeldSocket) -> bool {
        socket.fds.iter().any(|&fd| {
            let Ok(target) = i32::try_from(fd) else {
                return false;
            };
            match pidfd_getfd(&self.fd, target, PidfdGetfdFlags::empty()) {
                Ok(copy) => fstat(&copy).is_ok_and(|stat| stat.st_ino == socket.inode),
                Err(Errno::PERM | Errno::ACCESS | Errno::NOSYS) => {
                    let link = std::fs::read_link(format!("/proc/{}/fd/{fd}", self.pid));
                    link.is_ok_and(|l| {
                        crate::sockets::owners::socket_inode(&l.to_string_lossy())
                            == Some(socket.inode)
                    }) && self.alive()
                }
                Err(_) => false,
            }
        })
    }

    /// Whether the process is still there (not yet reaped): the kernel's
    /// fdinfo of a pidfd says `Pid: -1` once it is gone (pidfd_show_fdinfo
    /// in kernel/pid.c; seen here on Linux 6.18: the pid while it runs and
    /// as a zombie, -1 once reaped), whoever has the number now.
    pub fn alive(&self) -> bool {
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", self.fd.as_raw_fd()))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|line| line.strip_prefix("Pid:"))
                    .and_then(|n| n.trim().parse::<i64>().ok())
            })
            .is_some_and(|n| n == i64::from(self.pid))
    }

    /// Whether the process has exited (gone, or a zombie: its descriptors,
    /// and so its sockets, are closed either way).
    pub fn exited(&self) -> bool {
        if !self.alive() {
            return true;
        }
        let state = read_stat(self.pid).and_then(|stat| stat_field(&stat, 3).map(str::to_owned));
        // Read after the fdinfo: if the process was reaped in between, the
        // stat may be a newcomer's, so ask the pidfd again.
        !self.alive() || state.as_deref() == Some("Z")
    }

    /// The start time (clock ticks after boot) of this process, read from
    /// /proc and confirmed through the pidfd.
    pub fn start_time(&self) -> Option<u64> {
        let time = start_time(self.pid);
        self.alive().then_some(time).flatten()
    }

    /// Sends `signal`. `Ok(false)` when the process had already exited.
    pub fn signal(&self, signal: i32) -> Result<bool, String> {
        let Some(signal) = Signal::from_named_raw(signal) else {
            return Err(format!("signal {signal} is not one this system names"));
        };
        match pidfd_send_signal(self.fd.as_fd(), signal) {
            Ok(()) => Ok(true),
            Err(Errno::SRCH) => Ok(false),
            Err(Errno::PERM) => Err(format!(
                "pidfd_send_signal: permission denied (pid {} belongs to another user)",
                self.pid
            )),
            Err(e) => Err(format!("pidfd_send_signal: {e}")),
        }
    }
}

/// /proc/PID/stat.
fn read_stat(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()
}

/// Field `n` (1-based, as proc(5) numbers them) of /proc/PID/stat; the
/// name (field 2) is in parentheses and may hold spaces and ')'.
fn stat_field(stat: &str, n: usize) -> Option<&str> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(n.checked_sub(3)?)
}

/// Field 22 of /proc/PID/stat: when the process started.
pub fn start_time(pid: u32) -> Option<u64> {
    read_stat(pid).and_then(|stat| stat_field(&stat, 22).and_then(|t| t.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_skip_a_name_with_spaces_and_parentheses() {
        let stat =
            "4242 (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        assert_eq!(stat_field(stat, 3), Some("S"));
        assert_eq!(stat_field(stat, 4), Some("1"));
        assert_eq!(stat_field(stat, 22), Some("98765"));
        assert_eq!(stat_field("garbage", 3), None);
    }

    #[test]
    fn this_process_is_found_holding_its_own_socket_through_a_pidfd() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let fd = u32::try_from(listener.as_raw_fd()).expect("fd");
        let inode = fstat(&listener).expect("fstat").st_ino;
        let socket = HeldSocket {
            inode,
            fds: vec![fd],
            shown: String::new(),
            port: 0,
        };
        let Opened::Ready(handle) = open(std::process::id(), std::slice::from_ref(&socket), None)
        else {
            panic!("this process holds its socket");
        };
        assert!(handle.alive());
        assert!(!handle.exited());
        let other = HeldSocket {
            inode: inode + 1_000_000,
            ..socket
        };
        assert!(matches!(
            open(std::process::id(), &[other], None),
            Opened::Gone
        ));
        let started = start_time(std::process::id());
        assert!(started.is_some());
        assert!(matches!(
            open(std::process::id(), &[], started),
            Opened::Ready(_)
        ));
        assert!(matches!(
            open(std::process::id(), &[], started.map(|t| t + 1)),
            Opened::Gone
        ));
    }
}
