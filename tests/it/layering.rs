//! The layering ARCHITECTURE.md states, checked on the source: the pure
//! stages (rules, rendering, the calendar, the shared vocabulary, the
//! French texts, the defaults, the planner) import no client, no store and
//! no daemon, so that they stay pure functions of their arguments; the
//! shared vocabulary (`domain`) imports nothing of the crate at all; the
//! store does not know the planner; and the top-level modules import each
//! other without a cycle. A `use` that breaks it fails here with the file
//! and line.

use std::path::{Path, PathBuf};

/// Modules that do I/O: HTTP clients, the store, the daemon. (The command
/// line, the benchmarks and the fakes are other crates, which the library
/// cannot name: the compiler keeps those out.)
const IMPURE: &[&str] = &[
    "crate::sources",
    "crate::tracking::laposte",
    "crate::board::trello",
    "crate::http",
    "crate::state",
    "crate::daemon",
    "crate::pass",
    "crate::cli",
    "crate::fakes",
    "crate::bench",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `file:line: text` of `files` naming one of `forbidden` outside
/// comments and test modules (a `tests.rs` file or a `tests/` folder).
fn offences(files: &[PathBuf], forbidden: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        let is_test = file.file_name().is_some_and(|n| n == "tests.rs")
            || file.components().any(|c| c.as_os_str() == "tests");
        if is_test {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            // Unit tests at the bottom of a file may use anything.
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if let Some(bad) = forbidden.iter().find(|m| code.contains(*m)) {
                out.push(format!("{}:{}: {bad}: {}", file.display(), n + 1, code));
            }
        }
    }
    out
}

fn src(parts: &[&str]) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for part in parts {
        let path = root.join(part);
        if path.is_dir() {
            rust_files(&path, &mut files);
        } else {
            files.push(path);
        }
    }
    files.sort();
    files
}

#[test]
fn rules_rendering_calendar_and_domain_do_no_io() {
    let files = src(&[
        "rules",
        "board/render.rs",
        "board/mod.rs",
        "domain",
        "fr",
        "config/defaults.rs",
        "tracking/status.rs",
    ]);
    assert!(files.len() >= 15, "{files:?}");
    let bad = offences(&files, IMPURE);
    assert!(
        bad.is_empty(),
        "a pure module imports I/O:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_shared_vocabulary_imports_nothing_of_the_crate() {
    // The domain is what every stage imports; it imports none of them
    // (only std and external crates), not even the configuration: what
    // builds its values from the config is written in `config`.
    let files = src(&["domain"]);
    assert!(files.len() >= 6, "{files:?}");
    let bad = offences(&files, &["crate::"]);
    assert!(
        bad.is_empty(),
        "the domain imports another module:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_planner_imports_no_client() {
    // The planner still reads the store's card records (`state::CardRecord`):
    // the one exception, until the store owns its own record types.
    let forbidden: Vec<&str> = IMPURE
        .iter()
        .copied()
        .filter(|m| *m != "crate::state")
        .collect();
    let bad = offences(
        &src(&["plan/mod.rs", "plan/decide.rs", "plan/table.rs"]),
        &forbidden,
    );
    assert!(
        bad.is_empty(),
        "the planner imports I/O:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_store_does_not_know_the_planner() {
    // The store owns its disk format: the journal records its own shape of
    // an action (`state::records`), the applier converts (`plan::journal`).
    let bad = offences(&src(&["state"]), &["crate::plan"]);
    assert!(
        bad.is_empty(),
        "the store imports the planner:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_check_itself_sees_an_offence() {
    // A check that cannot fail is no check: the apply stage writes through
    // the store, so it must show up.
    let bad = offences(&src(&["plan/apply.rs"]), IMPURE);
    assert!(bad.iter().any(|l| l.contains("crate::state")), "{bad:?}");
    // And the domain check sees a module that imports the crate.
    let bad = offences(&src(&["rules/judge.rs"]), &["crate::"]);
    assert!(bad.iter().any(|l| l.contains("crate::domain")), "{bad:?}");
}

/// The library's top-level modules and the ones each names (`crate::x`),
/// outside comments and tests.
fn import_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    // (module, its file or folder under src/)
    let modules: Vec<(String, String)> = std::fs::read_dir(&root)
        .expect("src")
        .filter_map(|e| {
            let file = e.ok()?.file_name().into_string().ok()?;
            let module = file.strip_suffix(".rs").unwrap_or(&file).to_owned();
            (module != "lib").then_some((module, file))
        })
        .collect();
    let mut graph = std::collections::BTreeMap::new();
    for (module, file) in &modules {
        let files = src(&[file.as_str()]);
        let names = modules
            .iter()
            .filter(|(other, _)| other != module)
            .filter(|(other, _)| {
                let path = format!("crate::{other}::");
                let item = format!("crate::{other};");
                !offences(&files, &[path.as_str(), item.as_str()]).is_empty()
            })
            .map(|(other, _)| other.clone())
            .collect();
        graph.insert(module.clone(), names);
    }
    graph
}

/// A cycle of `graph`, if it has one (depth-first search).
fn find_cycle(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
) -> Option<Vec<String>> {
    fn visit(
        graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
        node: &str,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|n| n == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(graph, next, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = std::collections::BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(graph, n, &mut Vec::new(), &mut done))
}

#[test]
fn the_modules_import_each_other_without_a_cycle() {
    let graph = import_graph();
    assert!(graph.len() > 10, "{graph:?}");
    assert!(
        graph["pass"].contains("plan"),
        "the graph sees imports: {graph:?}"
    );
    assert_eq!(find_cycle(&graph), None, "{graph:#?}");
    // The search does find a cycle when there is one.
    let mut cyclic = graph.clone();
    cyclic.get_mut("domain").unwrap().insert("pass".to_owned());
    assert!(find_cycle(&cyclic).is_some());
}
