//! `shipline synth`: config -> template -> text on stdout. No AWS access.

use shipline_core::{Config, Format, synthesize};

/// Renders the pipeline template for `config`.
pub fn run(config: &Config, format: Format) -> String {
    synthesize(config).render(format)
}
