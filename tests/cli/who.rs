//! `portcheck who` against real sockets.
