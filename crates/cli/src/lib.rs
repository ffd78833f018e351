//! The `colisync` command as a library: the argument parsing and the
//! commands (`cli`), the man pages and completions generated from them
//! (`assets`), and the benchmark harnesses (`bench`, and `bench_pass` for whole passes in child processes) that `colisync
//! bench` and the examples run. It sits outside the pipeline: it loads the
//! configuration, builds the engine of the `colisync` library and prints
//! what came out; `demo` and `bench` run it against the test kit's fakes.
//! `main.rs` stays thin.

pub mod assets;
pub mod bench;
pub mod bench_pass;
pub mod cli;
pub mod logging;
