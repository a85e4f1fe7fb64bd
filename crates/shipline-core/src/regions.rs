//! Which AWS regions can hold shipline's stack, and short codes for their names.
//!
//! Not every CloudFormation resource type exists in every region: function URLs
//! (`AWS::Lambda::Url`) and `AWS::CodeConnections::Connection` are missing in over a dozen, so a
//! deploy there would fail halfway through. This module owns the table that lets `plan`/`deploy`
//! refuse such a region before any change ([`check`], [`missing_types`]). The table is data, not
//! code: `regions.json` beside this file, embedded at build time. It is derived from the
//! per-region resource schemas cfn-lint ships (`cfnlint/data/schemas/providers/<region>.json`,
//! cfn-lint pinned in `tests/python/requirements-test.lock`) by
//! `tests/python/test_regions.py --write`, and that test fails when the installed cfn-lint, or a
//! resource type some synthesized template uses, no longer matches it.
//!
//! The table covers the regions for which cfn-lint has schemas of their own ([`is_known`]).
//! cfn-lint also lists regions it has no data for — isolated partitions, whose schema is a copy
//! of us-east-1's, and `me-south-1`, which has no file — and `regions.json` keeps those apart
//! (`unchecked_regions`) instead of guessing that everything exists there.
//!
//! [`short_code`] names a region in at most 7 characters (`us-east-1` → `use1`), for names that
//! must be unique per account but fit a length limit, such as a CodeConnections connection.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use serde::Deserialize;

/// `regions.json`, as written by `tests/python/test_regions.py --write`.
#[derive(Debug, Deserialize)]
struct Data {
    /// Where the data comes from (cfn-lint and its version).
    source: String,
    /// Regions with schemas of their own, sorted.
    regions: Vec<String>,
    /// Regions cfn-lint lists without schemas of their own, with the reason.
    unchecked_regions: BTreeMap<String, String>,
    /// For every resource type shipline emits, the regions (of `regions`) that lack it, sorted.
    unavailable: BTreeMap<String, Vec<String>>,
}

static DATA: LazyLock<Data> = LazyLock::new(|| {
    serde_json::from_str(include_str!("regions.json"))
        .expect("regions.json parses (checked by the regions unit tests)")
});

/// Where the region data comes from, e.g. `cfn-lint 1.58.0 resource schemas (…)`.
pub fn source() -> &'static str {
    &DATA.source
}

/// Whether `region` is in the table: a region whose resource types shipline can check.
pub fn is_known(region: &str) -> bool {
    DATA.regions
        .binary_search_by(|r| r.as_str().cmp(region))
        .is_ok()
}

/// Every region in the table, sorted.
pub fn known() -> impl Iterator<Item = &'static str> {
    DATA.regions.iter().map(String::as_str)
}

/// Every resource type the table has checked, sorted.
pub fn checked_types() -> impl Iterator<Item = &'static str> {
    DATA.unavailable.keys().map(String::as_str)
}

/// The `types` that `region` is not known to offer, in input order, without duplicates.
///
/// Errs on the side of refusing: in a region outside the table every type counts as missing,
/// and so does a type the table has not checked (in any region). Call [`is_known`] first, or
/// use [`check`], to tell an unknown region apart from a missing type.
pub fn missing_types<'a>(region: &str, types: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let known = is_known(region);
    let mut missing = Vec::new();
    for resource_type in types {
        if missing.contains(&resource_type) {
            continue;
        }
        let lacks = !known
            || DATA
                .unavailable
                .get(resource_type)
                .is_none_or(|lacking| lacking.binary_search_by(|r| r.as_str().cmp(region)).is_ok());
        if lacks {
            missing.push(resource_type);
        }
    }
    missing
}

/// Why a stack needing some resource types cannot go to a region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionError {
    /// The region is not in the table; `reason` says why when cfn-lint lists it without data.
    Unknown {
        region: String,
        reason: Option<&'static str>,
    },
    /// The region lacks these resource types (or the table has not checked them).
    Missing { region: String, types: Vec<String> },
}

impl fmt::Display for RegionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegionError::Unknown {
                region,
                reason: Some(reason),
            } => write!(
                f,
                "cannot check which resource types region `{region}` offers: {} has no data \
                 of its own for it ({reason})",
                source()
            ),
            RegionError::Unknown {
                region,
                reason: None,
            } => write!(
                f,
                "unknown region `{region}`: not among the {} regions in {}",
                DATA.regions.len(),
                source()
            ),
            RegionError::Missing { region, types } => write!(
                f,
                "region `{region}` does not offer {} (according to {}); choose another region",
                types.join(", "),
                source()
            ),
        }
    }
}

impl std::error::Error for RegionError {}

/// `Ok` when `region` is in the table and offers every one of `types`.
pub fn check<'a>(
    region: &str,
    types: impl IntoIterator<Item = &'a str>,
) -> Result<(), RegionError> {
    if !is_known(region) {
        return Err(RegionError::Unknown {
            region: region.to_owned(),
            reason: DATA.unchecked_regions.get(region).map(String::as_str),
        });
    }
    let missing = missing_types(region, types);
    if missing.is_empty() {
        Ok(())
    } else {
        Err(RegionError::Missing {
            region: region.to_owned(),
            types: missing.into_iter().map(str::to_owned).collect(),
        })
    }
}

/// A short code for `region`, unique among every region cfn-lint lists and at most 7
/// characters; `None` for a region cfn-lint does not list.
///
/// The rule: split the name at `-`; keep the first part (the area: `us`, `ap`, `eusc`) and the
/// last (the number) as they are, and abbreviate each part between them — a compass word by its
/// compass letters (`east` → `e`, `southeast` → `se`, `central` → `c`), `iso…` by `i` and what
/// follows `iso` (`isob` → `ib`), any other word by its first letter (`gov` → `g`, `de` → `d`).
///
/// `us-east-1` → `use1`, `ap-southeast-2` → `apse2`, `ap-south-1` → `aps1`,
/// `cn-northwest-1` → `cnnw1`, `us-gov-west-1` → `usgw1`, `eu-central-2` → `euc2`,
/// `us-isob-east-1` → `usibe1`, `eusc-de-east-1` → `euscde1`.
pub fn short_code(region: &str) -> Option<String> {
    if is_known(region) || DATA.unchecked_regions.contains_key(region) {
        abbreviate(region)
    } else {
        None
    }
}

/// `(region, short code)` for every region cfn-lint lists (those it has no data for too, so
/// that a template deployed there by other means still resolves its names), sorted by region:
/// e.g. the rows of a CloudFormation `Mappings` table keyed by `AWS::Region`.
pub fn short_codes() -> impl Iterator<Item = (&'static str, String)> {
    let mut regions: Vec<&'static str> = known()
        .chain(DATA.unchecked_regions.keys().map(String::as_str))
        .collect();
    regions.sort_unstable();
    regions.into_iter().map(|region| {
        let code = abbreviate(region).expect("every known region has a short code (unit tested)");
        (region, code)
    })
}

/// [`short_code`]'s rule, for any name shaped `area-word…-number`.
fn abbreviate(region: &str) -> Option<String> {
    let parts: Vec<&str> = region.split('-').collect();
    let (area, rest) = parts.split_first()?;
    let (number, words) = rest.split_last()?;
    if words.is_empty() || number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut code = (*area).to_owned();
    for word in words {
        code.push_str(&abbreviate_word(word)?);
    }
    code.push_str(number);
    Some(code)
}

fn abbreviate_word(word: &str) -> Option<String> {
    if let Some(letters) = compass(word) {
        return Some(letters.to_owned());
    }
    if let Some(rest) = word.strip_prefix("iso") {
        return Some(format!("i{rest}"));
    }
    word.chars().next().map(String::from)
}

/// `north` → `n`, `northeast` → `ne`, `central` → `c`, …; `None` for other words.
fn compass(word: &str) -> Option<&'static str> {
    Some(match word {
        "north" => "n",
        "south" => "s",
        "east" => "e",
        "west" => "w",
        "central" => "c",
        "northeast" => "ne",
        "northwest" => "nw",
        "southeast" => "se",
        "southwest" => "sw",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn all_listed() -> impl Iterator<Item = &'static str> {
        known().chain(DATA.unchecked_regions.keys().map(String::as_str))
    }

    #[test]
    fn data_is_sorted_and_consistent() {
        assert!(DATA.source.starts_with("cfn-lint "), "{}", DATA.source);
        assert!(
            DATA.regions.is_sorted_by(|a, b| a < b),
            "regions sorted, unique"
        );
        assert!(DATA.regions.len() > 30 && is_known("us-east-1"));
        for region in DATA.unchecked_regions.keys() {
            assert!(!is_known(region), "{region} both checked and unchecked");
        }
        assert!(DATA.unavailable.len() >= 18);
        for (resource_type, lacking) in &DATA.unavailable {
            assert!(
                lacking.is_sorted_by(|a, b| a < b),
                "{resource_type}: sorted"
            );
            assert!(
                lacking.iter().all(|r| is_known(r)),
                "{resource_type}: {lacking:?}"
            );
            assert!(
                lacking.len() < DATA.regions.len(),
                "{resource_type} exists nowhere"
            );
        }
    }

    #[test]
    fn short_codes_are_unique_short_and_plain_for_every_listed_region() {
        let mut seen = BTreeMap::new();
        for region in all_listed() {
            let code = short_code(region).unwrap_or_else(|| panic!("no code for {region}"));
            assert!(code.len() <= 7, "{region} -> {code}");
            assert!(
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                "{region} -> {code}"
            );
            if let Some(other) = seen.insert(code.clone(), region) {
                panic!("{region} and {other} both -> {code}");
            }
        }
        assert_eq!(
            short_codes().count(),
            DATA.regions.len() + DATA.unchecked_regions.len()
        );
        assert!(short_codes().all(|(region, code)| short_code(region) == Some(code)));
    }

    #[test]
    fn short_code_examples() {
        for (region, code) in [
            ("us-east-1", "use1"),
            ("us-west-2", "usw2"),
            ("ap-southeast-2", "apse2"),
            ("ap-south-1", "aps1"),
            ("ap-northeast-3", "apne3"),
            ("cn-northwest-1", "cnnw1"),
            ("us-gov-west-1", "usgw1"),
            ("eu-central-2", "euc2"),
            ("il-central-1", "ilc1"),
            ("us-iso-east-1", "usie1"),
            ("us-isob-east-1", "usibe1"),
            ("us-isof-south-1", "usifs1"),
            ("eu-isoe-west-1", "euiew1"),
            ("eusc-de-east-1", "euscde1"),
        ] {
            assert_eq!(short_code(region).as_deref(), Some(code), "{region}");
        }
        assert_eq!(short_code("mars-north-1"), None);
        assert_eq!(short_code(""), None);
        assert_eq!(abbreviate("us-east"), None);
        assert_eq!(abbreviate("us-1"), None);
    }

    #[test]
    fn function_urls_exist_in_us_east_1_but_not_everywhere() {
        assert!(missing_types("us-east-1", ["AWS::Lambda::Url"]).is_empty());
        assert_eq!(
            missing_types("il-central-1", ["AWS::Lambda::Url"]),
            ["AWS::Lambda::Url"]
        );
        assert_eq!(
            missing_types("us-gov-west-1", ["AWS::Lambda::Url"]),
            ["AWS::Lambda::Url"]
        );
    }

    #[test]
    fn missing_types_keeps_input_order_without_duplicates() {
        let types = [
            "AWS::S3::Bucket",
            "AWS::Lambda::Url",
            "AWS::CodeConnections::Connection",
            "AWS::Lambda::Url",
        ];
        assert_eq!(
            missing_types("me-central-1", types),
            ["AWS::Lambda::Url", "AWS::CodeConnections::Connection"]
        );
        assert!(missing_types("eu-west-1", types).is_empty());
    }

    #[test]
    fn unknown_regions_and_unchecked_types_count_as_missing() {
        assert!(!is_known("mars-north-1"));
        assert!(!is_known(""));
        assert!(
            !is_known("us-iso-east-1"),
            "cfn-lint has no data of its own"
        );
        assert!(!is_known("me-south-1"), "cfn-lint ships no provider file");
        assert_eq!(
            missing_types("mars-north-1", ["AWS::S3::Bucket", "AWS::S3::Bucket"]),
            ["AWS::S3::Bucket"]
        );
        assert_eq!(
            missing_types("us-east-1", ["AWS::Made::Up"]),
            ["AWS::Made::Up"]
        );
    }

    #[test]
    fn check_says_why() {
        assert_eq!(check("us-east-1", ["AWS::Lambda::Url"]), Ok(()));
        let err = check("ca-west-1", ["AWS::S3::Bucket", "AWS::CodeBuild::Project"]).unwrap_err();
        assert_eq!(
            err,
            RegionError::Missing {
                region: "ca-west-1".into(),
                types: vec!["AWS::CodeBuild::Project".into()]
            }
        );
        let message = err.to_string();
        assert!(message.contains("AWS::CodeBuild::Project") && message.contains("cfn-lint"));
        let err = check("us-iso-east-1", ["AWS::S3::Bucket"]).unwrap_err();
        assert!(matches!(
            &err,
            RegionError::Unknown {
                reason: Some(_),
                ..
            }
        ));
        assert!(err.to_string().contains("copy of us-east-1"), "{err}");
        let err = check("mars-north-1", ["AWS::S3::Bucket"]).unwrap_err();
        assert_eq!(
            err,
            RegionError::Unknown {
                region: "mars-north-1".into(),
                reason: None
            }
        );
        assert!(err.to_string().starts_with("unknown region `mars-north-1`"));
    }

    /// Every type in the default template and in each `tests/configs/*.toml` template is in the
    /// table (test_regions.py checks the same through the binary).
    #[test]
    fn every_synthesized_type_is_checked() {
        let configs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/configs");
        let mut templates = vec![(
            "default".to_owned(),
            crate::synthesize(&crate::Config::default()),
        )];
        for entry in std::fs::read_dir(&configs).expect("tests/configs") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let config = crate::Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
                templates.push((path.display().to_string(), crate::synthesize(&config)));
            }
        }
        let checked: BTreeSet<_> = checked_types().collect();
        for (name, template) in &templates {
            for resource in template.resources.values() {
                assert!(
                    checked.contains(resource.type_name),
                    "{name}: {} is not in regions.json; regenerate it with \
                     `SHIPLINE_BIN=target/debug/shipline .venv/test/bin/python \
                     tests/python/test_regions.py --write`",
                    resource.type_name
                );
            }
        }
        assert!(templates.len() > 1, "found no tests/configs/*.toml");
    }
}
