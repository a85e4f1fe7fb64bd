//! `shipline docs`: the pipeline described as Markdown ([`shipline_core::docs`]: a Mermaid
//! flowchart, the trigger, stages, scan policy, notifications, retention, resources, IAM
//! matrix, outputs and the steps left to do by hand), generated from the synthesized template
//! and the config. On stdout, or as `DIR/PIPELINE.md` with `-o DIR` (`-o -` is stdout). No AWS
//! access; the same config gives the same bytes.

use std::path::Path;

use serde_json::Value;
use shipline_core::docs::{FILE_NAME, markdown};
use shipline_core::{Config, synthesize};

use super::{Failure, Output};

pub fn run(config: &Config, out: Option<&Path>) -> Result<Output, Failure> {
    let text = markdown(config, &synthesize(config));
    let Some(dir) = out.filter(|path| *path != Path::new("-")) else {
        return Ok(Output {
            json: Value::Null,
            lines: vec![text.trim_end_matches('\n').to_owned()],
            notes: Vec::new(),
        });
    };
    let path = dir.join(FILE_NAME);
    write(dir, &path, &text).map_err(|err| {
        Failure::Failed(format!(
            "{}: cannot write the pipeline docs: {err}",
            path.display()
        ))
    })?;
    Ok(Output {
        json: Value::Null,
        lines: Vec::new(),
        notes: vec![format!("wrote {} ({} bytes)", path.display(), text.len())],
    })
}

/// Creates `dir` if needed and writes `text` to `path` through a temporary file beside it, so
/// an interrupted write never leaves a truncated document behind.
fn write(dir: &Path, path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let temporary = dir.join(format!("{FILE_NAME}.partial"));
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&temporary);
        })
}
