//! /proc text: cmdline (NUL-separated, maybe no NUL, maybe not UTF-8),
//! fd link targets (`socket:[INODE]`), status lines (`Uid:`), and the
//! escaping of such text for tables.
#![no_main]
use libfuzzer_sys::fuzz_target;
use portcheck::sockets::owners::{
    parse_cmdline, parse_decimal, socket_inode, socket_inode_bytes,
};

fuzz_target!(|data: &[u8]| {
    let _ = parse_cmdline(data);
    let _ = portcheck::text::escape(data, 60);
    let _ = socket_inode_bytes(data);
    let _ = parse_decimal(data);
    let text = String::from_utf8_lossy(data);
    let _ = socket_inode(&text);
});
