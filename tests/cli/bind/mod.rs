//! `portcheck try` against the kernel: a differential matrix and the seed scenarios.
//!
//! The matrix (section 1) puts existing sockets on a port, asks `portcheck
//! try --no-trial --json` about a candidate (or a plan of candidates) on
//! that port, then makes the candidate's real socket()/setsockopt()/bind()/
//! listen() and compares. Every disagreement is a bug in the model; each
//! matrix test collects them all and fails once with the full list.
//!
//! Cells are batched: many cells on distinct ports share one namespace and
//! one `portcheck try` run (a plan's candidates are bound together, so only
//! candidates on distinct ports share a run).
//!
//! - [`schema`]: the `try` document's mirror structs (the locked schema);
//! - [`matrix`]: section 1, the sockets the cells describe, the engine that
//!   runs and judges them, the cells and the matrix tests;
//! - [`scenarios`]: section 2, named scenarios, `try PORT`, interfaces.

mod matrix;
mod scenarios;
mod schema;
