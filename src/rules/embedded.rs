//! The shipped rules, compiled into the binary, so `letting serve` runs with no setup
//! when there is no `rules/` directory beside it.

use super::SourceFile;

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $path)))),*]
    };
}

const FILES: &[(&str, &str)] = embed![
    "sets/dk-2005.toml",
    "sets/kk-2007.toml",
    "sets/kk-aftale-2007.toml",
    "sets/dk-2018.toml",
    "reference/designations-0101-2007.toml",
    "reference/designations-dk-2018.toml",
    "reference/flexible-shares-0101-2007.toml",
];

/// The embedded rule files, named `embedded:rules/<path>` in diagnostics.
pub fn files() -> Vec<SourceFile> {
    FILES
        .iter()
        .map(|(path, text)| SourceFile {
            name: format!("embedded:rules/{path}"),
            text: (*text).to_owned(),
        })
        .collect()
}
