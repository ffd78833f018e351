//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The `colisync` binary, built once per test process, for the tests that
/// run it as an admin would.
///
/// Why not `env!("CARGO_BIN_EXE_colisync")` or `Command::cargo_bin`: the
/// binary belongs to another package (crates/cli). Cargo sets the former only
/// for a package's own binaries, and builds a binary for `cargo test` only
/// when its own package has integration tests, so the latter would find
/// nothing after a clean checkout, or an old build after a change (and
/// `cargo test --test it` never builds it). escargot runs `cargo build` for
/// it instead, in the same target directory and profile: a no-op when it
/// is up to date. It is built as it ships, without the library's
/// `test-hooks`.
pub fn colisync_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        escargot::CargoBuild::new()
            .package("colisync-cli")
            .bin("colisync")
            .current_release()
            .run()
            .unwrap_or_else(|e| panic!("cannot build the colisync binary: {e}"))
            .path()
            .to_path_buf()
    })
}

/// config.toml.example, to be written in `dir`, with dummy secret files
/// for its credential names in `dir/credentials/` (each ending with a
/// newline, as systemd credentials do). Every dummy secret contains
/// "SEKRET".
pub fn example_with_credentials(dir: &Path) -> String {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example");
    let text = std::fs::read_to_string(example).unwrap();
    let credentials = dir.join("credentials");
    std::fs::create_dir_all(&credentials).unwrap();
    for name in [
        "magento-token",
        "laposte-api-key",
        "trello-key",
        "trello-token",
    ] {
        let mut f = std::fs::File::create(credentials.join(name)).unwrap();
        writeln!(f, "SEKRET-{name}").unwrap();
    }
    text
}
