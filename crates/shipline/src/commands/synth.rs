//! `shipline synth`: config -> template -> text on stdout, or a file with `-o` (`-o -` is
//! stdout). With `--target pulumi`, the same model as a Pulumi YAML program: on stdout (what
//! pulumi-yaml's compiler mode reads: deterministic, whatever the environment), or `Pulumi.yaml`
//! and `Main.yaml` in the `-o` directory. No AWS access.

use std::path::Path;

use serde_json::Value;
use shipline_core::{Config, Format, synthesize};

use super::{Failure, Output};
use crate::cli::{FormatArg, TargetArg};

pub fn run(
    config: &Config,
    target: TargetArg,
    format: Option<FormatArg>,
    out: Option<&Path>,
) -> Result<Output, Failure> {
    let out = out.filter(|path| *path != Path::new("-"));
    if target == TargetArg::Pulumi {
        if format == Some(FormatArg::Json) {
            return Err(Failure::BadInput(
                "--format json: a Pulumi program is always YAML; drop --format".into(),
            ));
        }
        return pulumi(config, out);
    }
    let format = format.map_or(Format::Json, Format::from);
    let text = synthesize(config).render(format);
    match out {
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

/// The Pulumi program on stdout, or the project and program in `dir`.
fn pulumi(config: &Config, dir: Option<&Path>) -> Result<Output, Failure> {
    let template = synthesize(config);
    let program = shipline_core::pulumi::program(&template, &config.effective_tags());
    let Some(dir) = dir else {
        return Ok(Output {
            json: Value::Null,
            lines: vec![program.trim_end_matches('\n').to_owned()],
            notes: Vec::new(),
        });
    };
    let project = shipline_core::pulumi::project_file(&config.app.name, &template.description);
    let failed = |err: std::io::Error| {
        Failure::Failed(format!(
            "{}: cannot write the Pulumi project: {err}",
            dir.display()
        ))
    };
    std::fs::create_dir_all(dir).map_err(failed)?;
    write(&dir.join("Pulumi.yaml"), &project).map_err(failed)?;
    write(&dir.join("Main.yaml"), &program).map_err(failed)?;
    Ok(Output {
        json: Value::Null,
        lines: Vec::new(),
        notes: vec![format!(
            "wrote {}/Pulumi.yaml and {}/Main.yaml ({} bytes); deploy with `pulumi up` there",
            dir.display(),
            dir.display(),
            program.len()
        )],
    })
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
