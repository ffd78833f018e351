//! The `colisync` binary: parse the command line, start logging, dispatch.
//! The commands live in this package's library (`cli`); the pipeline in the
//! `colisync` library (ARCHITECTURE.md).

use std::process::ExitCode;

use clap::Parser;
use colisync_cli::cli::{self, Cli};

fn main() -> ExitCode {
    let cli = Cli::parse();
    colisync_cli::logging::init(cli.log_format);
    match cli::run(cli) {
        Ok(code) => code,
        Err(err) => {
            // `{:#}` prints the context chain on one line: "doing x: because y".
            eprintln!("colisync: error: {err:#}");
            cli::exit_code(&err)
        }
    }
}
