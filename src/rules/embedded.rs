//! The shipped rules, compiled into the binary, so `letting serve` runs with no setup
//! when there is no `rules/` directory beside it.

use super::SourceFile;

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/", $path)))),*]
    };
}

const FILES: &[(&str, &str)] = embed![
    "sets/dk-2003.toml",
    "sets/dk-2005.toml",
    "sets/dk-2011.toml",
    "sets/dk-2014.toml",
    "sets/kk-2007.toml",
    "sets/kk-aftale-2007.toml",
    "sets/kk-aftale-2019.toml",
    "sets/kk-aftale-2024.toml",
    "sets/dk-2018.toml",
    "sets/dk-2021.toml",
    "sets/dk-2025.toml",
    "reference/designations-0101-2007.toml",
    "reference/designations-61a-dk-2024.toml",
    "reference/designations-combined-letting-dk-2024.toml",
    "reference/designations-exposed-dk-2018-2023.toml",
    "reference/designations-ghetto-dk-2010-2020.toml",
    "reference/designations-hard-exposed-dk-2018-2020.toml",
    "reference/designations-parallel-society-dk-2021-2023.toml",
    "reference/designations-transformation-area-dk-2021-2023.toml",
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded list names every rule file of `rules/` (tests aside) and no other.
    #[test]
    fn embedded_files_are_the_rules_directory() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut on_disk: Vec<String> = super::super::read_dir(&dir)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| {
                std::path::Path::new(&f.name)
                    .strip_prefix(&dir)
                    .ok()
                    .map(|p| p.display().to_string())
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| (*p).to_owned()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }
}
