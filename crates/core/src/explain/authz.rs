//! The authz/ rules: one parsed access-denied message in, findings with an
//! explanation and a paste-ready fix out. Which rule fires follows rules.md:
//! any `iam:PassRole` denial is authz/pass-role; otherwise the policy type
//! the message names decides; explicit denies in identity- or resource-based
//! policies are authz/explicit-deny; `sts:AssumeRole*` denials without a
//! reason are authz/role-trust; old-style messages with no reason are
//! authz/no-identity-policy.

use serde_json::{Value, json};

use crate::arn::PrincipalKind;
use crate::finding::{Finding, Fix};
use crate::rules::{self, Rule};

use super::Diagnosis;
use super::denial::{Denial, DenialKind, PolicyType, ResourceRef};
use super::fix::{self, Scope, q};
use super::tools::{self, Tool};

/// `evidence.parsed.principal` as cli.md specifies it.
#[must_use]
pub fn principal_json(d: &Denial) -> Value {
    match (&d.principal, &d.principal_text) {
        (Some(p), _) => json!({
            "arn": p.arn.as_ref().map(ToString::to_string),
            "kind": p.kind.as_str(),
            "account": p.account(),
            "name": p.name,
            "path": (p.kind != PrincipalKind::Service).then_some(p.path.as_str()),
            "session": p.session,
        }),
        (None, Some(t)) => {
            let is_arn = t.starts_with("arn:");
            json!({
                "arn": is_arn.then_some(t.as_str()),
                "kind": Value::Null,
                "account": d.account(),
                "name": if is_arn { t.rsplit(['/', ':']).next().unwrap_or(t) } else { t.as_str() },
                "path": Value::Null,
                "session": Value::Null,
            })
        }
        (None, None) => Value::Null,
    }
}

/// `evidence.parsed` for a denial (count 1; grouping updates it).
#[must_use]
pub fn parsed_json(d: &Denial) -> Value {
    json!({
        "principal": principal_json(d),
        "action": d.action,
        "resource": d.launch_template.as_deref().or(d.resource.as_ref().map(ResourceRef::text)),
        "denial": {
            "kind": d.denial_kind().as_str(),
            "policy_type": d.policy_type.map(PolicyType::as_str),
            "policy_arn": d.policy_arn,
        },
        "count": 1,
    })
}

/// What makes two denials produce the same findings: the grouping key plus
/// which of the optional findings (encoded message, authorization id) they
/// carry. The explainer skips re-diagnosing a denial it has seen.
#[must_use]
pub fn signature(d: &Denial) -> String {
    let mut k = denial_key(d);
    k.push('\u{1f}');
    k.push_str(if d.encoded_message.is_some() {
        "1"
    } else {
        "0"
    });
    k.push_str(if d.authorization_id.is_some() {
        "1"
    } else {
        "0"
    });
    k
}

/// The grouping key: same principal, action, resource and reason. Built
/// with pushes, not `format!`: it is computed for every denial line.
fn denial_key(d: &Denial) -> String {
    let parts = [
        d.principal_text.as_deref().unwrap_or(""),
        d.action.as_deref().unwrap_or(""),
        d.resource.as_ref().map_or("", ResourceRef::text),
        d.denial_kind().as_str(),
        d.policy_type.map_or("", PolicyType::as_str),
        d.policy_arn.as_deref().unwrap_or(""),
        if d.transitive_scp { "t" } else { "" },
        d.launch_template.as_deref().unwrap_or(""),
        d.form.unwrap_or(""),
        d.tool.unwrap_or(""),
    ];
    let mut k = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>() + 16);
    for p in parts {
        k.push_str(p);
        k.push('\u{1f}');
    }
    for (i, u) in d.uncertain.iter().enumerate() {
        if i > 0 {
            k.push(',');
        }
        k.push_str(u);
    }
    k
}

/// Which authz rule a denial is.
#[must_use]
pub fn rule_for(d: &Denial) -> Rule {
    rule_of(d.action.as_deref(), d.policy_type, d.denial_kind())
}

/// [`rule_for`] from the fields it reads (for denials counted without a [`Denial`]).
pub(crate) fn rule_of(
    action: Option<&str>,
    policy_type: Option<PolicyType>,
    kind: DenialKind,
) -> Rule {
    let is_pass_role = action.is_some_and(|a| a.eq_ignore_ascii_case("iam:PassRole"));
    // Byte-wise, as [`Denial::is_assume_role`].
    let is_assume_role = action.is_some_and(|a| {
        a.as_bytes()
            .get(..14)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"sts:AssumeRole"))
    });
    if is_pass_role {
        return rules::AUTHZ_PASS_ROLE;
    }
    match (policy_type, kind) {
        (Some(PolicyType::ServiceControl), _) => rules::AUTHZ_SERVICE_CONTROL_POLICY,
        (Some(PolicyType::ResourceControl), _) => rules::AUTHZ_RESOURCE_CONTROL_POLICY,
        (Some(PolicyType::PermissionsBoundary), _) => rules::AUTHZ_PERMISSIONS_BOUNDARY,
        (Some(PolicyType::Session), _) => rules::AUTHZ_SESSION_POLICY,
        (Some(PolicyType::VpcEndpoint), _) => rules::AUTHZ_VPC_ENDPOINT_POLICY,
        (Some(PolicyType::RoleTrust), _) => rules::AUTHZ_ROLE_TRUST,
        (
            Some(PolicyType::IdentityBased | PolicyType::ResourceBased) | None,
            DenialKind::Explicit,
        ) => rules::AUTHZ_EXPLICIT_DENY,
        (Some(PolicyType::ResourceBased), _) => rules::AUTHZ_RESOURCE_POLICY,
        (None, _) if is_assume_role => rules::AUTHZ_ROLE_TRUST,
        _ => rules::AUTHZ_NO_IDENTITY_POLICY,
    }
}

fn who(d: &Denial) -> String {
    match (&d.principal, &d.principal_text) {
        (Some(p), _) => match p.kind {
            PrincipalKind::User => format!("IAM user {}", p.name),
            PrincipalKind::Role => format!("role {}", p.name),
            PrincipalKind::AssumedRole => format!(
                "role {} (session {})",
                p.role_name().unwrap_or(&p.name),
                p.session.as_deref().unwrap_or("?")
            ),
            PrincipalKind::FederatedUser => format!("federated user {}", p.name),
            PrincipalKind::Root => {
                format!("the root user of {}", p.account().unwrap_or("the account"))
            }
            PrincipalKind::Service => format!("the service {}", p.name),
        },
        (None, Some(t)) if t == "anonymous" => "an anonymous (unsigned) request".to_owned(),
        (None, Some(t)) => t.clone(),
        (None, None) => "the caller (not named in the message)".to_owned(),
    }
}

fn on_what(d: &Denial) -> String {
    if let Some(lt) = &d.launch_template {
        return format!(" with launch template {lt}");
    }
    match &d.resource {
        Some(ResourceRef::Arn(a) | ResourceRef::Named(a)) => format!(" on {a}"),
        Some(ResourceRef::This) | None => String::new(),
    }
}

fn statement(action: &str, s: &Scope) -> Value {
    json!({"Sid": fix::sid("Allow", action), "Effect": "Allow", "Action": action, "Resource": s.resource})
}

/// The identity-policy fix: the statement, the attach command, and notes.
fn identity_fix(d: &Denial, summary: &str) -> (Fix, Vec<String>) {
    let action = d.action.as_deref().unwrap_or("*");
    let s = fix::scope(d);
    let doc = fix::policy(statements_for(d, action, &s));
    let a = fix::attach(
        d.principal.as_ref(),
        d.principal_text.as_deref(),
        &fix::policy_name(action),
        &doc,
    );
    let mut notes = Vec::new();
    let whole = d.form == Some("launch-template")
        || action.eq_ignore_ascii_case("iam:CreateServiceLinkedRole");
    if !whole {
        notes.extend(s.note);
    }
    notes.extend(a.note);
    let mut f = Fix::new(summary).policy(doc.clone());
    for c in a.commands {
        f = f.command(c);
    }
    if let Some(mut r) = tool_change(d, &fix::policy_name(action), &doc) {
        if action.eq_ignore_ascii_case("iam:CreateServiceLinkedRole")
            && let Some(t) = tool(d)
        {
            let (service, _) = slr_service(d);
            r.push_str("\n\n");
            r.push_str(&tools::service_linked_role(t, service));
        }
        f = f.replacement(r);
    }
    (f, notes)
}

/// The statements a denial's fix needs: one for the action on the scope, or
/// what a launch template or a service-linked role needs as a whole.
fn statements_for(d: &Denial, action: &str, s: &Scope) -> Vec<Value> {
    let part = d.partition();
    let acct = d.account().unwrap_or_else(|| "*".to_owned());
    if d.form == Some("launch-template") {
        let lt = d.launch_template.as_deref().unwrap_or("*");
        let ec2 = |r: &str| format!("arn:{part}:ec2:*:{acct}:{r}");
        return vec![
            json!({"Sid": "RunInstancesFromTheLaunchTemplate", "Effect": "Allow", "Action": "ec2:RunInstances",
                "Resource": [ec2(&format!("launch-template/{lt}")), ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*"), ec2("subnet/*"), ec2("security-group/*"), ec2("key-pair/*"), format!("arn:{part}:ec2:*::image/*")]}),
            json!({"Sid": "ReadTheLaunchTemplate", "Effect": "Allow", "Action": ["ec2:DescribeLaunchTemplates", "ec2:DescribeLaunchTemplateVersions"], "Resource": "*"}),
            json!({"Sid": "PassTheInstanceProfileRole", "Effect": "Allow", "Action": "iam:PassRole",
                "Resource": format!("arn:{part}:iam::{acct}:role/INSTANCE_PROFILE_ROLE"),
                "Condition": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}}),
            json!({"Sid": "TagOnLaunch", "Effect": "Allow", "Action": "ec2:CreateTags",
                "Resource": [ec2("instance/*"), ec2("volume/*"), ec2("network-interface/*")],
                "Condition": {"StringEquals": {"ec2:CreateAction": "RunInstances"}}}),
        ];
    }
    if action.eq_ignore_ascii_case("iam:CreateServiceLinkedRole") {
        let (service, role) = slr_service(d);
        return vec![json!({
            "Sid": "CreateTheServiceLinkedRole",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": format!("arn:{part}:iam::*:role/aws-service-role/{service}/{role}"),
            "Condition": {"StringLike": {"iam:AWSServiceName": service}},
        })];
    }
    vec![statement(action, s)]
}

/// The service and role name of the service-linked role a denial is about.
fn slr_service(d: &Denial) -> (&'static str, &'static str) {
    let named = d.resource.as_ref().map(ResourceRef::text).unwrap_or("");
    const KNOWN: &[(&str, &str)] = &[
        (
            "AWSServiceRoleForAmazonEKSNodegroup",
            "eks-nodegroup.amazonaws.com",
        ),
        (
            "AWSServiceRoleForAmazonEKSForFargate",
            "eks-fargate.amazonaws.com",
        ),
        ("AWSServiceRoleForAmazonEKS", "eks.amazonaws.com"),
        ("AWSServiceRoleForAutoScaling", "autoscaling.amazonaws.com"),
        (
            "AWSServiceRoleForElasticLoadBalancing",
            "elasticloadbalancing.amazonaws.com",
        ),
    ];
    KNOWN
        .iter()
        .find(|(r, _)| *r == named)
        .map_or(("SERVICE.amazonaws.com", "*"), |(r, svc)| (*svc, *r))
}

/// The tool the denial's text came from, when it has a rendering.
fn tool(d: &Denial) -> Option<Tool> {
    Tool::from_name(d.tool)
}

/// Whose inline policy the tool's rendering goes on: (`user`|`role`, name).
fn policy_holder(d: &Denial) -> Option<(&'static str, String)> {
    match &d.principal {
        Some(p) if p.kind == PrincipalKind::User => Some(("user", p.name.clone())),
        Some(p) if matches!(p.kind, PrincipalKind::Role | PrincipalKind::AssumedRole) => {
            Some(("role", p.role_name().unwrap_or(&p.name).to_owned()))
        }
        Some(_) => None,
        None => Some(("role", "ROLE_NAME".to_owned())),
    }
}

/// The same identity policy as the tool the text came from writes it.
fn tool_change(d: &Denial, name: &str, doc: &Value) -> Option<String> {
    let t = tool(d)?;
    let (kind, who) = policy_holder(d)?;
    Some(tools::identity(t, kind, &who, name, doc))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn join(detail: &str, notes: &[String]) -> String {
    let mut out = detail.to_owned();
    for n in notes {
        out.push(' ');
        out.push_str(n);
    }
    out
}

/// The commands that show the policies attached to the principal.
fn list_policies_commands(d: &Denial) -> Vec<String> {
    match &d.principal {
        Some(p) if p.kind == PrincipalKind::User => vec![
            format!(
                "aws iam list-attached-user-policies --user-name {}",
                q(&p.name)
            ),
            format!("aws iam list-user-policies --user-name {}", q(&p.name)),
            format!("aws iam list-groups-for-user --user-name {}", q(&p.name)),
        ],
        Some(p) if matches!(p.kind, PrincipalKind::Role | PrincipalKind::AssumedRole) => {
            let r = p.role_name().unwrap_or(&p.name);
            vec![
                format!("aws iam list-attached-role-policies --role-name {}", q(r)),
                format!("aws iam list-role-policies --role-name {}", q(r)),
            ]
        }
        _ => Vec::new(),
    }
}

/// The two commands that print a managed policy's default version (no `$(...)`:
/// the version id is read by the operator and pasted).
fn show_policy_commands(arn: &str) -> [String; 2] {
    let a = q(arn);
    [
        format!(
            "aws iam get-policy --policy-arn {a} --query Policy.DefaultVersionId --output text"
        ),
        format!(
            "aws iam get-policy-version --policy-arn {a} --version-id VERSION_ID --query PolicyVersion.Document"
        ),
    ]
}

/// Where a resource-based policy of this service lives, and how to read it.
fn resource_policy_of(service: &str, resource: Option<&str>) -> (&'static str, Option<String>) {
    let r = resource.unwrap_or("RESOURCE");
    match service {
        "s3" => {
            let bucket = r
                .strip_prefix("arn:")
                .and_then(|x| x.splitn(5, ':').nth(4))
                .map_or("BUCKET", |x| x.split('/').next().unwrap_or("BUCKET"));
            (
                "the S3 bucket policy",
                Some(format!(
                    "aws s3api get-bucket-policy --bucket {} --query Policy --output text",
                    q(bucket)
                )),
            )
        }
        "kms" => (
            "the KMS key policy",
            Some(format!(
                "aws kms get-key-policy --key-id {} --policy-name default --output text",
                q(r)
            )),
        ),
        "secretsmanager" => (
            "the secret's resource policy",
            Some(format!(
                "aws secretsmanager get-resource-policy --secret-id {}",
                q(r)
            )),
        ),
        "sqs" => (
            "the SQS queue policy",
            Some(
                "aws sqs get-queue-attributes --queue-url QUEUE_URL --attribute-names Policy"
                    .to_owned(),
            ),
        ),
        "sns" => (
            "the SNS topic policy",
            Some(format!(
                "aws sns get-topic-attributes --topic-arn {} --query Attributes.Policy --output text",
                q(r)
            )),
        ),
        "ecr" => {
            let repo = r
                .rsplit_once(":repository/")
                .map_or("REPOSITORY", |(_, n)| n);
            (
                "the ECR repository policy",
                Some(format!(
                    "aws ecr get-repository-policy --repository-name {}",
                    q(repo)
                )),
            )
        }
        "lambda" => (
            "the Lambda function policy",
            Some(format!("aws lambda get-policy --function-name {}", q(r))),
        ),
        "sts" | "iam" => (
            "the role's trust policy",
            fix::role_of(r).map(|(n, _)| {
                format!(
                    "aws iam get-role --role-name {} --query Role.AssumeRolePolicyDocument",
                    q(&n)
                )
            }),
        ),
        "logs" => (
            "the CloudWatch Logs resource policy",
            Some("aws logs describe-resource-policies".to_owned()),
        ),
        "eks" => ("the resource's policy", None),
        _ => ("the resource's resource-based policy", None),
    }
}

fn service_of(d: &Denial) -> String {
    d.action
        .as_deref()
        .and_then(|a| a.split_once(':'))
        .map(|(s, _)| s.to_ascii_lowercase())
        .unwrap_or_default()
}

fn region_of(d: &Denial) -> Option<String> {
    d.resource_arn()
        .and_then(|r| r.split(':').nth(3))
        .filter(|r| !r.is_empty() && *r != "*" && *r != "region")
        .map(str::to_owned)
        .or_else(|| d.region.clone())
        .or_else(|| d.authorization_region.clone())
}

/// Findings for one denial (the main one, plus encoded-message and authorization-id).
#[must_use]
pub fn diagnose(d: &Denial) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    let key = denial_key(d);
    let parsed = parsed_json(d);
    if d.action.is_some() || d.form.is_some() {
        let rule = rule_for(d);
        let finding = main_finding(d, rule).evidence("parsed", parsed.clone());
        out.push(Diagnosis {
            key: format!("{}\u{1e}{key}", rule.id),
            finding,
        });
    }
    if let Some(blob) = &d.encoded_message {
        out.push(Diagnosis {
            key: format!("{}\u{1e}{key}", rules::AUTHZ_ENCODED_MESSAGE.id),
            finding: encoded_finding(d, blob).evidence("parsed", parsed.clone()),
        });
    }
    if let Some(id) = &d.authorization_id {
        out.push(Diagnosis {
            key: format!("{}\u{1e}{key}", rules::AUTHZ_AUTHORIZATION_ID.id),
            finding: authorization_id_finding(d, id).evidence("parsed", parsed),
        });
    }
    let placeholders = {
        let mut v = Vec::new();
        for t in [
            d.principal_text.as_deref(),
            d.resource.as_ref().map(ResourceRef::text),
            d.launch_template.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            for p in super::check::placeholders(t) {
                if !v.contains(&p) {
                    v.push(p);
                }
            }
        }
        v
    };
    let doubts = super::check::doubts(d);
    for diag in &mut out {
        if !placeholders.is_empty() {
            diag.finding.detail.push_str(&format!(
                " The text holds placeholders ({}): eksdoctor keeps them as written in the policy and commands; put the real values in before running anything.",
                placeholders.join(", ")
            ));
            diag.finding
                .evidence
                .insert("placeholders".into(), json!(placeholders));
        }
        if !doubts.is_empty()
            && let Some(fx) = diag.finding.fix.as_mut()
        {
            fx.commands.clear();
            fx.policy = None;
            fx.replacement = None;
            fx.summary = format!(
                "Check the pasted text first: {}. eksdoctor leaves the policy and commands out rather than build them from a value that may be cut short",
                doubts.join("; ")
            );
            diag.finding.detail.push_str(&format!(
                " Part of the message looks cut short or unsure ({}), so no command is given: copy the whole message again (unwrapped), or run the call with --debug to see the exact request.",
                doubts.join("; ")
            ));
            diag.finding
                .evidence
                .insert("uncertain".into(), json!(d.uncertain));
        }
        if let Some(c) = &d.error_code {
            diag.finding.evidence.insert("error_code".into(), json!(c));
        }
        if let Some(o) = &d.operation {
            diag.finding.evidence.insert("operation".into(), json!(o));
        }
    }
    out
}

fn main_finding(d: &Denial, rule: Rule) -> Finding {
    let action = d.action.as_deref().unwrap_or("the action");
    if action.eq_ignore_ascii_case("sts:GetCallerIdentity") {
        return get_caller_identity(d, rule);
    }
    let mut f = main_finding_of(d, rule);
    if d.form.is_some() && d.principal_text.is_none() {
        f.detail.push_str(match d.form {
            Some("launch-template") => " Launching from a launch template needs more than ec2:RunInstances on the instance: ec2:RunInstances on the launch template itself, iam:PassRole for the role of the template's instance profile (to ec2.amazonaws.com), and ec2:CreateTags when the template tags the instance or volumes at launch. For an Auto Scaling group or an EKS node group the caller is the service-linked role of Auto Scaling (AWSServiceRoleForAutoScaling) or whoever created or updated the group: the policy goes on that principal. Find the template's instance profile with: aws ec2 describe-launch-template-versions --launch-template-id LT_ID --versions '$Default' --query 'LaunchTemplateVersions[0].LaunchTemplateData.IamInstanceProfile'.",
            Some("missing-permissions") => " The service reports the permission its caller lacks. For iam:CreateServiceLinkedRole the statement is AWS's documented one: allowed only for that service's role (iam:AWSServiceName). Once the service-linked role exists, the permission is no longer needed.",
            Some("cloudformation") => " CloudFormation makes the calls with the stack's service role (--role-arn at create or update) if it has one, else with the credentials of whoever started the stack operation: the policy goes on that principal.",
            _ => "",
        });
    }
    if let (Some(blob), true) = (&d.encoded_message, d.principal_text.is_none())
        && let Some(fx) = f.fix.as_mut()
    {
        fx.commands.push(format!(
            "aws sts decode-authorization-message --encoded-message {} --query DecodedMessage --output text | jq .",
            q(blob)
        ));
        f.detail.push_str(" The encoded authorization message names the principal, the policy type and the statement that decided: decode it (the last command) with credentials allowed sts:DecodeAuthorizationMessage.");
    }
    f
}

fn get_caller_identity(d: &Denial, rule: Rule) -> Finding {
    Finding::new(
        rule,
        capitalize(&format!("{} was refused sts:GetCallerIdentity, which needs no permission: no policy change can fix it", who(d))),
    )
    .detail("AWS documents that sts:GetCallerIdentity needs no permission and that an explicit Deny on it has no effect, so eksdoctor proposes no policy: adding or removing one changes nothing. A refusal of this call means the request is not what it seems: the credentials themselves are at fault (expired, invalid, a key from another partition), something between the client and STS answered (a proxy, or a VPC endpoint for STS with a restrictive endpoint policy), or the message was edited. Check which credentials and which endpoint the call used.")
    .fix(
        Fix::new("Check the credentials and the STS endpoint in use; no policy is needed for this call")
            .command("aws configure list")
            .command("aws sts get-caller-identity --debug 2>&1 | grep -iE 'endpoint|credentials'"),
    )
}

fn main_finding_of(d: &Denial, rule: Rule) -> Finding {
    let action = d.action.as_deref().unwrap_or("the action");
    let headline = capitalize(&format!("{} may not call {action}{}", who(d), on_what(d)));
    match rule.id {
        id if id == rules::AUTHZ_PASS_ROLE.id => pass_role(d, rule),
        id if id == rules::AUTHZ_SERVICE_CONTROL_POLICY.id => org_policy(d, rule, &headline, true),
        id if id == rules::AUTHZ_RESOURCE_CONTROL_POLICY.id => {
            org_policy(d, rule, &headline, false)
        }
        id if id == rules::AUTHZ_PERMISSIONS_BOUNDARY.id => boundary(d, rule, &headline),
        id if id == rules::AUTHZ_SESSION_POLICY.id => session(d, rule, &headline),
        id if id == rules::AUTHZ_VPC_ENDPOINT_POLICY.id => vpc_endpoint(d, rule, &headline),
        id if id == rules::AUTHZ_ROLE_TRUST.id => role_trust(d, rule, &headline),
        id if id == rules::AUTHZ_EXPLICIT_DENY.id => explicit_deny(d, rule, &headline),
        id if id == rules::AUTHZ_RESOURCE_POLICY.id => resource_policy(d, rule, &headline),
        _ => no_identity_policy(d, rule, &headline),
    }
}

fn no_identity_policy(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let Some(action) = d.action.as_deref() else {
        return Finding::new(rule, "An AWS call was denied (UnauthorizedOperation); the text names neither the caller nor the action")
            .detail("The message says only \"You are not authorized to perform this operation\": the SDK's wrapping (here without the operation name) is what names the call. Find the call in the tool's debug output (--debug for the AWS CLI, TF_LOG=debug for Terraform) or in CloudTrail (errorCode UnauthorizedOperation), and the caller with get-caller-identity using the same credentials; then explain the CloudTrail record.")
            .fix(
                Fix::new("Find the caller and the denied call, then grant that action")
                    .command("aws sts get-caller-identity --query Arn --output text")
                    .command("aws cloudtrail lookup-events --lookup-attributes AttributeKey=EventName,AttributeValue=OPERATION_NAME --max-results 20 --query 'Events[].CloudTrailEvent' --output text"),
            );
    };
    let why = if d.denial_kind() == DenialKind::Implicit {
        format!(
            "AWS denies by default: none of the identity-based policies of {} allows {action}, so the request was implicitly denied (no policy says Deny; nothing says Allow).",
            who(d)
        )
    } else {
        format!(
            "The message gives no reason (an older-style or service-specific message), which almost always means an implicit deny: no identity-based policy of {} allows {action}. If the policy below is already attached, an SCP, permissions boundary, session policy or explicit Deny is the cause: decode the request's authorization message or check CloudTrail.",
            who(d)
        )
    };
    let (f, notes) = identity_fix(
        d,
        &if d.principal_text.is_none() {
            format!(
                "Allow {action} for the caller that get-caller-identity names, scoped to the resource"
            )
        } else {
            format!("Allow {action} for this principal, scoped to the resource")
        },
    );
    Finding::new(
        rule,
        format!("{headline}: no identity-based policy allows it"),
    )
    .detail(join(&why, &notes))
    .fix(f)
}

fn explicit_deny(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let action = d.action.as_deref().unwrap_or("the action");
    let place = match d.policy_type {
        Some(PolicyType::IdentityBased) => format!("an identity-based policy of {} (attached to it directly, through one of its groups, or inline)", who(d)),
        Some(PolicyType::ResourceBased) => {
            let (which, _) = resource_policy_of(&service_of(d), d.resource_arn());
            format!("a resource-based policy: {which}")
        }
        _ => "a policy the message does not name: an identity-based policy, the resource's policy, a permissions boundary, a session policy or an SCP".to_owned(),
    };
    let mut detail = format!(
        "A Deny statement matching {action} lives in {place}. An explicit Deny wins over every Allow, in any policy: adding permissions cannot fix this. Remove the Deny statement, or narrow its Action, Resource or Condition so it no longer matches this request."
    );
    let mut f =
        Fix::new("Find the Deny statement and remove or narrow it; an Allow cannot override it");
    if let Some(arn) = &d.policy_arn {
        detail.push_str(&format!(" AWS names the policy: {arn}."));
        if arn.contains(":iam::") {
            for c in show_policy_commands(arn) {
                f = f.command(c);
            }
        }
    } else if d.policy_type == Some(PolicyType::ResourceBased) {
        let (_, cmd) = resource_policy_of(&service_of(d), d.resource_arn());
        if let Some(c) = cmd {
            f = f.command(c);
        }
    } else {
        for c in list_policies_commands(d) {
            f = f.command(c);
        }
    }
    if d.encoded_message.is_some() {
        detail.push_str(" The encoded authorization message names the matching statement: decode it (see authz/encoded-message).");
    }
    Finding::new(rule, format!("{headline}: an explicit Deny blocks it"))
        .detail(detail)
        .fix(f)
}

fn resource_policy(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let action = d.action.as_deref().unwrap_or("*");
    let service = service_of(d);
    let (which, cmd) = resource_policy_of(&service, d.resource_arn());
    let s = fix::scope(d);
    let mut st = statement(action, &s);
    st["Principal"] = fix::principal_element(d);
    let cross = matches!(
        (d.account(), d.resource_arn().and_then(|r| r.split(':').nth(4))),
        (Some(a), Some(r)) if crate::arn::is_account_id(r) && r != a
    );
    let mut detail = format!(
        "No statement in {which} allows {} to call {action}. Add an Allow for the caller to that policy.",
        who(d)
    );
    if cross {
        detail.push_str(" The resource is in another account: for cross-account access both the resource policy and the caller's identity-based policy must allow the action.");
    }
    if let Some(n) = s.note {
        detail.push(' ');
        detail.push_str(&n);
    }
    let doc = fix::policy(vec![st]);
    let change = tool(d).and_then(|t| match service.as_str() {
        "sts" | "iam" => d
            .resource_arn()
            .and_then(fix::role_of)
            .map(|(role, _)| tools::trust(t, &role, &doc)),
        svc => tools::resource_policy(t, svc, d.resource_arn(), &doc),
    });
    let mut f = Fix::new(format!(
        "Add this statement to {which} (merge it into the existing document)"
    ))
    .policy(doc);
    if let Some(c) = cmd {
        f = f.command(c);
    }
    if let Some(r) = change {
        f = f.replacement(r);
    }
    Finding::new(
        rule,
        format!("{headline}: no resource-based policy allows it"),
    )
    .detail(detail)
    .fix(f)
}

fn org_policy(d: &Denial, rule: Rule, headline: &str, scp: bool) -> Finding {
    let action = d.action.as_deref().unwrap_or("the action");
    let (kind, filter) = if scp {
        ("service control policy (SCP)", "SERVICE_CONTROL_POLICY")
    } else {
        ("resource control policy (RCP)", "RESOURCE_CONTROL_POLICY")
    };
    let account = if scp {
        d.account()
    } else {
        d.resource_arn()
            .and_then(|r| r.split(':').nth(4))
            .filter(|a| crate::arn::is_account_id(a))
            .map(str::to_owned)
            .or_else(|| d.account())
    };
    let acct = account.as_deref().unwrap_or("ACCOUNT_ID");
    let how = match d.denial_kind() {
        DenialKind::Explicit => {
            format!("a Deny statement in an AWS Organizations {kind} matches {action}")
        }
        _ => format!(
            "no {kind} on the path from the organization root to the account allows {action} (every level must allow it)"
        ),
    };
    let mut detail = format!(
        "The request was blocked because {how}. {} cannot be changed from inside the member account, not even by its root user or an administrator: only the organization's management account (or a delegated administrator for Organizations policies) can edit or detach it. Ask them to {} for {action}; an exception is usually a Condition on aws:PrincipalArn for this principal.",
        if scp { "An SCP" } else { "An RCP" },
        if d.denial_kind() == DenialKind::Explicit {
            "narrow the Deny statement"
        } else {
            "add an Allow"
        },
    );
    if !scp {
        detail.push_str(" RCPs guard the resources of the accounts they apply to (S3, STS, KMS, SQS, Secrets Manager), whoever calls them.");
    }
    let mut f = Fix::new(format!(
        "Ask the organization's management account (or delegated administrator) to change the {kind}; it cannot be fixed inside this account"
    ));
    if let Some(arn) = &d.policy_arn {
        detail.push_str(&format!(" AWS names the policy: {arn}."));
        let id = arn.rsplit('/').next().unwrap_or(arn);
        f = f
            .command(format!("aws organizations describe-policy --policy-id {} --query Policy.Content --output text", q(id)))
            .command(format!("aws organizations list-targets-for-policy --policy-id {}", q(id)));
    } else {
        f = f
            .command(format!(
                "aws organizations list-policies-for-target --target-id {} --filter {filter}",
                q(acct)
            ))
            .command(format!(
                "aws organizations list-parents --child-id {}",
                q(acct)
            ));
        if d.encoded_message.is_some() {
            detail.push_str(" The encoded authorization message names the statement: decode it to find which policy.");
        }
    }
    if d.denial_kind() != DenialKind::Explicit {
        let doc = fix::policy(vec![json!({
            "Sid": fix::sid("Allow", action),
            "Effect": "Allow",
            "Action": action,
            "Resource": "*",
        })]);
        if let Some(t) = tool(d) {
            f = f.replacement(tools::organizations(t, filter, &doc));
        }
        f = f.policy(doc);
    }
    Finding::new(rule, format!("{headline}: blocked by a {kind}"))
        .detail(detail)
        .fix(f)
}

fn boundary(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let action = d.action.as_deref().unwrap_or("*");
    let s = fix::scope(d);
    let get_boundary = match &d.principal {
        Some(p) if p.kind == PrincipalKind::User => Some(format!(
            "aws iam get-user --user-name {} --query User.PermissionsBoundary.PermissionsBoundaryArn --output text",
            q(&p.name)
        )),
        Some(p) if matches!(p.kind, PrincipalKind::Role | PrincipalKind::AssumedRole) => {
            Some(format!(
                "aws iam get-role --role-name {} --query Role.PermissionsBoundary.PermissionsBoundaryArn --output text",
                q(p.role_name().unwrap_or(&p.name))
            ))
        }
        _ => None,
    };
    let mut detail = if d.denial_kind() == DenialKind::Explicit {
        format!(
            "The permissions boundary of {} has a Deny statement matching {action}. A Deny in a boundary cannot be overridden: remove or narrow it.",
            who(d)
        )
    } else {
        format!(
            "{} has a permissions boundary that does not allow {action}. A boundary caps what identity policies can grant: the action must be allowed by both the identity-based policy and the boundary. Add the statement below to the boundary policy (and to the identity policy if it lacks it too).",
            who(d)
        )
    };
    detail.push_str(" Boundaries are usually set by an administrator precisely so that the principal cannot raise its own permissions: ask whoever owns the boundary policy.");
    if let Some(n) = s.note.as_ref() {
        detail.push(' ');
        detail.push_str(n);
    }
    let arn = d
        .policy_arn
        .clone()
        .unwrap_or_else(|| "BOUNDARY_POLICY_ARN".to_owned());
    let mut f = Fix::new(
        "Allow the action in the permissions boundary too (a new default version of the boundary policy)",
    );
    if d.denial_kind() != DenialKind::Explicit {
        let doc = fix::policy(vec![statement(action, &s)]);
        if let Some(t) = tool(d) {
            f = f.replacement(tools::boundary(t, &arn, &doc));
        }
        f = f.policy(doc);
    }
    if let Some(c) = get_boundary {
        f = f.command(c);
    }
    for c in show_policy_commands(&arn) {
        f = f.command(c);
    }
    f = f
        .command(format!("aws iam create-policy-version --policy-arn {} --policy-document file://boundary-with-statement.json --set-as-default", q(&arn)));
    Finding::new(
        rule,
        format!("{headline}: the permissions boundary does not allow it"),
    )
    .detail(detail)
    .fix(f)
}

fn session(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let action = d.action.as_deref().unwrap_or("*");
    let s = fix::scope(d);
    let mut detail = if d.denial_kind() == DenialKind::Explicit {
        format!(
            "The session policy passed when these credentials were created has a Deny matching {action}."
        )
    } else {
        format!(
            "The session policy passed when these credentials were created (AssumeRole/AssumeRoleWithSAML/AssumeRoleWithWebIdentity --policy or --policy-arns, or GetFederationToken) does not allow {action}."
        )
    };
    detail.push_str(" A session's permissions are the intersection of the role's (or user's) policies and the session policy, so changing the role's policies does not help: get new credentials without the narrowing session policy, or with one that allows the action. Whoever (or whatever tool) created the session passed it; the session cannot be widened in place.");
    let mut f = Fix::new(
        "Re-create the session without the narrowing session policy, or with this statement in it",
    );
    if d.denial_kind() != DenialKind::Explicit {
        f = f.policy(fix::policy(vec![statement(action, &s)]));
    }
    match &d.principal {
        Some(p) if p.kind == PrincipalKind::AssumedRole => {
            let acct = p.account().unwrap_or("ACCOUNT_ID");
            let part = d.partition();
            let role = p.role_name().unwrap_or(&p.name);
            f = f.command(format!(
                "aws sts assume-role --role-arn {} --role-session-name {}",
                q(&format!("arn:{part}:iam::{acct}:role/{role}")),
                q(p.session.as_deref().unwrap_or("eksdoctor"))
            ));
            detail.push_str(&format!(
                " (If {role} has a path, use its full ARN in --role-arn.)"
            ));
        }
        Some(p) if p.kind == PrincipalKind::FederatedUser => {
            f = f.command(format!(
                "aws sts get-federation-token --name {} --policy file://session-policy.json",
                q(&p.name)
            ));
        }
        _ => {}
    }
    if let Some(arn) = &d.policy_arn {
        detail.push_str(&format!(" AWS names the session policy: {arn}."));
    }
    Finding::new(
        rule,
        format!("{headline}: the session policy does not allow it"),
    )
    .detail(detail)
    .fix(f)
}

fn vpc_endpoint(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let action = d.action.as_deref().unwrap_or("*");
    let service = service_of(d);
    let region = region_of(d).unwrap_or_else(|| "REGION".to_owned());
    let s = fix::scope(d);
    let mut st = statement(action, &s);
    st["Principal"] = fix::principal_element(d);
    let mut detail = if d.transitive_scp {
        format!(
            "The request went through a VPC endpoint, and AWS reports the deny \"transitively through a service control policy\": per the IAM User Guide, a Deny for {action} in an SCP (check the SCPs that govern the VPC endpoint's owner account, which may not be the caller's account) blocked the call. Only the organization's management account (or a delegated administrator) can change an SCP."
        )
    } else if d.denial_kind() == DenialKind::Explicit {
        format!(
            "The request went through a VPC endpoint whose policy has a Deny matching {action}. Remove or narrow that statement; an Allow cannot override it."
        )
    } else {
        format!(
            "The request went through a VPC endpoint whose policy does not allow {action} for this principal and resource. Endpoint policies filter every request through the endpoint (the default policy allows everything; a custom one must allow each action)."
        )
    };
    detail.push_str(" Calls from outside the VPC (or with the endpoint's private DNS off) do not pass the endpoint, which is why the same call can work elsewhere.");
    let mut f = Fix::new(if d.transitive_scp {
        "Ask the organization's management account to narrow the SCP's Deny; review the endpoint policy too"
    } else {
        "Allow the call in the VPC endpoint policy (merge this statement into the endpoint's policy)"
    });
    if !d.transitive_scp && d.denial_kind() != DenialKind::Explicit {
        let doc = fix::policy(vec![st]);
        if let Some(t) = tool(d) {
            f = f.replacement(tools::vpc_endpoint(t, &doc));
        }
        f = f.policy(doc);
    }
    let svc = if service.is_empty() {
        "SERVICE".to_owned()
    } else {
        service
    };
    f = f
        .command(format!(
            "aws ec2 describe-vpc-endpoints --region {} --filters {} --query 'VpcEndpoints[].[VpcEndpointId,OwnerId,PolicyDocument]'", q(&region), q(&format!("Name=service-name,Values=com.amazonaws.{region}.{svc}"))
        ))
        .command(format!("aws ec2 modify-vpc-endpoint --region {} --vpc-endpoint-id VPCE_ID --policy-document file://endpoint-policy.json", q(&region)));
    if d.transitive_scp {
        f = f.command("aws organizations list-policies-for-target --target-id VPC_ENDPOINT_OWNER_ACCOUNT_ID --filter SERVICE_CONTROL_POLICY");
    }
    if let Some(arn) = &d.policy_arn {
        detail.push_str(&format!(" AWS names the policy: {arn}."));
    }
    Finding::new(
        rule,
        format!("{headline}: blocked by a VPC endpoint policy"),
    )
    .detail(detail)
    .fix(f)
}

fn role_trust(d: &Denial, rule: Rule, headline: &str) -> Finding {
    let action = d.action.as_deref().unwrap_or("sts:AssumeRole");
    let target = d
        .resource_arn()
        .and_then(fix::role_of)
        .or_else(|| match &d.resource {
            Some(ResourceRef::Named(n)) => n
                .strip_prefix("role ")
                .map(|r| (r.trim().to_owned(), d.account().unwrap_or_default())),
            _ => None,
        });
    let (role, role_account) = target
        .clone()
        .unwrap_or_else(|| ("TARGET_ROLE".to_owned(), String::new()));
    let web = action.eq_ignore_ascii_case("sts:AssumeRoleWithWebIdentity");
    let saml = action.eq_ignore_ascii_case("sts:AssumeRoleWithSAML");
    let principal = if web {
        json!({"Federated": format!("arn:{}:iam::{}:oidc-provider/OIDC_PROVIDER", d.partition(), if role_account.is_empty() { "ACCOUNT_ID" } else { &role_account })})
    } else if saml {
        json!({"Federated": format!("arn:{}:iam::{}:saml-provider/PROVIDER", d.partition(), if role_account.is_empty() { "ACCOUNT_ID" } else { &role_account })})
    } else {
        fix::principal_element(d)
    };
    let trust = json!({
        "Sid": "AllowCallerToAssume",
        "Effect": "Allow",
        "Principal": principal,
        "Action": if web { "sts:AssumeRoleWithWebIdentity" } else if saml { "sts:AssumeRoleWithSAML" } else { "sts:AssumeRole" },
    });
    let mut detail = if d.denial_kind() == DenialKind::Explicit {
        format!(
            "The trust policy of role {role} has a Deny matching the caller: remove or narrow it (an Allow cannot override it)."
        )
    } else if d.policy_type == Some(PolicyType::RoleTrust) {
        format!(
            "The trust policy of role {role} does not name {} as a principal allowed to assume it.",
            who(d)
        )
    } else {
        format!(
            "{} may not assume role {role}. Two policies must agree: the role's trust policy must name the caller, and (when the caller is in another account) the caller's identity-based policy must allow {action} on the role. The message does not say which one failed; most often it is the trust policy.",
            who(d)
        )
    };
    if web {
        detail.push_str(" For IRSA the trust policy must name the cluster's OIDC provider and match the service account (see irsa/trust-mismatch).");
    }
    if d.principal_kind() == Some(PrincipalKind::AssumedRole) {
        detail.push_str(" The caller is a role session: the trust policy names the role's ARN (add the role's path if it has one: assumed-role ARNs do not show it).");
    }
    let trust_doc = fix::policy(vec![trust]);
    let mut f = Fix::new(format!(
        "Add this statement to the trust policy of {role} (update-assume-role-policy replaces the whole document: merge it into the current one)"
    ));
    if let Some(t) = tool(d)
        && d.denial_kind() != DenialKind::Explicit
    {
        f = f.replacement(tools::trust(t, &role, &trust_doc));
    }
    f = f.policy(trust_doc);
    if target.is_some() {
        f = f
            .command(format!("aws iam get-role --role-name {} --query Role.AssumeRolePolicyDocument > trust.json", q(&role)))
            .command(format!("aws iam update-assume-role-policy --role-name {} --policy-document file://trust.json", q(&role)));
    } else {
        detail
            .push_str(" The message does not name the role: use the ARN you passed to --role-arn.");
    }
    let cross = match (d.account(), target.as_ref().map(|(_, a)| a.as_str())) {
        (Some(a), Some(r)) => !r.is_empty() && a != r,
        _ => false,
    };
    if (cross || d.policy_type.is_none()) && !web && !saml {
        let s = fix::scope(d);
        let doc = fix::policy(vec![statement(action, &s)]);
        let a = fix::attach(
            d.principal.as_ref(),
            d.principal_text.as_deref(),
            &fix::policy_name(action),
            &doc,
        );
        if cross {
            detail.push_str(
                " The role is in another account, so the caller's own policy must also allow it:",
            );
        } else {
            detail.push_str(
                " If the trust policy already names the caller, give the caller the permission:",
            );
        }
        for c in a.commands {
            detail.push_str(&format!(" `{c}`"));
        }
        detail.push('.');
    }
    Finding::new(
        rule,
        format!("{headline}: the role's trust policy does not let the caller in"),
    )
    .detail(detail)
    .fix(f)
}

/// The service a role is passed to, from the operation or the role's name.
fn passed_to_service(d: &Denial, role: Option<&str>) -> Option<&'static str> {
    let by_op = d.operation.as_deref().and_then(|op| match op {
        "CreateCluster"
        | "UpdateClusterConfig"
        | "CreateNodegroup"
        | "UpdateNodegroupConfig"
        | "UpdateNodegroupVersion"
        | "CreateAddon"
        | "UpdateAddon" => Some("eks.amazonaws.com"),
        "CreateFargateProfile" => Some("eks-fargate-pods.amazonaws.com"),
        "RunInstances"
        | "AssociateIamInstanceProfile"
        | "ReplaceIamInstanceProfileAssociation"
        | "CreateLaunchTemplate" => Some("ec2.amazonaws.com"),
        "CreateFunction" | "UpdateFunctionConfiguration" => Some("lambda.amazonaws.com"),
        "RegisterTaskDefinition" | "RunTask" | "CreateService" => Some("ecs-tasks.amazonaws.com"),
        _ => None,
    });
    if by_op.is_some() {
        return by_op;
    }
    let r = role?.to_ascii_lowercase();
    if r.contains("fargate")
        || r.contains("podexecution")
        || r.contains("pod-execution")
        || r.contains("pod_execution")
    {
        Some("eks-fargate-pods.amazonaws.com")
    } else if r.contains("eks") || r.contains("cluster") || r.contains("node") {
        Some("eks.amazonaws.com")
    } else {
        None
    }
}

fn pass_role(d: &Denial, rule: Rule) -> Finding {
    let s = fix::scope(d);
    let role = fix::role_of(&s.resource).map(|(n, _)| n);
    let service = passed_to_service(d, role.as_deref());
    let values = match service {
        Some(svc) => json!(svc),
        None => json!(["eks.amazonaws.com", "eks-fargate-pods.amazonaws.com"]),
    };
    let st = json!({
        "Sid": "AllowPassRoleToService",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": s.resource,
        "Condition": {"StringEquals": {"iam:PassedToService": values}},
    });
    let doc = fix::policy(vec![st]);
    let a = fix::attach(
        d.principal.as_ref(),
        d.principal_text.as_deref(),
        "eksdoctor-allow-iam-PassRole",
        &doc,
    );
    let mut detail = format!(
        "Handing a role to an AWS service (creating a cluster, node group, Fargate profile, instance, function ...) needs iam:PassRole on that role, separately from the service's own API permission. {} lacks it{}.",
        who(d),
        role.as_deref()
            .map(|r| format!(" for role {r}"))
            .unwrap_or_default()
    );
    match service {
        Some(svc) => detail.push_str(&format!(
            " The policy limits passing the role to {svc} with the iam:PassedToService condition (eks.amazonaws.com for EKS cluster and node roles, eks-fargate-pods.amazonaws.com for Fargate pod execution roles)."
        )),
        None => detail.push_str(
            " eksdoctor could not tell which service receives the role, so the condition lists both EKS services: keep eks.amazonaws.com for a cluster or node role, eks-fargate-pods.amazonaws.com for a Fargate pod execution role, or put the service that receives the role (ec2.amazonaws.com, lambda.amazonaws.com, ...).",
        ),
    }
    match d.policy_type {
        Some(PolicyType::ServiceControl | PolicyType::ResourceControl) => detail.push_str(
            " The message names an Organizations policy: only the management account (or a delegated administrator) can lift it; the statement below is needed as well.",
        ),
        Some(PolicyType::PermissionsBoundary) => detail.push_str(" The permissions boundary must allow iam:PassRole too."),
        Some(PolicyType::Session) => detail.push_str(" The session policy must allow iam:PassRole too: re-create the session."),
        _ => {}
    }
    if d.denial_kind() == DenialKind::Explicit {
        detail.push_str(
            " This is an explicit Deny: find and narrow it first; an Allow cannot override it.",
        );
    }
    for n in s.note.iter().chain(a.note.iter()) {
        detail.push(' ');
        detail.push_str(n);
    }
    let summary = match (&role, s.exact) {
        (Some(r), true) => format!(
            "Allow iam:PassRole on role {r} only ({}), only to {}",
            s.resource,
            service.unwrap_or("the EKS service that needs it")
        ),
        _ => format!(
            "Allow iam:PassRole on {} (the message names no role: replace the * with the role you pass), only to {}",
            s.resource,
            service.unwrap_or("the EKS service that needs it")
        ),
    };
    let change = tool_change(d, "eksdoctor-allow-iam-PassRole", &doc);
    let mut f = Fix::new(summary).policy(doc);
    for c in a.commands {
        f = f.command(c);
    }
    if let Some(r) = change {
        f = f.replacement(r);
    }
    let what = role
        .as_deref()
        .map_or_else(|| "a role".to_owned(), |r| format!("role {r}"));
    let to = service
        .map(|svc| format!(" to {svc}"))
        .unwrap_or_else(|| " to a service".to_owned());
    Finding::new(
        rule,
        capitalize(&format!(
            "{} may not pass {what}{to} (iam:PassRole)",
            who(d)
        )),
    )
    .detail(detail)
    .fix(f)
}

fn encoded_finding(d: &Denial, blob: &str) -> Finding {
    let about = match &d.action {
        Some(a) => format!("the denial of {a}"),
        None => "this denial".to_owned(),
    };
    Finding::new(
        rules::AUTHZ_ENCODED_MESSAGE,
        format!("AWS attached an encoded authorization message to {about}"),
    )
    .detail(
        "The encoded message holds the full evaluation: which statement (and policy type) denied, and the request context (principal, action, resource, condition keys). Only AWS STS can decode it, and the caller needs sts:DecodeAuthorizationMessage. Decoding it is the fastest way to the exact policy when the message alone does not name it.",
    )
    .evidence("encoded_message", json!(blob))
    .fix(
        Fix::new("Decode it (needs sts:DecodeAuthorizationMessage)").command(format!(
            "aws sts decode-authorization-message --encoded-message {} --query DecodedMessage --output text | jq .", q(blob)
        )),
    )
}

fn authorization_id_finding(d: &Denial, id: &str) -> Finding {
    let region = d
        .authorization_region
        .clone()
        .or_else(|| region_of(d))
        .unwrap_or_else(|| "us-east-1".to_owned());
    Finding::new(
        rules::AUTHZ_AUTHORIZATION_ID,
        format!("The denial carries Access Troubleshooter authorization id {id}"),
    )
    .detail(
        "AWS's Access Troubleshooter (preview) keeps the full evaluation of this denied request, every policy evaluated and the statements that matched, for at least 24 hours. Fetch it with GetRequestAuthorizationDetails (needs iam:GetRequestAuthorizationDetails) or open the console link.",
    )
    .evidence("authorization_id", json!(id))
    .evidence(
        "console_url",
        json!(format!("https://{region}.console.aws.amazon.com/iam/home?region={region}#/authorization-details/{id}")),
    )
    .fix(
        Fix::new(format!(
            "Fetch the evaluation details (or open https://{region}.console.aws.amazon.com/iam/home?region={region}#/authorization-details/{id})"
        ))
        .command(format!("aws iam-toolbox get-request-authorization-details --authorization-id {} --region {}", q(id), q(&region))),
    )
}
