//! One module per command. Each takes typed options, does one operation and returns data or
//! an error; `main` maps the result to an exit code.

// A config error is built once per run; its size does not matter.
#![allow(clippy::result_large_err)]

pub mod synth;

use std::path::{Path, PathBuf};

use shipline_core::{Config, ConfigError};

/// Where the config came from, for messages.
pub enum ConfigSource {
    File(#[allow(dead_code)] PathBuf),
    EmbeddedDefault,
}

/// The config to use: `--config PATH` (must exist), else `./shipline.toml` if present, else
/// the embedded default pipeline.
pub fn load_config(explicit: Option<&Path>) -> Result<(Config, ConfigSource), ConfigError> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let default = PathBuf::from("shipline.toml");
            if !default.exists() {
                return Ok((Config::default(), ConfigSource::EmbeddedDefault));
            }
            default
        }
    };
    let config = Config::load(&path)?;
    Ok((config, ConfigSource::File(path)))
}
