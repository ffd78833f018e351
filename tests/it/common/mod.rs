//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::Path;

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
