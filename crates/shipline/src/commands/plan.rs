//! `shipline plan`: a change set against the deployed stack, shown and deleted; nothing changes.

use shipline_core::Config;

use super::template;
use super::{Aws, Failure, Output};
use crate::cli::TemplateArgs;
use crate::cloudformation::ops;
use crate::printer::Printer;

pub async fn run(
    config: &Config,
    options: &TemplateArgs,
    aws: &Aws,
    printer: &Printer,
) -> Result<Output, Failure> {
    let template = template::prepare(config, options, aws, printer).await?;
    let planned = ops::plan(&aws.session, &template, printer).await?;
    let line = match planned.status.as_str() {
        "NO_CHANGES" => format!("stack {}: no changes", planned.stack),
        _ => format!(
            "stack {}: {} change(s) planned (nothing was changed)",
            planned.stack,
            planned.changes.len()
        ),
    };
    Ok(Output::new(&planned, vec![line]))
}
