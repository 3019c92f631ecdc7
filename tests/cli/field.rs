//! The field suite's common ground: real programs (nginx, Redis,
//! PostgreSQL, MariaDB, socat, sshd, curl, wget, Apache, node, python3)
//! installed by `.ci/run` with apt, found here by name.
//!
//! A program that is missing is never skipped silently: the test prints
//! which program it lacked, and the name is appended to
//! `field-skipped.txt` in Cargo's target tmpdir, which `.ci/run` prints
//! after the suite ("field programs skipped: ...").

// Each helper serves the field tests of several issues; not all use each.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

/// Directories searched beyond `PATH`: Debian puts daemons in sbin and
/// PostgreSQL's server binaries under its versioned lib directory.
const EXTRA_DIRS: &[&str] = &["/usr/sbin", "/sbin", "/usr/local/sbin"];

/// The path of `name` (an executable), or `None` after recording that
/// `test` skipped because it is missing.
pub fn program(name: &str, test: &str) -> Option<PathBuf> {
    let found = find(name);
    if found.is_none() {
        record_skip(name, test);
    }
    found
}

/// PostgreSQL's server binaries (`initdb`, `postgres`), which Debian keeps
/// in `/usr/lib/postgresql/VERSION/bin`, newest version first.
pub fn postgres_bin(name: &str, test: &str) -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|path| is_executable(path))
        .collect();
    versions.sort();
    let found = versions.pop();
    if found.is_none() {
        record_skip(name, test);
    }
    found
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(EXTRA_DIRS.iter().map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn record_skip(name: &str, test: &str) {
    eprintln!("skipping {test}: {name} is not installed (.ci/run installs it with apt)");
    let list = Path::new(env!("CARGO_TARGET_TMPDIR")).join("field-skipped.txt");
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list)
    {
        let _ = writeln!(file, "{name} ({test})");
    }
}
