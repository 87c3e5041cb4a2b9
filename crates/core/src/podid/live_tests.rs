//! Live pod credentials: table-driven cases over pods as the API server
//! returns them (after the EKS webhook's injection). The mechanism order
//! (web identity before container credentials) follows the AWS SDKs'
//! default credential chain; the trust cases are those of `super::tests`.

use serde_json::{Value, json};

use super::*;
use crate::k8s::{Annotation, Container, EnvVar, ObjectMeta, WorkloadKind};
use crate::podid::{AGENT_ADDON, SERVICE_PRINCIPAL};

const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const HP: &str = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";
const WEB: &str = "arn:aws:iam::111122223333:role/web";
const JOBS: &str = "arn:aws:iam::111122223333:role/jobs";

fn sa(ns: &str, name: &str, role: Option<&str>) -> ServiceAccount {
    ServiceAccount {
        meta: ObjectMeta {
            name: name.into(),
            namespace: Some(ns.into()),
            annotations: role
                .map(|r| Annotation {
                    key: sts::ROLE_ARN_ANNOTATION.into(),
                    value: r.into(),
                    is_string: true,
                    line: 0,
                })
                .into_iter()
                .collect(),
        },
        line: 0,
    }
}

fn pod(ns: &str, name: &str, sa: &str, env: &[(&str, &str)]) -> LivePodInput {
    let workload = Workload {
        kind: WorkloadKind::Pod,
        meta: ObjectMeta {
            name: name.into(),
            namespace: Some(ns.into()),
            annotations: Vec::new(),
        },
        service_account: sa.into(),
        containers: vec![Container {
            name: "app".into(),
            env: env
                .iter()
                .map(|(k, v)| EnvVar {
                    name: (*k).into(),
                    value: Some((*v).into()),
                    line: 0,
                })
                .collect(),
            init: false,
        }],
        line: 0,
    };
    LivePodInput {
        workload_name: format!("Deployment/{}", name.rsplit_once('-').map_or(name, |x| x.0)),
        compute: ComputeHint {
            workload: format!("Pod/{name}"),
            namespace: Some(ns.into()),
            service_account: sa.into(),
            windows: None,
            fargate: None,
            agent_daemonset: false,
            line: 0,
        },
        workload,
    }
}

fn assoc(ns: &str, sa: &str, role: &str) -> Association {
    Association {
        association_id: Some(format!("a-{sa}")),
        association_arn: Some(format!(
            "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-{sa}"
        )),
        cluster_name: Some("prod".into()),
        namespace: ns.into(),
        service_account: sa.into(),
        role_arn: Some(role.into()),
        ..Association::default()
    }
}

fn irsa_trust(sub: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{HP}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{HP}:sub"): sub, format!("{HP}:aud"): "sts.amazonaws.com"}}
    }]})
}

fn pi_trust(actions: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": SERVICE_PRINCIPAL}, "Action": actions
    }]})
}

const IRSA_ENV: &[(&str, &str)] = &[
    ("AWS_ROLE_ARN", WEB),
    (
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "/var/run/secrets/eks.amazonaws.com/serviceaccount/token",
    ),
    ("AWS_STS_REGIONAL_ENDPOINTS", "regional"),
];
const PI_ENV: &[(&str, &str)] = &[(
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "http://169.254.170.23/v1/credentials",
)];

struct World {
    accounts: Vec<ServiceAccount>,
    pods: Vec<LivePodInput>,
    assocs: Option<Vec<Association>>,
    roles: Vec<RoleAnswer>,
    addons: Option<Addons>,
}

impl World {
    fn run(&self) -> LiveAnswer {
        evaluate(&LiveInputs {
            cluster: Cluster::from_arn("arn:aws:eks:us-west-2:111122223333:cluster/prod").unwrap(),
            region: Some("us-west-2".into()),
            version: Some((1, 31)),
            issuer: Some(ISSUER.into()),
            service_accounts: &self.accounts,
            pods: &self.pods,
            associations: self.assocs.as_deref(),
            roles: &self.roles,
            addons: self.addons.as_ref(),
            ..LiveInputs::default()
        })
    }
}

fn active_agent() -> Addons {
    Addons {
        listed: vec![AGENT_ADDON.into()],
        described: vec![(AGENT_ADDON.into(), "ACTIVE".into(), None)],
    }
}

fn rules_of(a: &LiveAnswer) -> Vec<&str> {
    let mut r: Vec<&str> = a.findings.iter().map(|f| f.rule).collect();
    r.sort_unstable();
    r
}

#[test]
fn each_mechanism_and_its_verdict() {
    struct Case {
        name: &'static str,
        world: World,
        mechanism: Mechanism,
        role: Option<&'static str>,
        verdict: &'static str,
        rules: &'static [&'static str],
    }
    let good_irsa = RoleAnswer {
        arn: WEB.into(),
        trust: Ok(irsa_trust("system:serviceaccount:app:web")),
    };
    let cases = [
        Case {
            name: "IRSA injected, trust admits the service account",
            world: World {
                accounts: vec![sa("app", "web", Some(WEB))],
                pods: vec![pod("app", "web-1", "web", IRSA_ENV)],
                assocs: Some(vec![]),
                roles: vec![good_irsa.clone()],
                addons: Some(active_agent()),
            },
            mechanism: Mechanism::Irsa,
            role: Some(WEB),
            verdict: "ok",
            rules: &[],
        },
        Case {
            name: "IRSA trust names another service account",
            world: World {
                accounts: vec![sa("app", "web", Some(WEB))],
                pods: vec![pod("app", "web-1", "web", IRSA_ENV)],
                assocs: Some(vec![]),
                roles: vec![RoleAnswer {
                    arn: WEB.into(),
                    trust: Ok(irsa_trust("system:serviceaccount:default:web")),
                }],
                addons: None,
            },
            mechanism: Mechanism::Irsa,
            role: Some(WEB),
            verdict: "problem",
            rules: &["irsa/trust-mismatch"],
        },
        Case {
            name: "both configured, both injected: IRSA wins",
            world: World {
                accounts: vec![sa("app", "web", Some(WEB))],
                pods: vec![pod("app", "web-1", "web", &[IRSA_ENV, PI_ENV].concat())],
                assocs: Some(vec![assoc("app", "web", JOBS)]),
                roles: vec![good_irsa.clone()],
                addons: Some(active_agent()),
            },
            mechanism: Mechanism::Irsa,
            role: Some(WEB),
            verdict: "problem",
            rules: &["podid/irsa-precedence"],
        },
        Case {
            name: "Pod Identity, trust lacks sts:TagSession",
            world: World {
                accounts: vec![],
                pods: vec![pod("jobs", "jobs-1", "jobs", PI_ENV)],
                assocs: Some(vec![assoc("jobs", "jobs", JOBS)]),
                roles: vec![RoleAnswer {
                    arn: JOBS.into(),
                    trust: Ok(pi_trust(json!("sts:AssumeRole"))),
                }],
                addons: Some(active_agent()),
            },
            mechanism: Mechanism::PodIdentity,
            role: Some(JOBS),
            verdict: "problem",
            rules: &["podid/trust-mismatch"],
        },
        Case {
            name: "Pod Identity fine, agent add-on missing",
            world: World {
                accounts: vec![],
                pods: vec![pod("jobs", "jobs-1", "jobs", PI_ENV)],
                assocs: Some(vec![assoc("jobs", "jobs", JOBS)]),
                roles: vec![RoleAnswer {
                    arn: JOBS.into(),
                    trust: Ok(pi_trust(json!(["sts:AssumeRole", "sts:TagSession"]))),
                }],
                addons: Some(Addons {
                    listed: vec!["vpc-cni".into()],
                    described: vec![],
                }),
            },
            mechanism: Mechanism::PodIdentity,
            role: Some(JOBS),
            verdict: "problem",
            rules: &["podid/agent-missing"],
        },
        Case {
            name: "associated after the pod started: node role",
            world: World {
                accounts: vec![],
                pods: vec![pod("jobs", "jobs-1", "jobs", &[])],
                assocs: Some(vec![assoc("jobs", "jobs", JOBS)]),
                roles: vec![RoleAnswer {
                    arn: JOBS.into(),
                    trust: Ok(pi_trust(json!(["sts:AssumeRole", "sts:TagSession"]))),
                }],
                addons: Some(active_agent()),
            },
            mechanism: Mechanism::NodeRole,
            role: None,
            verdict: "problem",
            rules: &["podid/pod-not-restarted"],
        },
        Case {
            name: "Pod Identity env but the association is gone",
            world: World {
                accounts: vec![],
                pods: vec![pod("jobs", "jobs-1", "jobs", PI_ENV)],
                assocs: Some(vec![]),
                roles: vec![],
                addons: Some(active_agent()),
            },
            mechanism: Mechanism::PodIdentity,
            role: None,
            verdict: "problem",
            rules: &["podid/no-association"],
        },
        Case {
            name: "associations unreadable: unknown, not ok",
            world: World {
                accounts: vec![],
                pods: vec![pod("jobs", "jobs-1", "jobs", PI_ENV)],
                assocs: None,
                roles: vec![],
                addons: None,
            },
            mechanism: Mechanism::PodIdentity,
            role: None,
            verdict: "unknown",
            rules: &[],
        },
        Case {
            name: "annotation changed, pods still assume the old role",
            world: World {
                accounts: vec![sa("app", "web", Some(JOBS))],
                pods: vec![pod("app", "web-1", "web", IRSA_ENV)],
                assocs: Some(vec![]),
                roles: vec![good_irsa.clone()],
                addons: None,
            },
            mechanism: Mechanism::Irsa,
            role: Some(WEB),
            verdict: "problem",
            rules: &["podid/pod-not-restarted"],
        },
        Case {
            name: "GetRole denied: unknown",
            world: World {
                accounts: vec![sa("app", "web", Some(WEB))],
                pods: vec![pod("app", "web-1", "web", IRSA_ENV)],
                assocs: Some(vec![]),
                roles: vec![RoleAnswer {
                    arn: WEB.into(),
                    trust: Err("denied iam:GetRole".into()),
                }],
                addons: None,
            },
            mechanism: Mechanism::Irsa,
            role: Some(WEB),
            verdict: "unknown",
            rules: &[],
        },
    ];
    for c in cases {
        let a = c.world.run();
        assert_eq!(a.rows.len(), 1, "{}: {:#?}", c.name, a.rows);
        let r = &a.rows[0];
        assert_eq!(r.mechanism, c.mechanism, "{}", c.name);
        assert_eq!(r.role.as_deref(), c.role, "{}", c.name);
        assert_eq!(r.verdict, c.verdict, "{}: {:?}", c.name, r.reasons);
        assert_eq!(rules_of(&a), c.rules, "{}", c.name);
        for f in &a.findings {
            assert_eq!(f.evidence["cluster"], "prod", "{}", c.name);
            assert!(f.location.is_none(), "{}", c.name);
        }
    }
}

#[test]
fn pods_of_one_workload_are_one_row_and_sts_is_resolved() {
    let w = World {
        accounts: vec![sa("app", "web", Some(WEB))],
        pods: vec![
            pod("app", "web-1", "web", IRSA_ENV),
            pod("app", "web-2", "web", IRSA_ENV),
        ],
        assocs: Some(vec![]),
        roles: vec![RoleAnswer {
            arn: WEB.into(),
            trust: Ok(irsa_trust("system:serviceaccount:app:web")),
        }],
        addons: None,
    };
    let a = w.run();
    assert_eq!(a.rows.len(), 1);
    assert_eq!(a.rows[0].pods, 2);
    assert_eq!(a.rows[0].workload.as_deref(), Some("Deployment/web"));
    assert_eq!(
        a.rows[0].sts_endpoint,
        "https://sts.us-west-2.amazonaws.com"
    );
    assert_eq!(a.rows[0].sts_endpoint_type, EndpointType::Regional);
    let j = serde_json::to_value(&a.rows[0]).unwrap();
    assert_eq!(j["mechanism"], "irsa");
    assert_eq!(j["sts_endpoint_type"], "regional");
}

#[test]
fn old_clusters_are_not_told_twice_but_pinned_pods_are() {
    let w = World {
        accounts: vec![sa("app", "web", Some(WEB))],
        pods: vec![pod(
            "app",
            "web-1",
            "web",
            &[
                ("AWS_ROLE_ARN", WEB),
                ("AWS_STS_REGIONAL_ENDPOINTS", "legacy"),
            ],
        )],
        assocs: Some(vec![]),
        roles: vec![RoleAnswer {
            arn: WEB.into(),
            trust: Ok(irsa_trust("system:serviceaccount:app:web")),
        }],
        addons: None,
    };
    let mut inputs = LiveInputs {
        cluster: Cluster::from_arn("arn:aws:eks:us-west-2:111122223333:cluster/prod").unwrap(),
        region: Some("us-west-2".into()),
        version: Some((1, 21)),
        issuer: Some(ISSUER.into()),
        service_accounts: &w.accounts,
        pods: &w.pods,
        associations: w.assocs.as_deref(),
        roles: &w.roles,
        ..LiveInputs::default()
    };
    let a = evaluate(&inputs);
    let legacy: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.rule == "sts/legacy-global-default")
        .collect();
    assert_eq!(legacy.len(), 1, "{legacy:#?}");
    assert!(legacy[0].message.contains("pins"), "{}", legacy[0].message);
    assert_eq!(a.rows[0].sts_endpoint, "https://sts.amazonaws.com");
    inputs.version = Some((1, 31));
    assert_eq!(
        evaluate(&inputs).rows[0].sts_endpoint_type,
        EndpointType::Global
    );
}

#[test]
fn service_accounts_without_pods_are_still_checked() {
    let w = World {
        accounts: vec![sa("app", "idle", Some(WEB))],
        pods: vec![],
        assocs: Some(vec![]),
        roles: vec![RoleAnswer {
            arn: WEB.into(),
            trust: Ok(irsa_trust("system:serviceaccount:app:web")),
        }],
        addons: None,
    };
    let a = w.run();
    assert_eq!(a.rows.len(), 1);
    assert_eq!(a.rows[0].pods, 0);
    assert_eq!(a.rows[0].verdict, "problem");
    assert_eq!(rules_of(&a), ["irsa/trust-mismatch"]);
}

#[test]
fn pod_identity_on_fargate_is_unsupported_compute() {
    let mut p = pod("jobs", "jobs-1", "jobs", &[]);
    p.compute.fargate = Some("nodeName: fargate-ip-10-0-0-1".into());
    let w = World {
        accounts: vec![],
        pods: vec![p],
        assocs: Some(vec![assoc("jobs", "jobs", JOBS)]),
        roles: vec![],
        addons: Some(active_agent()),
    };
    let a = w.run();
    assert!(
        rules_of(&a).contains(&"podid/unsupported-compute"),
        "{:?}",
        rules_of(&a)
    );
    assert_eq!(a.rows[0].verdict, "problem");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
        /// Whatever a cluster holds (any annotation or env text, any trust
        /// document, associations or not), the judgement never panics, gives
        /// one row per workload, and never an `ok` for a denied GetRole.
        #[test]
        fn evaluate_never_panics(
            specs in proptest::collection::vec(
                ("[a-z]{1,3}", "[a-z]{1,3}", 0u8..4, "\\PC{0,40}", any::<bool>(), any::<bool>()),
                0..12,
            ),
            trust in "\\PC{0,60}",
            readable in any::<bool>(),
        ) {
            let mut accounts = Vec::new();
            let mut pods = Vec::new();
            let mut assocs = Vec::new();
            for (i, (ns, sa_name, mech, text, annotated, associated)) in specs.iter().enumerate() {
                if *annotated {
                    accounts.push(sa(ns, sa_name, Some(text)));
                }
                if *associated {
                    assocs.push(assoc(ns, sa_name, text));
                }
                let env: Vec<(&str, &str)> = match mech {
                    0 => vec![("AWS_ROLE_ARN", text.as_str())],
                    1 => vec![("AWS_CONTAINER_CREDENTIALS_FULL_URI", text.as_str())],
                    2 => vec![("AWS_STS_REGIONAL_ENDPOINTS", text.as_str())],
                    _ => vec![],
                };
                pods.push(pod(ns, &format!("{sa_name}-{i}"), sa_name, &env));
            }
            let doc = serde_json::from_str::<Value>(&trust).unwrap_or_else(|_| json!({"Statement": trust}));
            let roles: Vec<RoleAnswer> = specs
                .iter()
                .map(|s| RoleAnswer {
                    arn: s.3.clone(),
                    trust: if readable { Ok(doc.clone()) } else { Err("denied".into()) },
                })
                .collect();
            let w = World {
                accounts,
                pods,
                assocs: Some(assocs),
                roles,
                addons: None,
            };
            let a = w.run();
            for r in &a.rows {
                prop_assert!(["ok", "problem", "unknown"].contains(&r.verdict));
                if !readable && r.role.is_some() && r.mechanism != Mechanism::NodeRole {
                    prop_assert_ne!(r.verdict, "ok");
                }
            }
        }
    }
}
