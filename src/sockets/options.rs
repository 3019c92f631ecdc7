//! SO_REUSEADDR and SO_REUSEPORT of live sockets.
//!
//! No sock_diag attribute carries them, so they are read from the socket
//! itself: pidfd_open(2) on an owner, pidfd_getfd(2) to duplicate its
//! descriptor (root, or ptrace permission over the owner), getsockopt on the
//! copy, and the copy closed at once. The copy is checked to be the same
//! socket (inode) so a descriptor reused after a race is never read.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::fstat;
use rustix::io::Errno;
use rustix::net::sockopt;
use rustix::process::{Pid, PidfdFlags, PidfdGetfdFlags, pidfd_getfd, pidfd_open};

use super::owners;
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
///
/// One pidfd serves every socket of an owner (sockets are taken in order of
/// their first owner's pid), and with many sockets the work is shared out
/// between threads as the /proc pass is.
pub fn attach_options(sockets: &mut [Socket]) -> Vec<(usize, OptionsGap)> {
    let mut gaps = Vec::new();
    let mut jobs: Vec<Job> = Vec::new();
    for (index, socket) in sockets.iter().enumerate() {
        match socket.inode {
            Some(inode) if !socket.processes.is_empty() => jobs.push(Job {
                index,
                inode,
                owners: socket
                    .processes
                    .iter()
                    .map(|p| (p.pid, p.fds.as_slice()))
                    .collect(),
            }),
            _ => gaps.push((index, OptionsGap::NoOwner)),
        }
    }
    jobs.sort_by_key(|job| job.owners.first().map(|&(pid, _)| pid));

    let threads = owners::thread_count(jobs.len(), SOCKETS_PER_THREAD);
    let next = AtomicUsize::new(0);
    let work = || read_shared(&jobs, &next);
    let results: Vec<(usize, Outcome)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .collect();
            let mut results = work();
            for helper in helpers {
                results.extend(
                    helper
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
            }
            results
        })
    };

    for (index, result) in results {
        match result {
            Ok((reuseaddr, reuseport)) => {
                sockets[index].reuseaddr = Some(reuseaddr);
                sockets[index].reuseport = Some(reuseport);
            }
            Err(gap) => gaps.push((index, gap)),
        }
    }
    gaps.sort_unstable();
    gaps
}

/// SO_REUSEADDR and SO_REUSEPORT of one socket, or why they stayed unknown.
type Outcome = Result<(bool, bool), OptionsGap>;

/// Sockets per thread: a second thread starts at twice this many.
const SOCKETS_PER_THREAD: usize = 250;
/// Sockets taken from the shared list at a time.
const CHUNK: usize = 32;

/// One socket whose options are to be read, with its owners' descriptors.
struct Job<'a> {
    index: usize,
    inode: u64,
    owners: Vec<(u32, &'a [u32])>,
}

/// Takes jobs in chunks until none are left; keeps the last owner's pidfd
/// open for the next socket of the same owner.
fn read_shared(jobs: &[Job<'_>], next: &AtomicUsize) -> Vec<(usize, Outcome)> {
    let mut results = Vec::new();
    let mut pidfds = LastPidfd::default();
    loop {
        let start = next.fetch_add(CHUNK, Ordering::Relaxed);
        let Some(chunk) = jobs.get(start..jobs.len().min(start + CHUNK)) else {
            break;
        };
        if chunk.is_empty() {
            break;
        }
        for job in chunk {
            let mut last_gap = OptionsGap::Vanished;
            let mut read = None;
            'owners: for &(pid, fds) in &job.owners {
                for &fd in fds {
                    match read_options(&mut pidfds, pid, fd, job.inode) {
                        Ok(options) => {
                            read = Some(options);
                            break 'owners;
                        }
                        Err(gap) => last_gap = gap,
                    }
                }
            }
            results.push((job.index, read.ok_or(last_gap)));
        }
    }
    results
}

/// The pidfd of the owner last asked for (or why there is none), so that
/// an owner of many sockets is opened once. One at a time: a thousand owners
/// must not cost a thousand descriptors.
#[derive(Default)]
struct LastPidfd {
    last: Option<(u32, Result<OwnedFd, OptionsGap>)>,
}

impl LastPidfd {
    fn get(&mut self, pid: u32) -> Result<BorrowedFd<'_>, OptionsGap> {
        if self.last.as_ref().is_none_or(|(last, _)| *last != pid) {
            let opened = i32::try_from(pid)
                .ok()
                .and_then(Pid::from_raw)
                .ok_or(OptionsGap::Vanished)
                .and_then(|pid| pidfd_open(pid, PidfdFlags::empty()).map_err(classify));
            self.last = Some((pid, opened));
        }
        match &self.last {
            Some((_, Ok(fd))) => Ok(fd.as_fd()),
            Some((_, Err(gap))) => Err(*gap),
            None => Err(OptionsGap::Vanished),
        }
    }
}

fn read_options(
    pidfds: &mut LastPidfd,
    pid: u32,
    fd: u32,
    inode: u64,
) -> Result<(bool, bool), OptionsGap> {
    let target_fd = i32::try_from(fd).map_err(|_| OptionsGap::Vanished)?;
    let pidfd = pidfds.get(pid)?;
    let copy = pidfd_getfd(pidfd, target_fd, PidfdGetfdFlags::empty()).map_err(classify)?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Process, Protocol, State};
    use socket2::{Domain, Socket as RawSocket, Type};
    use std::os::fd::AsRawFd;

    fn listener(reuseaddr: bool, reuseport: bool) -> RawSocket {
        let socket = RawSocket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        socket.set_reuse_address(reuseaddr).expect("SO_REUSEADDR");
        socket.set_reuse_port(reuseport).expect("SO_REUSEPORT");
        let address: std::net::SocketAddr = "127.0.0.1:0".parse().expect("address");
        socket.bind(&address.into()).expect("bind");
        socket.listen(1).expect("listen");
        socket
    }

    fn held_by(socket: &RawSocket, owners: &[(u32, Vec<u32>)]) -> Socket {
        let fd = socket.as_raw_fd();
        let inode = rustix::fs::fstat(socket).expect("fstat").st_ino;
        let mut entry = Socket::bare(
            Protocol::Tcp,
            "127.0.0.1".parse().expect("address"),
            0,
            State::Listen,
        );
        entry.inode = Some(inode);
        entry.processes = owners
            .iter()
            .map(|(pid, fds)| Process {
                pid: *pid,
                name: None,
                cmdline: Vec::new().into(),
                fds: if fds.is_empty() {
                    vec![u32::try_from(fd).expect("fd")]
                } else {
                    fds.clone()
                },
                uid: None,
                user: None,
                container: None,
            })
            .collect();
        entry
    }

    /// This process may always duplicate its own descriptors, so the options
    /// of its own sockets can be read without root. Enough sockets that the
    /// work is shared between threads where there are several CPUs.
    #[test]
    fn options_of_own_sockets_are_read_with_fallbacks_and_gaps() {
        let me = std::process::id();
        let both = listener(true, true);
        let neither = listener(false, false);
        let port_only = listener(false, true);
        // A dead pid: pid_max is at most 2^22, so this one never exists.
        let nobody = 4_194_304 + 7;
        let mut sockets = vec![
            held_by(&both, &[(me, vec![])]),
            held_by(&neither, &[(me, vec![])]),
            // The first owner's descriptor is not the socket (stdin), the
            // second owner is gone: the socket is still read through `me`.
            held_by(
                &port_only,
                &[(me, vec![0]), (nobody, vec![3]), (me, vec![])],
            ),
            held_by(&both, &[(nobody, vec![3])]),
            held_by(&both, &[]),
        ];
        let spare: Vec<RawSocket> = (0..SOCKETS_PER_THREAD * 2)
            .map(|i| listener(i % 2 == 0, false))
            .collect();
        sockets.extend(spare.iter().map(|s| held_by(s, &[(me, vec![])])));

        let gaps = attach_options(&mut sockets);

        let options = |i: usize| (sockets[i].reuseaddr, sockets[i].reuseport);
        assert_eq!(options(0), (Some(true), Some(true)));
        assert_eq!(options(1), (Some(false), Some(false)));
        assert_eq!(options(2), (Some(false), Some(true)));
        assert_eq!(options(3), (None, None));
        assert_eq!(options(4), (None, None));
        assert_eq!(
            gaps,
            vec![(3, OptionsGap::Vanished), (4, OptionsGap::NoOwner)]
        );
        for (i, socket) in sockets.iter().enumerate().skip(5) {
            assert_eq!(socket.reuseaddr, Some((i - 5) % 2 == 0), "socket {i}");
        }
    }
}
