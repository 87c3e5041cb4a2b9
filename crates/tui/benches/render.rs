//! Rendering cost: a frame of the Findings panel with 1,000 findings (the
//! list only draws the rows that fit, so this should not grow with the
//! list), and a frame of each panel on the demo scenario. Target: under
//! 2 ms a frame. `cargo bench -p eksdoctor-tui`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use eksdoctor_core::finding::{Finding, Fix, Severity};
use eksdoctor_core::rules;
use eksdoctor_core::snapshot::ProbeUpdate;
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

fn bench(c: &mut Criterion) {
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
