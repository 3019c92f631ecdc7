//! Network namespaces: entering one (`--netns`), and finding every one a
//! process on this host is in (`--all-netns`).

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::ErrorKind;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};

use crate::error::Error;

/// Where `ip netns add NAME` puts its namespaces.
const NAMED_NETNS_DIR: &str = "/run/netns";

/// The file that stands for the namespace `spec` names: `/run/netns/NAME`,
/// a path (anything with a `/`), or `/proc/PID/ns/net` for a number.
pub fn path_of(spec: &str) -> Result<PathBuf, Error> {
    if spec.is_empty() {
        return Err(Error::Netns("--netns needs a name, a path or a pid".into()));
    }
    if spec.contains('/') {
        return Ok(PathBuf::from(spec));
    }
    if spec.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(PathBuf::from(format!("/proc/{spec}/ns/net")));
    }
    Ok(Path::new(NAMED_NETNS_DIR).join(spec))
}

/// Moves the calling thread (and the threads it starts later) into the
/// network namespace `spec` names.
pub fn enter(spec: &str) -> Result<(), Error> {
    let path = path_of(spec)?;
    let file = File::open(&path).map_err(|error| {
        Error::Netns(match error.kind() {
            ErrorKind::NotFound => format!(
                "no network namespace '{spec}' ({} does not exist; `ip netns list` shows the named ones)",
                path.display()
            ),
            ErrorKind::PermissionDenied => format!(
                "cannot open {}: permission denied (entering a namespace needs root)",
                path.display()
            ),
            _ => format!("cannot open {}: {error}", path.display()),
        })
    })?;
    enter_file(&file).map_err(|message| Error::Netns(format!("{spec}: {message}")))
}

fn enter_file(file: &File) -> Result<(), String> {
    move_into_link_name_space(file.as_fd(), Some(LinkNameSpaceType::Network)).map_err(|errno| {
        match errno {
            rustix::io::Errno::PERM => {
                "entering a network namespace needs CAP_SYS_ADMIN (run as root)".to_owned()
            }
            rustix::io::Errno::INVAL => "that is not a network namespace".to_owned(),
            other => format!("setns failed: {other}"),
        }
    })
}

/// One network namespace found on this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// `net:[INODE]`, as /proc shows it.
    pub id: String,
    /// The `ip netns` name, when it has one.
    pub name: Option<String>,
    /// A file to enter it by.
    pub path: PathBuf,
}

/// Every network namespace a process here is in (via /proc/*/ns/net), and
/// every named one (/run/netns), each once, sorted by id. Returns also how
/// many processes' namespaces could not be read.
pub fn all() -> (Vec<Namespace>, usize) {
    let mut found: BTreeMap<u64, Namespace> = BTreeMap::new();
    let mut unreadable = 0;
    if let Ok(entries) = fs::read_dir(NAMED_NETNS_DIR) {
        for entry in entries.flatten() {
            let path = entry.path();
            if let Ok(meta) = fs::metadata(&path) {
                found.entry(meta.ino()).or_insert_with(|| Namespace {
                    id: format!("net:[{}]", meta.ino()),
                    name: Some(entry.file_name().to_string_lossy().into_owned()),
                    path,
                });
            }
        }
    }
    if let Ok(entries) = fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let is_pid = entry
                .file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()));
            if !is_pid {
                continue;
            }
            let path = entry.path().join("ns/net");
            match fs::metadata(&path) {
                Ok(meta) => {
                    found.entry(meta.ino()).or_insert_with(|| Namespace {
                        id: format!("net:[{}]", meta.ino()),
                        name: None,
                        path,
                    });
                }
                Err(error) if error.kind() == ErrorKind::PermissionDenied => unreadable += 1,
                Err(_) => {}
            }
        }
    }
    (found.into_values().collect(), unreadable)
}

/// The `ip netns` name of the namespace `id` (`net:[INODE]`), if any.
pub fn name_of(id: &str) -> Option<String> {
    let entries = fs::read_dir(NAMED_NETNS_DIR).ok()?;
    entries.flatten().find_map(|entry| {
        let meta = fs::metadata(entry.path()).ok()?;
        (format!("net:[{}]", meta.ino()) == id)
            .then(|| entry.file_name().to_string_lossy().into_owned())
    })
}

/// Runs `work` on a new thread inside `namespace`, so the caller's own
/// namespace is untouched.
pub fn run_in<T: Send>(
    namespace: &Namespace,
    work: impl FnOnce() -> T + Send,
) -> Result<T, String> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let file = File::open(&namespace.path).map_err(|error| {
                    format!(
                        "{} vanished or cannot be opened: {error}",
                        namespace.path.display()
                    )
                })?;
                // setns(2) wants CAP_SYS_ADMIN even into the namespace the
                // thread is already in: without root, the own namespace is
                // read where it is instead of being reported unreadable.
                if !already_in(&file) {
                    enter_file(&file)?;
                }
                Ok(work())
            })
            .join()
            .unwrap_or_else(|_| Err("the namespace's reader panicked".into()))
    })
}

/// Whether `file` is the network namespace the calling thread is in.
fn already_in(file: &File) -> bool {
    match (fs::metadata("/proc/thread-self/ns/net"), file.metadata()) {
        (Ok(here), Ok(there)) => here.ino() == there.ino() && here.dev() == there.dev(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_name_their_files() {
        assert_eq!(
            path_of("web").expect("name"),
            PathBuf::from("/run/netns/web")
        );
        assert_eq!(
            path_of("4242").expect("pid"),
            PathBuf::from("/proc/4242/ns/net")
        );
        assert_eq!(
            path_of("/var/run/netns/x").expect("path"),
            PathBuf::from("/var/run/netns/x")
        );
        assert!(path_of("").is_err());
    }
}
