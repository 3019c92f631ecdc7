//! Process names and command lines are untrusted (issue #7, item 6): a
//! real process whose name and arguments hold terminal escape sequences,
//! newlines, bytes that are not UTF-8 and a 100 KB argument. The table must
//! show none of it raw and stay one short line; JSON must give back the
//! exact bytes.

use std::ffi::OsStr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use crate::harness::{
    Opts, ProcessDoc, in_netns, listener, portcheck, who_json, without_new_processes,
};

/// The name the process runs under: the kernel sets comm to the base name
/// of the file executed (here a symlink to /bin/sh), at most 15 bytes.
const NAME: &[u8] = b"\x1b]0;pwned\x07\xff";

/// argv, argument 0 included: an escape sequence that would clear the
/// screen, one that would retitle the terminal, a newline, bytes that are
/// not UTF-8, an 8-bit CSI, a right-to-left override, and 100 KB.
fn argv() -> Vec<Vec<u8>> {
    vec![
        b"\x1b[2J\xfe".to_vec(),
        b"-c".to_vec(),
        // Waits on its standard input with a builtin: no child process
        // shares the socket.
        b"read line".to_vec(),
        b"\x1b]0;pwned\x07".to_vec(),
        b"line1\nline2\r".to_vec(),
        b"bad\xff\xc3utf8".to_vec(),
        "csi\u{9b}2J rlo\u{202e}x".as_bytes().to_vec(),
        vec![b'A'; 100_000],
        b"end".to_vec(),
    ]
}

/// A shell that holds `socket` as its standard output until its standard
/// input is closed, started under the harness's process lock.
struct Holder {
    child: Child,
    link: PathBuf,
}

impl Holder {
    fn start(test: &str, socket: socket2::Socket) -> Holder {
        let dir = std::env::temp_dir().join(format!("portcheck-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir(&dir).expect("mkdir");
        let link = dir.join(OsStr::from_bytes(NAME));
        std::os::unix::fs::symlink("/bin/sh", &link).expect("symlink");
        let argv = argv();
        let mut command = Command::new(&link);
        command
            .arg0(OsStr::from_bytes(&argv[0]))
            .args(argv[1..].iter().map(|arg| OsStr::from_bytes(arg)))
            .stdin(Stdio::piped())
            .stdout(Stdio::from(OwnedFd::from(socket)))
            .stderr(Stdio::null());
        let child = without_new_processes(|| command.spawn()).expect("start the shell");
        Holder { child, link }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // EOF on its standard input ends `read`, and the shell.
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        if let Some(dir) = self.link.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Waits until the shell has exec'd (comm is the link's name), so that
/// portcheck reads its final name and arguments.
fn wait_for_exec(pid: u32) {
    for _ in 0..200 {
        if std::fs::read(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.starts_with(NAME)) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("process {pid} never ran under its new name");
}

/// No byte a terminal would act on: no C0 control but the newline that
/// ends each line, no DEL, no C1 control (U+0080..U+009F), no bidi override.
fn assert_terminal_safe(text: &str) {
    for (index, c) in text.char_indices() {
        let bad = (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c);
        if bad {
            let around: String = text[index.saturating_sub(200)..]
                .chars()
                .take(300)
                .collect();
            panic!("raw {c:?} at byte {index}, in: {}", around.escape_debug());
        }
    }
}

fn decode(base64: &str) -> Vec<u8> {
    BASE64.decode(base64).expect("base64")
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn untrusted_names_and_command_lines_are_escaped_in_tables_and_exact_in_json() {
    in_netns("untrusted_names_and_command_lines", || {
        let holder = Holder::start(
            "untrusted",
            listener("127.0.0.1:9700", Opts::new().reuseaddr(true)),
        );
        wait_for_exec(holder.pid());
        let expected = argv();

        // The table: escaped, one line, cut.
        let run = portcheck(&["who", "9700"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert!(run.stderr.is_empty(), "{run:#?}");
        assert_terminal_safe(&run.stdout);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "a header and one row:\n{}", run.stdout);
        let row = lines[1];
        assert!(
            row.contains(&format!(
                "\\u{{1b}}]0;pwned\\u{{7}}\\xff (pid {}, fd 1): \\u{{1b}}[2J\\xfe -c read line \\u{{1b}}]0;pwned\\u{{7}} line1\\nline2…",
                holder.pid()
            )),
            "{row}"
        );
        assert!(row.chars().count() < 200, "cut: {row}");

        // JSON: UTF-8 strings every reader takes, and the exact bytes.
        let (run, doc) = who_json(&["9700"]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_eq!(doc.sockets.len(), 1, "{doc:#?}");
        let processes: &[ProcessDoc] = &doc.sockets[0].processes;
        assert_eq!(processes.len(), 1, "{doc:#?}");
        let process = &processes[0];
        assert_eq!(process.pid, holder.pid());
        assert_eq!(
            process.name.as_deref(),
            Some(&*String::from_utf8_lossy(NAME))
        );
        assert_eq!(
            process.name_bytes.as_deref().map(decode),
            Some(NAME.to_vec())
        );
        let lossy: Vec<String> = expected
            .iter()
            .map(|arg| String::from_utf8_lossy(arg).into_owned())
            .collect();
        assert_eq!(
            process.cmdline, lossy,
            "JSON carries the whole command line"
        );
        let exact: Vec<Vec<u8>> = process
            .cmdline_bytes
            .as_ref()
            .expect("cmdline_bytes: some arguments are not UTF-8")
            .iter()
            .map(|arg| decode(arg))
            .collect();
        assert_eq!(exact, expected, "the exact bytes of every argument");
        // Control characters are escaped by JSON itself: none is raw.
        assert_terminal_safe(&run.stdout);

        // Prose that names the holder escapes it too.
        for args in [
            &["try", "127.0.0.1:9700"][..],
            &[
                "why",
                "Error: listen EADDRINUSE: address already in use 127.0.0.1:9700",
            ][..],
        ] {
            let run = portcheck(args);
            assert_terminal_safe(&run.stdout);
            assert_terminal_safe(&run.stderr);
            assert!(
                run.stdout.contains("\\u{1b}]0;pwned\\u{7}\\xff (pid"),
                "{args:?}: {run:#?}"
            );
        }
        drop(holder);
    });
}

/// A command line that is all UTF-8 has no `cmdline_bytes`, and a name
/// that is UTF-8 no `name_bytes`: the exact form costs nothing when the
/// string already is exact.
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn exact_bytes_are_null_when_the_text_is_utf8() {
    in_netns("exact_bytes_are_null_when_the_text_is_utf8", || {
        let _socket = listener("127.0.0.1:9701", Opts::new());
        let (run, doc) = who_json(&["9701"]);
        assert_eq!(run.code, 0, "{run:#?}");
        let process = &doc.sockets[0].processes[0];
        assert_eq!(process.pid, std::process::id());
        assert_eq!(process.name_bytes, None, "{process:#?}");
        assert_eq!(process.cmdline_bytes, None, "{process:#?}");
    });
}

/// What is typed or pasted is echoed escaped too: a target in an error
/// message, a log line given to `why` (colours are removed; any other
/// control character stays visible but harmless).
#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn untrusted_input_is_escaped_where_it_is_echoed() {
    in_netns("untrusted_input_is_escaped_where_it_is_echoed", || {
        let _held = listener("127.0.0.1:9710", Opts::new());
        let run = portcheck(&["who", "97\u{1b}]0;pwned\u{7}10"]);
        assert_eq!(run.code, 2, "{run:#?}");
        assert_terminal_safe(&run.stderr);
        assert!(run.stderr.contains("\\u{1b}]0;pwned\\u{7}"), "{run:#?}");

        let line =
            "\u{9b}2J\u{7}Error: listen EADDRINUSE: address already in use 127.0.0.1:9710\u{202e}";
        let run = portcheck(&["why", line]);
        assert_eq!(run.code, 0, "{run:#?}");
        assert_terminal_safe(&run.stdout);
        assert!(
            run.stdout.contains("\\u{9b}2J\\u{7}Error: listen"),
            "{run:#?}"
        );
    });
}
