//! `shipline plan`: a change set against the deployed stack, shown and deleted; nothing changes.
//! The change list is the result, on stdout (also with `-q`; `--json` gives the same data), so
//! `plan > plan.txt` keeps it; `--detailed-exitcode` makes "changes present" exit 2
//! ([`super::ExitCodes::Detailed`]).

use shipline_core::Config;

use super::template;
use super::{Aws, Failure, Output};
use crate::cli::TemplateArgs;
use crate::cloudformation::change_set;
use crate::cloudformation::ops::{self, Applied};
use crate::printer::Printer;

pub async fn run(
    config: &Config,
    options: &TemplateArgs,
    aws: &Aws,
    printer: &Printer,
) -> Result<Output, Failure> {
    let template = template::prepare(config, options, aws, printer).await?;
    aws.announce(
        printer,
        &format!("planning stack {} against", aws.session.stack),
    )
    .await?;
    let planned = ops::plan(&aws.session, &template, printer).await?;
    Ok(Output::new(&planned, lines(&planned)))
}

/// The change list, then one summary line.
pub(crate) fn lines(planned: &Applied) -> Vec<String> {
    let mut lines = change_set::render(&planned.changes);
    lines.push(match planned.status.as_str() {
        "NO_CHANGES" => format!("stack {}: no changes", planned.stack),
        _ => format!(
            "stack {}: {} change(s) planned (nothing was changed)",
            planned.stack,
            planned.changes.len()
        ),
    });
    lines
}
