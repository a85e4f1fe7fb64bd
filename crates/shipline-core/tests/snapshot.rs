//! Every synthesized template, reviewed like code: the default pipeline and each config in
//! `tests/configs/`, as JSON (and the default also as YAML). Any change to synthesized output
//! shows up as a diff in `tests/snapshots/`. Update with `INSTA_UPDATE=always cargo test` (or
//! `cargo insta review`) and read the diff before committing it.

use shipline_core::{Config, Format, synthesize};

#[test]
fn default_pipeline_template_json() {
    insta::assert_snapshot!(synthesize(&Config::default()).render(Format::Json));
}

#[test]
fn default_pipeline_template_yaml() {
    insta::assert_snapshot!(synthesize(&Config::default()).render(Format::Yaml));
}

#[test]
fn every_test_config_template_json() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/configs");
    let mut configs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    configs.sort();
    assert!(configs.len() >= 7, "tests/configs went missing");
    for path in configs {
        let name = path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .replace('.', "_");
        let config = Config::load(&path).unwrap();
        insta::assert_snapshot!(
            format!("config_{name}"),
            synthesize(&config).render(Format::Json)
        );
    }
}

#[test]
fn default_pipeline_pulumi_program() {
    let config = Config::default();
    insta::assert_snapshot!(shipline_core::pulumi::program(
        &synthesize(&config),
        &config.effective_tags()
    ));
}
