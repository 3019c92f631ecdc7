//! Helpers: private network namespaces, socket holders, running portcheck.
