//! `shipline cost`: the monthly estimate of this pipeline (see `shipline_core::cost`), as a
//! table or JSON. No AWS access.

use shipline_core::Config;
use shipline_core::cost::{Usage, estimate};

use super::{Failure, Output};
use crate::cli::UsageArgs;

pub fn run(config: &Config, args: &UsageArgs) -> Result<Output, Failure> {
    let usage = Usage {
        runs_per_month: args.runs_per_month,
        build_minutes: args.build_minutes,
        image_gb: args.image_gb,
        artifact_gb: args.artifact_gb,
        scan_wait_minutes: args.scan_wait_minutes,
        log_mb_per_build_minute: args.log_mb_per_build_minute,
        deploy_minutes: args.deploy_minutes,
    };
    let values = [
        ("--runs-per-month", usage.runs_per_month),
        ("--build-minutes", usage.build_minutes),
        ("--image-gb", usage.image_gb),
        ("--artifact-gb", usage.artifact_gb),
        ("--scan-wait-minutes", usage.scan_wait_minutes),
        ("--log-mb-per-build-minute", usage.log_mb_per_build_minute),
        ("--deploy-minutes", usage.deploy_minutes),
    ];
    if let Some((flag, value)) = values.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
        return Err(Failure::BadInput(format!(
            "{flag} {value}: use a number of zero or more"
        )));
    }
    let estimate = estimate(config, &usage);
    let mut lines = vec![format!(
        "{:<34} {:>14} {:<14} {:>10} {:>10}",
        "item", "quantity", "unit", "free", "USD/month"
    )];
    for line in &estimate.lines {
        let mark = if line.item == estimate.dominant {
            "  <- largest"
        } else {
            ""
        };
        lines.push(format!(
            "{:<34} {:>14.2} {:<14} {:>10} {:>10.2}{mark}",
            line.item, line.quantity, line.unit, line.free, line.monthly_usd
        ));
        lines.push(format!("    {}", line.basis));
    }
    lines.push(format!("{:<34} {:>51.2}", "total", estimate.total_usd));
    Ok(Output::new(&estimate, lines).note(format!(
        "estimate at {}; other regions differ; data transfer and taxes not included. Change the assumptions with the flags (shipline cost --help).",
        estimate.prices
    )))
}
