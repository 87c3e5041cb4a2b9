//! Rendering cost: a frame of the Findings panel with 1,000 findings (the
//! list only draws the rows that fit, so this should not grow with the
//! list), the Overview and the Clusters panel with 1,000 clusters and 1,000
//! findings (each visible row computes its cluster's access path), and a
//! frame of each panel on the demo scenario. Target: under 2 ms a frame.
//! `cargo bench -p eksdoctor-tui`; `cargo xtask bench tui` runs the
//! overview ones and checks the target.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use eksdoctor_core::finding::{Finding, Fix, Severity};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::{
    AccessEntry, AuthenticationMode, CallerIdentity, Cluster, Probe, ProbeUpdate,
};
use eksdoctor_tui::action::Action;
use eksdoctor_tui::{App, Feed, Options, Panel, demo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn options() -> Options {
    Options {
        demo: true,
        now: "2026-11-29T06:00:00Z".parse().unwrap(),
        ..Options::default()
    }
}

fn many_findings(n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            let sev = [Severity::Error, Severity::Warning, Severity::Info][i % 3];
            Finding::new(rules::AWS_AUTH_ROLE_PATH, format!("cluster-{i}: mapRoles[{i}] maps arn:aws:iam::111122223333:role/team/app-{i} with a path"))
                .severity(sev)
                .detail("The EKS authenticator matches the role ARN without its path, so this entry never matches.")
                .evidence("rolearn", format!("arn:aws:iam::111122223333:role/team/app-{i}"))
                .fix(Fix::new("Map the role without its path").command(format!("eksctl create iamidentitymapping --cluster c{i} --arn arn:aws:iam::111122223333:role/app-{i}")))
        })
        .collect()
}

/// 1,000 clusters over 10 regions, every third one mapped, and 1,000 findings.
fn big_account() -> App {
    let mut app = App::new(options());
    let id = CallerIdentity::from_sts(
        "arn:aws:sts::111122223333:assumed-role/platform-admin/alice",
        "111122223333",
        "AROAEXAMPLE:alice",
        None,
    )
    .unwrap();
    app.apply(0, Feed::Probe(ProbeUpdate::Identity(Probe::Ready(id))));
    for i in 0..1000 {
        let region = format!("region-{}", i % 10);
        let name = format!("cluster-{i:04}");
        let mode = [
            AuthenticationMode::Api,
            AuthenticationMode::ApiAndConfigMap,
            AuthenticationMode::ConfigMap,
        ][i % 3];
        app.apply(
            0,
            Feed::Probe(ProbeUpdate::Cluster {
                region: region.clone(),
                name: name.clone(),
                cluster: Probe::Ready(Cluster {
                    name: name.clone(),
                    region: region.clone(),
                    arn: None,
                    status: Some("ACTIVE".into()),
                    version: Some(format!("1.{}", 20 + i % 12)),
                    endpoint_public_access: Some(true),
                    endpoint_private_access: Some(false),
                    authentication_mode: Some(mode),
                    oidc_issuer: None,
                    role_arn: None,
                }),
            }),
        );
        let entry = (i % 3 == 0).then(|| AccessEntry {
            principal_arn: "arn:aws:iam::111122223333:role/platform-admin".into(),
            username: None,
            kubernetes_groups: vec!["admins".into()],
            entry_type: Some("STANDARD".into()),
            access_policies: vec![],
        });
        app.apply(
            0,
            Feed::Probe(ProbeUpdate::CallerAccessEntry {
                region,
                name,
                entry: Probe::Ready(entry),
            }),
        );
    }
    app.apply(0, Feed::Probe(ProbeUpdate::Findings(many_findings(1000))));
    app.apply(0, Feed::Probe(ProbeUpdate::Done));
    app
}

fn bench(c: &mut Criterion) {
    let mut app = big_account();
    for (w, h) in [(80u16, 24u16), (120, 32), (200, 50)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("overview_1000_clusters_{w}x{h}"), |b| {
            b.iter(|| {
                terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
            });
        });
    }
    // The selection in the middle of the cluster list.
    for _ in 0..50 {
        app.update(Action::PageDown);
    }
    let mut terminal = Terminal::new(TestBackend::new(200, 50)).unwrap();
    c.bench_function("overview_1000_clusters_scrolled_200x50", |b| {
        b.iter(|| {
            terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
        });
    });
    app.update(Action::Enter);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    c.bench_function("clusters_1000_path_120x40", |b| {
        b.iter(|| {
            terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
        });
    });

    let mut app = App::new(options());
    app.apply(0, Feed::Probe(ProbeUpdate::Findings(many_findings(1000))));
    app.update(Action::GoPanel(Panel::Findings));
    app.update(Action::Down);
    for (w, h) in [(80u16, 24u16), (120, 40), (200, 60)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
        c.bench_function(&format!("findings_1000_{w}x{h}"), |b| {
            b.iter(|| {
                terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
            });
        });
    }
    // Scrolled to the middle of the list.
    for _ in 0..50 {
        app.update(Action::PageDown);
    }
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    c.bench_function("findings_1000_scrolled_120x40", |b| {
        b.iter(|| {
            terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
        });
    });

    let mut app = App::new(options());
    app.preload_explain(demo::PASS_ROLE_ERROR);
    for (_, feed) in demo::timeline(options().now) {
        app.apply(0, feed);
    }
    for panel in Panel::ALL {
        app.update(Action::GoPanel(panel));
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        c.bench_function(
            &format!("demo_{}_120x40", panel.title().to_lowercase()),
            |b| {
                b.iter(|| {
                    terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
                });
            },
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
