//! The man pages and shell completions shipped in the Debian package,
//! generated from the clap definitions of [`crate::cli::Cli`].
//!
//! They are committed under `contrib/` rather than written by a build
//! script: cargo-deb packages files by path, and a build script's
//! `OUT_DIR` carries a hash no manifest can name. `tests/it/package.rs`
//! regenerates them and fails when the committed copies are stale
//! (`COLISYNC_BLESS=1` rewrites them).

use std::path::Path;

use clap::CommandFactory;
use clap_complete::Shell;

/// Where the man pages live in the repository.
pub const MAN_DIR: &str = "contrib/man";
/// Where the completions live in the repository.
pub const COMPLETIONS_DIR: &str = "contrib/completions";
/// The shells completed, with the file name each one's completion takes.
pub const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "colisync"),
    (Shell::Zsh, "_colisync"),
    (Shell::Fish, "colisync.fish"),
];

/// Writes `colisync.1` and one page per subcommand into `dir`.
pub fn write_man_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(crate::cli::Cli::command(), dir)
}

/// The completion script of one shell.
pub fn completion(shell: Shell) -> Vec<u8> {
    let mut cmd = crate::cli::Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "colisync", &mut out);
    out
}
