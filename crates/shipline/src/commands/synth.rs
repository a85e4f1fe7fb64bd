//! `shipline synth`: config -> template -> text on stdout. No AWS access.

use shipline_core::{Config, Format, synthesize};

/// Renders the pipeline template for `config`.
pub fn run(config: &Config, format: Format) -> String {
    synthesize(config).render(format)
}

/// Writes `text` to `path` through a temporary file in the same directory, so an interrupted
/// write never leaves a truncated template behind.
pub fn write(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, text)?;
    std::fs::rename(&temporary, path)
}
