//! A hundred thousand sockets in the test's own network namespace: `who`
//! lists every one, with its owner, in valid JSON and in a table, within a
//! bounded memory (README: "Memory and output size").

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::harness::{BIN, WhoDoc, in_netns, without_new_processes};

const SOCKETS: usize = 100_000;
/// Listeners per holder process: under the 20,000 descriptors a process may
/// have here (RLIMIT_NOFILE's hard limit, which root cannot raise in this
/// sandbox).
const PER_PROCESS: usize = 17_000;
const FIRST_PORT: usize = 10_000;

/// Peak resident memory allowed to one `who` run over the fixture, debug
/// build. Measured 2026-11-25: see the README's figures; the bound leaves
/// room for the allocator, not for a second copy of the table.
const MAX_RSS_KIB: i64 = 160 * 1024;

/// The holders (benches/scale.sh uses the same script).
const HOLDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/scale_fixture.py");

/// Peak memory and wall time of one finished portcheck run.
struct Measured {
    code: i32,
    max_rss_kib: i64,
    seconds: f64,
}

/// Forks, execs `ARGV` in the child and writes the child's exit code and
/// peak RSS (KiB) to the file `OUT`. The peak must come from a process
/// forked from this small one: a process this test binary starts inherits,
/// through exec, the high-water mark of the binary's own memory (the kernel
/// keeps the larger of the old and new address spaces' peaks), which other
/// tests make large. GNU time does the same, but need not be installed.
const MEASURE: &str = r#"
import os, sys
out, argv = sys.argv[1], sys.argv[2:]
pid = os.fork()
if pid == 0:
    os.execv(argv[0], argv)
_, status, usage = os.wait4(pid, 0)
with open(out, "w") as f:
    f.write("%d %d\n" % (os.waitstatus_to_exitcode(status), usage.ru_maxrss))
"#;

/// Runs portcheck with standard output into `out` and measures it. Holds
/// the process lock like every run.
fn measured_run(args: &[&str], out: File, dir: &std::path::Path) -> Measured {
    let figures = dir.join("measured");
    let status = without_new_processes(|| {
        let started = Instant::now();
        let status = Command::new("python3")
            .args(["-c", MEASURE])
            .arg(&figures)
            .arg(BIN)
            .args(args)
            .env_remove("PORTCHECK_SOCKET_SOURCE")
            .stdin(Stdio::null())
            .stdout(out)
            .status()
            .expect("python3 (CI installs it)");
        (status, started.elapsed().as_secs_f64())
    });
    assert!(status.0.success(), "the measuring wrapper failed");
    let text = std::fs::read_to_string(&figures).expect("figures");
    let mut numbers = text
        .split_whitespace()
        .map(|n| n.parse::<i64>().expect("a number"));
    Measured {
        code: i32::try_from(numbers.next().expect("exit code")).expect("exit code"),
        max_rss_kib: numbers.next().expect("peak"),
        seconds: status.1,
    }
}

fn start_holders() -> (Child, Vec<u32>) {
    let mut holder = without_new_processes(|| {
        Command::new("python3")
            .arg(HOLDER)
            .args([
                SOCKETS.to_string(),
                PER_PROCESS.to_string(),
                FIRST_PORT.to_string(),
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (CI installs it)")
    });
    let stdout = holder.stdout.take().expect("stdout");
    let mut pids = Vec::new();
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if line == "ready" {
            return (holder, pids);
        }
        match line.parse() {
            Ok(pid) => pids.push(pid),
            Err(_) => break,
        }
    }
    let _ = holder.kill();
    let _ = holder.wait();
    panic!("the holders did not start");
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn who_lists_a_hundred_thousand_sockets_in_bounded_memory() {
    in_netns("scale::who_100k", || {
        let dir = std::env::temp_dir().join(format!("portcheck-scale-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let started = Instant::now();
        let (mut holder, pids) = start_holders();
        let fixture_seconds = started.elapsed().as_secs_f64();
        let json_path = dir.join("who.json");
        let table_path = dir.join("who.txt");

        let json = measured_run(
            &["who", "--json"],
            File::create(&json_path).expect("json file"),
            &dir,
        );
        let table = measured_run(
            &["who"],
            File::create(&table_path).expect("table file"),
            &dir,
        );
        // The holders go before anything is asserted.
        drop(holder.stdin.take());
        let _ = holder.wait();

        let json_bytes = std::fs::metadata(&json_path).map_or(0, |m| m.len());
        let doc: WhoDoc =
            serde_json::from_reader(BufReader::new(File::open(&json_path).expect("json file")))
                .expect("who --json at 100k sockets is one valid document");
        let table_text = std::fs::read_to_string(&table_path).expect("table file");
        std::fs::remove_dir_all(&dir).expect("cleanup");

        eprintln!(
            "scale: fixture {fixture_seconds:.1} s; who --json {:.2} s, peak {} MiB, {} MiB out; who {:.2} s, peak {} MiB, {} MiB out",
            json.seconds,
            json.max_rss_kib / 1024,
            json_bytes / (1 << 20),
            table.seconds,
            table.max_rss_kib / 1024,
            table_text.len() / (1 << 20),
        );
        assert_eq!(json.code, 0);
        assert_eq!(table.code, 0);
        assert_eq!(doc.sockets.len(), SOCKETS, "every socket listed");
        assert!(doc.complete, "warnings: {:?}", doc.warning_codes());
        for socket in &doc.sockets {
            let owners: Vec<u32> = socket.processes.iter().map(|p| p.pid).collect();
            assert_eq!(owners.len(), 1, "one owner: {owners:?}");
            assert!(pids.contains(&owners[0]), "owner {owners:?} is a holder");
            // The fixture's rule: pair i on port FIRST_PORT + i.
            assert!(
                (FIRST_PORT..FIRST_PORT + SOCKETS / 2).contains(&usize::from(socket.local_port))
            );
        }
        // One line per socket under the header: one owner each.
        assert_eq!(table_text.lines().count(), SOCKETS + 1);
        assert!(
            json.max_rss_kib < MAX_RSS_KIB && table.max_rss_kib < MAX_RSS_KIB,
            "peak memory {} / {} KiB over {MAX_RSS_KIB} KiB",
            json.max_rss_kib,
            table.max_rss_kib
        );
    });
}
