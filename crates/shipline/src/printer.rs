//! All output goes through the [`Printer`]: data on stdout (text or `--json`), progress and
//! messages on stderr with a timestamp, nothing on stderr with `--quiet` except errors, and
//! confirmation prompts only on a terminal.

use std::io::{BufRead, IsTerminal, Write};

use crate::cloudformation::{Answer, Ui};

pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    /// `--yes`: every confirmation is answered Yes without asking.
    pub assume_yes: bool,
}

impl Printer {
    /// A data line on stdout.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (e.g. `| head`) is not worth a panic.
        let _ = writeln!(out, "{text}");
    }

    /// A note on stderr (suppressed by --quiet).
    pub fn note(&self, text: &str) {
        if !self.quiet {
            eprintln!("{text}");
        }
    }

    pub fn error(&self, text: &str) {
        eprintln!("error: {text}");
    }
}

impl Ui for Printer {
    fn progress(&self, line: &str) {
        if !self.quiet {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            let (h, m, s) = ((now / 3600) % 24, (now / 60) % 60, now % 60);
            eprintln!("{h:02}:{m:02}:{s:02} {line}");
        }
    }

    fn confirm(&self, question: &str) -> Answer {
        if self.assume_yes {
            return Answer::Yes;
        }
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Answer::NotInteractive;
        }
        eprint!("{question} [y/N] ");
        let _ = std::io::stderr().flush();
        let mut reply = String::new();
        if std::io::stdin().lock().read_line(&mut reply).is_err() {
            return Answer::No;
        }
        if matches!(reply.trim(), "y" | "Y" | "yes" | "YES" | "Yes") {
            Answer::Yes
        } else {
            Answer::No
        }
    }
}
