//! The `colisync` binary: parse the command line, start logging, dispatch.
//! Everything else lives in the library (see `cli.rs` and ARCHITECTURE.md).

use std::process::ExitCode;

use clap::Parser;
use colisync::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    cli::init_logging();
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the context chain on one line: "doing x: because y".
            eprintln!("colisync: error: {err:#}");
            cli::exit_code(&err)
        }
    }
}
