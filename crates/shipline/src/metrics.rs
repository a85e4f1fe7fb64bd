//! Delivery metrics from a pipeline's history, as plain data in and plain data out (no SDK):
//! the four DORA metrics over a window (`--since`), measured at the last promotion stage.
//!
//! - **Deployment frequency**: executions (not stage rollbacks) whose last promotion stage
//!   succeeded and ended in the window, per day and per week.
//! - **Lead time**: from the commit (the source action's `AuthorDate` output variable when the
//!   history has it, else the execution's start; the result says which) to the end of the
//!   last stage, median over those deployments.
//! - **Change failure rate**: of the finished executions whose first promotion stage started
//!   in the window, the share that failed a promotion stage or had a stage rolled back
//!   (CodePipeline stage rollback: a `ROLLBACK` execution re-running that stage). A rejected
//!   approval is not a failure, and a `shipline rollback` (a tag move, no execution) is not
//!   seen.
//! - **Time to restore**: from a failed last-stage run to the next successful one (a normal
//!   execution or a rollback), median over the failures in the window.
//!
//! Also `--since` parsing (`30d`, `12h`, `2w`, or an RFC 3339 date or date-time) and the few
//! calendar conversions it needs, hand-rolled (days from the civil date) so the binary needs
//! no date crate.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

const DAY: i64 = 86_400;

/// The start of the window, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Since {
    /// The last `seconds` seconds (`label`: "30 days").
    Last { seconds: i64, label: String },
    /// From this instant (seconds since the epoch).
    At(i64),
}

impl Since {
    /// `30d`, `12h`, `2w` (a positive whole number and a unit), or an RFC 3339 date
    /// (`2026-01-31`, midnight UTC) or date-time (`2026-01-31T08:00:00Z`, `...+02:00`).
    pub fn parse(text: &str) -> Result<Since, String> {
        let text = text.trim();
        let usage = || {
            format!(
                "`{text}` is not a duration or date: use e.g. 30d, 12h, 2w, or an RFC 3339 date such as 2026-01-31 or 2026-01-31T08:00:00Z"
            )
        };
        if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic())
            && text.len() > 1
            && text[..text.len() - 1].bytes().all(|b| b.is_ascii_digit())
        {
            let (unit_seconds, name) = match unit {
                'h' => (3_600, "hour"),
                'd' => (DAY, "day"),
                'w' => (7 * DAY, "week"),
                _ => return Err(usage()),
            };
            let amount: i64 = text[..text.len() - 1].parse().map_err(|_| usage())?;
            // CodePipeline keeps 12 months of history; ten years is a typo, not a window.
            let seconds = amount.checked_mul(unit_seconds).unwrap_or(i64::MAX);
            if amount == 0 || seconds > 3_660 * DAY {
                return Err(format!(
                    "`{text}`: the window must be longer than zero and at most 10 years (CodePipeline keeps 12 months of history)"
                ));
            }
            let label = format!("{amount} {name}{}", if amount == 1 { "" } else { "s" });
            return Ok(Since::Last { seconds, label });
        }
        parse_rfc3339(text).map(Since::At).ok_or_else(usage)
    }

    /// The first second of the window ending `now`; an error when it is not before `now`.
    pub fn start(&self, now: i64) -> Result<i64, String> {
        match self {
            Since::Last { seconds, .. } => Ok(now - seconds),
            Since::At(at) if *at < now => Ok(*at),
            Since::At(at) => Err(format!(
                "--since {} is not in the past: give an earlier date, or a duration such as 30d",
                format_rfc3339(*at)
            )),
        }
    }

    /// "last 30 days" or "since 2026-01-31T00:00:00Z".
    pub fn describe(&self) -> String {
        match self {
            Since::Last { label, .. } => format!("last {label}"),
            Since::At(at) => format!("since {}", format_rfc3339(*at)),
        }
    }
}

/// Seconds since the epoch of an RFC 3339 date (`2026-01-31`, taken as midnight UTC) or
/// date-time (`T` or a space between; optional fraction; `Z` or `±HH:MM`). None when malformed.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + i64::from(d - b'0')))
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (year, month, day) = (digits(0, 4)?, digits(5, 2)?, digits(8, 2)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    let date = days_from_civil(year, month, day) * DAY;
    if b.len() == 10 {
        return Some(date);
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 20 || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (hour, minute, second) = (digits(11, 2)?, digits(14, 2)?, digits(17, 2)?);
    // 60: a leap second, as RFC 3339 allows; counted as the next second.
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if rest.first() == Some(&b'.') {
        let fraction = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if fraction == 0 {
            return None;
        }
        rest = &rest[1 + fraction..];
    }
    let offset = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let field = |x: &u8, y: &u8| {
                (x.is_ascii_digit() && y.is_ascii_digit())
                    .then(|| i64::from(x - b'0') * 10 + i64::from(y - b'0'))
            };
            let (h, m) = (field(h1, h2)?, field(m1, m2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let seconds = h * 3_600 + m * 60;
            if *sign == b'+' { seconds } else { -seconds }
        }
        _ => return None,
    };
    Some(date + hour * 3_600 + minute * 60 + second - offset)
}

/// `2026-01-31T08:00:00Z` for seconds since the epoch.
pub fn format_rfc3339(at: i64) -> String {
    let (days, seconds) = (at.div_euclid(DAY), at.rem_euclid(DAY));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / 3_600,
        seconds % 3_600 / 60,
        seconds % 60
    )
}

/// `3d 4h`, `2h 5m`, `4m 10s`, `12s`: the two largest units.
pub fn human_duration(seconds: i64) -> String {
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / DAY, s % DAY / 3_600, s % 3_600 / 60, s % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{sec}s"),
        (0, 0, _) => format!("{m}m {sec}s"),
        (0, _, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// One pipeline execution, as the metrics need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: String,
    /// CodePipeline's execution status: Succeeded, Failed, InProgress, Stopped, Superseded...
    pub status: String,
    /// A stage rollback (execution type ROLLBACK) rather than a new change.
    pub rollback: bool,
    /// When the execution started, seconds since the epoch.
    pub started: i64,
    /// When the source commit was authored, if the history says.
    pub committed: Option<i64>,
    /// Stage name -> how it ran in this execution.
    pub stages: BTreeMap<String, StageRun>,
}

/// One stage of one execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRun {
    /// The worst of its actions' results: Failed, InProgress, Abandoned, Succeeded.
    pub result: String,
    /// Its first action's start and its last action's last update, seconds since the epoch.
    pub started: i64,
    pub ended: i64,
}

/// The four metrics over one window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeliveryMetrics {
    /// The window, RFC 3339.
    pub since: String,
    pub until: String,
    pub days: f64,
    /// The stage the metrics are measured at (the last promotion stage).
    pub stage: Option<String>,
    pub deployment_frequency: Frequency,
    pub lead_time: LeadTime,
    pub change_failure_rate: FailureRate,
    pub time_to_restore: Restore,
    /// False when the history was cut at the page cap before reaching `since`: the numbers
    /// then cover less than the window.
    pub history_complete: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Frequency {
    pub deployments: usize,
    pub per_day: f64,
    pub per_week: f64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LeadTime {
    pub median_seconds: Option<i64>,
    pub deployments: usize,
    /// Where the clock starts: "commit" (author date), "execution_start", or "mixed".
    pub from: &'static str,
    pub from_commit: usize,
    pub from_execution_start: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FailureRate {
    /// failures / changes, 0 to 1; None without changes.
    pub rate: Option<f64>,
    /// Finished executions that reached a promotion stage.
    pub changes: usize,
    /// Those that failed a promotion stage or had a stage rolled back (each counted once).
    pub failures: usize,
    pub failed: usize,
    pub rolled_back: usize,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Restore {
    pub median_seconds: Option<i64>,
    /// Failures of the last stage in the window followed by a success.
    pub restored: usize,
    /// The last stage has been failing since then (no success after its last failure).
    pub failing_since: Option<String>,
}

fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2
    })
}

fn round(value: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (value * scale).round() / scale
}

/// The metrics of `runs` over `[since, now]`, at the last of `stages` (the promotion stages,
/// in order). `history_complete` is passed through.
pub fn compute(
    runs: &[Run],
    stages: &[String],
    since: i64,
    now: i64,
    history_complete: bool,
) -> DeliveryMetrics {
    let in_window = |t: i64| since <= t && t <= now;
    let last = stages.last();
    fn stage_of<'a>(run: &'a Run, stage: Option<&String>) -> Option<&'a StageRun> {
        stage.and_then(|stage| run.stages.get(stage))
    }

    // Deployments and their lead times.
    let deployments: Vec<(&Run, &StageRun)> = runs
        .iter()
        .filter(|run| !run.rollback)
        .filter_map(|run| stage_of(run, last).map(|stage| (run, stage)))
        .filter(|(_, stage)| stage.result == "Succeeded" && in_window(stage.ended))
        .collect();
    let lead_times: Vec<i64> = deployments
        .iter()
        .map(|(run, stage)| (stage.ended - run.committed.unwrap_or(run.started)).max(0))
        .collect();
    let from_commit = deployments
        .iter()
        .filter(|(run, _)| run.committed.is_some())
        .count();
    let from_execution_start = deployments.len() - from_commit;
    let days = (now - since).max(1) as f64 / DAY as f64;
    let per_day = deployments.len() as f64 / days;

    // Changes that reached a promotion stage, and which of them failed or were rolled back.
    let first_promotion = |run: &Run| {
        stages
            .iter()
            .filter_map(|s| run.stages.get(s))
            .map(|s| s.started)
            .min()
    };
    let finished = |run: &Run| !matches!(run.status.as_str(), "InProgress" | "Stopping");
    let changes: Vec<&Run> = runs
        .iter()
        .filter(|run| !run.rollback && finished(run))
        .filter(|run| first_promotion(run).is_some_and(in_window))
        .collect();
    let failed: BTreeSet<&str> = changes
        .iter()
        .filter(|run| {
            stages
                .iter()
                .any(|s| run.stages.get(s).is_some_and(|r| r.result == "Failed"))
        })
        .map(|run| run.id.as_str())
        .collect();
    // A rollback of stage S undoes the newest normal execution that ran S before it.
    let mut rolled_back = BTreeSet::new();
    for rollback in runs.iter().filter(|run| run.rollback) {
        for (stage, undo) in &rollback.stages {
            if let Some(target) = runs
                .iter()
                .filter(|run| !run.rollback)
                .filter_map(|run| run.stages.get(stage).map(|s| (run, s.started)))
                .filter(|(_, started)| *started <= undo.started)
                .max_by_key(|(_, started)| *started)
            {
                rolled_back.insert(target.0.id.as_str());
            }
        }
    }
    let rolled_back: BTreeSet<&str> = changes
        .iter()
        .map(|run| run.id.as_str())
        .filter(|id| rolled_back.contains(id))
        .collect();
    let failures = failed.union(&rolled_back).count();

    // Time to restore: each failure of the last stage to the next success there.
    let mut outcomes: Vec<(i64, bool)> = runs
        .iter()
        .filter_map(|run| stage_of(run, last))
        .filter(|stage| matches!(stage.result.as_str(), "Succeeded" | "Failed"))
        .map(|stage| (stage.ended, stage.result == "Succeeded"))
        .collect();
    outcomes.sort_unstable();
    let (mut restores, mut broken) = (Vec::new(), None);
    for (at, succeeded) in outcomes {
        match (succeeded, broken) {
            (false, None) => broken = Some(at),
            (true, Some(failed_at)) => {
                if in_window(failed_at) {
                    restores.push(at - failed_at);
                }
                broken = None;
            }
            _ => {}
        }
    }

    DeliveryMetrics {
        since: format_rfc3339(since),
        until: format_rfc3339(now),
        days: round(days, 2),
        stage: last.cloned(),
        deployment_frequency: Frequency {
            deployments: deployments.len(),
            per_day: round(per_day, 2),
            per_week: round(per_day * 7.0, 2),
        },
        lead_time: LeadTime {
            median_seconds: median(lead_times),
            deployments: deployments.len(),
            from: match (from_commit, from_execution_start) {
                (_, 0) => "commit",
                (0, _) => "execution_start",
                _ => "mixed",
            },
            from_commit,
            from_execution_start,
        },
        change_failure_rate: FailureRate {
            rate: (!changes.is_empty()).then(|| round(failures as f64 / changes.len() as f64, 3)),
            changes: changes.len(),
            failures,
            failed: failed.len(),
            rolled_back: rolled_back.len(),
        },
        time_to_restore: Restore {
            restored: restores.len(),
            median_seconds: median(restores),
            failing_since: broken.map(format_rfc3339),
        },
        history_complete,
    }
}

/// The metrics as a short text block.
pub fn lines(metrics: &DeliveryMetrics, window: &str) -> Vec<String> {
    let Some(stage) = &metrics.stage else {
        return vec![format!("delivery ({window}): no promotion stages")];
    };
    let f = &metrics.deployment_frequency;
    let l = &metrics.lead_time;
    let c = &metrics.change_failure_rate;
    let r = &metrics.time_to_restore;
    let from = match l.from {
        "commit" => "from the commit's author date".to_owned(),
        "execution_start" => "from the execution start: the history has no commit time".to_owned(),
        _ => format!(
            "from the commit's author date for {}, the execution start for {}",
            l.from_commit, l.from_execution_start
        ),
    };
    let mut lines = vec![
        format!("delivery ({window}, at {stage}):"),
        format!(
            "  deployment frequency  {} deployment{}: {}/day, {}/week",
            f.deployments,
            if f.deployments == 1 { "" } else { "s" },
            f.per_day,
            f.per_week
        ),
        match l.median_seconds {
            Some(median) => format!(
                "  lead time             median {} over {} deployment{} ({from})",
                human_duration(median),
                l.deployments,
                if l.deployments == 1 { "" } else { "s" },
            ),
            None => "  lead time             - (no deployments)".to_owned(),
        },
        match c.rate {
            Some(rate) => format!(
                "  change failure rate   {}% ({} of {} changes that reached a promotion stage: {} failed, {} rolled back)",
                round(rate * 100.0, 1),
                c.failures,
                c.changes,
                c.failed,
                c.rolled_back
            ),
            None => "  change failure rate   - (no change reached a promotion stage)".to_owned(),
        },
        match r.median_seconds {
            Some(median) => format!(
                "  time to restore       median {} over {} failure{} of {stage}",
                human_duration(median),
                r.restored,
                if r.restored == 1 { "" } else { "s" }
            ),
            None => format!("  time to restore       - (no restored failure of {stage})"),
        },
    ];
    if let Some(since) = &r.failing_since {
        lines.push(format!("  {stage} failing since {since}"));
    }
    if !metrics.history_complete {
        lines.push(
            "  (history cut at the page limit: these cover less than the window; shorten --since)"
                .to_owned(),
        );
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const H: i64 = 3_600;

    fn stages() -> Vec<String> {
        ["dev", "production"].map(str::to_owned).to_vec()
    }

    /// A normal execution started at `at` (hours before NOW), its promotion stages with their
    /// results (one hour each), committed an hour before it started.
    fn run(id: &str, hours_ago: i64, results: &[(&str, &str)]) -> Run {
        let started = NOW - hours_ago * H;
        Run {
            id: id.into(),
            status: if results.iter().any(|(_, r)| *r == "Failed") {
                "Failed".into()
            } else {
                "Succeeded".into()
            },
            rollback: false,
            started,
            committed: Some(started - H),
            stages: results
                .iter()
                .enumerate()
                .map(|(i, (stage, result))| {
                    let at = started + (i as i64 + 1) * H;
                    (
                        (*stage).to_owned(),
                        StageRun {
                            result: (*result).to_owned(),
                            started: at,
                            ended: at + H,
                        },
                    )
                })
                .collect(),
        }
    }

    fn metrics(runs: &[Run]) -> DeliveryMetrics {
        compute(runs, &stages(), NOW - 30 * DAY, NOW, true)
    }

    #[test]
    fn empty_history_has_zero_deployments_and_no_rates() {
        let m = metrics(&[]);
        assert_eq!(m.deployment_frequency.deployments, 0);
        assert_eq!(m.deployment_frequency.per_day, 0.0);
        assert_eq!(m.lead_time.median_seconds, None);
        assert_eq!(m.change_failure_rate.rate, None);
        assert_eq!(m.time_to_restore.median_seconds, None);
        assert_eq!(m.time_to_restore.failing_since, None);
        assert_eq!(m.days, 30.0);
        assert_eq!(m.since, "2025-12-02T00:00:00Z");
        let text = lines(&m, "last 30 days").join("\n");
        assert!(text.contains("0 deployments: 0/day, 0/week"), "{text}");
        assert!(
            text.contains("lead time             - (no deployments)"),
            "{text}"
        );
    }

    #[test]
    fn deployments_count_successes_at_the_last_stage_with_lead_time_from_the_commit() {
        let runs = [
            run(
                "a",
                100,
                &[("dev", "Succeeded"), ("production", "Succeeded")],
            ),
            run(
                "b",
                50,
                &[("dev", "Succeeded"), ("production", "Succeeded")],
            ),
            // Reached only dev: not a deployment.
            run("c", 20, &[("dev", "Succeeded")]),
            // Outside the window.
            run(
                "old",
                40 * 24,
                &[("dev", "Succeeded"), ("production", "Succeeded")],
            ),
        ];
        let m = metrics(&runs);
        assert_eq!(m.deployment_frequency.deployments, 2);
        assert_eq!(m.deployment_frequency.per_day, round(2.0 / 30.0, 2));
        assert_eq!(m.deployment_frequency.per_week, round(14.0 / 30.0, 2));
        // Commit 1h before the start, production ends 3h after the start.
        assert_eq!(m.lead_time.median_seconds, Some(4 * H));
        assert_eq!(m.lead_time.from, "commit");
        assert_eq!(m.change_failure_rate.rate, Some(0.0));
        assert_eq!(m.change_failure_rate.changes, 3);
    }

    #[test]
    fn lead_time_falls_back_to_the_execution_start_and_says_so() {
        let mut without = run(
            "a",
            10,
            &[("dev", "Succeeded"), ("production", "Succeeded")],
        );
        without.committed = None;
        let m = metrics(std::slice::from_ref(&without));
        assert_eq!(m.lead_time.median_seconds, Some(3 * H));
        assert_eq!(m.lead_time.from, "execution_start");
        let with = run(
            "b",
            20,
            &[("dev", "Succeeded"), ("production", "Succeeded")],
        );
        let m = metrics(&[without, with]);
        assert_eq!((m.lead_time.from, m.lead_time.from_commit), ("mixed", 1));
        assert!(
            lines(&m, "w")
                .join("\n")
                .contains("author date for 1, the execution start for 1")
        );
    }

    #[test]
    fn only_failures_give_a_full_failure_rate_and_an_open_outage() {
        let runs = [
            run("a", 30, &[("dev", "Succeeded"), ("production", "Failed")]),
            run("b", 20, &[("dev", "Failed")]),
            run("c", 10, &[("dev", "Succeeded"), ("production", "Failed")]),
        ];
        let m = metrics(&runs);
        assert_eq!(m.deployment_frequency.deployments, 0);
        assert_eq!(m.change_failure_rate.rate, Some(1.0));
        assert_eq!(
            (
                m.change_failure_rate.failures,
                m.change_failure_rate.changes
            ),
            (3, 3)
        );
        assert_eq!(m.time_to_restore.median_seconds, None);
        // Failing since the first failure of production (30h ago + 2h in + 1h long).
        assert_eq!(
            m.time_to_restore.failing_since,
            Some(format_rfc3339(NOW - 27 * H))
        );
        let text = lines(&m, "last 30 days").join("\n");
        assert!(text.contains("100% (3 of 3 changes"), "{text}");
        assert!(text.contains("production failing since"), "{text}");
    }

    #[test]
    fn a_stage_rollback_counts_the_execution_it_undid_as_a_failure_and_restores() {
        let good = run(
            "good",
            48,
            &[("dev", "Succeeded"), ("production", "Succeeded")],
        );
        let bad = run("bad", 24, &[("dev", "Succeeded"), ("production", "Failed")]);
        // CodePipeline's automatic rollback: a ROLLBACK execution re-running production with
        // the good execution's artifacts, 2h after bad's production failed.
        let rollback_at = NOW - 24 * H + 5 * H;
        let rollback = Run {
            id: "rb".into(),
            status: "Succeeded".into(),
            rollback: true,
            started: rollback_at,
            committed: None,
            stages: BTreeMap::from([(
                "production".to_owned(),
                StageRun {
                    result: "Succeeded".into(),
                    started: rollback_at,
                    ended: rollback_at + 600,
                },
            )]),
        };
        let m = metrics(&[good, bad, rollback]);
        // The rollback is not a deployment of a change.
        assert_eq!(m.deployment_frequency.deployments, 1);
        let c = &m.change_failure_rate;
        assert_eq!(
            (c.changes, c.failures, c.failed, c.rolled_back),
            (2, 1, 1, 1)
        );
        assert_eq!(c.rate, Some(0.5));
        // Restored by the rollback: from bad's production end (24h ago + 3h) to the rollback's end.
        assert_eq!(m.time_to_restore.median_seconds, Some(2 * H + 600));
        assert_eq!(m.time_to_restore.restored, 1);
        assert_eq!(m.time_to_restore.failing_since, None);
    }

    #[test]
    fn a_manual_rollback_of_a_successful_deployment_is_a_change_failure() {
        let deployed = run(
            "d",
            24,
            &[("dev", "Succeeded"), ("production", "Succeeded")],
        );
        let undo_at = NOW - 10 * H;
        let rollback = Run {
            id: "rb".into(),
            status: "Succeeded".into(),
            rollback: true,
            started: undo_at,
            committed: None,
            stages: BTreeMap::from([(
                "production".to_owned(),
                StageRun {
                    result: "Succeeded".into(),
                    started: undo_at,
                    ended: undo_at + 60,
                },
            )]),
        };
        let m = metrics(&[deployed, rollback]);
        let c = &m.change_failure_rate;
        assert_eq!(
            (c.changes, c.failed, c.rolled_back, c.rate),
            (1, 0, 1, Some(1.0))
        );
    }

    #[test]
    fn restore_runs_from_the_first_failure_to_the_next_success() {
        let runs = [
            run(
                "ok1",
                72,
                &[("dev", "Succeeded"), ("production", "Succeeded")],
            ),
            run("f1", 60, &[("dev", "Succeeded"), ("production", "Failed")]),
            run("f2", 50, &[("dev", "Succeeded"), ("production", "Failed")]),
            run(
                "ok2",
                40,
                &[("dev", "Succeeded"), ("production", "Succeeded")],
            ),
            run("f3", 20, &[("dev", "Succeeded"), ("production", "Failed")]),
            run(
                "ok3",
                19,
                &[("dev", "Succeeded"), ("production", "Succeeded")],
            ),
        ];
        let m = metrics(&runs);
        // f1 -> ok2: 20h; f3 -> ok3: 1h. Median of two: their mean.
        assert_eq!(m.time_to_restore.restored, 2);
        assert_eq!(m.time_to_restore.median_seconds, Some((20 * H + H) / 2));
        assert_eq!(m.deployment_frequency.deployments, 3);
        let c = &m.change_failure_rate;
        assert_eq!((c.changes, c.failures), (6, 3));
    }

    #[test]
    fn in_progress_executions_are_not_yet_changes() {
        let mut running = run("r", 2, &[("dev", "Succeeded")]);
        running.status = "InProgress".into();
        let m = metrics(&[running]);
        assert_eq!(m.change_failure_rate.changes, 0);
    }

    #[test]
    fn since_accepts_durations_and_rfc3339_dates() {
        assert_eq!(
            Since::parse("30d"),
            Ok(Since::Last {
                seconds: 30 * DAY,
                label: "30 days".into()
            })
        );
        assert_eq!(Since::parse("12h").unwrap().start(NOW), Ok(NOW - 12 * H));
        assert_eq!(Since::parse("1w").unwrap().describe(), "last 1 week");
        assert_eq!(Since::parse("2w").unwrap().start(NOW), Ok(NOW - 14 * DAY));
        assert_eq!(Since::parse("2025-12-31"), Ok(Since::At(NOW - DAY)));
        assert_eq!(Since::parse("2025-12-31T23:00:00Z"), Ok(Since::At(NOW - H)));
        assert_eq!(
            Since::parse("2026-01-01T01:00:00.250+02:00"),
            Ok(Since::At(NOW - H))
        );
        assert_eq!(
            Since::parse("2025-12-31 23:30:00-00:30"),
            Ok(Since::At(NOW))
        );
        assert_eq!(
            Since::parse("2025-12-31").unwrap().describe(),
            "since 2025-12-31T00:00:00Z"
        );
    }

    #[test]
    fn since_rejects_what_it_cannot_read_and_says_what_to_write() {
        for bad in [
            "",
            "d",
            "30",
            "30x",
            "-3d",
            "3.5d",
            "0d",
            "99999w",
            "999999999999999999d",
            "2025-13-01",
            "2025-02-29",
            "2024-02-30",
            "2025-12-31T25:00:00Z",
            "2025-12-31T10:00:00",
            "2025-12-31T10:00Z",
            "2025-12-31T10:00:00+2",
            "31/12/2025",
            "tomorrow",
            "3d ago",
        ] {
            let err = Since::parse(bad).unwrap_err();
            assert!(err.contains(&format!("`{bad}`")), "{bad}: {err}");
        }
        assert!(
            Since::parse("30x")
                .unwrap_err()
                .contains("e.g. 30d, 12h, 2w")
        );
        assert!(Since::parse("2024-02-29").is_ok(), "a leap day");
        let future = Since::parse("2026-06-01").unwrap();
        assert!(future.start(NOW).unwrap_err().contains("not in the past"));
    }

    #[test]
    fn dates_round_trip_through_the_civil_calendar() {
        for at in [0, NOW, NOW + 59, 951_782_400 /* 2000-02-29 */, -DAY] {
            assert_eq!(parse_rfc3339(&format_rfc3339(at)), Some(at), "{at}");
        }
        assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn durations_read_as_their_two_largest_units() {
        assert_eq!(human_duration(12), "12s");
        assert_eq!(human_duration(250), "4m 10s");
        assert_eq!(human_duration(2 * H + 300), "2h 5m");
        assert_eq!(human_duration(3 * DAY + 4 * H + 7), "3d 4h");
        assert_eq!(human_duration(-5), "0s");
    }
}
