//! `shipline cost`: a monthly estimate of what this pipeline costs, line by line, from a dated
//! price table kept as data ([`PRICES`]: us-east-1 list prices, with their source and date) and
//! usage assumptions the user can override ([`Usage`]). Every line shows its formula's inputs,
//! free tiers are subtracted where AWS grants them, and the dominant line is flagged. An
//! estimate, not a bill: other regions are priced at us-east-1's rates, and data transfer,
//! request charges under a cent and taxes are left out.

use serde::Serialize;

use crate::config::{Config, ScanGate, Trigger};

/// Where and when the prices were read.
pub const PRICE_SOURCE: &str = "AWS pricing pages for us-east-1 (CodePipeline, CodeBuild, Lambda, ECR, S3, CloudWatch, KMS, Secrets Manager, SNS, EventBridge, Inspector), read 2026-11";

/// A unit price in US dollars.
#[derive(Debug, Clone, Copy)]
pub struct Price {
    pub item: &'static str,
    pub unit: &'static str,
    pub usd: f64,
    /// Units free each month (AWS free tier that does not expire), if any.
    pub free: f64,
}

const fn price(item: &'static str, unit: &'static str, usd: f64, free: f64) -> Price {
    Price {
        item,
        unit,
        usd,
        free,
    }
}

/// us-east-1 list prices.
pub const PRICES: Prices = Prices {
    pipeline_action_minute: price("CodePipeline V2 action time", "action-minute", 0.002, 100.0),
    build_minute_small: price("CodeBuild general1.small", "build-minute", 0.005, 100.0),
    lambda_request: price(
        "Lambda requests",
        "request",
        0.20 / 1_000_000.0,
        1_000_000.0,
    ),
    lambda_arm_gb_second: price(
        "Lambda compute (arm64)",
        "GB-second",
        0.0000133334,
        400_000.0,
    ),
    ecr_storage: price("ECR storage", "GB-month", 0.10, 0.0),
    s3_standard: price("S3 Standard storage", "GB-month", 0.023, 0.0),
    logs_ingested: price("CloudWatch Logs ingestion", "GB", 0.50, 5.0),
    logs_stored: price("CloudWatch Logs storage", "GB-month", 0.03, 5.0),
    kms_key: price("KMS customer-managed key", "key-month", 1.00, 0.0),
    secret: price("Secrets Manager secret", "secret-month", 0.40, 0.0),
    sns_publish: price("SNS publishes", "publish", 0.50 / 1_000_000.0, 1_000_000.0),
    sns_email: price("SNS email deliveries", "email", 2.00 / 100_000.0, 1_000.0),
    events_custom: price(
        "EventBridge custom events",
        "event",
        1.00 / 1_000_000.0,
        0.0,
    ),
    inspector_image: price("Inspector container image scan", "image", 0.09, 0.0),
};

/// The price table.
pub struct Prices {
    pub pipeline_action_minute: Price,
    pub build_minute_small: Price,
    pub lambda_request: Price,
    pub lambda_arm_gb_second: Price,
    pub ecr_storage: Price,
    pub s3_standard: Price,
    pub logs_ingested: Price,
    pub logs_stored: Price,
    pub kms_key: Price,
    pub secret: Price,
    pub sns_publish: Price,
    pub sns_email: Price,
    pub events_custom: Price,
    pub inspector_image: Price,
}

/// What the pipeline is assumed to do in a month; every field has a flag.
#[derive(Debug, Clone, Serialize)]
pub struct Usage {
    /// Pipeline executions (pushes to the branch).
    pub runs_per_month: f64,
    /// Minutes one image build takes.
    pub build_minutes: f64,
    /// Size of one pushed image, GB.
    pub image_gb: f64,
    /// Size of one execution's source artifact, GB.
    pub artifact_gb: f64,
    /// Minutes the scan gate waits for a basic scan result (its action time).
    pub scan_wait_minutes: f64,
    /// Build log written per build minute, MB.
    pub log_mb_per_build_minute: f64,
    /// Minutes one deployment takes (stages with a `[stages.deploy]` target: an ECS service
    /// or a Lambda function).
    pub deploy_minutes: f64,
}

impl Default for Usage {
    fn default() -> Self {
        Usage {
            runs_per_month: 100.0,
            build_minutes: 5.0,
            image_gb: 0.5,
            artifact_gb: 0.05,
            scan_wait_minutes: 2.0,
            log_mb_per_build_minute: 1.0,
            deploy_minutes: 10.0,
        }
    }
}

/// One line of the estimate.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Line {
    pub item: &'static str,
    /// Units used in a month, before the free tier.
    pub quantity: f64,
    pub unit: &'static str,
    pub unit_usd: f64,
    /// Units free each month.
    pub free: f64,
    pub monthly_usd: f64,
    /// How the quantity was computed.
    pub basis: String,
}

/// The whole estimate.
#[derive(Debug, Clone, Serialize)]
pub struct Estimate {
    pub lines: Vec<Line>,
    pub total_usd: f64,
    /// The line that costs the most.
    pub dominant: &'static str,
    pub usage: Usage,
    pub prices: &'static str,
}

fn line(price: Price, quantity: f64, basis: String) -> Line {
    let billable = (quantity - price.free).max(0.0);
    Line {
        item: price.item,
        quantity,
        unit: price.unit,
        unit_usd: price.usd,
        free: price.free,
        monthly_usd: round_cents(billable * price.usd),
        basis,
    }
}

fn round_cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

/// The monthly estimate for `config` under `usage`.
pub fn estimate(config: &Config, usage: &Usage) -> Estimate {
    let mut lines = pipeline_lines(config, usage);
    lines.extend(storage_lines(config, usage));
    lines.extend(fixed_lines(config, usage));
    let total_usd = round_cents(lines.iter().map(|l| l.monthly_usd).sum());
    // The first line among the most expensive.
    let dominant = lines
        .iter()
        .fold(None::<&Line>, |best, l| match best {
            Some(b) if b.monthly_usd >= l.monthly_usd => Some(b),
            _ => Some(l),
        })
        .map_or("", |l| l.item);
    Estimate {
        lines,
        total_usd,
        dominant,
        usage: usage.clone(),
        prices: PRICE_SOURCE,
    }
}

/// CodePipeline action time (each action rounded up to a minute; manual approvals free),
/// CodeBuild minutes, the delivery function's invocations.
fn pipeline_lines(config: &Config, usage: &Usage) -> Vec<Line> {
    let stages = config.promotion_stages().len() as f64;
    let runs = usage.runs_per_month;
    let build = usage.build_minutes.ceil();
    let scan = match config.scan.gate {
        ScanGate::Basic => usage.scan_wait_minutes.ceil().max(1.0),
        // InspectorScan runs on CodePipeline-managed CodeBuild (billed there, below).
        ScanGate::Inspector => 0.0,
    };
    let targets = config
        .promotion_stages()
        .iter()
        .filter(|s| s.deploys())
        .count() as f64;
    let deploy = usage.deploy_minutes.ceil().max(1.0);
    let per_run = 1.0 + build + scan + stages + targets * deploy;
    let deploys = if targets > 0.0 {
        format!(" + {targets} deploys × {deploy}")
    } else {
        String::new()
    };
    let mut lines = vec![line(
        PRICES.pipeline_action_minute,
        runs * per_run,
        format!(
            "{runs} runs × (source 1 + build {build} + scan {scan} + {stages} promotions × 1{deploys}) action-minutes; approvals are free"
        ),
    )];
    let inspector_minutes = if config.scan.gate == ScanGate::Inspector {
        2.0
    } else {
        0.0
    };
    lines.push(line(
        PRICES.build_minute_small,
        runs * (build + inspector_minutes),
        format!(
            "{runs} runs × ({build} build minutes + {inspector_minutes} InspectorScan minutes)"
        ),
    ));
    // Gate: one invocation plus one per wait minute (continuations); one per promotion; an
    // ECS deploy: one plus about one a minute while it waits (CodePipeline's polling).
    let invocations = runs * (scan + 1.0 + stages + targets * (1.0 + deploy));
    lines.push(line(
        PRICES.lambda_request,
        invocations,
        format!(
            "{runs} runs × (1 gate + {scan} continuations + {stages} promotions{}) invocations",
            if targets > 0.0 {
                format!(" + {targets} deploys × {}", 1.0 + deploy)
            } else {
                String::new()
            }
        ),
    ));
    lines.push(line(
        PRICES.lambda_arm_gb_second,
        invocations * 0.25 * 1.0,
        format!("{invocations} invocations × 0.25 GB × 1 s"),
    ));
    if config.scan.gate == ScanGate::Inspector {
        lines.push(line(
            PRICES.inspector_image,
            runs,
            format!("{runs} images scanned once"),
        ));
    }
    lines
}

/// ECR images kept by the lifecycle rule, S3 artifacts kept until they expire (and their
/// noncurrent versions as long again), build logs ingested and kept for the retention.
fn storage_lines(config: &Config, usage: &Usage) -> Vec<Line> {
    let runs = usage.runs_per_month;
    let keep = f64::from(config.images.keep_last).min(runs.max(1.0));
    let expiry_months = f64::from(config.artifacts.expiration_days) / 30.0;
    let artifacts = runs * usage.artifact_gb * expiry_months.min(1.0) * 2.0;
    let ingested = runs * usage.build_minutes * usage.log_mb_per_build_minute / 1024.0;
    let retention_months = f64::from(config.logs.retention_days) / 30.0;
    vec![
        line(
            PRICES.ecr_storage,
            keep * usage.image_gb,
            format!(
                "{keep} images kept (images.keep_last) × {} GB",
                usage.image_gb
            ),
        ),
        line(
            PRICES.s3_standard,
            artifacts,
            format!(
                "{runs} runs × {} GB × min(1, {} days / 30) × 2 (current + noncurrent versions)",
                usage.artifact_gb, config.artifacts.expiration_days
            ),
        ),
        line(
            PRICES.logs_ingested,
            ingested,
            format!(
                "{runs} runs × {} build minutes × {} MB",
                usage.build_minutes, usage.log_mb_per_build_minute
            ),
        ),
        line(
            PRICES.logs_stored,
            ingested * retention_months.max(1.0 / 30.0),
            format!(
                "{ingested:.3} GB a month kept {} days",
                config.logs.retention_days
            ),
        ),
    ]
}

/// The key, the secret, notifications, and the webhook's events.
fn fixed_lines(config: &Config, usage: &Usage) -> Vec<Line> {
    let runs = usage.runs_per_month;
    let results = config.notifications.on.len() as f64;
    let approvals = config
        .promotion_stages()
        .iter()
        .filter(|s| s.approval)
        .count() as f64;
    let publishes = runs * (results.min(1.0) + approvals);
    let emails = publishes * config.notifications.emails.len() as f64;
    let mut lines = vec![
        line(PRICES.kms_key, 1.0, "the notification topic's key".into()),
        line(
            PRICES.sns_publish,
            publishes,
            format!("{runs} runs × (1 result + {approvals} approval requests)"),
        ),
        line(
            PRICES.sns_email,
            emails,
            format!(
                "{publishes} publishes × {} subscribed emails",
                config.notifications.emails.len()
            ),
        ),
    ];
    if config.source.trigger == Trigger::Webhook {
        lines.push(line(PRICES.secret, 1.0, "the webhook secret".into()));
        lines.push(line(
            PRICES.events_custom,
            runs,
            format!("{runs} pushes published to the push bus"),
        ));
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml: &str) -> Config {
        Config::parse("t.toml", toml).unwrap()
    }

    fn find<'a>(estimate: &'a Estimate, item: &str) -> &'a Line {
        estimate.lines.iter().find(|l| l.item == item).unwrap()
    }

    /// Worked example: the default pipeline, 100 runs of 5-minute builds.
    #[test]
    fn pipeline_action_minutes_round_each_action_up_and_skip_approvals() {
        let e = estimate(&Config::default(), &Usage::default());
        // Per run: source 1 + build 5 + scan 2 + 3 promotions = 11; 1,100 minutes, 100 free.
        let l = find(&e, "CodePipeline V2 action time");
        assert_eq!(l.quantity, 1100.0);
        assert_eq!(l.monthly_usd, 2.00); // 1,000 × $0.002
        let usage = Usage {
            build_minutes: 4.2,
            ..Usage::default()
        };
        let l = find(
            &estimate(&Config::default(), &usage),
            "CodePipeline V2 action time",
        )
        .clone();
        assert_eq!(
            l.quantity, 1100.0,
            "4.2 build minutes bill as 5 action-minutes"
        );
    }

    #[test]
    fn ecs_deploys_bill_their_waiting_minutes() {
        let toml = "[[stages]]\nname = \"prod\"\ndeploy.ecs = { cluster = \"c\", service = \"s\", container = \"web\" }\n";
        let e = estimate(&config(toml), &Usage::default());
        let l = find(&e, "CodePipeline V2 action time");
        // source 1 + build 5 + scan 2 + 1 promotion + 1 deploy × 10, per run.
        assert_eq!(l.quantity, 100.0 * 19.0);
        assert!(l.basis.contains("1 deploys × 10"), "{}", l.basis);
        let plain = estimate(&config("[[stages]]\nname = \"prod\"\n"), &Usage::default());
        assert_eq!(
            find(&plain, "CodePipeline V2 action time").quantity,
            100.0 * 9.0
        );
    }

    #[test]
    fn codebuild_minutes_after_the_free_tier() {
        let e = estimate(&Config::default(), &Usage::default());
        let l = find(&e, "CodeBuild general1.small");
        assert_eq!((l.quantity, l.monthly_usd), (500.0, 2.00)); // (500 − 100) × $0.005
        // The inspector gate adds 2 CodeBuild minutes per run and $0.09 per image.
        let e = estimate(&config("[scan]\ngate = \"inspector\"\n"), &Usage::default());
        assert_eq!(find(&e, "CodeBuild general1.small").quantity, 700.0);
        assert_eq!(find(&e, "Inspector container image scan").monthly_usd, 9.00);
    }

    #[test]
    fn ecr_storage_follows_the_lifecycle_rule() {
        let e = estimate(
            &config("[images]\nkeep_last = 20\n"),
            &Usage {
                image_gb: 2.0,
                ..Usage::default()
            },
        );
        let l = find(&e, "ECR storage");
        assert_eq!((l.quantity, l.monthly_usd), (40.0, 4.00)); // 20 × 2 GB × $0.10
        // Fewer runs than keep_last: only what was pushed is stored.
        let e = estimate(
            &Config::default(),
            &Usage {
                runs_per_month: 3.0,
                ..Usage::default()
            },
        );
        assert_eq!(find(&e, "ECR storage").quantity, 1.5);
    }

    #[test]
    fn artifacts_and_logs_follow_expiry_and_retention() {
        let e = estimate(&Config::default(), &Usage::default());
        // 100 × 0.05 GB × min(1, 30/30) × 2 = 10 GB × $0.023
        let s3 = find(&e, "S3 Standard storage");
        assert_eq!((s3.quantity, s3.monthly_usd), (10.0, 0.23));
        // 100 × 5 min × 1 MB = 500 MB ≈ 0.488 GB ingested, inside the 5 GB free tier.
        let logs = find(&e, "CloudWatch Logs ingestion");
        assert!((logs.quantity - 0.48828125).abs() < 1e-9);
        assert_eq!(logs.monthly_usd, 0.0);
        let big = Usage {
            log_mb_per_build_minute: 40.0,
            ..Usage::default()
        };
        let logs = find(
            &estimate(&Config::default(), &big),
            "CloudWatch Logs ingestion",
        )
        .clone();
        assert_eq!(logs.monthly_usd, 7.27); // (19.53 − 5) GB × $0.50
    }

    #[test]
    fn fixed_costs_and_the_dominant_line() {
        let e = estimate(&Config::default(), &Usage::default());
        assert_eq!(find(&e, "KMS customer-managed key").monthly_usd, 1.00);
        assert_eq!(find(&e, "Secrets Manager secret").monthly_usd, 0.40);
        // Default: ECR 10 × 0.5 GB = $0.50; CodePipeline $2.00 and CodeBuild $2.00 tie: the
        // first listed wins; the total is the sum of the rounded lines.
        assert_eq!(e.dominant, "CodePipeline V2 action time");
        let sum: f64 = e.lines.iter().map(|l| l.monthly_usd).sum();
        assert!((e.total_usd - sum).abs() < 0.005);
        // No webhook, no secret or custom events.
        let e = estimate(
            &config("[source]\ntrigger = \"connection\"\n"),
            &Usage::default(),
        );
        assert!(e.lines.iter().all(|l| l.item != "Secrets Manager secret"));
    }
}
