//! Denials in the wordings that carry no `User: ... is not authorized to
//! perform: ACTION` sentence, as CloudFormation, Auto Scaling, EKS, EC2 and the
//! SDKs print them:
//!
//! * EC2-style `UnauthorizedOperation`: `You are not authorized to perform this
//!   operation.` (CLI, Go SDK v1/v2, Java, Terraform wrappings, with or without
//!   `Encoded authorization failure message: ...`): the action comes from the
//!   operation, the principal is unknown.
//! * CloudFormation events: `API: ec2:CreateVpc You are not authorized to
//!   perform this operation.` (one denial per line), and `Resource handler
//!   returned message: "You are not authorized ..."` with the resource type.
//! * Launch templates: `You are not authorized to use launch template lt-...`.
//! * `... due to missing permissions for 'iam:CreateServiceLinkedRole'`.

use super::denial::{
    Denial, DenialKind, find_ci, leading_action, parse_encoded_message, parse_wrapper, take_while,
};

const THIS_OPERATION: &str = "not authorized to perform this operation";
const LAUNCH_TEMPLATE: &str = "not authorized to use launch template";
const LAUNCH_WITH_TEMPLATE: &str = "not authorized to launch instances with this launch template";
const MISSING: &str = "due to missing permissions for ";

/// The service an operation belongs to, for the operations error texts name
/// without their service (the AWS CLI's `when calling the X operation`).
#[must_use]
pub fn service_of_operation(op: &str) -> Option<&'static str> {
    const STS: &[&str] = &[
        "AssumeRole",
        "AssumeRoleWithWebIdentity",
        "AssumeRoleWithSAML",
        "GetCallerIdentity",
        "GetSessionToken",
        "GetFederationToken",
        "DecodeAuthorizationMessage",
        "GetAccessKeyInfo",
    ];
    const S3: &[&str] = &[
        "ListBuckets",
        "ListObjects",
        "ListObjectsV2",
        "GetObject",
        "PutObject",
        "HeadObject",
        "HeadBucket",
        "DeleteObject",
        "CreateBucket",
        "GetBucketPolicy",
        "PutBucketPolicy",
        "CopyObject",
    ];
    const EKS: &[&str] = &[
        "DescribeCluster",
        "ListClusters",
        "CreateCluster",
        "DeleteCluster",
        "UpdateClusterConfig",
        "UpdateClusterVersion",
        "ListNodegroups",
        "DescribeNodegroup",
        "CreateNodegroup",
        "DeleteNodegroup",
        "UpdateNodegroupConfig",
        "UpdateNodegroupVersion",
        "CreateAccessEntry",
        "ListAccessEntries",
        "DescribeAccessEntry",
        "AssociateAccessPolicy",
        "CreateAddon",
        "DescribeAddon",
        "ListAddons",
        "CreateFargateProfile",
        "CreatePodIdentityAssociation",
    ];
    const IAM: &[&str] = &[
        "ListRoles",
        "GetRole",
        "CreateRole",
        "DeleteRole",
        "PutRolePolicy",
        "AttachRolePolicy",
        "CreateServiceLinkedRole",
        "ListUsers",
        "GetUser",
        "CreateUser",
        "CreateAccessKey",
        "ListAccessKeys",
        "CreatePolicy",
        "CreateInstanceProfile",
        "ListOpenIDConnectProviders",
    ];
    if STS.contains(&op) {
        Some("sts")
    } else if S3.contains(&op) {
        Some("s3")
    } else if EKS.contains(&op) {
        Some("eks")
    } else if IAM.contains(&op) {
        Some("iam")
    } else {
        None
    }
}

/// The Go SDK v2's `operation error EKS: ListClusters`: (service, operation).
#[must_use]
pub fn go_operation(text: &str) -> Option<(String, String)> {
    let i = text.find("operation error ")?;
    let rest = &text[i + "operation error ".len()..];
    let (svc, after) = rest.split_once(": ")?;
    let op = take_while(after, |b| b.is_ascii_alphanumeric());
    if svc.is_empty() || svc.len() > 40 || op.is_empty() {
        return None;
    }
    let svc: String = svc
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    let svc = match svc.as_str() {
        "ssooidc" => "sso-oidc".to_owned(),
        "elasticloadbalancingv2" => "elasticloadbalancing".to_owned(),
        _ => svc,
    };
    Some((svc, op.to_owned()))
}

/// The IAM action a failed call needs: from the Go SDK's `operation error
/// SERVICE: OP`, else the CLI's `when calling the OP operation` with the
/// service known from the operation (or `default_service`).
#[must_use]
pub fn action_of_call(text: &str, default_service: Option<&str>) -> Option<String> {
    if let Some((svc, op)) = go_operation(text) {
        return Some(format!("{svc}:{op}"));
    }
    let (_, op) = parse_wrapper(text, "");
    let op = op?;
    let svc = service_of_operation(&op).or(default_service)?;
    Some(format!("{svc}:{op}"))
}

/// CloudFormation resource types and Terraform phrases → the action that creates them.
const CREATES: &[(&str, &str)] = &[
    ("AWS::EC2::VPC", "ec2:CreateVpc"),
    ("AWS::EC2::Subnet", "ec2:CreateSubnet"),
    ("AWS::EC2::SecurityGroup", "ec2:CreateSecurityGroup"),
    ("AWS::EC2::InternetGateway", "ec2:CreateInternetGateway"),
    ("AWS::EC2::NatGateway", "ec2:CreateNatGateway"),
    ("AWS::EC2::EIP", "ec2:AllocateAddress"),
    ("AWS::EC2::RouteTable", "ec2:CreateRouteTable"),
    ("AWS::EC2::LaunchTemplate", "ec2:CreateLaunchTemplate"),
    ("AWS::EC2::Instance", "ec2:RunInstances"),
    ("AWS::EKS::Cluster", "eks:CreateCluster"),
    ("AWS::EKS::Nodegroup", "eks:CreateNodegroup"),
    (
        "AWS::AutoScaling::AutoScalingGroup",
        "autoscaling:CreateAutoScalingGroup",
    ),
    ("launching source instance", "ec2:RunInstances"),
    ("creating EC2 Instance", "ec2:RunInstances"),
    ("adding tags", "ec2:CreateTags"),
    ("creating tags", "ec2:CreateTags"),
    ("creating EC2 VPC", "ec2:CreateVpc"),
    ("creating Security Group", "ec2:CreateSecurityGroup"),
    ("creating EC2 Subnet", "ec2:CreateSubnet"),
];

/// Markers of Terraform's diagnostics, then CloudFormation's events.
const TERRAFORM_MARKS: &[&str] = &[
    "│",
    "Error: creating ",
    "Error: reading ",
    "Error: updating ",
    "Error: deleting ",
    "Error: waiting for ",
    "Error: error ",
    "Error: Error ",
];
const CLOUDFORMATION_MARKS: &[&str] = &[
    "CREATE_FAILED",
    "UPDATE_FAILED",
    "Resource handler returned message",
    "API: ",
    "AWS::",
];

fn tool_marks() -> Option<&'static aho_corasick::AhoCorasick> {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    AC.get_or_init(|| {
        // Leftmost-first: the SIMD (Teddy) prefilter does the scanning.
        aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(TERRAFORM_MARKS.iter().chain(CLOUDFORMATION_MARKS))
            .ok()
    })
    .as_ref()
}

/// The tool a line of text came from, when it shows (Terraform wins when
/// both show). One pass over the line.
#[must_use]
pub fn tool_of(text: &str) -> Option<&'static str> {
    let ac = tool_marks()?;
    let mut cloudformation = false;
    for m in ac.find_iter(text) {
        if m.pattern().as_usize() < TERRAFORM_MARKS.len() {
            return Some("terraform");
        }
        cloudformation = true;
    }
    cloudformation.then_some("cloudformation")
}

fn ec2_action(text: &str, before: &str) -> Option<String> {
    if let Some((svc, op)) = go_operation(before) {
        return Some(format!("{svc}:{op}"));
    }
    let (_, op) = parse_wrapper(before, "");
    if let Some(op) = op {
        return Some(format!("ec2:{op}"));
    }
    // "API: ec2:CreateVpc You are not authorized ..."
    if let Some(i) = before.rfind("API: ") {
        return leading_action(&before[i + 5..]).map(str::to_owned);
    }
    CREATES
        .iter()
        .find(|(k, _)| text.contains(k))
        .map(|(_, a)| (*a).to_owned())
}

/// `lt-0123abcd...` after the phrase.
fn launch_template_id(s: &str) -> Option<String> {
    let s = s.trim_start_matches([':', ' ']);
    let id = take_while(s, |b| b.is_ascii_alphanumeric() || b == b'-');
    (id.starts_with("lt-") && id.len() > 3).then(|| id.to_owned())
}

/// The service-linked role a text is about, by name or by its service's name.
fn slr_named(text: &str, lower: &str) -> Option<&'static str> {
    const NAMED: &[&str] = &[
        "AWSServiceRoleForAmazonEKSNodegroup",
        "AWSServiceRoleForAmazonEKSForFargate",
        "AWSServiceRoleForAmazonEKS",
        "AWSServiceRoleForAutoScaling",
        "AWSServiceRoleForElasticLoadBalancing",
    ];
    if let Some(n) = NAMED.iter().find(|r| text.contains(*r)) {
        return Some(n);
    }
    if lower.contains("elastic load balancing") || lower.contains("createloadbalancer") {
        Some("AWSServiceRoleForElasticLoadBalancing")
    } else if lower.contains("auto scaling") {
        Some("AWSServiceRoleForAutoScaling")
    } else if lower.contains("nodegroup") || lower.contains("node group") {
        Some("AWSServiceRoleForAmazonEKSNodegroup")
    } else if lower.contains("cluster's service-linked role") || lower.contains("eks") {
        Some("AWSServiceRoleForAmazonEKS")
    } else {
        None
    }
}

/// Every denial of the wild wordings in one (logical) line. `lower` is its ASCII-lowercase copy.
#[must_use]
pub fn parse(text: &str, lower: &str) -> Vec<Denial> {
    let mut out = Vec::new();
    let tool = tool_of(text);
    // CloudFormation events: one denial per "API: svc:Action You are not authorized".
    let mut from = 0;
    while let Some(off) = lower[from..].find(THIS_OPERATION) {
        let hit = from + off;
        let seg_start = lower[..hit].rfind("api: ").map_or(from, |i| i.max(from));
        let next = lower[hit + THIS_OPERATION.len()..]
            .find(THIS_OPERATION)
            .map_or(text.len(), |j| {
                let n = hit + THIS_OPERATION.len() + j;
                lower[..n].rfind("api: ").filter(|&a| a > hit).unwrap_or(n)
            });
        let before = &text[..hit];
        let seg = &text[seg_start..next];
        let action = if seg_start < hit && lower[seg_start..].starts_with("api: ") {
            leading_action(&text[seg_start + 5..]).map(str::to_owned)
        } else {
            ec2_action(seg, before).or_else(|| ec2_action(text, before))
        };
        let mut d = Denial {
            kind: Some(DenialKind::Unspecified),
            action,
            form: Some(if tool == Some("cloudformation") {
                "cloudformation"
            } else {
                "ec2-style"
            }),
            tool,
            encoded_message: parse_encoded_message(seg),
            ..Denial::default()
        };
        let (code, op) = parse_wrapper(before, seg);
        d.error_code = code.or_else(|| Some("UnauthorizedOperation".to_owned()));
        d.operation = op.or_else(|| go_operation(before).map(|(_, o)| o));
        out.push(d);
        from = next.max(hit + THIS_OPERATION.len());
    }
    for phrase in [LAUNCH_TEMPLATE, LAUNCH_WITH_TEMPLATE] {
        if let Some(i) = lower.find(phrase) {
            let after = &text[i + phrase.len()..];
            out.push(Denial {
                kind: Some(DenialKind::Unspecified),
                action: Some("ec2:RunInstances".to_owned()),
                launch_template: launch_template_id(after),
                form: Some("launch-template"),
                tool,
                encoded_message: parse_encoded_message(after),
                ..Denial::default()
            });
        }
    }
    let mut from = 0;
    while let Some(off) = find_ci(&text[from..], MISSING) {
        let at = from + off + MISSING.len();
        let rest = text[at..].trim_start_matches(['\'', '"', '`', '\\']);
        if let Some(a) = leading_action(rest) {
            let mut d = Denial {
                kind: Some(DenialKind::Unspecified),
                action: Some(a.to_owned()),
                form: Some("missing-permissions"),
                tool,
                ..Denial::default()
            };
            let (code, op) = parse_wrapper(&text[..from + off], "");
            d.error_code = code;
            d.operation = op;
            if a.eq_ignore_ascii_case("iam:CreateServiceLinkedRole")
                && let Some(slr) = slr_named(text, lower)
            {
                d.resource = Some(super::denial::ResourceRef::Named(slr.to_owned()));
            }
            out.push(d);
        }
        from = at;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<Denial> {
        parse(s, &s.to_ascii_lowercase())
    }

    #[test]
    fn ec2_style_takes_the_action_from_the_operation() {
        let d = p(
            "An error occurred (UnauthorizedOperation) when calling the RunInstances operation: You are not authorized to perform this operation.",
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].action.as_deref(), Some("ec2:RunInstances"));
        assert!(d[0].principal_text.is_none());
        let d = p(
            "operation error EC2: CreateSecurityGroup, https response error StatusCode: 403, RequestID: x, api error UnauthorizedOperation: You are not authorized to perform this operation. Encoded authorization failure message: c2VjdXJpdHktZ3JvdXAtZW5jb2RlZC1i",
        );
        assert_eq!(d[0].action.as_deref(), Some("ec2:CreateSecurityGroup"));
        assert!(d[0].encoded_message.is_some());
    }

    #[test]
    fn cloudformation_one_denial_per_api_line() {
        let d = p(
            "API: ec2:CreateVpc You are not authorized to perform this operation. API: ec2:CreateSubnet You are not authorized to perform this operation.",
        );
        let a: Vec<_> = d.iter().map(|d| d.action.clone().unwrap()).collect();
        assert_eq!(a, ["ec2:CreateVpc", "ec2:CreateSubnet"]);
    }

    #[test]
    fn launch_template_and_missing_permissions() {
        let d = p("You are not authorized to use launch template: lt-0a1b2c3d4e5f67890");
        assert_eq!(
            d[0].launch_template.as_deref(),
            Some("lt-0a1b2c3d4e5f67890")
        );
        let d = p(
            "Unable to create AWSServiceRoleForAmazonEKSNodegroup due to missing permissions for 'iam:CreateServiceLinkedRole'",
        );
        assert_eq!(d[0].action.as_deref(), Some("iam:CreateServiceLinkedRole"));
    }
}
