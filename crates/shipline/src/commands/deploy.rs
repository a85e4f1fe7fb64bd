//! `shipline deploy`: a change set, shown, confirmed and executed, with the stack's events
//! streamed; the outputs and what is left to do by hand.

use shipline_core::Config;

use super::template;
use super::{Aws, Failure, Output, next_steps, output_lines};
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
    aws.announce(
        printer,
        &format!("deploying stack {} to", aws.session.stack),
    )
    .await?;
    let applied = ops::deploy(&aws.session, &template, printer).await?;
    let mut lines = vec![match applied.status.as_str() {
        "NO_CHANGES" => format!("stack {}: no changes", applied.stack),
        status => format!("stack {}: {status}", applied.stack),
    }];
    lines.extend(output_lines(&applied.outputs));
    let mut output = Output::new(&applied, lines);
    // Where it went, in the result too (`-q` silences the progress line that said so).
    output.json["account"] = serde_json::json!(aws.account().await?);
    output.json["region"] = serde_json::json!(aws.region);
    if applied.status != "NO_CHANGES" {
        let steps = next_steps(config, &aws.region);
        if !steps.is_empty() {
            output = output.note(steps.trim_end());
        }
    }
    Ok(output)
}
