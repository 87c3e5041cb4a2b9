//! Conformance with the EKS authenticator (kubernetes-sigs/aws-iam-authenticator):
//! its own test cases for ARN canonicalisation (`pkg/arn`), mapping validation
//! and matching (`pkg/config`), the ConfigMap store and its YAML fixtures
//! (`pkg/mapper/configmap`), identity extraction (`pkg/token`) and template
//! rendering and mapping order (`pkg/server`), ported as cases of
//! `eksdoctor lint aws-auth --principal`. Each case names the test it comes
//! from; the values are our own. Where eksdoctor answers differently on
//! purpose the case says why.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use assert_cmd::Command;
use serde_json::Value;

#[derive(Debug)]
enum Want {
    /// Mapped by aws-auth with this username and these groups.
    Mapped(&'static str, &'static [&'static str]),
    /// Mapped, with placeholders that only the live authenticator can fill.
    Unresolved(
        &'static str,
        &'static [&'static str],
        &'static [&'static str],
    ),
    /// Not mapped (a cluster/not-mapped finding whose message holds this text).
    NotMapped(&'static str),
    /// The principal is refused before any mapping: exit 2 with this text.
    Invalid(&'static str),
}

struct Case {
    source: &'static str,
    /// The ConfigMap's `data:` members, indented by two spaces.
    data: &'static str,
    principal: &'static str,
    want: Want,
}

const NODE: &str = "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/workers-NodeRole-7QX2\n      username: system:node:{{EC2PrivateDNSName}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n";

fn cases() -> Vec<Case> {
    use Want::{Invalid, Mapped, NotMapped, Unresolved};
    let users = "  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Priya\n      username: priya\n      groups: [auditors]\n    - userarn: arn:aws:sts::444455556666:federated-user/Kenji\n      username: kenji\n    - userarn: arn:aws:iam::444455556666:root\n      username: break-glass\n";
    vec![
        // ---- pkg/arn/arn_test.go TestUserARN (arn.Canonicalize) ----
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: text that is not an ARN",
            data: users,
            principal: "NOT AN ARN",
            want: Invalid("not an IAM or STS principal ARN"),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: a user ARN is its own canonical ARN",
            data: users,
            principal: "arn:aws:iam::444455556666:user/Priya",
            want: Mapped("priya", &["auditors"]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: a federated user is its own canonical ARN",
            data: users,
            principal: "arn:aws:sts::444455556666:federated-user/Kenji",
            want: Mapped("kenji", &[]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: root is its own canonical ARN",
            data: users,
            principal: "arn:aws:iam::444455556666:root",
            want: Mapped("break-glass", &[]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: an assumed role becomes its role ARN",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Auditor\n      username: auditor\n",
            principal: "arn:aws:sts::444455556666:assumed-role/Auditor/run-42",
            want: Mapped("auditor", &[]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: a role ARN is its own canonical ARN",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Reports\n      username: reports\n",
            principal: "arn:aws:iam::444455556666:role/Reports",
            want: Mapped("reports", &[]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: everything between assumed-role/ and the session stays in the role",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Org/Unit/Deployer\n      username: deployer\n",
            principal: "arn:aws:sts::444455556666:assumed-role/Org/Unit/Deployer/s1",
            want: Mapped("deployer", &[]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: the aws-iso partition",
            data: "  mapUsers: |\n    - userarn: arn:aws-iso:iam::444455556666:user/Chen\n      username: chen\n",
            principal: "arn:aws-iso:iam::444455556666:user/Chen",
            want: Mapped("chen", &[]),
        },
        Case {
            source: "pkg/arn/arn_test.go TestUserARN: the aws-iso-b partition",
            data: "  mapUsers: |\n    - userarn: arn:aws-iso-b:iam::444455556666:user/Chen\n      username: chen-b\n",
            principal: "arn:aws-iso-b:iam::444455556666:user/Chen",
            want: Mapped("chen-b", &[]),
        },
        Case {
            source: "pkg/endpoints/partitions.go PARTITIONS (arn.checkPartition): aws-cn",
            data: "  mapRoles: |\n    - rolearn: arn:aws-cn:iam::444455556666:role/ops\n      username: ops-cn\n",
            principal: "arn:aws-cn:sts::444455556666:assumed-role/ops/s",
            want: Mapped("ops-cn", &[]),
        },
        Case {
            source: "pkg/endpoints/partitions.go PARTITIONS (arn.checkPartition): aws-us-gov",
            data: "  mapRoles: |\n    - rolearn: arn:aws-us-gov:iam::444455556666:role/ops\n      username: ops-gov\n",
            principal: "arn:aws-us-gov:sts::444455556666:assumed-role/ops/s",
            want: Mapped("ops-gov", &[]),
        },
        Case {
            source: "pkg/endpoints/partitions.go PARTITIONS (arn.checkPartition): aws-iso-e",
            data: "  mapUsers: |\n    - userarn: arn:aws-iso-e:iam::444455556666:user/e\n      username: e\n",
            principal: "arn:aws-iso-e:iam::444455556666:user/e",
            want: Mapped("e", &[]),
        },
        Case {
            source: "pkg/endpoints/partitions.go PARTITIONS (arn.checkPartition): aws-iso-f",
            data: "  mapUsers: |\n    - userarn: arn:aws-iso-f:iam::444455556666:user/f\n      username: f\n",
            principal: "arn:aws-iso-f:iam::444455556666:user/f",
            want: Mapped("f", &[]),
        },
        Case {
            source: "pkg/endpoints/partitions.go PARTITIONS (arn.checkPartition): aws-eusc",
            data: "  mapUsers: |\n    - userarn: arn:aws-eusc:iam::444455556666:user/g\n      username: g\n",
            principal: "arn:aws-eusc:iam::444455556666:user/g",
            want: Mapped("g", &[]),
        },
        Case {
            source: "pkg/arn/arn.go Canonicalize: an unknown partition is refused before any mapping",
            data: "  mapUsers: |\n    - userarn: arn:aws-nk:iam::444455556666:user/h\n      username: h\n",
            principal: "arn:aws-nk:iam::444455556666:user/h",
            want: Invalid("partition \"aws-nk\""),
        },
        Case {
            source: "pkg/arn/arn.go Canonicalize: an assumed-role ARN without a session has no role",
            data: users,
            principal: "arn:aws:sts::444455556666:assumed-role/Auditor",
            want: Invalid("names the role and the session"),
        },
        // ---- pkg/arn/arn_test.go TestStripPath: StripPath exists but the mapper does not use it ----
        Case {
            source: "pkg/arn/arn_test.go TestStripPath (StripPath is not applied when mapping): an entry with a path never matches a session",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Org/Unit/Admin\n      username: admin\n",
            principal: "arn:aws:sts::444455556666:assumed-role/Admin/s",
            want: NotMapped("has a path"),
        },
        // ---- pkg/config/mapper_test.go ----
        Case {
            source: "pkg/config/mapper_test.go TestRoleARNMapping: role ARNs match case-insensitively",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::777788889999:role/ClusterOps\n      username: cluster-ops\n      groups: [ops]\n",
            principal: "arn:aws:sts::777788889999:assumed-role/clusterops/s",
            want: Mapped("cluster-ops", &["ops"]),
        },
        Case {
            source: "pkg/config/mapper_test.go TestRoleARNMapping: another role does not match",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::777788889999:role/ClusterOps\n      username: cluster-ops\n",
            principal: "arn:aws:sts::777788889999:assumed-role/notClusterOps/s",
            want: NotMapped("not mapped in aws-auth"),
        },
        Case {
            source: "pkg/config/mapper_test.go TestRoleARNMapping: an entry with neither rolearn nor sso is invalid and maps nobody",
            data: "  mapRoles: |\n    - username: orphan\n      groups: [ops]\n",
            principal: "arn:aws:sts::777788889999:assumed-role/orphan/s",
            want: NotMapped("not mapped in aws-auth"),
        },
        Case {
            source: "pkg/config/mapper_test.go TestUserARNMapping: user ARNs match case-insensitively",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::777788889999:user/Amara\n      username: amara\n      groups: [ops]\n",
            principal: "arn:aws:iam::777788889999:user/amara",
            want: Mapped("amara", &["ops"]),
        },
        Case {
            source: "pkg/config/mapper_test.go TestUserARNMapping: another user does not match",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::777788889999:user/Amara\n      username: amara\n",
            principal: "arn:aws:iam::777788889999:user/notAmara",
            want: NotMapped("not mapped in aws-auth"),
        },
        Case {
            source: "pkg/config/mapper.go RoleMapping.Validate: rolearn and sso together are refused (\"only one of rolearn or SSO can be supplied\")",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::777788889999:role/viewer\n      sso:\n        permissionSetName: ViewOnly\n        accountID: \"777788889999\"\n      username: viewer\n",
            principal: "arn:aws:sts::777788889999:assumed-role/viewer/s",
            want: NotMapped("not mapped in aws-auth"),
        },
        // eksdoctor does not model the SSORoleMatch feature gate, which is Alpha
        // and off by default (pkg/config/features.go); the authenticator's tests
        // switch it on.
        Case {
            source: "pkg/config/mapper_test.go TestSSORoleMapping (feature gate SSORoleMatch off by default, pkg/config/features.go): an sso matcher maps nobody",
            data: "  mapRoles: |\n    - sso:\n        permissionSetName: ViewOnly\n        accountID: \"777788889999\"\n      username: viewer\n",
            principal: "arn:aws:sts::777788889999:assumed-role/AWSReservedSSO_ViewOnly_0123456789abcdef/s",
            want: NotMapped("not mapped in aws-auth"),
        },
        // ---- pkg/mapper/configmap/configmap_test.go ----
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestUserMapping: a mapped user gets its username and groups",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::777788889999:user/lena\n      username: lena-k8s\n      groups: [system:monitoring, dev]\n",
            principal: "arn:aws:iam::777788889999:user/lena",
            want: Mapped("lena-k8s", &["system:monitoring", "dev"]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestRoleMapping: a mapped role",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::777788889999:role/batch\n      username: batch\n      groups: [system:nodes]\n",
            principal: "arn:aws:sts::777788889999:assumed-role/batch/job-1",
            want: Mapped("batch", &["system:nodes"]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestAWSAccount: a listed account maps with the canonical ARN and no groups",
            data: "  mapAccounts: |\n    - \"777788889999\"\n",
            principal: "arn:aws:sts::777788889999:assumed-role/anyone/s",
            want: Mapped("arn:aws:iam::777788889999:role/anyone", &[]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestAWSAccount: an account not listed",
            data: "  mapAccounts: |\n    - \"777788889999\"\n",
            principal: "arn:aws:iam::444455556666:user/visitor",
            want: NotMapped("not mapped in aws-auth"),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestLoadConfigMap: keys in any order; an entry with a nonsense userarn is kept but matches no caller",
            data: "  mapUsers: |\n    -\n      userarn: \"arn:iam:nonsense\"\n      username: nonsense\n    -\n      groups:\n        - \"system:monitoring\"\n      userarn: \"arn:aws:iam::777788889999:user/OMAR\"\n      username: omar\n",
            principal: "arn:aws:iam::777788889999:user/omar",
            want: Mapped("omar", &["system:monitoring"]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestLoadConfigMap: an entry without groups maps with none",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::777788889999:user/solo\n      username: solo\n",
            principal: "arn:aws:iam::777788889999:user/solo",
            want: Mapped("solo", &[]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestLoadConfigMap: an unknown template ({{Session}}) stays as written",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::777788889999:role/me\n      username: \"{{Session}}\"\n      groups: [system:nodes]\n",
            principal: "arn:aws:sts::777788889999:assumed-role/me/s",
            want: Mapped("{{Session}}", &["system:nodes"]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestLoadConfigMap: unquoted account ids in mapAccounts",
            data: "  mapAccounts: |\n    - 777788889999\n",
            principal: "arn:aws:iam::777788889999:user/any",
            want: Mapped("arn:aws:iam::777788889999:user/any", &[]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestParseMap: node role with {{EC2PrivateDNSName}} (resolved by an EC2 call)",
            data: NODE,
            principal: "arn:aws:sts::444455556666:assumed-role/workers-NodeRole-7QX2/i-0a1b2c3d4e5f60718",
            want: Unresolved(
                "system:node:{{EC2PrivateDNSName}}",
                &["system:bootstrappers", "system:nodes"],
                &["EC2PrivateDNSName"],
            ),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestParseMap: a second mapUsers entry",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Hana\n      username: Hana\n      groups: [system:masters]\n    - userarn: arn:aws:iam::444455556666:user/Ivo\n      username: Ivo\n      groups: [viewers]\n",
            principal: "arn:aws:iam::444455556666:user/Ivo",
            want: Mapped("Ivo", &["viewers"]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestBadParseMap: ``, \"\" and empty sections are skipped",
            data: "  mapAccounts: \"\"\n  mapRoles: '\"\"'\n  mapUsers: \"``\"\n",
            principal: "arn:aws:iam::444455556666:user/Ivo",
            want: NotMapped("not mapped in aws-auth"),
        },
        Case {
            source: "pkg/mapper/configmap/configmap_test.go TestBadParseMapSingleQuote: '' sections are skipped",
            data: "  mapAccounts: \"''\"\n  mapRoles: \"''\"\n  mapUsers: \"''\"\n",
            principal: "arn:aws:iam::444455556666:user/Ivo",
            want: NotMapped("not mapped in aws-auth"),
        },
        // ---- pkg/mapper/configmap/yaml_test.go TestConfigMap (its yaml/ fixtures) ----
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth.yaml: the documented shape",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/workers-NodeRole-7QX2\n      username: system:node:{{EC2PrivateDNSName}}\n      groups:\n        - system:bootstrappers\n        - system:nodes\n  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/ops-admin\n      username: ops-admin\n      groups:\n        - system:masters\n  mapAccounts: |\n    - 444455556666\n",
            principal: "arn:aws:iam::444455556666:user/ops-admin",
            want: Mapped("ops-admin", &["system:masters"]),
        },
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth-crazy-case-keys.yaml: entry keys in any case",
            data: "  mapUsers: |\n    - uSeRaRn: arn:aws:iam::444455556666:user/ops-admin\n      UsErNaMe: ops-admin\n      gRoUpS:\n        - admins\n",
            principal: "arn:aws:iam::444455556666:user/ops-admin",
            want: Mapped("ops-admin", &["admins"]),
        },
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth-open-source-case-keys.yaml: roleARN",
            data: "  mapRoles: |\n    - roleARN: arn:aws:iam::444455556666:role/builder\n      username: builder\n",
            principal: "arn:aws:sts::444455556666:assumed-role/builder/s",
            want: Mapped("builder", &[]),
        },
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth-lower-case-top-keys.yaml: data keys are case-sensitive (mapusers)",
            data: "  mapusers: |\n    - userarn: arn:aws:iam::444455556666:user/ops-admin\n      username: ops-admin\n",
            principal: "arn:aws:iam::444455556666:user/ops-admin",
            want: NotMapped("ignores"),
        },
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth-crazy-case-top-keys.yaml: MaPaCcOuNtS is not mapAccounts",
            data: "  MaPaCcOuNtS: |\n    - \"444455556666\"\n",
            principal: "arn:aws:iam::444455556666:user/ops-admin",
            want: NotMapped("ignores"),
        },
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth-space-out-of-place.yaml: a deeper dash continues the previous group",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/workers\n      username: w\n      groups:\n        - system:bootstrappers\n         - system:nodes\n",
            principal: "arn:aws:sts::444455556666:assumed-role/workers/i-0a1b2c3d",
            want: Mapped("w", &["system:bootstrappers - system:nodes"]),
        },
        Case {
            source: "pkg/mapper/configmap/yaml_test.go TestConfigMap aws-auth-missing-bar.yaml: the API server refuses the ConfigMap, so even the valid mapUsers maps nobody",
            data: "  mapRoles:\n    - rolearn: arn:aws:iam::444455556666:role/workers\n      username: w\n  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/ops-admin\n      username: ops-admin\n",
            principal: "arn:aws:iam::444455556666:user/ops-admin",
            want: NotMapped(
                "this ConfigMap would be rejected; the cluster keeps its previous aws-auth",
            ),
        },
        // ---- pkg/server/server_test.go TestRenderTemplate ----
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: {{EC2PrivateDNSName}} with a session that is not an instance id is an error",
            data: NODE,
            principal: "arn:aws:sts::444455556666:assumed-role/workers-NodeRole-7QX2/i-abcde",
            want: NotMapped("refuses"),
        },
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: {{AccountID}}",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/t\n      username: x-{{AccountID}}-y\n",
            principal: "arn:aws:sts::444455556666:assumed-role/t/s",
            want: Mapped("x-444455556666-y", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: {{AccessKeyID}} (known only from the token)",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/t\n      username: x-{{AccessKeyID}}-y\n",
            principal: "arn:aws:sts::444455556666:assumed-role/t/s",
            want: Unresolved("x-{{AccessKeyID}}-y", &[], &["AccessKeyID"]),
        },
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: {{SessionName}}",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/t\n      username: x-{{SessionName}}-y\n",
            principal: "arn:aws:sts::444455556666:assumed-role/t/mbeck",
            want: Mapped("x-mbeck-y", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: {{SessionName}} turns @ into -",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/t\n      username: x-{{SessionName}}-y\n",
            principal: "arn:aws:sts::444455556666:assumed-role/t/mbeck@corp.example",
            want: Mapped("x-mbeck-corp.example-y", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: {{SessionNameRaw}} keeps @",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/t\n      username: x-{{SessionNameRaw}}-y\n",
            principal: "arn:aws:sts::444455556666:assumed-role/t/mbeck@corp.example",
            want: Mapped("x-mbeck@corp.example-y", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestRenderTemplate: all three together, in groups too",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/t\n      username: x-{{AccountID}}-{{SessionName}}-{{SessionNameRaw}}-y\n      groups: [\"team-{{SessionName}}\"]\n",
            principal: "arn:aws:sts::444455556666:assumed-role/t/mbeck@corp.example",
            want: Mapped(
                "x-444455556666-mbeck-corp.example-mbeck@corp.example-y",
                &["team-mbeck-corp.example"],
            ),
        },
        // ---- pkg/token/token.go getIdentityFromSTSResponse + server.renderTemplate ----
        Case {
            source: "pkg/token/token_test.go TestVerifyNoSession (users have no session name): {{SessionName}} renders empty",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Priya\n      username: u-{{SessionName}}-{{SessionNameRaw}}\n",
            principal: "arn:aws:iam::444455556666:user/Priya",
            want: Mapped("u--", &[]),
        },
        Case {
            source: "pkg/token/token_test.go TestGetIdentityFromSTSResponse Federated User (no session): {{SessionName}} renders empty",
            data: "  mapUsers: |\n    - userarn: arn:aws:sts::444455556666:federated-user/Kenji\n      username: fed-{{SessionName}}\n",
            principal: "arn:aws:sts::444455556666:federated-user/Kenji",
            want: Mapped("fed-", &[]),
        },
        Case {
            source: "pkg/token/token_test.go TestVerifyCanonicalARN: the session part is dropped",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Lina\n      username: lina\n",
            principal: "arn:aws:sts::444455556666:assumed-role/Lina/other",
            want: Mapped("lina", &[]),
        },
        // ---- pkg/server/server_test.go TestAuthenticateVerifier* (mapping order) ----
        Case {
            source: "pkg/server/server_test.go TestAuthenticateVerifierRoleMapping",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Tester\n      username: tester\n      groups: [\"sys:admin\", listers]\n",
            principal: "arn:aws:sts::444455556666:assumed-role/Tester/s",
            want: Mapped("tester", &["sys:admin", "listers"]),
        },
        Case {
            source: "pkg/server/server_test.go TestAuthenticateVerifierUserMapping",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Tester\n      username: tester\n      groups: [\"sys:admin\", listers]\n",
            principal: "arn:aws:iam::444455556666:user/Tester",
            want: Mapped("tester", &["sys:admin", "listers"]),
        },
        Case {
            source: "pkg/server/server_test.go TestAuthenticateVerifierAccountMappingForUser",
            data: "  mapAccounts: |\n    - \"444455556666\"\n",
            principal: "arn:aws:iam::444455556666:user/Tester",
            want: Mapped("arn:aws:iam::444455556666:user/Tester", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestAuthenticateVerifierAccountMappingForRole",
            data: "  mapAccounts: |\n    - \"444455556666\"\n",
            principal: "arn:aws:sts::444455556666:assumed-role/Tester/extra",
            want: Mapped("arn:aws:iam::444455556666:role/Tester", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestAuthenticateVerifierNodeMapping",
            data: NODE,
            principal: "arn:aws:sts::444455556666:assumed-role/workers-NodeRole-7QX2/i-0c6f21bf1f24f9708",
            want: Unresolved(
                "system:node:{{EC2PrivateDNSName}}",
                &["system:bootstrappers", "system:nodes"],
                &["EC2PrivateDNSName"],
            ),
        },
        Case {
            source: "pkg/server/server.go doMapping + pkg/mapper/configmap/mapper.go Map: an entry wins over mapAccounts",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Tester\n      username: tester\n  mapAccounts: |\n    - \"444455556666\"\n",
            principal: "arn:aws:iam::444455556666:user/Tester",
            want: Mapped("tester", &[]),
        },
        Case {
            source: "pkg/mapper/configmap/mapper.go Map: mapRoles is looked up first, by ARN alone (a user ARN under mapRoles matches)",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:user/Tester\n      username: from-roles\n  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Tester\n      username: from-users\n",
            principal: "arn:aws:iam::444455556666:user/Tester",
            want: Mapped("from-roles", &[]),
        },
        Case {
            source: "pkg/mapper/configmap/configmap.go saveMap + pkg/config RoleMapping.Key: of two entries for one role (any case) the later wins",
            data: "  mapRoles: |\n    - rolearn: arn:aws:iam::444455556666:role/Tester\n      username: first\n    - rolearn: arn:aws:iam::444455556666:role/TESTER\n      username: second\n",
            principal: "arn:aws:sts::444455556666:assumed-role/tester/s",
            want: Mapped("second", &[]),
        },
        Case {
            source: "pkg/server/server_test.go TestReservedPrefixExists + TestConfigMapMapperReservedPrefixesEmptyByDefault: no reserved prefixes unless configured, so eks: maps",
            data: "  mapUsers: |\n    - userarn: arn:aws:iam::444455556666:user/Tester\n      username: eks:tester\n",
            principal: "arn:aws:iam::444455556666:user/Tester",
            want: Mapped("eks:tester", &[]),
        },
    ]
}

fn configmap(data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n{data}"
    )
}

#[test]
fn the_authenticators_own_cases() {
    let cases = cases();
    assert!(cases.len() >= 50, "{}", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let out = Command::cargo_bin("eksdoctor")
            .unwrap()
            .env("NO_COLOR", "1")
            .args([
                "--format",
                "json",
                "lint",
                "aws-auth",
                "-",
                "--principal",
                c.principal,
            ])
            .args(["--authentication-mode", "CONFIG_MAP"])
            .write_stdin(configmap(c.data))
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let v: Value = match serde_json::from_str(&stdout) {
            Ok(v) => v,
            Err(e) => {
                failures.push(format!("{}: not JSON ({e}): {stdout} {stderr}", c.source));
                continue;
            }
        };
        let ok = match &c.want {
            Want::Invalid(needle) => code == 2 && stderr.contains(needle),
            Want::NotMapped(needle) => {
                v.get("mapping").is_none()
                    && v["findings"].as_array().is_some_and(|fs| {
                        fs.iter().any(|f| {
                            f["rule"] == "cluster/not-mapped"
                                && f["message"].as_str().is_some_and(|m| m.contains(needle))
                        })
                    })
            }
            Want::Mapped(user, groups) | Want::Unresolved(user, groups, _) => {
                let unresolved: &[&str] = match &c.want {
                    Want::Unresolved(_, _, u) => u,
                    _ => &[],
                };
                v["mapping"]["source"] == "aws-auth"
                    && v["mapping"]["username"] == *user
                    && v["mapping"]["groups"] == serde_json::json!(groups)
                    && v["mapping"]
                        .get("unresolved")
                        .map_or(serde_json::json!([]), Clone::clone)
                        == serde_json::json!(unresolved)
            }
        };
        if !ok {
            failures.push(format!(
                "{}\n  want {:?}\n  got exit {code}: {stdout}\n  {stderr}",
                c.source, c.want
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// pkg/mapper/configmap/configmap.go isSkippable, as TestBadParseMap and
/// TestBadParseMapSingleQuote use it: blank, ``, "" and '' sections are empty,
/// not errors, so there is nothing to report.
#[test]
fn skippable_sections_are_quietly_empty() {
    for data in [
        "  mapAccounts: \"\"\n  mapRoles: '\"\"'\n  mapUsers: \"``\"\n",
        "  mapAccounts: \"''\"\n  mapRoles: \"''\"\n  mapUsers: \"''\"\n",
        "  mapRoles: |\n    ''\n",
    ] {
        let out = Command::cargo_bin("eksdoctor")
            .unwrap()
            .args(["--format", "json", "lint", "aws-auth", "-"])
            .write_stdin(configmap(data))
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["findings"], serde_json::json!([]), "{data}");
        assert_eq!(out.status.code(), Some(0));
    }
}
