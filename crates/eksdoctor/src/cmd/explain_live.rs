//! `explain --live`: the denials `explain` finds, each checked against the
//! account's real policies (read-only): which statement in which policy
//! decided, the evaluation trace, and the smallest edit that allows it,
//! re-evaluated with the edit applied. Reading: `docs/explain-live.md`.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

use eksdoctor_aws::Live;
use eksdoctor_aws::policies::{PolicyReader, RequestPolicies};
use eksdoctor_core::arn::{Principal, PrincipalKind};
use eksdoctor_core::explain::Explainer;
use eksdoctor_core::finding::{Finding, Fix};
use eksdoctor_core::policy::live::{self, FixCaller, FixStep, Origin, Source};
use eksdoctor_core::policy::{
    self, Caller, Context, Decision, Policy, PolicyKind, Request, explain,
};
use eksdoctor_core::report::Report;
use eksdoctor_core::rules;
use serde_json::{Value, json};

use crate::cli::{ExplainArgs, Format, GlobalArgs};
use crate::cmd::live as conn;
use crate::error::CliError;
use crate::input::{self, open_sniffed};
use crate::output::Output;

/// Calls in flight at once.
pub const CONCURRENCY: usize = 16;

/// One distinct request to check: who, what, on what.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Ask {
    principal: String,
    action: String,
    resource: String,
}

pub fn run(args: &ExplainArgs, global: &GlobalArgs, out: &Output) -> Result<i32, CliError> {
    if out.format == Format::Sarif {
        return Err(CliError::Usage(
            "--format sarif is for the lint commands; use text or json".to_owned(),
        ));
    }
    let asked = Asked::of(&args.context, args.session_policy.as_deref())?;
    let started = std::time::Instant::now();
    let findings = read_findings(args, out)?;
    let input_time = started.elapsed();
    let plan = Plan::of(&findings);
    let skipped = plan.skipped;
    if findings.is_empty() {
        return Err(CliError::Usage(
            "nothing recognised: no AWS authorization error in the input to check live".to_owned(),
        ));
    }
    if skipped > 0 {
        out.eprint(&format!(
            "eksdoctor: note: {skipped} denial(s) name no IAM user or role, action and resource ARN: explained offline only"
        ));
    }
    if plan.is_empty() {
        // Nothing to read live: the offline answer, without calling AWS.
        out.eprint("eksdoctor: note: no denial names an IAM user or role, an action and a resource: nothing to check live");
        return out.report(&Report::new(findings));
    }
    let rt = conn::runtime()?;
    let checked = rt.block_on(async {
        let config = conn::config(global, None);
        let live = match conn::connect(&config, out).await? {
            Ok(l) => l,
            Err(code) => return Err(CliError::Reported(code)),
        };
        Ok(check(
            &live,
            &plan,
            findings,
            &asked.context,
            asked.session.as_ref(),
        )
        .await)
    })?;
    if std::env::var_os("EKSDOCTOR_BENCH_PHASES").is_some() {
        // `cargo xtask bench explain-live`: where the time went.
        out.eprint(&format!(
            "eksdoctor: phases: input_s={:.6} reads_s={:.6} evaluate_s={:.6}",
            input_time.as_secs_f64(),
            checked.reads_time.as_secs_f64(),
            checked.evaluate_time.as_secs_f64()
        ));
    }
    let Checked {
        findings,
        texts,
        reads,
        ..
    } = checked;
    let (asks, of_finding) = (&plan.asks, &plan.of_finding);
    let checked = of_finding.iter().filter(|x| x.is_some()).count();
    let summary = json!({
        "requests": asks.len(),
        "reads": reads,
        "concurrency": CONCURRENCY,
    });
    if out.format == Format::Text {
        let mut s = String::new();
        for (f, at) in findings.iter().zip(of_finding) {
            if let Some(t) = at.and_then(|i| texts.get(i)).filter(|t| !t.is_empty()) {
                let count = f.evidence["parsed"]["count"].as_u64().unwrap_or(1);
                let _ = writeln!(
                    s,
                    "{}{}",
                    t.trim_end(),
                    if count > 1 {
                        format!("\n  (seen {count} times)")
                    } else {
                        String::new()
                    }
                );
                s.push('\n');
            }
        }
        let _ = writeln!(
            s,
            "checked {} distinct request(s) of {checked} denial finding(s) live with {reads} read-only call(s)",
            asks.len()
        );
        out.print(&s);
        let rest: Vec<Finding> = findings
            .iter()
            .zip(of_finding)
            .filter(|(_, a)| a.is_none())
            .map(|(f, _)| f.clone())
            .collect();
        let code = Report::new(findings).exit_code();
        if !rest.is_empty() {
            out.print("\nnot checked live:\n");
            out.report(&Report::new(rest))?;
        }
        return Ok(code);
    }
    out.report(&Report::new(findings).with("live", summary))
}

/// Which distinct requests a set of `explain` findings asks (who, what,
/// on what), and which finding asks which.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    asks: Vec<Ask>,
    of_finding: Vec<Option<usize>>,
    /// Denials that name no IAM user or role, action and resource ARN:
    /// explained offline only.
    pub skipped: usize,
}

impl Plan {
    #[must_use]
    pub fn of(findings: &[Finding]) -> Self {
        let mut plan = Self::default();
        for f in findings {
            match ask_of(f) {
                Some(a) => {
                    let i = plan.asks.iter().position(|x| *x == a).unwrap_or_else(|| {
                        plan.asks.push(a);
                        plan.asks.len() - 1
                    });
                    plan.of_finding.push(Some(i));
                }
                None => {
                    if f.rule.starts_with("authz/") {
                        plan.skipped += 1;
                    }
                    plan.of_finding.push(None);
                }
            }
        }
        plan
    }

    /// No denial to check live.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.asks.is_empty()
    }
}

/// What a live answer is asked with besides the denials: `--context` keys
/// and a `--session-policy` file (`explain --live`'s flags, and the
/// dashboard's for its Explain box).
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub context: Context,
    pub session: Option<Source>,
}

impl Asked {
    /// Checked now: a bad `KEY=VALUE` or a file that is not a policy is a
    /// usage error (exit 2), before anything is read.
    ///
    /// # Errors
    /// A usage or input error (exit 2) for a bad flag or file.
    pub fn of(context: &[String], session_policy: Option<&Path>) -> Result<Self, CliError> {
        let mut c = Context::new();
        for a in context {
            c.add_assignment(a)
                .map_err(|e| CliError::Usage(format!("--context {e}")))?;
        }
        Ok(Self {
            context: c,
            session: session_policy.map(load_session).transpose()?,
        })
    }
}

/// What [`check`] answers.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The findings of the plan, each checked denial rewritten: the deciding
    /// statement and the trace (evidence `live`), the smallest fix.
    pub findings: Vec<Finding>,
    /// Per request of the plan, its answer as `explain --live` prints it
    /// (empty when its principal did not parse).
    pub texts: Vec<String>,
    /// Read-only calls made.
    pub reads: usize,
    /// How long the reads took (each request is evaluated as soon as its
    /// own reads are in, so this includes most of the evaluating), and the
    /// time spent evaluating: every request's, summed, and the findings'
    /// rewrite after the last read.
    pub reads_time: std::time::Duration,
    pub evaluate_time: std::time::Duration,
}

/// The live part of `explain --live`, shared with the dashboard's Explain
/// box: read the policies each request of `plan` needs (read-only, each
/// policy once) and evaluate the request on exactly them. `findings` are
/// the ones `plan` was made of.
pub async fn check(
    live: &Live,
    plan: &Plan,
    mut findings: Vec<Finding>,
    context: &Context,
    session: Option<&Source>,
) -> Checked {
    let started = std::time::Instant::now();
    let reader = PolicyReader::new(live, CONCURRENCY);
    // Each request is evaluated as soon as its policies are read, while
    // the other reads are in flight; the CPU time it takes is summed.
    let evaluating = std::sync::Mutex::new(std::time::Duration::ZERO);
    let reads = plan.asks.iter().map(|a| {
        let (reader, evaluating) = (&reader, &evaluating);
        async move {
            let p = Principal::parse(&a.principal).ok()?;
            // Boxed: the read's state machine is large (every SDK call it
            // may make), and inline it overflowed a 2 MiB runtime worker's
            // stack when the dashboard polled it from a task.
            let read = Box::pin(reader.for_request(&p, &a.action, &a.resource)).await;
            let at = std::time::Instant::now();
            let ans = answer(a, &read, context, session);
            if let Ok(mut t) = evaluating.lock() {
                *t += at.elapsed();
            }
            Some(ans)
        }
    });
    let answers = futures_util::future::join_all(reads).await;
    let reads = reader.reads();
    let reads_time = started.elapsed();
    let started = std::time::Instant::now();
    let mut texts: Vec<String> = Vec::with_capacity(plan.asks.len());
    let mut cache: HashMap<usize, Answer> = HashMap::new();
    for (i, ans) in answers.into_iter().enumerate() {
        let Some(ans) = ans else {
            texts.push(String::new());
            continue;
        };
        texts.push(ans.text.clone());
        cache.insert(i, ans);
    }
    for (f, at) in findings.iter_mut().zip(&plan.of_finding) {
        if let Some(ans) = at.and_then(|i| cache.get(&i)) {
            ans.apply(f);
        }
    }
    Checked {
        findings,
        texts,
        reads,
        reads_time,
        evaluate_time: started.elapsed()
            + evaluating
                .into_inner()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
    }
}

/// The session policy file, checked now (exit 2 when it is not a policy).
fn load_session(path: &Path) -> Result<Source, CliError> {
    let text = input::read_text(path)?;
    let name = input::display_name(path);
    Policy::parse(&name, PolicyKind::Session, &text).map_err(|e| CliError::input(&name, e))?;
    let document: Value =
        serde_json::from_str(&text).map_err(|e| CliError::input(&name, e.to_string()))?;
    Ok(Source {
        origin: Origin::SessionFile { path: name.clone() },
        kind: PolicyKind::Session,
        name: format!("session policy {name}"),
        document,
    })
}

/// The explain engine over the input, as `explain` reads it.
fn read_findings(args: &ExplainArgs, out: &Output) -> Result<Vec<Finding>, CliError> {
    let mut ex = Explainer::new();
    let from_stdin = |ex: &mut Explainer| read_one(ex, Path::new("-"));
    match args.text.as_deref() {
        Some("-") => from_stdin(&mut ex)?,
        Some(t) => ex.feed_text(t),
        None if args.input.is_empty() => {
            if std::io::stdin().is_terminal() {
                return Err(CliError::Usage(
                    "nothing to explain: give the error text as an argument, pipe it in, or use --input FILE".to_owned(),
                ));
            }
            from_stdin(&mut ex)?;
        }
        None => {}
    }
    for p in &args.input {
        if p.as_os_str() == "-" && args.text.as_deref() == Some("-") {
            continue;
        }
        read_one(&mut ex, p)?;
    }
    for id in ex.tainted() {
        out.taint(id);
    }
    Ok(ex.finish())
}

fn read_one(ex: &mut Explainer, path: &Path) -> Result<(), CliError> {
    let input = open_sniffed(path)?;
    ex.read(Some(&input.name), input.reader)
        .map(|_| ())
        .map_err(|(_, e)| CliError::input(&input.name, e))
}

/// The request a denial finding asks about, when it names a user or role,
/// an action, and a resource ARN (or none: `*`).
fn ask_of(f: &Finding) -> Option<Ask> {
    if !f.rule.starts_with("authz/") || f.rule == rules::AUTHZ_AUTHORIZATION_ID.id {
        return None;
    }
    let parsed = f.evidence.get("parsed")?;
    let principal = parsed["principal"]["arn"].as_str()?;
    let p = Principal::parse(principal).ok()?;
    if !matches!(
        p.kind,
        PrincipalKind::User | PrincipalKind::Role | PrincipalKind::AssumedRole
    ) {
        return None;
    }
    let action = parsed["action"].as_str()?;
    if !action.contains(':') || action.contains('*') {
        return None;
    }
    let resource = match parsed["resource"].as_str() {
        None => "*",
        Some(r) if r.starts_with("arn:") || r == "*" => r,
        Some(_) => return None,
    };
    Some(Ask {
        principal: principal.to_owned(),
        action: action.to_owned(),
        resource: resource.to_owned(),
    })
}

/// The live answer for one request.
struct Answer {
    decision: Decision,
    /// Something was not read (an SCP level, a policy, a session policy).
    incomplete: bool,
    rule: Option<rules::Rule>,
    message: String,
    detail: String,
    steps: Vec<FixStep>,
    json: Value,
    text: String,
}

impl Answer {
    fn apply(&self, f: &mut Finding) {
        f.evidence.insert("live".to_owned(), self.json.clone());
        match self.decision {
            Decision::Allow if self.incomplete => {
                // The denial must come from what was not read: keep the
                // offline diagnosis and say so.
                f.message = format!(
                    "{} {}",
                    self.message, "(but not every policy could be read: see the notes)"
                );
                f.detail = format!("{} {}", self.detail, f.detail).trim().to_owned();
            }
            Decision::Allow => {
                f.rule = rules::AUTHZ_ALLOWED_NOW.id;
                f.severity = rules::AUTHZ_ALLOWED_NOW.severity;
                f.message.clone_from(&self.message);
                f.detail.clone_from(&self.detail);
                f.fix = None;
            }
            Decision::Indeterminate => {
                f.detail = format!("{} {}", f.detail, self.detail).trim().to_owned();
            }
            Decision::ExplicitDeny | Decision::ImplicitDeny => {
                if let Some(r) = self.rule {
                    f.rule = r.id;
                    f.severity = r.severity;
                }
                f.message.clone_from(&self.message);
                f.detail.clone_from(&self.detail);
                if !self.steps.is_empty() {
                    let mut fix = Fix::new(
                        self.steps
                            .iter()
                            .map(|s| s.summary.as_str())
                            .collect::<Vec<_>>()
                            .join("; then "),
                    );
                    fix.policy = self.steps.last().map(|s| s.document.clone());
                    fix.commands = self.steps.iter().flat_map(|s| s.commands.clone()).collect();
                    f.fix = Some(fix);
                }
            }
        }
    }
}

fn answer(ask: &Ask, read: &RequestPolicies, given: &Context, session: Option<&Source>) -> Answer {
    if let Some(why) = &read.principal_not_read {
        return not_decided(ask, why, read);
    }
    let principal = Principal::parse(&ask.principal).ok();
    let is_session = principal
        .as_ref()
        .is_some_and(|p| p.kind == PrincipalKind::AssumedRole);
    let mut context = given.clone();
    for (k, v) in &read.context {
        context.insert_default(k, v);
    }
    for k in &read.absent {
        context.mark_absent(k);
    }
    let caller = principal.clone().map(Caller::Iam);
    let req = Request::new(&ask.action, &ask.resource, caller, context);
    let mut sources = read.sources.clone();
    let mut notes = read.notes.clone();
    if let Some(hint) = read
        .caller
        .as_ref()
        .and_then(|c| live::path_mismatch(&read.sources, &c.arn))
    {
        notes.push(hint);
    }
    let mut decision_without_session = None;
    if is_session {
        match session {
            Some(s) => {
                if let Ok(set) = live::build_set(&sources) {
                    decision_without_session = Some(policy::evaluate(&set, &req).decision);
                }
                sources.push(s.clone());
            }
            None => notes.push(
                "the caller is a role session: session policies cannot be read back from AWS, so this answer assumes the session was created without one (give it with --session-policy FILE)".to_owned(),
            ),
        }
    }
    let set = match live::build_set(&sources) {
        Ok(s) => s,
        Err((name, e)) => {
            let msg = format!("{name} does not parse as a policy: {e}");
            return Answer {
                decision: Decision::Indeterminate,
                incomplete: true,
                rule: None,
                message: msg.clone(),
                detail: msg.clone(),
                steps: vec![],
                json: json!({"error": msg}),
                text: format!(
                    "{} on {} by {}\n  {msg}\n",
                    ask.action, ask.resource, ask.principal
                ),
            };
        }
    };
    let ev = policy::evaluate(&set, &req);
    let d = live::deciding(&set, &ev);
    let reasons = explain::reasons(&set, &req, &ev);
    let trace = live::trace_with(&set, &req, &ev, read.management_account.as_deref());
    let keys = live::indeterminate_keys(&ev);
    let fix_caller = read.caller.clone().unwrap_or_else(|| FixCaller {
        arn: ask.principal.clone(),
        user: None,
        role: None,
    });
    let (steps, _) = live::plan_fixes(&sources, &req, &fix_caller);
    let deciding = d.statement.and_then(|at| {
        let (p, st) = set.statement(at)?;
        let src = sources.get(at.policy)?;
        Some(json!({
            "policy": p.name,
            "policy_kind": p.kind.describe(),
            "origin": src.origin,
            "statement": st.label(),
            "index": st.index,
            "effect": st.effect.to_string(),
            "lines": live::statement_lines(&src.document, st.index),
        }))
    });
    let layer_policies: Vec<&str> = d
        .policies
        .iter()
        .filter_map(|&i| set.policies().get(i).map(|p| p.name.as_str()))
        .collect();
    let session_json = match (is_session, session, decision_without_session) {
        (false, _, _) => Value::Null,
        (true, None, _) => json!({"assumed": "none"}),
        (true, Some(s), without) => json!({
            "file": s.name,
            "decision_without": without.map(Decision::as_str),
        }),
    };
    let ctx: serde_json::Map<String, Value> = read
        .context
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    let json = json!({
        "decision": ev.decision.as_str(),
        "complete": read.notes.is_empty(),
        "layer": d.layer,
        "deciding": deciding,
        "layer_policies": layer_policies,
        "reasons": reasons,
        "trace": trace,
        "policies_read": sources.iter().map(|s| json!({"name": s.name, "kind": s.kind.describe()})).collect::<Vec<_>>(),
        "notes": notes,
        "context": ctx,
        "indeterminate_keys": keys.iter().map(|k| json!({"key": k, "add": format!("--context {k}=VALUE")})).collect::<Vec<_>>(),
        "session_policy": session_json,
        "fix": steps,
        "decision_after_fix": steps.last().map(|s| s.decision_after),
    });
    let who = read
        .caller
        .as_ref()
        .map_or(ask.principal.as_str(), |c| c.arn.as_str());
    let message = match ev.decision {
        Decision::Allow => format!(
            "the account's policies, read now, allow {} on {} for {who}",
            ask.action, ask.resource
        ),
        _ => reasons.first().cloned().unwrap_or_default(),
    };
    // Reads that failed (the session-policy assumption is said, not missing).
    let incomplete = !read.notes.is_empty();
    let mut detail = reasons.get(1..).unwrap_or_default().join("; ");
    if incomplete && ev.decision == Decision::Allow {
        let _ = write!(
            detail,
            " The policies read allow it, so what denied it is among what was not read: {}.",
            read.notes.join("; ")
        );
    }
    if !keys.is_empty() {
        let add: Vec<String> = keys
            .iter()
            .map(|k| format!("--context {k}=VALUE"))
            .collect();
        let _ = write!(
            detail,
            " The decision depends on condition keys the text does not carry: add {}.",
            add.join(" ")
        );
    }
    let text = render_text(
        ask,
        who,
        &reasons,
        &ev,
        &d,
        &set,
        &sources,
        &trace,
        &notes,
        &keys,
        &steps,
        decision_without_session,
    );
    Answer {
        decision: ev.decision,
        incomplete,
        rule: d.rule,
        message,
        detail: detail.trim().to_owned(),
        steps,
        json,
        text,
    }
}

/// The principal's policies could not be read at all (another account than
/// the credentials'): no decision, the offline diagnosis stands, and the
/// note says what would read them.
fn not_decided(ask: &Ask, why: &str, read: &RequestPolicies) -> Answer {
    let json = json!({
        "decision": "not-read",
        "complete": false,
        "notes": read.notes,
        "policies_read": read.sources.iter().map(|s| json!({"name": s.name, "kind": s.kind.describe()})).collect::<Vec<_>>(),
    });
    let mut text = format!(
        "{} on {}\n  by {}\n  decision (live): not read\n",
        ask.action, ask.resource, ask.principal
    );
    for n in &read.notes {
        let _ = writeln!(text, "  note: {n}");
    }
    Answer {
        decision: Decision::Indeterminate,
        incomplete: true,
        rule: None,
        message: String::new(),
        detail: format!("Not checked live: {why}."),
        steps: vec![],
        json,
        text,
    }
}

#[allow(clippy::too_many_arguments)]
fn render_text(
    ask: &Ask,
    who: &str,
    reasons: &[String],
    ev: &policy::Evaluation,
    d: &live::Deciding,
    set: &policy::PolicySet,
    sources: &[Source],
    trace: &[String],
    notes: &[String],
    keys: &[String],
    steps: &[FixStep],
    without_session: Option<Decision>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{} on {}\n  by {who}", ask.action, ask.resource);
    let _ = writeln!(s, "  decision (live): {}", ev.decision.as_str());
    if let Some(w) = without_session.filter(|w| *w != ev.decision) {
        let _ = writeln!(
            s,
            "  without the session policy it would be: {}",
            w.as_str()
        );
    }
    if let Some(at) = d.statement
        && let Some((p, st)) = set.statement(at)
    {
        let verb = if ev.decision == Decision::Allow {
            "allowed by"
        } else {
            "decided by"
        };
        let _ = writeln!(
            s,
            "  {verb}: {} {}, {}:",
            p.kind.describe(),
            p.name,
            st.describe()
        );
        if let Some(lines) = sources
            .get(at.policy)
            .and_then(|src| live::statement_lines(&src.document, st.index))
        {
            for l in lines.lines() {
                let _ = writeln!(s, "      {l}");
            }
        }
    } else if !d.policies.is_empty() {
        let names: Vec<&str> = d
            .policies
            .iter()
            .filter_map(|&i| set.policies().get(i).map(|p| p.name.as_str()))
            .collect();
        let _ = writeln!(
            s,
            "  decided by: no statement of {} allows it",
            names.join(", ")
        );
    } else if ev.decision == Decision::ImplicitDeny {
        let _ = writeln!(
            s,
            "  decided by: no policy read allows it ({} layer)",
            d.layer
        );
    }
    if let Some(why) = reasons.first() {
        let _ = writeln!(s, "  why: {why}");
    }
    let _ = writeln!(s, "  trace:");
    for t in trace {
        let _ = writeln!(s, "    {t}");
    }
    if !keys.is_empty() {
        let add: Vec<String> = keys
            .iter()
            .map(|k| format!("--context {k}=VALUE"))
            .collect();
        let _ = writeln!(s, "  indeterminate keys: add {}", add.join(" "));
    }
    for n in notes {
        let _ = writeln!(s, "  note: {n}");
    }
    for (i, step) in steps.iter().enumerate() {
        let _ = writeln!(
            s,
            "  fix {}: {} (then: {})",
            i + 1,
            step.summary,
            step.decision_after
        );
        for n in &step.notes {
            let _ = writeln!(s, "    note: {n}");
        }
        for c in &step.commands {
            let _ = writeln!(s, "    $ {c}");
        }
    }
    s
}
