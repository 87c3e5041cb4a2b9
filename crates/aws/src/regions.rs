//! The regions where EKS runs, per partition (for `--regions all`).
//!
//! Opt-in regions the account has not enabled answer ListClusters with
//! `UnrecognizedClientException`; the round reports those per region and
//! goes on.
//!
//! Depends on std and core only: the `regions` fuzz target includes this file.

use eksdoctor_core::arn::partition_of_region;

/// Which regions to look in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum RegionSelection {
    /// The run's home region.
    #[default]
    Home,
    /// These regions.
    List(Vec<String>),
    /// Every EKS region of the home region's partition.
    All,
}

const AWS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
];
const AWS_CN: &[&str] = &["cn-north-1", "cn-northwest-1"];
const AWS_US_GOV: &[&str] = &["us-gov-east-1", "us-gov-west-1"];

/// The EKS regions of `home`'s partition.
#[must_use]
pub fn eks_regions(home: &str) -> Vec<&str> {
    match partition_of_region(home) {
        "aws" => AWS.to_vec(),
        "aws-cn" => AWS_CN.to_vec(),
        "aws-us-gov" => AWS_US_GOV.to_vec(),
        // Isolated partitions: only the home region is known to us.
        _ => vec![home],
    }
}

/// Whether `s` looks like a region code (`us-west-2`, `us-gov-east-1`, `cn-north-1`).
#[must_use]
pub fn is_region_code(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    (3..=32).contains(&s.len())
        && parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts[0].bytes().all(|b| b.is_ascii_lowercase())
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// `--regions` values (already split on commas): `all`, or region codes.
/// Empty means the home region. Blank items are skipped; duplicates dropped.
///
/// # Errors
/// A value that is not a region code, or `all` mixed with regions.
pub fn parse_selection(values: &[String]) -> Result<RegionSelection, String> {
    let items: Vec<String> = values
        .iter()
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect();
    if items.is_empty() {
        return Ok(RegionSelection::Home);
    }
    if items.iter().any(|v| v == "all") {
        if items.len() > 1 {
            return Err("--regions all cannot be combined with other regions".to_owned());
        }
        return Ok(RegionSelection::All);
    }
    let mut out: Vec<String> = Vec::new();
    for v in items {
        if !is_region_code(&v) {
            return Err(format!(
                "--regions: {v:?} is not a region code (like us-west-2), nor `all`"
            ));
        }
        if !out.contains(&v) {
            out.push(v);
        }
    }
    Ok(RegionSelection::List(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn selections() {
        let s =
            |v: &[&str]| parse_selection(&v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>());
        assert_eq!(s(&[]), Ok(RegionSelection::Home));
        assert_eq!(s(&["ALL"]), Ok(RegionSelection::All));
        assert_eq!(
            s(&["us-west-2", " eu-west-1 ", "us-west-2", ""]),
            Ok(RegionSelection::List(vec![
                "us-west-2".into(),
                "eu-west-1".into()
            ]))
        );
        assert!(s(&["all", "us-west-2"]).is_err());
        assert!(s(&["uswest2"]).is_err());
        assert!(s(&["us-west-2;rm"]).is_err());
        assert!(is_region_code("us-gov-west-1"));
        assert!(is_region_code("ap-southeast-7"));
        assert!(!is_region_code("1-2-3"));
    }

    proptest! {
        #[test]
        fn never_panics_and_lists_only_region_codes(values in proptest::collection::vec(".{0,40}", 0..6)) {
            if let Ok(RegionSelection::List(l)) = parse_selection(&values) {
                prop_assert!(!l.is_empty());
                for r in &l {
                    prop_assert!(is_region_code(r));
                }
            }
        }

        #[test]
        fn known_regions_parse(i in 0usize..AWS.len()) {
            prop_assert_eq!(
                parse_selection(&[AWS[i].to_owned()]),
                Ok(RegionSelection::List(vec![AWS[i].to_owned()]))
            );
        }
    }

    #[test]
    fn partitions() {
        assert!(eks_regions("eu-west-1").contains(&"us-east-1"));
        assert_eq!(eks_regions("cn-north-1"), AWS_CN);
        assert_eq!(eks_regions("us-gov-west-1"), AWS_US_GOV);
        assert_eq!(eks_regions("us-iso-east-1"), vec!["us-iso-east-1"]);
    }
}
