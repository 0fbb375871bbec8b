//! The layers of the crate, bottom to top: a module may use only modules of a lower layer, so
//! no cycle between top-level modules can come back. `cargo test` checks every `crate::` path in
//! src/ against this table (a new top-level module must be placed in it).

/// Each layer's top-level modules, from the bottom (leaves) up.
pub const LAYERS: &[&[&str]] = &[
    &["text", "wellknown", "names", "metrics", "health"],
    &["model", "repo", "secrets", "access"],
    &["validate", "apply", "fleet"],
    &["plan"],
    &["controllers", "agent"],
    &["engine"],
    &["ui"],
    &["cli"],
];

/// The layer of top-level module `name`, if it has one.
pub fn layer(name: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&name))
}

/// Every `crate::X` that a file of module `module` may not use (X not below it), with its line.
pub fn violations(module: &str, source: &str) -> Vec<(usize, String)> {
    let Some(own) = layer(module) else {
        return vec![(0, format!("{module} is in no layer of src/layers.rs"))];
    };
    let mut out = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            let used: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if used.is_empty() || used == module {
                continue;
            }
            match layer(&used) {
                Some(l) if l < own => {}
                Some(_) => out.push((
                    n + 1,
                    format!("{module} uses {used}, which is not below it"),
                )),
                None => out.push((n + 1, format!("{used} is in no layer of src/layers.rs"))),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn every_module_uses_only_the_layers_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let mut wrong = Vec::new();
        for file in files {
            let rel = file.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy();
            let module = top.trim_end_matches(".rs");
            // lib.rs and main.rs sit above everything; this file names modules in its tests.
            if matches!(module, "lib" | "main" | "layers") {
                continue;
            }
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, why) in violations(module, &text) {
                wrong.push(format!("src/{}:{line}: {why}", rel.display()));
            }
        }
        assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
    }

    #[test]
    fn an_upward_import_is_caught() {
        let v = violations(
            "repo",
            "use crate::ui::State;\nuse crate::text::sanitize;\n",
        );
        assert_eq!(v, [(1, "repo uses ui, which is not below it".to_string())]);
        assert_eq!(violations("plan", "crate::nothing::x").len(), 1);
    }
}
