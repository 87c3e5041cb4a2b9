//! No command: the dashboard. `--demo` runs it on the built-in scenario (no
//! AWS, no network); otherwise the live probes feed it, and the Explain box
//! is also checked against the account's real policies (`explain --live`'s
//! engine, [`super::explain_live::check`]).

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use eksdoctor_core::explain::Explainer;
use eksdoctor_core::snapshot::{Probe, ProbeUpdate};
use eksdoctor_tui::demo::{self, DemoSource};
use eksdoctor_tui::feed::Feed;
use eksdoctor_tui::{App, FeedSink, FeedSource, LiveAnswer, Options};

use eksdoctor_aws::{ClusterSelection, Live, LiveConfig, ProbeOptions};

use super::explain_live;

use crate::cmd::live;
use crate::error::CliError;
use crate::output::Output;

pub fn run(cli: &crate::cli::Cli, out: &Output) -> Result<i32, CliError> {
    // The Explain box's live answers take `--context` and `--session-policy`
    // as `explain --live` does: checked before the terminal is taken.
    let asked = Arc::new(explain_live::Asked::of(
        &cli.global.context,
        cli.global.session_policy.as_deref(),
    )?);
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(CliError::Usage(
            "the dashboard needs a terminal; for a report use `eksdoctor check` (or --format json)"
                .to_owned(),
        ));
    }
    let no_color_env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let now = jiff::Timestamp::now();
    let options = Options {
        // TERM=dumb: no colour either, as ls and git do.
        color: !cli.global.no_color
            && !no_color_env
            && std::env::var("TERM").ok().as_deref() != Some("dumb"),
        ascii: cli.global.ascii || eksdoctor_tui::theme::ascii_wanted(|k| std::env::var(k).ok()),
        demo: cli.global.demo,
        now,
        rotation_days: 90,
    };
    let mut app = App::new(options);
    app.redactor = out.redactor();
    // Explain asks the account too (the demo plays a canned answer).
    app.explain_live_enabled = true;
    // Set while the latest identity probe did not answer: the exit status is then 3.
    let identity_failed = Arc::new(AtomicBool::new(false));
    let source: Box<dyn FeedSource> = if cli.global.demo {
        app.preload_explain(demo::PASS_ROLE_ERROR);
        Box::new(DemoSource::new(now))
    } else {
        Box::new(LiveSource {
            config: live::config(&cli.global, None),
            options: ProbeOptions {
                clusters: ClusterSelection::All,
                // Each cluster's own answers (Clusters panel): with the AWS probes, same permits.
                follow_up: (!cli.global.no_kubernetes)
                    .then(crate::cmd::check_kube::dashboard_prober),
                ..ProbeOptions::default()
            },
            kubernetes: !cli.global.no_kubernetes,
            task: None,
            identity_failed: Arc::clone(&identity_failed),
            connected: Arc::default(),
            asked,
        })
    };
    let runtime = live::runtime()?;
    let first_frame = bench_hook();
    let exit = runtime
        .block_on(eksdoctor_tui::tui::run(app, source, first_frame))
        .map_err(|e| CliError::Usage(format!("terminal: {e}")))?;
    let code = exit.code();
    if code == 0 && identity_failed.load(Ordering::SeqCst) {
        out.eprint(
            "eksdoctor: live probing could not run: the identity probe failed (see the dashboard's findings)",
        );
        return Ok(live::EXIT_LIVE);
    }
    Ok(code)
}

/// The live probes: a round of `eksdoctor_aws::stream_probes` per start
/// (the Kubernetes probes included), forwarded to the dashboard as each
/// probe answers. Connecting (resolving
/// credentials, SSO...) happens inside the round too, so the dashboard is on
/// screen with its spinners at once.
/// Each Kubernetes read of the Pods panel's pass gets this long.
const POD_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long the Explain box's live answer may take, connecting included.
const EXPLAIN_LIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

struct LiveSource {
    config: LiveConfig,
    options: ProbeOptions,
    /// Off with `--no-kubernetes`: no cluster API calls (the pods pass too).
    kubernetes: bool,
    task: Option<tokio::task::JoinHandle<()>>,
    identity_failed: Arc<AtomicBool>,
    /// The connection the Explain box's live answers reuse, once made.
    connected: Arc<tokio::sync::Mutex<Option<Live>>>,
    /// The dashboard's `--context` and `--session-policy`, for those answers.
    asked: Arc<explain_live::Asked>,
}

impl FeedSource for LiveSource {
    fn explain_live(&mut self, request: u64, text: String, sink: FeedSink) {
        let config = self.config.clone();
        let connected = Arc::clone(&self.connected);
        let asked = Arc::clone(&self.asked);
        let work = tokio::spawn(async move {
            tokio::time::timeout(
                EXPLAIN_LIVE_TIMEOUT,
                explain_live_answer(&config, &connected, &asked, &text),
            )
            .await
            .unwrap_or_else(|_| LiveAnswer::Failed {
                message: format!(
                    "timed out: IAM did not answer within {} s",
                    EXPLAIN_LIVE_TIMEOUT.as_secs()
                ),
            })
        });
        // Whatever happens to the work, the box stops asking.
        tokio::spawn(async move {
            let answer = work.await.unwrap_or_else(|e| LiveAnswer::Failed {
                message: format!("the live check stopped: {e}"),
            });
            sink.send(Feed::ExplainLive { request, answer });
        });
    }

    fn start(&mut self, sink: FeedSink) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        let config = self.config.clone();
        let options = self.options.clone();
        let identity_failed = Arc::clone(&self.identity_failed);
        let kubernetes = self.kubernetes;
        let connected = Arc::clone(&self.connected);
        self.task = Some(tokio::spawn(async move {
            let live = match config.connect().await {
                Ok(live) => live,
                Err(e) => {
                    let source = config.credential_source().await;
                    let message = e.to_string();
                    identity_failed.store(true, Ordering::SeqCst);
                    sink.send(ProbeUpdate::Identity(Probe::Failed {
                        message: message.clone(),
                    }));
                    sink.send(ProbeUpdate::AccessKeys(Probe::Failed { message }));
                    sink.send(ProbeUpdate::Findings(
                        eksdoctor_aws::findings::for_connect_error(&e, &source),
                    ));
                    sink.send(ProbeUpdate::Done);
                    return;
                }
            };
            // Explain's live answers share this connection (one HTTP client).
            *connected.lock().await = Some(live.clone());
            let (tx, mut rx) = tokio::sync::mpsc::channel(256);
            let concurrency = options.concurrency;
            let round = {
                let live = live.clone();
                tokio::spawn(async move {
                    eksdoctor_aws::stream_probes(&live, &options, tx).await;
                })
            };
            // Pod credentials (Pods panel): one pass per described cluster,
            // beside the round; dropped (aborted) with this task.
            let mut pods = tokio::task::JoinSet::new();
            let mut account: Option<String> = None;
            while let Some(update) = rx.recv().await {
                if let ProbeUpdate::Identity(p) = &update {
                    identity_failed.store(
                        !matches!(p, Probe::Ready(_) | Probe::Pending),
                        Ordering::SeqCst,
                    );
                    account = p.ready().map(|i| i.account.clone());
                }
                if let ProbeUpdate::Cluster {
                    cluster: Probe::Ready(c),
                    ..
                } = &update
                    && kubernetes
                {
                    let (live, config, sink, c, account) = (
                        live.clone(),
                        config.clone(),
                        sink.clone(),
                        c.clone(),
                        account.clone(),
                    );
                    pods.spawn(async move {
                        let workloads = super::check_pods::dashboard_rows(
                            &live,
                            &config,
                            &c,
                            account.as_deref(),
                            concurrency,
                            POD_PROBE_TIMEOUT,
                        )
                        .await;
                        sink.send(eksdoctor_tui::feed::Feed::PodCredentials {
                            region: c.region.clone(),
                            name: c.name.clone(),
                            workloads,
                        });
                    });
                }
                if !sink.send(update) {
                    round.abort();
                    return;
                }
            }
            while pods.join_next().await.is_some() {}
            // However the round ended, stop the spinners (a second Done is harmless).
            sink.send(ProbeUpdate::Done);
        }));
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// The Explain box's text checked live: `explain`'s findings, then
/// `explain --live`'s check of the denials that name a user or role, an
/// action and a resource, with the dashboard's `--context` and
/// `--session-policy`. The connection is made once and reused.
async fn explain_live_answer(
    config: &LiveConfig,
    connected: &tokio::sync::Mutex<Option<Live>>,
    asked: &explain_live::Asked,
    text: &str,
) -> LiveAnswer {
    let mut ex = Explainer::new();
    ex.feed_text(text);
    let findings = ex.finish();
    let plan = explain_live::Plan::of(&findings);
    if plan.is_empty() {
        return LiveAnswer::NothingToAsk;
    }
    let live = {
        let mut slot = connected.lock().await;
        if let Some(live) = slot.as_ref() {
            live.clone()
        } else {
            match config.connect().await {
                Ok(live) => slot.insert(live).clone(),
                Err(e) => {
                    return LiveAnswer::Failed {
                        message: e.to_string(),
                    };
                }
            }
        }
    };
    let checked = explain_live::check(
        &live,
        &plan,
        findings,
        &asked.context,
        asked.session.as_ref(),
    )
    .await;
    LiveAnswer::Answered {
        findings: checked.findings,
        reads: checked.reads,
    }
}

/// `cargo xtask bench tui` sets EKSDOCTOR_BENCH_FIRST_FRAME to a file and
/// EKSDOCTOR_BENCH_STARTED_NS to the wall-clock time it launched us; the
/// first frame writes the elapsed milliseconds and whether probes were
/// still pending.
fn bench_hook() -> Option<eksdoctor_tui::tui::FirstFrameHook> {
    let path = std::env::var_os("EKSDOCTOR_BENCH_FIRST_FRAME")?;
    let started: u128 = std::env::var("EKSDOCTOR_BENCH_STARTED_NS")
        .ok()?
        .parse()
        .ok()?;
    Some(Box::new(move |app: &App| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let ms = now.saturating_sub(started) as f64 / 1e6;
        let pending = app.animating();
        let _ = std::fs::write(
            path,
            format!("first_frame_ms={ms:.2} probes_pending={pending}\n"),
        );
    }))
}
