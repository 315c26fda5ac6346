//! The server's layering, checked: every module of `src/` belongs to one layer, and may import
//! (`crate::…`) only modules of its own layer or the layers below. The store and the domain are
//! crates of their own, so cargo keeps them below the server; this test keeps the server's own
//! layers in their place, and keeps protobuf and tonic out of the state and the operations.
//! A new top-level module must be given a layer here, or this test fails.

use std::path::{Path, PathBuf};

/// Bottom to top. ARCHITECTURE.md describes each layer.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["clock", "config", "auth", "faults", "journal", "limits", "transport", "errors", "admission"]),
    ("state", &["app", "metrics"]),
    ("operations", &["ops"]),
    ("services", &["service"]),
    ("assembly", &["server", "web", "boot", "running"]),
    ("commands", &["demo", "demo_terminals", "fees_cli", "people", "pki", "verify"]),
];

/// Layers whose code must not name protobuf messages or tonic types.
const WITHOUT_PROTOBUF: &[&str] = &["app", "ops"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("reads src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments and doc comments).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(n, line)| (n + 1, line.split("//").next().unwrap_or("")))
        .filter(|(_, l)| !l.trim().is_empty())
}

/// The modules a line names as `crate::module`.
fn crate_paths(line: &str) -> Vec<&str> {
    line.match_indices("crate::")
        .filter(|(at, _)| !line[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, m)| {
            let rest = &line[at + m.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|m| !m.is_empty())
        .collect()
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_module_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let modules: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod ").or_else(|| l.trim().strip_prefix("mod ")))
        .map(|l| l.trim_end_matches(';'))
        .collect();
    assert!(modules.len() > 20, "lib.rs lists its modules: {modules:?}");
    let missing: Vec<_> = modules.iter().filter(|m| layer_of(m).is_none()).collect();
    assert!(missing.is_empty(), "give these modules a layer in tests/layers.rs: {missing:?}");
}

#[test]
fn no_module_imports_a_layer_above_its_own() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut breaks = Vec::new();
    let mut checked = 0;
    for file in &files {
        let relative = file.strip_prefix(src()).expect("under src");
        let top = relative.components().next().and_then(|c| c.as_os_str().to_str()).unwrap_or("");
        let module = top.trim_end_matches(".rs");
        if module == "main" || module == "lib" {
            continue; // the binary and the crate root sit above every layer
        }
        let own = layer_of(module).unwrap_or_else(|| panic!("{module} has no layer"));
        let text = std::fs::read_to_string(file).expect("reads");
        for (n, line) in code_lines(&text) {
            for target in crate_paths(line) {
                checked += 1;
                match layer_of(target) {
                    Some(l) if l <= own => {}
                    Some(l) => breaks.push(format!(
                        "{}:{n}: {module} ({}) imports {target} ({})",
                        relative.display(),
                        LAYERS[own].0,
                        LAYERS[l].0
                    )),
                    None => breaks.push(format!("{}:{n}: {target} is not a module with a layer", relative.display())),
                }
            }
            if WITHOUT_PROTOBUF.contains(&module) && (line.contains("onshi_proto") || line.contains("tonic")) {
                breaks.push(format!("{}:{n}: {module} names protobuf or tonic: {}", relative.display(), line.trim()));
            }
        }
    }
    assert!(checked > 100, "found the imports ({checked})");
    assert!(breaks.is_empty(), "layering broken:\n{}", breaks.join("\n"));
}

#[test]
fn the_checker_sees_what_it_must() {
    assert_eq!(crate_paths("use crate::ops::people; x = crate::app::App;"), vec!["ops", "app"]);
    assert_eq!(crate_paths("onshi_crate::thing, my_crate::x"), Vec::<&str>::new());
    assert_eq!(code_lines("a // crate::web\n// crate::web\nb").map(|(_, l)| l.trim()).collect::<Vec<_>>(), ["a", "b"]);
    assert!(layer_of("service") > layer_of("ops") && layer_of("ops") > layer_of("app"));
}
