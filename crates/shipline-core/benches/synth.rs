//! Synthesis and rendering cost of the default pipeline and the largest config (`cargo bench
//! -p shipline-core`).

use shipline_core::{Config, Format, synthesize};

fn main() {
    divan::main();
}

const CONFIG: &str = include_str!("../../../tests/configs/all-options.toml");

#[divan::bench]
fn parse_and_validate_config() -> Config {
    Config::parse("shipline.toml", divan::black_box(CONFIG)).unwrap()
}

#[divan::bench]
fn synthesize_default() -> shipline_core::Template {
    synthesize(divan::black_box(&Config::default()))
}

/// The largest test config: every option, an ECS and a Lambda deploy target.
#[divan::bench]
fn synthesize_and_render_all_options(bencher: divan::Bencher) {
    let config = Config::parse("shipline.toml", CONFIG).unwrap();
    bencher.bench(|| synthesize(divan::black_box(&config)).render(Format::Json));
}

#[divan::bench(args = [Format::Json, Format::Yaml])]
fn synthesize_and_render_default(format: Format) -> String {
    synthesize(divan::black_box(&Config::default())).render(format)
}

/// What `plan`/`deploy` do before any request: the placeholder and region checks.
#[divan::bench]
fn preflight_check(bencher: divan::Bencher) {
    let config = Config::parse("shipline.toml", CONFIG).unwrap();
    let template = synthesize(&config).to_value();
    bencher.bench(|| shipline_core::preflight::check(divan::black_box(&template), "eu-west-1"));
}

#[divan::bench]
fn pulumi_program_default(bencher: divan::Bencher) {
    let config = Config::default();
    let template = synthesize(&config);
    let tags = config.effective_tags();
    bencher.bench(|| shipline_core::pulumi::program(divan::black_box(&template), &tags));
}
