//! All output goes through the [`Printer`]: data on stdout (text or `--json`), progress and
//! messages on stderr — timestamped lines, plus a progress bar while a stack operation runs
//! when stderr is a terminal — nothing on stderr with `--quiet` except errors, and
//! confirmation prompts only on a terminal.

use std::io::Write;

use crate::commands::{ExitCodes, Failure, Output};

pub struct Printer {
    pub json: bool,
    pub quiet: bool,
    /// `--yes`: every confirmation is answered Yes without asking.
    pub assume_yes: bool,
    /// The progress bar of the running stack operation (terminal only).
    #[cfg(feature = "aws")]
    bar: std::cell::RefCell<Option<indicatif::ProgressBar>>,
}

impl Printer {
    pub fn new(json: bool, quiet: bool, assume_yes: bool) -> Self {
        Printer {
            json,
            quiet,
            assume_yes,
            #[cfg(feature = "aws")]
            bar: std::cell::RefCell::new(None),
        }
    }

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

    /// A command's result: its data on stdout (JSON with `--json`), its notes on stderr.
    pub fn output(&self, output: &Output) {
        if self.json {
            self.data(&serde_json::to_string_pretty(&output.json).expect("JSON"));
        } else {
            for line in &output.lines {
                self.data(line);
            }
        }
        for note in &output.notes {
            self.note(note);
        }
    }

    /// A command's failure: on stderr, and as `{"error": {...}}` on stdout with `--json`.
    pub fn failure(&self, failure: &Failure, codes: ExitCodes) {
        if self.json {
            self.data(&serde_json::to_string_pretty(&failure.json(codes)).expect("JSON"));
        }
        self.error(&failure.message());
    }
}

/// Questions and progress for the commands that talk to AWS.
#[cfg(feature = "aws")]
mod interactive {
    use std::io::{BufRead, IsTerminal, Write};
    use std::time::Duration;

    use indicatif::{ProgressBar, ProgressStyle};

    use super::Printer;
    use crate::cloudformation::{Answer, Ui};

    impl Printer {
        /// Reads one answer line on a terminal, or None when there is no terminal to ask on.
        fn ask(&self, question: &str) -> Option<String> {
            if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
                return None;
            }
            eprint!("{question} ");
            let _ = std::io::stderr().flush();
            let mut reply = String::new();
            std::io::stdin().lock().read_line(&mut reply).ok()?;
            Some(reply.trim().to_owned())
        }
    }

    fn timestamp() -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let (h, m, s) = ((now / 3600) % 24, (now / 60) % 60, now % 60);
        format!("{h:02}:{m:02}:{s:02}")
    }

    impl Ui for Printer {
        fn progress(&self, line: &str) {
            if self.quiet {
                return;
            }
            let line = format!("{} {line}", timestamp());
            match self.bar.borrow().as_ref() {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }

        fn confirm(&self, question: &str) -> Answer {
            if self.assume_yes {
                return Answer::Yes;
            }
            match self.ask(&format!("{question} [y/N]")).as_deref() {
                None => Answer::NotInteractive,
                Some("y" | "Y" | "yes" | "YES" | "Yes") => Answer::Yes,
                Some(_) => Answer::No,
            }
        }

        fn confirm_typed(&self, question: &str, expected: &str) -> Answer {
            if self.assume_yes {
                return Answer::Yes;
            }
            match self.ask(question) {
                None => Answer::NotInteractive,
                Some(reply) if reply == expected => Answer::Yes,
                Some(_) => Answer::No,
            }
        }

        fn begin(&self, resources: usize) {
            if self.quiet || !std::io::stderr().is_terminal() {
                return;
            }
            let bar = if resources == 0 {
                ProgressBar::new_spinner()
            } else {
                ProgressBar::new(resources as u64)
            };
            let template = if resources == 0 {
                "{spinner} {elapsed} resources settled: {pos}"
            } else {
                "{spinner} {elapsed} [{bar:30}] {pos}/{len} resources"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.enable_steady_tick(Duration::from_millis(200));
            *self.bar.borrow_mut() = Some(bar);
        }

        fn advance(&self) {
            if let Some(bar) = self.bar.borrow().as_ref() {
                bar.inc(1);
            }
        }

        fn finish(&self) {
            if let Some(bar) = self.bar.borrow_mut().take() {
                bar.finish_and_clear();
            }
        }
    }
}
