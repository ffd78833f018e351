//! Helpers shared by the integration tests.

use std::io::Write;
use std::path::Path;

/// config.toml.example with its `/run/credentials/...` paths pointed at
/// dummy secret files created in `dir` (each ending with a newline, as
/// systemd credentials do). Every dummy secret contains "SEKRET".
pub fn example_with_credentials(dir: &Path) -> String {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml.example");
    let text = std::fs::read_to_string(example).unwrap();
    for name in [
        "magento-token",
        "laposte-api-key",
        "trello-key",
        "trello-token",
    ] {
        let mut f = std::fs::File::create(dir.join(name)).unwrap();
        writeln!(f, "SEKRET-{name}").unwrap();
    }
    text.replace(
        "/run/credentials/colisync.service/",
        &format!("{}/", dir.display()),
    )
}
