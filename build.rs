//! Tells the tests whether they were built as root (issue 19, item 8).
//!
//! Most integration tests (and one unit test) need root: a private network
//! namespace, sockets and processes of another uid. Without root they
//! cannot run, and a test that returns early counts as passed, so a
//! non-root `cargo test` used to claim about 160 passes it never ran.
//! They are marked
//! `#[cfg_attr(not(portcheck_root), ignore = "...")]` instead: a non-root
//! `cargo test` reports them as ignored, and the README's command, plain
//! `cargo test`, run as root (CI, `.ci/run`) runs them all.
//!
//! Why a cfg from a build script rather than the alternatives:
//! - a plain `#[ignore]` would need `-- --ignored` as root, so the
//!   README's command and CI's would differ, and root would skip them too;
//! - a cargo feature (trippy's privileged simulation tests are compiled
//!   only with `--features sim-tests`, its crate-level
//!   `#![cfg(all(feature = "sim-tests", ...))]`) makes the tests vanish
//!   without it: they are neither run nor counted as ignored;
//! - a custom harness (libtest-mimic, `harness = false`) can ignore at run
//!   time, but replaces libtest for ~180 tests and adds a crate;
//! - stock libtest decides `ignore` at compile time, so the build is where
//!   the uid is known: this script, a few lines with no dependency.
//!
//! The uid is the one the build runs as; the tests check at run time that
//! it is still theirs (`harness::in_netns`, `harness::build_uid`), so a
//! binary built as root and run as another user fails loudly instead of
//! passing, and one built as another user and run as root says that its
//! root tests were ignored.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(portcheck_root)");
    // Rerun only when the uid may have changed: this file, or the
    // environment a change of user (su, sudo, runuser) rewrites.
    println!("cargo::rerun-if-changed=build.rs");
    for variable in ["USER", "LOGNAME", "HOME", "SUDO_UID"] {
        println!("cargo::rerun-if-env-changed={variable}");
    }
    let uid = effective_uid();
    let uid_text = uid.map_or_else(|| "unknown".to_owned(), |uid| uid.to_string());
    println!("cargo::rustc-env=PORTCHECK_BUILD_UID={uid_text}");
    if uid == Some(0) {
        println!("cargo::rustc-cfg=portcheck_root");
    }
}

/// The uid the build runs as. /proc/self belongs to the effective uid of
/// the process reading it (a build script is dumpable). Without /proc
/// (other OSes) it is not known, and the root tests are ignored.
#[cfg(unix)]
fn effective_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").map(|meta| meta.uid()).ok()
}

#[cfg(not(unix))]
fn effective_uid() -> Option<u32> {
    None
}
