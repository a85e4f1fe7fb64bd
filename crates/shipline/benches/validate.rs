//! Cost of the policy check (`shipline validate`, and the check `plan`/`deploy` run first):
//! the built-in rule pack evaluated in process by cfn-guard on the default template
//! (`cargo bench -p shipline --bench validate`).

// The engine is a module of the binary; a bench cannot link a binary, so it compiles the
// module itself (unused parts, and its unit tests' imports, allowed).
#[allow(dead_code, unused_imports)]
#[path = "../src/validate/mod.rs"]
mod validate;

use shipline_core::{Config, Format, synthesize};

fn main() {
    divan::main();
}

fn tag_keys(config: &Config) -> Vec<String> {
    config.effective_tags().into_keys().collect()
}

/// What `shipline validate` does end to end, minus printing: synthesize, then evaluate the
/// pack (with the config's tag keys) on the JSON template.
#[divan::bench]
fn synthesize_and_validate_default() -> usize {
    let config = Config::default();
    let template = synthesize(divan::black_box(&config)).render(Format::Json);
    let keys = tag_keys(&config);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pack = validate::builtin(&keys);
    validate::evaluate(&template, &pack).unwrap().findings.len()
}

/// The pack alone on an already synthesized template, JSON (what `deploy` sends) or YAML.
#[divan::bench(args = [Format::Json, Format::Yaml])]
fn validate_default(bencher: divan::Bencher, format: Format) {
    let config = Config::default();
    let template = synthesize(&config).render(format);
    let keys = tag_keys(&config);
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let pack = validate::builtin(&keys);
    bencher.bench(|| {
        validate::evaluate(divan::black_box(&template), &pack)
            .unwrap()
            .findings
            .len()
    });
}

/// A template with findings (a failing fixture, YAML with short-form tags): the cost of
/// reading Guard's report into findings.
#[divan::bench]
fn validate_failing_fixture(bencher: divan::Bencher) {
    let template = include_str!("../src/validate/fixtures/iam_least_privilege.fail.yaml");
    let pack = validate::builtin(&[]);
    bencher.bench(|| {
        validate::evaluate(divan::black_box(template), &pack)
            .unwrap()
            .findings
            .len()
    });
}
