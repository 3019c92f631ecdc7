//! Which processes hold a socket: one pass over /proc/*/fd mapping socket
//! inodes to every (pid, fd), then name, command line and user read for the
//! owners only.
//!
//! The pass is most of what `portcheck who` costs on a busy machine (see
//! benches/README.md), so it is kept to the system calls the kernel makes
//! unavoidable: every path is opened relative to a descriptor of /proc
//! (`openat`, `getdents64` into a reused buffer, `readlinkat` into a stack
//! buffer, no path built or allocated per descriptor), and with enough
//! processes the pids are shared out between threads, one per CPU. Nothing
//! is skipped on a guess: every descriptor of every readable process is
//! looked at, and a process that exits during the pass is passed over as if
//! it had exited before.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::CStr;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustix::fs::{AtFlags, CWD, Mode, OFlags, RawDir, fstat, openat, readlinkat_raw, statat};
use rustix::io::{Errno, read};

use crate::model::{Container, OwnerGap, Process, Socket};
use crate::sockets::containers::container_of;
use crate::sockets::names::UserNames;
use crate::text::Text;

/// What the scan could not see, for warnings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct OwnerScan {
    /// Processes whose descriptors could not be listed (permission).
    pub unreadable_processes: usize,
    /// The uids of those processes.
    pub unreadable_uids: BTreeSet<u32>,
    /// Whether /proc could be listed at all: it exists and is the proc
    /// file system (an empty directory or a tmpfs over it, as some
    /// containers have, is not).
    pub proc_readable: bool,
    /// The `hidepid=` mode of the proc mount when it hides other users'
    /// processes from this one (`invisible`, `noaccess`, `ptraceable`, or
    /// the older `1`, `2`): their sockets' owners cannot be found.
    pub hidepid: Option<String>,
}

/// Fills `processes` (and `owner_gap` where none is found) for every socket
/// with an inode. `proc_root` is normally `/proc`.
pub fn attach_owners(sockets: &mut [Socket], proc_root: &Path, users: &mut UserNames) -> OwnerScan {
    let wanted: HashSet<u64> = sockets.iter().filter_map(|s| s.inode).collect();
    let mut scan = OwnerScan::default();
    let mut found = Found::default();
    if !wanted.is_empty() {
        found = scan_proc(proc_root, &wanted, &mut scan);
    }

    // Sorted by inode, then pid, then fd: each socket's owners are one run,
    // each owner's descriptors a run within it, already in order.
    let mut holders = found.holders;
    holders.sort_unstable();
    let details: HashMap<u32, ProcessDetails> = found.details.into_iter().collect();
    let missing = ProcessDetails::default();

    for socket in sockets.iter_mut() {
        let Some(inode) = socket.inode else {
            socket.owner_gap = Some(OwnerGap::KernelOwned);
            continue;
        };
        let start = holders.partition_point(|&(held, _, _)| held < inode);
        let count = holders[start..].partition_point(|&(held, _, _)| held == inode);
        if count == 0 {
            let hidden = scan.unreadable_processes > 0 || scan.hidepid.is_some();
            socket.owner_gap = Some(if !scan.proc_readable {
                OwnerGap::NoProc
            } else if hidden {
                OwnerGap::Unreadable
            } else {
                OwnerGap::NotVisible
            });
            continue;
        }
        let mine = &holders[start..start + count];
        let by_pid = mine.chunk_by(|a, b| a.1 == b.1);
        // Exactly as many as there are owners: `chunk_by` cannot say how
        // many beforehand, and `collect` would leave room for four, which
        // over thousands of sockets is megabytes of peak memory.
        socket.processes = Vec::with_capacity(by_pid.clone().count());
        socket.processes.extend(by_pid.map(|run| {
            let pid = run[0].1;
            let info = details.get(&pid).unwrap_or(&missing);
            Process {
                pid,
                name: info.name.clone(),
                cmdline: info.cmdline.clone(),
                fds: run.iter().map(|&(_, _, fd)| fd).collect(),
                uid: info.uid,
                user: info.uid.and_then(|uid| users.name(uid)),
                container: info.container.clone(),
            }
        }));
        // The socket's uid (its creator's, from the kernel) has processes
        // this run could not read, and no listed owner runs as it: one of
        // those may hold the socket too, so the list may not be whole.
        let creator_hidden = socket.uid.is_some_and(|uid| {
            scan.unreadable_uids.contains(&uid)
                && !socket.processes.iter().any(|p| p.uid == Some(uid))
        });
        socket.owner_gap = creator_hidden.then_some(OwnerGap::Unreadable);
    }
    scan
}

/// What the pass over /proc found.
#[derive(Debug, Default)]
struct Found {
    /// (inode, pid, fd) for every descriptor of a wanted socket.
    holders: Vec<(u64, u32, u32)>,
    /// Name, command line and user of every process in `holders`.
    details: Vec<(u32, ProcessDetails)>,
}

impl Found {
    fn merge(&mut self, other: Found) {
        self.holders.extend(other.holders);
        self.details.extend(other.details);
    }
}

/// Processes per thread: a second thread starts at twice this many; with
/// fewer it costs about what it saves (benches/README.md).
const PROCESSES_PER_THREAD: usize = 100;
/// At most this many threads, whatever the CPU count.
const MAX_THREADS: usize = 8;
/// Pids taken from the shared list at a time.
const CHUNK: usize = 4;
/// getdents64 buffer: a few hundred descriptors a call.
const DIR_BUFFER: usize = 16 * 1024;

/// The one pass over every process's descriptors.
fn scan_proc(proc_root: &Path, wanted: &HashSet<u64>, scan: &mut OwnerScan) -> Found {
    let Ok(proc_dir) = openat(
        CWD,
        proc_root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return Found::default();
    };
    // Only the proc file system has processes: an empty directory or a
    // tmpfs in its place would read as "no process owns anything". (A
    // made-up tree elsewhere, as the tests build, is taken as it is.)
    if proc_root == Path::new("/proc") && !is_proc_fs(&proc_dir) {
        return Found::default();
    }
    scan.proc_readable = true;
    if !rustix::process::geteuid().is_root() {
        scan.hidepid = std::fs::read(proc_root.join("self/mountinfo"))
            .ok()
            .and_then(|text| hidepid(&String::from_utf8_lossy(&text), proc_root));
    }
    let pids = list_pids(proc_dir.as_fd());
    let mut link = [0u8; 64];
    let our_pid_namespace = readlinkat_raw(proc_dir.as_fd(), c"self/ns/pid", &mut link[..])
        .ok()
        .and_then(|length| link.get(..length));

    let threads = thread_count(pids.len(), PROCESSES_PER_THREAD);
    let next = AtomicUsize::new(0);
    let work =
        || Scanner::new(proc_dir.as_fd(), wanted, our_pid_namespace).scan_shared(&pids, &next);
    let results: Vec<Partial> = if threads <= 1 {
        vec![work()]
    } else {
        std::thread::scope(|scope| {
            let helpers: Vec<_> = (1..threads)
                .filter_map(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .collect();
            // This thread works too; if no helper could start it does
            // everything. A helper's panic is this thread's: its share is
            // not dropped silently.
            let mut results = vec![work()];
            for helper in helpers {
                results.push(
                    helper
                        .join()
                        .unwrap_or_else(|e| std::panic::resume_unwind(e)),
                );
            }
            results
        })
    };

    let mut found = Found::default();
    for partial in results {
        scan.unreadable_processes += partial.unreadable_processes;
        scan.unreadable_uids.extend(partial.unreadable_uids);
        found.merge(partial.found);
    }
    found
}

/// How many threads share `items` pieces of work: one per CPU this process
/// may run on, none beyond one per `per_thread` pieces.
pub(crate) fn thread_count(items: usize, per_thread: usize) -> usize {
    let by_work = items / per_thread.max(1);
    if by_work <= 1 {
        return 1;
    }
    let cpus = rustix::thread::sched_getaffinity(None)
        .map_or(1, |set| usize::try_from(set.count()).unwrap_or(1));
    cpus.min(by_work).clamp(1, MAX_THREADS)
}

/// The numeric entries of /proc.
fn list_pids(proc_dir: BorrowedFd<'_>) -> Vec<u32> {
    let mut buffer = vec![MaybeUninit::<u8>::uninit(); DIR_BUFFER];
    let mut entries = RawDir::new(proc_dir, &mut buffer);
    let mut pids = Vec::new();
    // An error part-way (none is expected for /proc itself) ends the list
    // like the end of the directory does, as `read_dir(..).flatten()` did.
    while let Some(Ok(entry)) = entries.next() {
        if let Some(pid) =
            parse_decimal(entry.file_name().to_bytes()).and_then(|n| u32::try_from(n).ok())
        {
            pids.push(pid);
        }
    }
    pids
}

/// One thread's share of the pass.
#[derive(Debug, Default)]
struct Partial {
    found: Found,
    unreadable_processes: usize,
    unreadable_uids: BTreeSet<u32>,
}

/// One thread's buffers.
struct Scanner<'a> {
    proc_dir: BorrowedFd<'a>,
    wanted: &'a HashSet<u64>,
    /// Our PID namespace (`pid:[INODE]`), for [`ProcessDetails::read`].
    our_pid_namespace: Option<&'a [u8]>,
    dir_buffer: Vec<MaybeUninit<u8>>,
    file_buffer: Vec<u8>,
}

impl<'a> Scanner<'a> {
    fn new(
        proc_dir: BorrowedFd<'a>,
        wanted: &'a HashSet<u64>,
        our_pid_namespace: Option<&'a [u8]>,
    ) -> Self {
        Scanner {
            proc_dir,
            wanted,
            our_pid_namespace,
            dir_buffer: vec![MaybeUninit::uninit(); DIR_BUFFER],
            file_buffer: Vec::with_capacity(4096),
        }
    }

    /// Takes pids from `pids` in chunks (the next index in `next`) until
    /// none are left.
    fn scan_shared(mut self, pids: &[u32], next: &AtomicUsize) -> Partial {
        let mut partial = Partial::default();
        loop {
            let start = next.fetch_add(CHUNK, Ordering::Relaxed);
            let Some(chunk) = pids.get(start..pids.len().min(start + CHUNK)) else {
                break;
            };
            if chunk.is_empty() {
                break;
            }
            for &pid in chunk {
                self.scan_process(pid, &mut partial);
            }
        }
        partial
    }

    fn scan_process(&mut self, pid: u32, partial: &mut Partial) {
        self.scan_process_then(pid, partial, || ());
    }

    /// [`Self::scan_process`], calling `after_listing` between listing the
    /// descriptors and reading the name: the moment a pid can change hands
    /// (a test makes it do so there).
    fn scan_process_then(&mut self, pid: u32, partial: &mut Partial, after_listing: impl FnOnce()) {
        // `PID/fd` opened in one step: most processes hold no wanted
        // socket, and for them the process's own directory is never needed.
        let fd_dir = match openat(
            self.proc_dir,
            PidName::fd_dir(pid).as_c_str(),
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(dir) => dir,
            Err(Errno::ACCESS | Errno::PERM) => {
                partial.unreadable_processes += 1;
                if let Ok(stat) = statat(
                    self.proc_dir,
                    PidName::new(pid).as_c_str(),
                    AtFlags::empty(),
                ) {
                    partial.unreadable_uids.insert(stat.st_uid);
                }
                return;
            }
            // The process exited between listing /proc and reading it.
            Err(_) => return,
        };
        let first = partial.found.holders.len();
        let mut entries = RawDir::new(fd_dir.as_fd(), &mut self.dir_buffer);
        let mut link = [0u8; 64];
        // An error part-way means the process is exiting: what was seen
        // stands, as a descriptor closed during the pass would.
        while let Some(Ok(entry)) = entries.next() {
            let name = entry.file_name();
            let Some(fd) = parse_decimal(name.to_bytes()).and_then(|n| u32::try_from(n).ok())
            else {
                continue; // "." and ".."
            };
            let Ok(length) = readlinkat_raw(fd_dir.as_fd(), name, &mut link[..]) else {
                continue; // closed since the listing
            };
            // A full buffer may be a truncated link: never a socket's, whose
            // link is at most 29 bytes.
            let Some(inode) = link
                .get(..length)
                .filter(|_| length < link.len())
                .and_then(socket_inode_bytes)
            else {
                continue;
            };
            if self.wanted.contains(&inode) {
                partial.found.holders.push((inode, pid, fd));
            }
        }
        after_listing();
        if partial.found.holders.len() > first {
            // The process's directory as the parent of the `fd` directory
            // just listed, not by its number: procfs ties both to the
            // process, so if it has exited and its pid been reused since,
            // every read through this descriptor fails instead of reading
            // the newcomer (checked against a real exited process in
            // `the_parent_of_an_exited_process_fd_directory_reads_nothing`).
            // The name and command line are those of the process whose
            // descriptors were listed, never of a stranger with its pid.
            let details = openat(
                &fd_dir,
                c"..",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map(|pid_dir| {
                ProcessDetails::read(
                    pid_dir.as_fd(),
                    self.our_pid_namespace,
                    &mut self.file_buffer,
                )
            })
            .unwrap_or_default();
            partial.found.details.push((pid, details));
        }
    }
}

/// A pid as a C string on the stack: the name of its directory in /proc,
/// or of that directory's `fd`.
struct PidName {
    bytes: [u8; 14],
}

impl PidName {
    fn new(pid: u32) -> Self {
        Self::with_suffix(pid, b"")
    }

    fn fd_dir(pid: u32) -> Self {
        Self::with_suffix(pid, b"/fd")
    }

    fn with_suffix(pid: u32, suffix: &[u8]) -> Self {
        let mut digits = [0u8; 10];
        let mut n = pid;
        let mut count = 0;
        loop {
            digits[count] = b'0' + u8::try_from(n % 10).unwrap_or(0);
            count += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        let mut bytes = [0u8; 14];
        let name = digits[..count].iter().rev().chain(suffix.iter());
        for (slot, &byte) in bytes.iter_mut().zip(name) {
            *slot = byte;
        }
        PidName { bytes }
    }

    fn as_c_str(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.bytes).unwrap_or(c"")
    }
}

/// Whether /proc is the proc file system (and not missing, or an empty
/// directory or a tmpfs in its place, as some containers have).
pub fn proc_mounted() -> bool {
    openat(
        CWD,
        "/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .is_ok_and(|dir| is_proc_fs(&dir))
}

fn is_proc_fs(dir: &impl AsFd) -> bool {
    rustix::fs::fstatfs(dir).is_ok_and(|fs| fs.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

/// The `hidepid=` option of the proc file system mounted at `mount_point`
/// (the last such mount in /proc/self/mountinfo, the one on top), unless
/// it hides nothing (`0`, `off`). Root sees every process whatever it says.
pub fn hidepid(mountinfo: &str, mount_point: &Path) -> Option<String> {
    let mount_point = mount_point.to_str()?;
    // ID PARENT MAJ:MIN ROOT MOUNT_POINT OPTIONS [TAGS...] - TYPE SOURCE SUPER_OPTIONS
    let (_, fs) = mountinfo.lines().rev().find_map(|line| {
        let (mount, fs) = line.split_once(" - ")?;
        (mount.split(' ').nth(4)? == mount_point).then_some((mount, fs))
    })?;
    let mut fs = fs.split(' ');
    if fs.next()? != "proc" {
        return None;
    }
    fs.nth(1)?
        .split(',')
        .find_map(|option| option.strip_prefix("hidepid="))
        .filter(|mode| !matches!(*mode, "0" | "off"))
        .map(str::to_owned)
}

/// A decimal number made of ASCII digits only (a pid, a descriptor).
pub fn parse_decimal(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        if b.is_ascii_digit() {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

/// The inode in a descriptor link of the form `socket:[12345]`.
pub fn socket_inode(link: &str) -> Option<u64> {
    socket_inode_bytes(link.as_bytes())
}

/// [`socket_inode`] on the raw bytes `readlink` gives.
pub fn socket_inode_bytes(link: &[u8]) -> Option<u64> {
    parse_decimal(link.strip_prefix(b"socket:[")?.strip_suffix(b"]")?)
}

#[derive(Debug, Default, Clone)]
struct ProcessDetails {
    name: Option<Text>,
    cmdline: std::sync::Arc<[Text]>,
    uid: Option<u32>,
    container: Option<Container>,
}

impl ProcessDetails {
    /// The name from `PID/comm`, the command line from `PID/cmdline`, and
    /// the effective uid as the owner of the `PID` directory itself: the
    /// kernel gives a process's /proc directory its effective uid whatever
    /// its dumpable state, because tools (procps) stat it rather than
    /// generate the much slower `status` (task_dump_owner() in
    /// fs/proc/base.c). That is the second `Uid:` field of `status`, for
    /// one stat instead of the costliest file here.
    /// `pid_dir` is the process's open /proc/PID: reads through it fail
    /// once the process has exited, whoever has its pid now.
    ///
    /// The container comes from `PID/cgroup`, read only when the process
    /// is in another PID namespace than ours (`ours`; every container
    /// runtime gives a container its own): one readlink of `PID/ns/pid`
    /// through the held directory instead of a file read per owner.
    fn read(pid_dir: BorrowedFd<'_>, ours: Option<&[u8]>, buffer: &mut Vec<u8>) -> ProcessDetails {
        let uid = fstat(pid_dir).ok().map(|stat| stat.st_uid);
        // The exact bytes: a name need not be UTF-8 (crate::text).
        let name = read_file(pid_dir, c"comm", buffer)
            .then(|| Text::from_bytes(buffer.strip_suffix(b"\n").unwrap_or(buffer)));
        let cmdline = if read_file(pid_dir, c"cmdline", buffer) {
            parse_cmdline(buffer)
        } else {
            Vec::new()
        };
        let mut link = [0u8; 64];
        let namespace = readlinkat_raw(pid_dir, c"ns/pid", &mut link[..])
            .ok()
            .and_then(|length| link.get(..length));
        let in_ours = namespace.is_some() && namespace == ours;
        let container = if !in_ours && read_file(pid_dir, c"cgroup", buffer) {
            container_of(&String::from_utf8_lossy(buffer))
        } else {
            None
        };
        ProcessDetails {
            name,
            cmdline: cmdline.into(),
            uid,
            container,
        }
    }
}

/// Reads `path` (relative to `dir`) into `buffer`; false if it could not be
/// opened or nothing could be read. The files read here (comm, a seq_file,
/// and cmdline) fill each read as far as they have data, so a read shorter
/// than asked is the end: no read of zero bytes is needed to see it.
fn read_file(dir: BorrowedFd<'_>, path: &CStr, buffer: &mut Vec<u8>) -> bool {
    buffer.clear();
    let Ok(file) = openat(dir, path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return false;
    };
    loop {
        if buffer.capacity() - buffer.len() < 1024 {
            buffer.reserve(buffer.capacity().max(4096));
        }
        let room = buffer.capacity() - buffer.len();
        match read(&file, rustix::buffer::spare_capacity(buffer)) {
            Ok(count) if count < room => return true,
            Ok(_) | Err(Errno::INTR) => {}
            Err(_) => return !buffer.is_empty(),
        }
    }
}

/// Splits /proc/PID/cmdline at NULs. A process may rewrite its command line
/// (nginx, postgres) into one string without NULs; that stays one argument.
/// The NULs padding a rewritten title to the old length (an nginx worker's
/// `nginx: worker process` is followed by 25 of them, seen here) are no
/// arguments: they are trimmed, as ps trims them. Each argument keeps its
/// exact bytes.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<Text> {
    let end = bytes
        .iter()
        .rposition(|&b| b != 0)
        .map_or(0, |last| last + 1);
    let trimmed = &bytes[..end];
    if trimmed.is_empty() {
        return Vec::new();
    }
    trimmed.split(|&b| b == 0).map(Text::from_bytes).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory opened for reading, as the tests open /proc and its
    /// entries.
    fn open_dir(
        dir: impl AsFd,
        path: impl rustix::path::Arg,
    ) -> rustix::io::Result<std::os::fd::OwnedFd> {
        openat(dir, path, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())
    }

    /// The effective uid from /proc/PID/status (`Uid: real effective saved
    /// fs`): the oracle the /proc directory's owner is checked against.
    fn effective_uid(status: &str) -> Option<u32> {
        status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|uid| uid.parse().ok())
    }

    #[test]
    fn socket_links_give_inodes() {
        assert_eq!(socket_inode("socket:[5438]"), Some(5438));
        assert_eq!(socket_inode("pipe:[5438]"), None);
        assert_eq!(socket_inode("socket:[]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn socket_link_bytes_are_strict() {
        assert_eq!(
            socket_inode_bytes(b"socket:[18446744073709551615]"),
            Some(u64::MAX)
        );
        assert_eq!(socket_inode_bytes(b"socket:[18446744073709551616]"), None);
        assert_eq!(socket_inode_bytes(b"socket:[+5]"), None);
        assert_eq!(socket_inode_bytes(b"socket:[5"), None);
        assert_eq!(socket_inode_bytes(b"socket:[5]x"), None);
        assert_eq!(socket_inode_bytes(b"/tmp/socket:[5]"), None);
        assert_eq!(socket_inode_bytes(b"anon_inode:[eventpoll]"), None);
    }

    #[test]
    fn hidepid_is_read_from_the_top_proc_mount() {
        let root = Path::new("/proc");
        let plain = "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw\n";
        assert_eq!(hidepid(plain, root), None);
        let hidden = format!(
            "{plain}300 22 0:55 / /proc rw,relatime - proc proc rw,hidepid=invisible,subset=pid\n"
        );
        assert_eq!(hidepid(&hidden, root).as_deref(), Some("invisible"));
        assert_eq!(hidepid(&hidden, Path::new("/other")), None);
        let off = "1 0 0:5 / /proc rw - proc proc rw,hidepid=off\n";
        assert_eq!(hidepid(off, root), None);
        let tmpfs = "1 0 0:5 / /proc rw - tmpfs none rw,hidepid=2\n";
        assert_eq!(hidepid(tmpfs, root), None);
        assert_eq!(hidepid("garbage\n - \n", root), None);
    }

    #[test]
    fn decimals_are_digits_only() {
        assert_eq!(parse_decimal(b"0"), Some(0));
        assert_eq!(parse_decimal(b"4194304"), Some(4_194_304));
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"."), None);
        assert_eq!(parse_decimal(b".."), None);
        assert_eq!(parse_decimal(b"self"), None);
        assert_eq!(parse_decimal(b"12a"), None);
        assert_eq!(parse_decimal(b"-1"), None);
        assert_eq!(parse_decimal(b"99999999999999999999999"), None);
    }

    #[test]
    fn pid_names_are_c_strings() {
        assert_eq!(PidName::new(0).as_c_str(), c"0");
        assert_eq!(PidName::new(731).as_c_str(), c"731");
        assert_eq!(PidName::new(4_294_967_295).as_c_str(), c"4294967295");
        assert_eq!(PidName::fd_dir(731).as_c_str(), c"731/fd");
        assert_eq!(PidName::fd_dir(4_294_967_295).as_c_str(), c"4294967295/fd");
    }

    #[test]
    fn cmdline_splits_on_nul_and_keeps_rewritten_titles() {
        let args = |bytes: &[u8]| -> Vec<Vec<u8>> {
            parse_cmdline(bytes)
                .iter()
                .map(|arg| arg.bytes().to_vec())
                .collect()
        };
        assert_eq!(args(b"node\0server.js\0"), [&b"node"[..], b"server.js"]);
        assert_eq!(
            args(b"nginx: master process /usr/sbin/nginx"),
            [b"nginx: master process /usr/sbin/nginx"]
        );
        assert!(parse_cmdline(b"").is_empty());
        assert!(parse_cmdline(b"\0\0").is_empty());
        // A rewritten title padded with NULs, as an nginx worker's is.
        assert_eq!(
            args(b"nginx: worker process\0\0\0\0\0\0\0\0"),
            [b"nginx: worker process"]
        );
        assert_eq!(args(b"a\0\0b\0"), [&b"a"[..], b"", b"b"]);
        // Exact bytes, never replaced: JSON carries them (crate::text).
        assert_eq!(args(b"a\xff\0\x1b[2J\0"), [&b"a\xff"[..], b"\x1b[2J"]);
    }

    #[test]
    fn status_gives_the_effective_uid() {
        let status = "Name:\tx\nUid:\t1000\t1001\t1000\t1000\nGid:\t1\t1\t1\t1\n";
        assert_eq!(effective_uid(status), Some(1001));
        assert_eq!(effective_uid("Name: x\n"), None);
    }

    #[test]
    fn files_are_read_whole_across_many_reads() {
        let path = std::env::temp_dir().join(format!("portcheck-read-{}", std::process::id()));
        let content: Vec<u8> = (0..10_000u32).map(|i| b"abc\0"[(i % 4) as usize]).collect();
        std::fs::write(&path, &content).expect("write");
        let dir = open_dir(CWD, c"/").expect("/");
        let relative =
            std::ffi::CString::new(path.to_str().expect("utf-8").trim_start_matches('/'))
                .expect("c string");
        let mut buffer = Vec::new();
        assert!(read_file(dir.as_fd(), &relative, &mut buffer));
        assert_eq!(buffer, content);
        std::fs::write(&path, b"").expect("truncate");
        assert!(read_file(dir.as_fd(), &relative, &mut buffer));
        assert!(buffer.is_empty());
        std::fs::remove_file(&path).expect("cleanup");
        assert!(!read_file(dir.as_fd(), &relative, &mut buffer));
    }

    #[test]
    fn thread_count_grows_with_the_work_only() {
        assert_eq!(thread_count(0, PROCESSES_PER_THREAD), 1);
        assert_eq!(thread_count(PROCESSES_PER_THREAD, PROCESSES_PER_THREAD), 1);
        assert!(thread_count(100 * PROCESSES_PER_THREAD, PROCESSES_PER_THREAD) <= MAX_THREADS);
    }

    /// A made-up /proc: process 100 holds socket 7 on fds 4 and 9 (out of
    /// order) and a pipe, 200 holds socket 7 and socket 8, 300 holds
    /// sockets nobody asked about, and `self` and a file are not processes.
    fn fake_proc() -> std::path::PathBuf {
        use std::os::unix::fs::symlink;
        let root = std::env::temp_dir().join(format!(
            "portcheck-owners-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&root);
        let process = |pid: &str, name: &str, cmdline: &[u8], fds: &[(&str, &str)]| {
            let dir = root.join(pid);
            std::fs::create_dir_all(dir.join("fd")).expect("mkdir");
            std::fs::write(dir.join("comm"), format!("{name}\n")).expect("comm");
            std::fs::write(dir.join("cmdline"), cmdline).expect("cmdline");
            for (fd, target) in fds {
                symlink(target, dir.join("fd").join(fd)).expect("symlink");
            }
        };
        process(
            "100",
            "server",
            b"server\0--port\08000\0",
            &[("9", "socket:[7]"), ("4", "socket:[7]"), ("5", "pipe:[7]")],
        );
        process(
            "200",
            "worker",
            b"worker\0",
            &[
                ("3", "socket:[7]"),
                ("10", "socket:[8]"),
                ("0", "/dev/null"),
            ],
        );
        process("300", "other", b"other\0", &[("3", "socket:[99]")]);
        std::fs::create_dir_all(root.join("self")).expect("self");
        std::fs::write(root.join("uptime"), "1 1\n").expect("uptime");
        root
    }

    fn socket_with_inode(inode: Option<u64>) -> Socket {
        use crate::model::{Protocol, State};
        let mut socket = Socket::bare(
            Protocol::Tcp,
            "127.0.0.1".parse().expect("address"),
            8000,
            State::Listen,
        );
        socket.inode = inode;
        socket
    }

    #[test]
    fn every_owner_of_every_socket_is_found_in_a_fake_proc() {
        let root = fake_proc();
        let mut sockets = vec![
            socket_with_inode(Some(7)),
            socket_with_inode(Some(8)),
            socket_with_inode(Some(42)),
            socket_with_inode(None),
        ];
        let scan = attach_owners(&mut sockets, &root, &mut UserNames::default());
        std::fs::remove_dir_all(&root).expect("cleanup");

        assert!(scan.proc_readable);
        assert_eq!(scan.unreadable_processes, 0);
        let owners: Vec<(u32, Vec<u32>)> = sockets[0]
            .processes
            .iter()
            .map(|p| (p.pid, p.fds.clone()))
            .collect();
        assert_eq!(owners, vec![(100, vec![4, 9]), (200, vec![3])]);
        let server = &sockets[0].processes[0];
        assert_eq!(server.name, Some(Text::from("server")));
        assert_eq!(
            &*server.cmdline,
            ["server", "--port", "8000"].map(Text::from)
        );
        // The owner of the PID directory: here, whoever made it.
        assert_eq!(server.uid, Some(rustix::process::geteuid().as_raw()));
        assert_eq!(sockets[1].processes.len(), 1);
        assert_eq!(sockets[1].processes[0].pid, 200);
        assert_eq!(sockets[1].processes[0].fds, vec![10]);
        assert_eq!(sockets[0].owner_gap, None);
        assert_eq!(sockets[2].owner_gap, Some(OwnerGap::NotVisible));
        assert_eq!(sockets[3].owner_gap, Some(OwnerGap::KernelOwned));
    }

    /// A process exits after its descriptors were listed and its pid goes
    /// to another process before its name is read: the name and command
    /// line must not be the newcomer's. In a real /proc the old directory
    /// stops answering; here the old directory is moved aside and a new
    /// one takes the pid's name, which a path-based read would follow.
    /// The claim `scan_process_then` rests on: `PID/fd/..` opened after
    /// the process has exited reads nothing (procfs ties the directory to
    /// the process, not to its number), and while it lives it reads the
    /// process's own files.
    #[test]
    fn the_parent_of_an_exited_process_fd_directory_reads_nothing() {
        let Ok(mut child) = std::process::Command::new("sleep").arg("30").spawn() else {
            return; // no sleep(1): nothing to check the claim on
        };
        let proc_dir = open_dir(CWD, c"/proc").expect("/proc");
        let fd_dir = open_dir(proc_dir.as_fd(), PidName::fd_dir(child.id()).as_c_str())
            .expect("/proc/PID/fd");
        let parent = |fd_dir: &std::os::fd::OwnedFd| open_dir(fd_dir, c"..");
        // The child may not have reached exec yet (its comm is still ours).
        let by_path = format!("/proc/{}/comm", child.id());
        for _ in 0..200 {
            if std::fs::read(&by_path).is_ok_and(|comm| comm == b"sleep\n") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let mut buffer = Vec::new();
        let alive = parent(&fd_dir).expect("PID/fd/.. while alive");
        assert!(read_file(alive.as_fd(), c"comm", &mut buffer));
        assert_eq!(buffer, b"sleep\n");
        drop(alive);
        child.kill().expect("kill our own child");
        child.wait().expect("reap it");
        match parent(&fd_dir) {
            Err(_) => {}
            Ok(dir) => assert!(
                !read_file(dir.as_fd(), c"comm", &mut buffer),
                "read {buffer:?} through an exited process's directory"
            ),
        }
    }

    #[test]
    fn the_container_is_read_only_for_processes_in_another_pid_namespace() {
        use std::os::unix::fs::symlink;
        let root = fake_proc();
        let id = "a".repeat(64);
        let cgroup = format!("0::/system.slice/docker-{id}.scope\n");
        std::fs::create_dir_all(root.join("self/ns")).expect("self ns dir");
        symlink("pid:[4026531836]", root.join("self/ns/pid")).expect("self ns");
        // 100 in another PID namespace, 200 in ours; both cgroups say
        // docker, and 300 (another namespace) has no cgroup file.
        for (pid, namespace) in [
            ("100", "pid:[4026532999]"),
            ("200", "pid:[4026531836]"),
            ("300", "pid:[4026532999]"),
        ] {
            std::fs::create_dir_all(root.join(pid).join("ns")).expect("ns");
            symlink(namespace, root.join(pid).join("ns/pid")).expect("ns link");
        }
        std::fs::write(root.join("100/cgroup"), &cgroup).expect("cgroup");
        std::fs::write(root.join("200/cgroup"), &cgroup).expect("cgroup");
        let mut sockets = vec![socket_with_inode(Some(7)), socket_with_inode(Some(99))];
        attach_owners(&mut sockets, &root, &mut UserNames::default());
        std::fs::remove_dir_all(&root).expect("cleanup");

        let container = |socket: &Socket, pid: u32| {
            socket
                .processes
                .iter()
                .find(|p| p.pid == pid)
                .map(|p| p.container.clone())
        };
        assert_eq!(
            container(&sockets[0], 100),
            Some(Some(Container {
                runtime: "docker",
                id: id.clone()
            }))
        );
        assert_eq!(container(&sockets[0], 200), Some(None));
        assert_eq!(container(&sockets[1], 300), Some(None));
    }

    #[test]
    fn a_pid_reused_between_listing_and_reading_never_names_the_newcomer() {
        let root = fake_proc();
        let proc_dir = open_dir(CWD, root.as_path()).expect("fake proc");
        let wanted: HashSet<u64> = [7].into_iter().collect();
        let mut partial = Partial::default();
        Scanner::new(proc_dir.as_fd(), &wanted, None).scan_process_then(100, &mut partial, || {
            std::fs::rename(root.join("100"), root.join("gone")).expect("rename");
            std::fs::create_dir_all(root.join("100").join("fd")).expect("mkdir");
            std::fs::write(root.join("100").join("comm"), "newcomer\n").expect("comm");
            std::fs::write(root.join("100").join("cmdline"), "newcomer\0").expect("cmdline");
        });
        std::fs::remove_dir_all(&root).expect("cleanup");

        let holders: Vec<(u64, u32)> = partial
            .found
            .holders
            .iter()
            .map(|&(inode, pid, _)| (inode, pid))
            .collect();
        assert_eq!(holders, vec![(7, 100), (7, 100)]);
        let [(pid, details)] = partial.found.details.as_slice() else {
            panic!("one owner's details: {:?}", partial.found.details);
        };
        assert_eq!(*pid, 100);
        assert_eq!(details.name, Some(Text::from("server")));
        assert_eq!(
            &*details.cmdline,
            ["server", "--port", "8000"].map(Text::from)
        );
    }

    #[test]
    fn an_unlistable_proc_leaves_owners_unreadable() {
        let mut sockets = vec![socket_with_inode(Some(7))];
        let scan = attach_owners(
            &mut sockets,
            Path::new("/nonexistent/proc"),
            &mut UserNames::default(),
        );
        assert!(!scan.proc_readable);
        assert_eq!(sockets[0].owner_gap, Some(OwnerGap::NoProc));
    }

    /// The uid comes from the owner of /proc/PID, which the kernel keeps at
    /// the effective uid even for a process that made itself non-dumpable
    /// (its other /proc files then belong to root). Needs root (ignored
    /// unless built as root: build.rs), setpriv and /usr/bin/python3 to
    /// make such a process; says so and passes without the last two.
    #[test]
    #[cfg_attr(
        not(portcheck_root),
        ignore = "needs root (a process of another uid): cargo test as root runs it"
    )]
    fn the_proc_directory_owner_is_the_effective_uid_even_when_not_dumpable() {
        use std::io::{BufRead, BufReader};
        use std::process::{Command, Stdio};
        let uid = rustix::process::geteuid().as_raw();
        assert_eq!(
            uid,
            0,
            "needs root; built as uid {}, run as uid {uid}: rebuild as this user",
            env!("PORTCHECK_BUILD_UID")
        );
        let script = "import ctypes, sys\n\
                      ctypes.CDLL(None).prctl(4, 0)\n\
                      print('ready', flush=True)\n\
                      sys.stdin.read()\n";
        let Ok(mut child) = Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .args(["/usr/bin/python3", "-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
        else {
            eprintln!("skipped: setpriv or /usr/bin/python3 is missing");
            return;
        };
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read");
        let pid = child.id();
        let details = if line.trim() == "ready" {
            let proc_dir = open_dir(CWD, c"/proc").expect("/proc");
            let pid_dir =
                open_dir(proc_dir.as_fd(), PidName::new(pid).as_c_str()).expect("/proc/PID");
            let fd_owner = statat(&pid_dir, c"fd", AtFlags::empty()).map(|stat| stat.st_uid);
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok();
            let details = ProcessDetails::read(pid_dir.as_fd(), None, &mut Vec::new());
            Some((details, fd_owner, status))
        } else {
            None
        };
        drop(child.stdin.take());
        let _ = child.wait();
        let (details, fd_owner, status) = details.expect("the child started");
        assert_eq!(
            fd_owner,
            Ok(0),
            "non-dumpable: /proc/PID/fd belongs to root"
        );
        assert_eq!(details.uid, Some(65534));
        assert_eq!(status.as_deref().and_then(effective_uid), Some(65534));
        assert_eq!(details.name, Some(Text::from("python3")));
    }

    #[test]
    fn this_process_is_found_holding_its_own_socket() {
        use std::os::unix::fs::MetadataExt;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
        let inode = std::fs::metadata(format!("/proc/self/fd/{fd}"))
            .expect("stat")
            .ino();
        let mut sockets = vec![socket_with_inode(Some(inode))];
        attach_owners(&mut sockets, Path::new("/proc"), &mut UserNames::default());
        let me = sockets[0]
            .processes
            .iter()
            .find(|p| p.pid == std::process::id())
            .expect("this process among the owners");
        assert_eq!(me.fds, vec![u32::try_from(fd).expect("fd")]);
        assert!(me.name.is_some());
        assert!(!me.cmdline.is_empty());
        assert_eq!(me.uid, Some(rustix::process::geteuid().as_raw()));
    }
}
