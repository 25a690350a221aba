//! The modules of `src/` depend one way: each may use only the modules
//! below it in `uptake::LAYERS`. Reads every source file and names each
//! import of a module above.

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The modules a line of code names as `crate::name`, outside comments.
fn named(line: &str) -> Vec<&str> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .map(|(i, m)| {
            let rest = &code[i + m.len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn modules_use_only_the_layers_below_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let layer = |name: &str| uptake::LAYERS.iter().position(|l| *l == name);
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src");
        let first = relative
            .components()
            .next()
            .and_then(|c| c.as_os_str().to_str())
            .unwrap_or("");
        let module = first.trim_end_matches(".rs");
        if matches!(module, "lib" | "main") {
            continue;
        }
        let Some(own) = layer(module) else {
            wrong.push(format!(
                "{}: module {module} is not in uptake::LAYERS",
                relative.display()
            ));
            continue;
        };
        seen += 1;
        let text = std::fs::read_to_string(file).expect("read source");
        for (n, line) in text.lines().enumerate() {
            for used in named(line) {
                match layer(used) {
                    Some(l) if l > own => wrong.push(format!(
                        "{}:{}: {module} uses crate::{used}, a layer above it",
                        relative.display(),
                        n + 1
                    )),
                    None => wrong.push(format!(
                        "{}:{}: crate::{used} is not in uptake::LAYERS",
                        relative.display(),
                        n + 1
                    )),
                    _ => {}
                }
            }
        }
    }
    assert!(seen > 50, "only {seen} source files read");
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_an_import_from_above() {
    assert_eq!(named("use crate::kpi::Scope; // crate::server"), ["kpi"]);
    assert_eq!(
        named("    let x = crate::auth::digest(&crate::model::x());"),
        ["auth", "model"]
    );
    assert!(named("/// see crate::server").is_empty());
}
