//! The default pipeline's rendered template, reviewed like code: any change to synthesized
//! output shows up as a diff in `tests/snapshots/`. Update with `INSTA_UPDATE=always cargo test`
//! (or `cargo insta review`) and read the diff before committing it.

use shipline_core::{Config, Format, synthesize};

#[test]
fn default_pipeline_template_json() {
    insta::assert_snapshot!(synthesize(&Config::default()).render(Format::Json));
}
