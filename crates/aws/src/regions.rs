//! The regions where EKS runs, per partition (for `--regions all`).
//!
//! Opt-in regions the account has not enabled answer ListClusters with
//! `UnrecognizedClientException`; the round reports those per region and
//! goes on.

use eksdoctor_core::arn::partition_of_region;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions() {
        assert!(eks_regions("eu-west-1").contains(&"us-east-1"));
        assert_eq!(eks_regions("cn-north-1"), AWS_CN);
        assert_eq!(eks_regions("us-gov-west-1"), AWS_US_GOV);
        assert_eq!(eks_regions("us-iso-east-1"), vec!["us-iso-east-1"]);
    }
}
