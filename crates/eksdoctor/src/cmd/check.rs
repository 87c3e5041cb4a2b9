//! `check`: every live probe, as a report. Identity, keys, and for each
//! cluster (one, or all in the regions): DescribeCluster, authentication
//! mode, the caller's access entry and its policies, the STS endpoint
//! default, the IRSA OIDC provider and the console's permissions; and,
//! unless `--no-kubernetes`, the cluster's own answers (who it thinks the
//! caller is, aws-auth, the console's reads, the kubeconfig context), all
//! read from one model (`eksdoctor_core::snapshot::ClusterProbes`).

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::time::Duration;

use eksdoctor_aws::{ClusterSelection, LiveSnapshot, ProbeOptions};
use eksdoctor_core::mask::mask_key_id_among;
use eksdoctor_core::report::Report;
use eksdoctor_core::snapshot::{Access, ClusterProbes, Probe, ProbeUpdate};
use serde_json::{Value, json};

use crate::cli::{CheckArgs, Format, GlobalArgs};
use crate::cmd::live;
use crate::error::CliError;
use crate::output::Output;

/// Show a progress line on stderr once a round takes longer than this.
const PROGRESS_AFTER: Duration = Duration::from_millis(800);

pub fn run(args: &CheckArgs, global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    // `--org`: the fleet run, every account of the organization.
    if args.org.org {
        return crate::cmd::check_org::run(args, global, out);
    }
    let regions =
        eksdoctor_aws::regions::parse_selection(&args.regions).map_err(CliError::Usage)?;
    let mut previous = crate::export_out::load_previous(args.previous.as_deref(), out.format)?;
    let clusters = match &args.cluster {
        Some(name) if name.trim().is_empty() => {
            return Err(CliError::Usage("--cluster needs a cluster name".to_owned()));
        }
        Some(name) => ClusterSelection::One(name.trim().to_owned()),
        // Without --cluster, every cluster (as --all-clusters).
        None => ClusterSelection::All,
    };
    let follow_up = super::check_kube::prober(args)?;
    let kubernetes_on = follow_up.is_some();
    let options = ProbeOptions {
        regions,
        clusters,
        concurrency: usize::from(args.concurrency),
        keys: true,
        keys_user: None,
        console: !args.no_console,
        follow_up,
    };
    let rt = live::runtime()?;
    rt.block_on(async {
        let mut config = live::config(global, Some(Duration::from_secs(u64::from(args.timeout))));
        // `--regions` without `--region`: the first listed region is home (STS, IAM).
        if config.region.is_none()
            && let eksdoctor_aws::RegionSelection::List(l) = &options.regions
        {
            config.region = l.first().cloned();
        }
        let live = match live::connect(&config, out).await? {
            Ok(l) => l,
            Err(code) => return Ok(code),
        };
        let snap = run_round(&live, &options, out).await;
        if let Some(fatal) = snap.fatal() {
            return live::fatal(fatal, &snap.credential_source, out);
        }
        // What a probe could not see this time keeps its previous findings open.
        if let (Some(p), Some(id)) = (previous.as_mut(), snap.identity.ready()) {
            crate::export_out::hold_unseen(p, &id.account, &snap);
        }
        let mut findings = snap.all_findings();
        // Pod credentials: a pass after the round, once the clusters are described.
        let pods = if kubernetes_on {
            let over = super::check_pods::Override::from_args(args)?;
            let p = super::check_pods::probe_all(
                &live,
                &config,
                &snap,
                usize::from(args.concurrency),
                Duration::from_secs(u64::from(args.timeout)),
                &over,
            )
            .await;
            findings.extend(p.findings.iter().cloned());
            Some(p)
        } else {
            None
        };
        let paths = super::check_path::paths(&snap, &findings);
        let report = Report::new(findings);
        let code = match out.format {
            Format::Text => {
                out.print(&render_text(&snap));
                out.print(&super::check_path::text(&paths, out.ascii));
                out.print(pods.as_ref().map_or("", |p| p.text.as_str()));
                out.print("\n");
                out.report(&report)?
            }
            Format::Ocsf | Format::Asff => {
                crate::export_out::print_check(out, &report, &snap, previous.as_ref())?
            }
            _ => {
                let mut report = with_sections(report, &snap, kubernetes_on)
                    .with("access_paths", super::check_path::json(&paths));
                if let Some(p) = pods {
                    report = report.with("pod_credentials", p.json);
                }
                if out.format == Format::Json {
                    crate::export_out::print_check_json(out, &report, &snap, previous.as_ref())?
                } else {
                    out.report(&report)?
                }
            }
        };
        // Without an identity nothing else can be trusted: exit 3, and say why.
        if snap.identity.ready().is_none() {
            out.eprint(&format!(
                "eksdoctor: error: live probing could not run: the identity probe \
                 (sts:GetCallerIdentity) {}",
                match &snap.identity {
                    Probe::TimedOut => format!("timed out after {}s", args.timeout),
                    Probe::Denied { permission } => format!("was denied ({permission})"),
                    Probe::Failed { message } => format!("failed: {message}"),
                    Probe::Pending | Probe::Ready(_) => "did not answer".to_owned(),
                }
            ));
            return Ok(live::EXIT_LIVE);
        }
        Ok(code)
    })
}

/// Run the round, with one progress line on stderr if it takes a while and
/// stderr is a terminal.
async fn run_round(
    live: &eksdoctor_aws::Live,
    options: &ProbeOptions,
    out: &Output,
) -> LiveSnapshot {
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let round = eksdoctor_aws::stream_probes(live, options, tx);
    let progress = async {
        let started = tokio::time::Instant::now();
        let tty = std::io::stderr().is_terminal();
        let mut shown = false;
        let (mut clusters, mut answered) = (0usize, 0usize);
        while let Some(u) = rx.recv().await {
            match u {
                ProbeUpdate::ClusterList {
                    clusters: Probe::Ready(l),
                    ..
                } => clusters += l.len(),
                ProbeUpdate::Cluster { .. } => answered += 1,
                _ => {}
            }
            if tty && !shown && started.elapsed() > PROGRESS_AFTER {
                shown = true;
                out.eprint(&format!(
                    "eksdoctor: probing... {answered}/{clusters} clusters described so far"
                ));
            }
        }
    };
    let (snap, ()) = tokio::join!(round, progress);
    snap
}

fn probe_json(v: serde_json::Result<Value>) -> Value {
    v.unwrap_or(Value::Null)
}

fn cluster_json(c: &ClusterProbes, snap: &LiveSnapshot) -> Value {
    let mapping = snap
        .identity
        .ready()
        .and_then(|id| eksdoctor_aws::findings::mapping(c, id));
    // The AWS answers alone, else the cluster's own (aws-auth, SelfSubjectReview).
    let (mapped, mapping) = match (&mapping, c.access()) {
        (Some(r), _) if r.mapping.is_some() || !c.kube.asked() => {
            (Value::Bool(r.mapping.is_some()), r.mapping_json())
        }
        (_, Access::Mapped(m)) => (
            Value::Bool(true),
            Some(
                json!({"source": m.source, "username": m.username, "groups": m.groups, "via": c.mapped_via()}),
            ),
        ),
        (_, Access::NotMapped) => (Value::Bool(false), None),
        (Some(r), Access::Unknown(_)) => (Value::Bool(r.mapping.is_some()), r.mapping_json()),
        (None, Access::Unknown(_)) => (Value::from("unknown"), None),
    };
    let mut v = json!({
        "name": c.name,
        "region": c.region,
        "cluster": probe_json(serde_json::to_value(&c.cluster)),
        "access_entry": probe_json(serde_json::to_value(&c.entry)),
        "mapped": mapped,
        "mapping": mapping,
        "oidc_provider": probe_json(serde_json::to_value(&c.oidc_provider)),
        "console": probe_json(serde_json::to_value(&c.console)),
    });
    if let Some(k) = c.kube.json() {
        v["kubernetes"] = k;
    }
    v
}

/// The report with the probed sections as top-level members.
/// `kubernetes`: `{"REGION/NAME": section}` for the clusters that were asked.
fn with_sections(report: Report, snap: &LiveSnapshot, kubernetes: bool) -> Report {
    let clusters: Vec<Value> = snap
        .clusters
        .values()
        .map(|c| cluster_json(c, snap))
        .collect();
    let regions: serde_json::Map<String, Value> = snap
        .regions
        .iter()
        .map(|(r, p)| (r.clone(), probe_json(serde_json::to_value(p))))
        .collect();
    let keys = snap.keys.as_ref().map_or(
        Value::Null,
        |k| json!({"user": snap.keys_user, "keys": probe_json(serde_json::to_value(k))}),
    );
    let mut report = report
        .with("identity", probe_json(serde_json::to_value(&snap.identity)))
        .with("keys", keys)
        .with("regions", Value::Object(regions))
        .with("clusters", Value::Array(clusters));
    if kubernetes {
        let sections: serde_json::Map<String, Value> = snap
            .clusters
            .values()
            .filter_map(|c| Some((format!("{}/{}", c.region, c.name), c.kube.json()?)))
            .collect();
        report = report.with("kubernetes", Value::Object(sections));
    }
    report
}

fn state<T>(p: &Probe<T>) -> String {
    match p {
        Probe::Pending => "pending".to_owned(),
        Probe::Ready(_) => "ok".to_owned(),
        Probe::Denied { permission } => format!("unknown (denied {permission})"),
        Probe::TimedOut => "unknown (timed out)".to_owned(),
        Probe::Failed { message } => format!("unknown ({message})"),
    }
}

fn render_text(snap: &LiveSnapshot) -> String {
    let mut s = String::new();
    match &snap.identity {
        Probe::Ready(id) => {
            let _ = writeln!(
                s,
                "identity   {} ({}, {} credentials)",
                id.arn,
                id.kind,
                id.credential_kind.as_str()
            );
            if id.canonical_arn != id.arn {
                let _ = writeln!(s, "  EKS sees  {}", id.canonical_arn);
            }
        }
        other => {
            let _ = writeln!(s, "identity   {}", state(other));
        }
    }
    if let Some(Probe::Ready(role)) = &snap.caller_role
        && role.path != "/"
    {
        let _ = writeln!(
            s,
            "  role path {} (access entries need {})",
            role.path, role.arn
        );
    }
    match (&snap.keys, &snap.keys_user) {
        (Some(Probe::Ready(keys)), Some(user)) => {
            let ids: Vec<&str> = keys.iter().map(|k| k.access_key_id.as_str()).collect();
            let list: Vec<String> = keys
                .iter()
                .map(|k| {
                    format!(
                        "{} {:?}",
                        mask_key_id_among(&k.access_key_id, &ids),
                        k.status
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                "keys       {user}: {} key(s) {}",
                keys.len(),
                list.join(", ")
            );
        }
        (Some(other), Some(user)) => {
            let _ = writeln!(s, "keys       {user}: {}", state(other));
        }
        _ => {}
    }
    for (region, p) in &snap.regions {
        if !matches!(p, Probe::Ready(_)) {
            let _ = writeln!(s, "region     {region}: clusters {}", state(p));
        }
    }
    if snap.clusters.is_empty() && !snap.regions.is_empty() {
        let _ = writeln!(s, "clusters   none found");
    }
    for c in snap.clusters.values() {
        let _ = writeln!(s, "\ncluster    {} ({})", c.name, c.region);
        match &c.cluster {
            Probe::Ready(cl) => {
                let endpoint = match (cl.endpoint_public_access, cl.endpoint_private_access) {
                    (Some(true), Some(true)) => "public+private",
                    (Some(true), _) => "public",
                    (_, Some(true)) => "private",
                    _ => "unknown",
                };
                let _ = writeln!(
                    s,
                    "  status   {}  version {}  endpoint {endpoint}  auth {}",
                    cl.status.as_deref().unwrap_or("?"),
                    cl.version.as_deref().unwrap_or("?"),
                    cl.authentication_mode.map_or("unknown", |m| m.as_str())
                );
            }
            other => {
                let _ = writeln!(s, "  describe {}", state(other));
                continue;
            }
        }
        let mapping = snap
            .identity
            .ready()
            .and_then(|id| eksdoctor_aws::findings::mapping(c, id));
        let known = c.access();
        let access = match (
            &c.entry,
            mapping.as_ref().and_then(|r| r.mapping.as_ref()),
            &known,
        ) {
            (_, Some(m), _) | (_, None, Access::Mapped(m)) => {
                let via = c.mapped_via().unwrap_or_else(|| m.source.to_owned());
                let mut t = format!("mapped via {via} as {}", m.username);
                if !m.groups.is_empty() {
                    let _ = write!(t, ", groups {}", m.groups.join(","));
                }
                if !m.access_policies.is_empty() {
                    let names: Vec<&str> = m
                        .access_policies
                        .iter()
                        .map(|p| p.rsplit('/').next().unwrap_or(p))
                        .collect();
                    let _ = write!(t, ", policies {}", names.join(","));
                }
                t
            }
            (_, None, Access::NotMapped) if c.kube.knows_caller() == Some(false) => {
                "not mapped (the cluster answers 401 Unauthorized)".to_owned()
            }
            (Probe::Ready(None), None, _) if mapping.is_some() => "not mapped".to_owned(),
            (Probe::Ready(None), None, _) => {
                "no access entry (aws-auth may map it: not readable without Kubernetes access)"
                    .to_owned()
            }
            (other, _, _) => state(other),
        };
        let _ = writeln!(s, "  access   {access}");
        let oidc = match &c.oidc_provider {
            Probe::Ready(true) => "OIDC provider present".to_owned(),
            Probe::Ready(false) => "OIDC provider MISSING".to_owned(),
            other => state(other),
        };
        let _ = writeln!(s, "  irsa     {oidc}");
        match &c.console {
            Probe::Ready(d) => {
                let denied = d.iter().filter(|d| !d.allowed()).count();
                let _ = writeln!(
                    s,
                    "  console  {}",
                    if denied == 0 {
                        "permissions ok".to_owned()
                    } else {
                        format!("{denied} permission(s) missing")
                    }
                );
            }
            Probe::Failed { message } if message == "not checked" => {}
            other => {
                let _ = writeln!(s, "  console  {}", state(other));
            }
        }
        kube_text(&mut s, c);
    }
    s
}

/// The cluster's own answers, one line each.
fn kube_text(s: &mut String, c: &ClusterProbes) {
    let k = &c.kube;
    if let Some(ctx) = &k.context {
        let _ = writeln!(
            s,
            "  context  {}{}",
            ctx.name,
            if ctx.current { " (current)" } else { "" }
        );
    }
    let Some(reach) = &k.reach else {
        return;
    };
    match reach {
        Probe::Ready(endpoint) => {
            let _ = writeln!(s, "  k8s api  answers at {endpoint}");
        }
        other => {
            let _ = writeln!(s, "  k8s api  does not answer: {}", state(other));
            return;
        }
    }
    match &k.whoami {
        Some(Probe::Ready(u)) => {
            let _ = writeln!(
                s,
                "  whoami   {}, groups {}",
                u.username,
                u.groups.join(",")
            );
        }
        Some(Probe::Denied { permission }) => {
            let _ = writeln!(
                s,
                "  whoami   {permission}: the cluster maps the caller to nobody"
            );
        }
        Some(other) => {
            let _ = writeln!(s, "  whoami   {}", state(other));
        }
        None => {}
    }
    match &k.aws_auth {
        Some(Probe::Ready(a)) if a.absent => {
            let _ = writeln!(s, "  aws-auth absent (kube-system/aws-auth does not exist)");
        }
        Some(Probe::Ready(a)) => {
            let t = match (&a.mapping, &a.refused, a.line) {
                (Some(m), _, Some(l)) => format!("line {l} maps the caller as {}", m.username),
                (None, Some(r), Some(l)) => {
                    format!("line {l} names the caller but is refused: {r}")
                }
                _ if !a.near_misses.is_empty() => {
                    format!("no entry maps the caller ({})", a.near_misses.join("; "))
                }
                _ => "no entry maps the caller".to_owned(),
            };
            let _ = writeln!(s, "  aws-auth {t}");
        }
        Some(Probe::Denied { permission }) => {
            let _ = writeln!(s, "  aws-auth not readable (may not {permission})");
        }
        Some(other) => {
            let _ = writeln!(s, "  aws-auth {}", state(other));
        }
        None => {}
    }
    match &k.rbac {
        Some(Probe::Ready(checks)) => {
            let denied: Vec<String> = checks
                .iter()
                .filter(|c| !c.allowed)
                .map(|c| format!("{} {}", c.verb, c.resource))
                .collect();
            // A few on this line; the finding lists them all.
            const SHOWN: usize = 6;
            let more = denied.len().saturating_sub(SHOWN);
            let list = denied
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            let _ = if denied.is_empty() {
                writeln!(s, "  rbac     the console's {} reads allowed", checks.len())
            } else if more > 0 {
                writeln!(
                    s,
                    "  rbac     {} of the console's {} reads denied: {list} (+{more} more)",
                    denied.len(),
                    checks.len(),
                )
            } else {
                writeln!(
                    s,
                    "  rbac     {} of the console's {} reads denied: {list}",
                    denied.len(),
                    checks.len(),
                )
            };
        }
        Some(other) => {
            let _ = writeln!(s, "  rbac     {}", state(other));
        }
        None => {}
    }
    if let Some(Probe::Ready(can)) = &k.can {
        let _ = writeln!(
            s,
            "  can-i    {} {}{}: {}",
            can.verb,
            can.resource,
            can.namespace
                .as_deref()
                .map_or(String::new(), |n| format!(" -n {n}")),
            if can.allowed { "yes" } else { "no" }
        );
    }
}
