//! Embeds every file of `queries/` (see `engine::catalog`): adding a query
//! is adding a file.

use std::fmt::Write;

fn main() {
    println!("cargo::rerun-if-changed=queries");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("queries/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    let mut out = String::from(
        "/// Every `queries/*.sql`: its file name and text.\npub const FILES: &[(&str, &str)] = &[\n",
    );
    for path in files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("file name");
        writeln!(out, "    ({name:?}, include_str!({:?})),", path.display()).expect("write");
    }
    out.push_str("];\n");
    let target =
        std::path::Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("queries.rs");
    std::fs::write(target, out).expect("write queries.rs");
}
