//! `shipline synth`: config -> template -> text on stdout, or a file with `-o` (`-o -` is
//! stdout). No AWS access.

use std::path::Path;

use serde_json::Value;
use shipline_core::{Config, Format, synthesize};

use super::{Failure, Output};

pub fn run(config: &Config, format: Format, out: Option<&Path>) -> Result<Output, Failure> {
    let text = synthesize(config).render(format);
    match out.filter(|path| *path != Path::new("-")) {
        None => Ok(Output {
            json: Value::Null,
            lines: vec![text.trim_end_matches('\n').to_owned()],
            notes: Vec::new(),
        }),
        Some(path) => {
            write(path, &text).map_err(|err| {
                Failure::Failed(format!(
                    "{}: cannot write the template: {err}",
                    path.display()
                ))
            })?;
            Ok(Output {
                json: Value::Null,
                lines: Vec::new(),
                notes: vec![format!("wrote {} ({} bytes)", path.display(), text.len())],
            })
        }
    }
}

/// Writes `text` to `path` through a temporary file in the same directory, so an interrupted
/// write never leaves a truncated template behind.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = std::path::PathBuf::from(temporary);
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
}
