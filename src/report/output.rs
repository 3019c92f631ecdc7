//! `--output FILE`: the output written so that a reader never sees half of
//! it (node_exporter's textfile collector reads its directory at every
//! scrape): into a temporary file in FILE's own directory (a rename is
//! atomic only within one file system), flushed to disk, then renamed over
//! FILE. The temporary name starts with a dot and does not end in `.prom`,
//! so the textfile collector (which reads `*.prom`) never picks it up.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes what `write_into` writes to `path`, atomically. On any error the
/// temporary file is removed and `path` is left as it was.
pub fn write_atomically(
    path: &Path,
    write_into: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let temporary = temporary_path(path)?;
    let temporary_file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)?;
    let written =
        write_and_sync(temporary_file, write_into).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

fn write_and_sync(
    file: File,
    write_into: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = BufWriter::new(file);
    write_into(&mut out)?;
    let file = out.into_inner().map_err(io::IntoInnerError::into_error)?;
    file.sync_all()
}

/// `DIR/.NAME.PID.tmp` beside `path`.
fn temporary_path(path: &Path) -> io::Result<PathBuf> {
    let name = path.file_name().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the output must name a file, not a directory",
        )
    })?;
    let mut temporary = std::ffi::OsString::from(".");
    temporary.push(name);
    temporary.push(format!(".{}.tmp", std::process::id()));
    Ok(path.with_file_name(temporary))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("portcheck-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch directory");
        dir
    }

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = scratch("whole");
        let path = dir.join("portcheck.prom");
        fs::write(&path, "old\n").expect("old file");
        write_atomically(&path, |out| out.write_all(b"new\n")).expect("written");
        assert_eq!(fs::read_to_string(&path).expect("read"), "new\n");
        let left: Vec<_> = fs::read_dir(&dir).expect("list").flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary() {
        let dir = scratch("failed");
        let path = dir.join("portcheck.prom");
        fs::write(&path, "old\n").expect("old file");
        let failed = write_atomically(&path, |out| {
            out.write_all(b"half")?;
            Err(io::Error::other("renderer failed"))
        });
        assert!(failed.is_err());
        assert_eq!(fs::read_to_string(&path).expect("read"), "old\n");
        let left: Vec<_> = fs::read_dir(&dir).expect("list").flatten().collect();
        assert_eq!(left.len(), 1, "{left:?}");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_directory_is_refused() {
        assert!(temporary_path(Path::new("/")).is_err());
    }
}
