//! Namespaces (--netns, who --all-netns), free and wait, against real namespaces and sockets.
