//! Integration tests: real sockets in private network namespaces, checked
//! against what the `portcheck` binary reports.

// Tests fork socket holders and drop privileges through raw libc calls.
#![allow(unsafe_code)]

mod bind;
mod dns;
mod environment;
mod field;
mod generated;
mod harness;
mod namespaces;
mod netstat2;
mod probe;
mod races;
mod resolve;
mod scale;
mod shadow;
mod signals;
mod stop;
mod untrusted;
mod who;
mod why;
