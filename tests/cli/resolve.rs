//! `portcheck resolve` end to end: private network and mount namespaces, a generated hosts file, real listeners and real connections.
