//! What a mapped ARN is, judged the way the authenticator will compare it.

use crate::arn::{Arn, Principal, PrincipalKind, is_account_id};

/// A mapped ARN, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MappedArn {
    /// Can never be a caller's canonical ARN as written: why.
    Invalid(String),
    Principal(Box<Principal>),
}

/// Classify the ARN of an aws-auth entry.
#[must_use]
pub fn classify(text: &str) -> MappedArn {
    let trimmed = text.trim();
    if trimmed != text {
        return MappedArn::Invalid(
            "it has leading or trailing spaces, which the authenticator compares too".to_owned(),
        );
    }
    let arn: Arn = match text.parse() {
        Ok(a) => a,
        Err(e) => return MappedArn::Invalid(e.to_string()),
    };
    if arn.service != "iam" && arn.service != "sts" {
        return MappedArn::Invalid(format!(
            "it is an ARN of service {:?}, not an IAM principal (iam user or role)",
            arn.service
        ));
    }
    if !arn.known_partition() {
        return MappedArn::Invalid(format!("unknown partition {:?}", arn.partition));
    }
    if !arn.valid_account() {
        return MappedArn::Invalid(format!("the account id {:?} is not 12 digits", arn.account));
    }
    if !arn.region.is_empty() {
        return MappedArn::Invalid(format!(
            "IAM ARNs have no region, this one has {:?}",
            arn.region
        ));
    }
    let rt = arn.resource_type();
    if (rt == "role" || rt == "user") && arn.resource.ends_with('/') {
        return MappedArn::Invalid(format!("the {rt} name is empty"));
    }
    match Principal::parse(text) {
        Ok(p) if p.kind != PrincipalKind::Service => MappedArn::Principal(Box::new(p)),
        Ok(_) | Err(_) => MappedArn::Invalid(format!(
            "{:?} is not an IAM user, role, root or an STS assumed-role/federated-user resource",
            arn.resource
        )),
    }
}

/// `arn:P:iam::ACCT:role/NAME` for a role (path dropped) or an assumed role.
#[must_use]
pub fn path_free_role_arn(p: &Principal) -> Option<String> {
    let arn = p.arn.as_ref()?;
    let name = p.role_name()?;
    Some(format!(
        "arn:{}:iam::{}:role/{}",
        arn.partition, arn.account, name
    ))
}

/// Whether a 12-digit account id.
#[must_use]
pub fn valid_account(s: &str) -> bool {
    is_account_id(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies() {
        assert!(matches!(
            classify("arn:aws:iam::111122223333:role/x"),
            MappedArn::Principal(p) if p.kind == PrincipalKind::Role
        ));
        for bad in [
            "arn:aws:iam::1111:role/x",
            "arn:aws:iam::111122223333:role/",
            "arn:foo:iam::111122223333:role/x",
            "arn:aws:s3:::bucket",
            "eks-admin",
            " arn:aws:iam::111122223333:role/x",
            "arn:aws:iam::111122223333:group/x",
        ] {
            assert!(matches!(classify(bad), MappedArn::Invalid(_)), "{bad}");
        }
        let MappedArn::Principal(p) = classify("arn:aws:sts::111122223333:assumed-role/dev/alice")
        else {
            panic!()
        };
        assert_eq!(
            path_free_role_arn(&p).unwrap(),
            "arn:aws:iam::111122223333:role/dev"
        );
    }
}
