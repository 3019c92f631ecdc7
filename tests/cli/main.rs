//! Integration tests: real sockets in private network namespaces, checked
//! against what the `portcheck` binary reports.

// Tests fork socket holders and drop privileges through raw libc calls.
#![allow(unsafe_code)]

mod bind;
mod dns;
mod generated;
mod harness;
mod namespaces;
mod probe;
mod resolve;
mod shadow;
mod who;
mod why;
