//! Every JSON document says where it was made (issue #21): `hostname` as
//! `uname -n` prints it and `kernel` as `uname -r`, so documents from a
//! fleet can be merged. Error documents too.

use std::process::Command;

use crate::harness::{in_netns, portcheck, who_json, without_new_processes};

fn uname(flag: &str) -> String {
    let output =
        without_new_processes(|| Command::new("uname").arg(flag).output()).expect("run uname");
    String::from_utf8(output.stdout)
        .expect("uname prints UTF-8")
        .trim_end()
        .to_owned()
}

#[test]
#[cfg_attr(not(portcheck_root), ignore = "needs root: cargo test as root runs it")]
fn documents_name_the_host_and_the_kernel_as_uname_does() {
    in_netns("documents_name_the_host", || {
        let (run, doc) = who_json(&[]);
        assert_eq!(run.code, 1, "{run:?}");
        assert_eq!(doc.hostname.as_deref(), Some(uname("-n").as_str()));
        assert_eq!(doc.kernel.as_deref(), Some(uname("-r").as_str()));
        let error = portcheck(&["--json", "who", "70000"]);
        assert_eq!(error.code, 2, "{error:?}");
        let value: serde_json::Value = serde_json::from_str(&error.stdout).expect("JSON");
        assert_eq!(value["hostname"], uname("-n").as_str(), "{value}");
        assert_eq!(value["kernel"], uname("-r").as_str(), "{value}");
    });
}
