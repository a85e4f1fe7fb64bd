//! The real `shipline` binary, run the way a user runs it: in a fresh temporary directory (so
//! no stray `shipline.toml` is picked up), optionally offline (no AWS to reach).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

pub struct Run {
    pub dir: PathBuf,
}

impl Run {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("shipline-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Run { dir }
    }

    /// With a `shipline.toml` holding `text`.
    pub fn with_config(self, text: &str) -> Self {
        std::fs::write(self.dir.join("shipline.toml"), text).unwrap();
        self
    }

    /// Writes `text` to `name` in the directory; returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_shipline"))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .unwrap()
    }

    /// As `run`, with no AWS to reach: no region, profile or config files, dummy credentials,
    /// the endpoint a closed port. A refusal before any request exits 2; anything that got as
    /// far as AWS fails with exit 1 ("could not reach AWS").
    pub fn offline(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_shipline"))
            .args(args)
            .current_dir(&self.dir)
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("AWS_PROFILE")
            .env("AWS_CONFIG_FILE", self.dir.join("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.dir.join("no-aws-credentials"),
            )
            .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
            .env("AWS_SECRET_ACCESS_KEY", "not-a-secret")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}
