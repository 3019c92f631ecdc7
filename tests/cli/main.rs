//! Integration tests: real sockets in private network namespaces, checked
//! against what the `portcheck` binary reports.

// Tests fork socket holders and drop privileges through raw libc calls.
#![allow(unsafe_code)]

mod bind;
mod dns;
mod environment;
mod field;
mod field_clients;
mod field_input;
mod field_why;
mod generated;
mod harness;
mod metrics;
mod namespaces;
mod netstat2;
mod origin;
mod probe;
mod races;
mod resolve;
mod scale;
mod shadow;
mod signals;
mod stop;
mod stories;
mod untrusted;
mod who;
mod why;
