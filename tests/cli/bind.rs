//! `portcheck try` against the kernel: a differential matrix and the seed scenarios.
