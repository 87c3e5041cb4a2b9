//! The dashboard on the demo scenario, driven by key events and rendered on
//! a TestBackend: one snapshot per panel at 80x24 and 120x40, plus the
//! states around them (pending, help, detail, filter, paste, too small).
#![allow(clippy::unwrap_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use eksdoctor_tui::action::Action;
use eksdoctor_tui::{App, Feed, Options, Panel, Tile, demo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn now() -> jiff::Timestamp {
    "2026-11-29T06:00:00Z".parse().unwrap()
}

fn options() -> Options {
    Options {
        color: true,
        ascii: false,
        demo: true,
        now: now(),
        rotation_days: 90,
    }
}

/// The app after the whole scenario has arrived.
fn loaded(options: Options) -> App {
    let mut app = App::new(options);
    app.preload_explain(demo::PASS_ROLE_ERROR);
    for (_, feed) in demo::timeline(now()) {
        app.apply(0, feed);
    }
    app
}

fn press(app: &mut App, code: KeyCode) {
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    if let Some(a) = Action::from_key(key, app.key_context()) {
        app.update(a);
    }
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        press(app, KeyCode::Char(c));
    }
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(app, f.area())).unwrap();
    t.backend().to_string()
}

#[test]
fn every_panel_at_both_sizes() {
    for (w, h) in [(80, 24), (120, 40)] {
        let mut app = loaded(options());
        assert_eq!(
            app.panel,
            Panel::Overview,
            "the dashboard opens on the overview"
        );
        press(&mut app, KeyCode::Char('1'));
        for panel in &Panel::ALL[1..] {
            assert_eq!(app.panel, *panel);
            let name = format!("{}_{w}x{h}", panel.title().to_lowercase().replace(' ', "-"));
            insta::assert_snapshot!(name, screen(&app, w, h));
            press(&mut app, KeyCode::Tab);
        }
        assert_eq!(
            app.panel,
            Panel::Overview,
            "Tab wraps around to the overview"
        );
    }
}

#[test]
fn overview_at_three_sizes() {
    let app = loaded(options());
    for (w, h) in [(80, 24), (120, 32), (200, 50)] {
        let s = screen(&app, w, h);
        // The caller, every cluster's marks, the keys, the error count.
        assert!(s.contains("alice@example.com"), "{s}");
        for c in ["legacy-batch", "prod-eu", "staging-us"] {
            assert!(s.contains(c), "{c} missing at {w}x{h}:\n{s}");
        }
        assert!(s.contains("2/2"), "{s}");
        assert!(s.contains("4 errors"), "{s}");
        assert!(s.contains("1 conflict"), "{s}");
        insta::assert_snapshot!(format!("overview_{w}x{h}"), s);
    }
}

#[test]
fn overview_rows_never_wrap_at_80x24() {
    let app = loaded(options());
    let s = screen(&app, 80, 24);
    let rows: Vec<&str> = s.lines().collect();
    assert_eq!(rows.len(), 24);
    // Each cluster on exactly one row, with its marks on that row.
    let legacy = rows.iter().find(|r| r.contains("legacy-batch")).unwrap();
    assert!(
        legacy.contains('✗') && legacy.contains("1.21") && legacy.contains("global"),
        "{legacy}"
    );
    let prod = rows.iter().find(|r| r.contains("prod-eu ")).unwrap();
    assert!(prod.contains('✓') && prod.contains("regional"), "{prod}");
    let staging = rows.iter().find(|r| r.contains("staging-us")).unwrap();
    assert!(staging.contains('?'), "{staging}");
}

#[test]
fn overview_tab_enter_esc() {
    let mut app = loaded(options());
    assert_eq!(app.overview.focus, Tile::Clusters);
    press(&mut app, KeyCode::Tab);
    assert_eq!(app.overview.focus, Tile::Endpoints);
    assert_eq!(
        app.panel,
        Panel::Overview,
        "Tab moves between tiles on the overview"
    );
    press(&mut app, KeyCode::BackTab);
    // Select the second cluster (prod-eu) and zoom.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.panel, Panel::Clusters);
    assert_eq!(app.selected_cluster().unwrap().name, "prod-eu");
    press(&mut app, KeyCode::Esc);
    assert_eq!(app.panel, Panel::Overview, "Esc comes back to the overview");
    assert!(!app.quit);
    // j past the last cluster moves on to the next section.
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('j'));
    assert_eq!(app.overview.focus, Tile::Endpoints);
    // The first finding opens in Findings.
    press(&mut app, KeyCode::Tab);
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.panel, Panel::Findings);
    assert_eq!(app.findings_view.selected, 0);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('0'));
    assert_eq!(app.panel, Panel::Overview);
    // On a grid, the focused tile is marked.
    insta::assert_snapshot!("overview_findings_focused_120x32", screen(&app, 120, 32));
}

#[test]
fn copy_takes_the_broken_hops_fix() {
    let mut app = loaded(options());
    // legacy-batch is the first cluster: its aws-auth entry has the role's path.
    press(&mut app, KeyCode::Char('c'));
    let effects = app.take_effects();
    assert!(
        matches!(effects.as_slice(), [eksdoctor_tui::app::Effect::Copy(t)] if t.contains("rolearn: arn:aws:iam::111122223333:role/AWSReservedSSO_PlatformAdmin_7f3a9c2e51d04b6a")),
        "{effects:?}"
    );
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Char('c'));
    assert!(app.take_effects().is_empty(), "prod-eu has nothing broken");
    assert!(
        app.status
            .as_deref()
            .unwrap_or_default()
            .contains("no broken hop")
    );
}

#[test]
fn first_frame_shows_spinners_while_probes_pend() {
    let mut app = App::new(options());
    let s = screen(&app, 80, 24);
    assert!(s.contains("asking STS"), "{s}");
    insta::assert_snapshot!("pending_80x24", s);
    insta::assert_snapshot!("pending_120x32", screen(&app, 120, 32));
    press(&mut app, KeyCode::Char('2'));
    assert!(screen(&app, 80, 24).contains("listing clusters"));
}

#[test]
fn selecting_another_cluster_shows_its_access() {
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('j'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("access entry"), "{s}");
    press(&mut app, KeyCode::Down);
    let s = screen(&app, 80, 24);
    assert!(s.contains("allow eks:ListAccessEntries"), "{s}");
    assert!(s.contains("would answer it"), "{s}");
    insta::assert_snapshot!("clusters_denied_80x24", s);
}

#[test]
fn endpoints_show_the_global_endpoint_conflict() {
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('4'));
    press(&mut app, KeyCode::Char('j'));
    for (w, h) in [(80, 24), (120, 40)] {
        let s = screen(&app, w, h);
        assert!(s.contains("ledger-api"), "{s}");
        assert!(s.contains("calls the global STS endpoint"), "{s}");
        insta::assert_snapshot!(format!("endpoints_conflict_{w}x{h}"), s);
    }
}

#[test]
fn findings_detail_and_filter() {
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('5'));
    press(&mut app, KeyCode::Char('j'));
    press(&mut app, KeyCode::Enter);
    insta::assert_snapshot!("findings_detail_80x24", screen(&app, 80, 24));
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('/'));
    typed(&mut app, "keys");
    let s = screen(&app, 80, 24);
    assert!(
        s.contains(&format!("4 of {} shown", app.findings.len())),
        "{s}"
    );
    insta::assert_snapshot!("findings_filter_80x24", s);
    press(&mut app, KeyCode::Enter);
    press(&mut app, KeyCode::Char('c'));
    let effects = app.take_effects();
    assert!(
        matches!(effects.as_slice(), [eksdoctor_tui::app::Effect::Copy(t)] if t.contains("aws iam delete-access-key")),
        "{effects:?}"
    );
}

#[test]
fn help_overlay_lists_keys() {
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('?'));
    let s = screen(&app, 80, 24);
    assert!(s.contains("OSC 52"), "{s}");
    insta::assert_snapshot!("help_80x24", s);
    press(&mut app, KeyCode::Esc);
    assert!(!app.help);
    assert!(!app.quit, "Esc closes help before it quits");
}

#[test]
fn pasted_secret_is_never_shown() {
    let mut app = loaded(options());
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    app.update(Action::Paste(format!(
        "aws_access_key_id = AKIA3DEMO9LEAKED00X1\naws_secret_access_key = {secret}\nUser: arn:aws:iam::111122223333:user/bob is not authorized to perform: eks:DescribeCluster"
    )));
    assert_eq!(app.panel, Panel::Explain);
    for (w, h) in [(80, 24), (120, 40)] {
        let s = screen(&app, w, h);
        assert!(!s.contains("wJalrXUtnFEMI"), "{s}");
        assert!(!s.contains("AKIA3DEMO9LEAKED00X1"), "{s}");
        assert!(s.contains("keys/secret-in-input"), "{s}");
    }
    assert!(
        !app.explain_text.contains(secret),
        "the raw secret is not kept"
    );
    insta::assert_snapshot!("explain_secret_80x24", screen(&app, 80, 24));
    // Editing the masked text later does not bring the secret back.
    press(&mut app, KeyCode::Char('i'));
    press(&mut app, KeyCode::Backspace);
    assert!(!screen(&app, 80, 24).contains("wJalrXUtnFEMI"));
}

#[test]
fn typing_in_explain() {
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Char('x'));
    assert!(app.explain_findings.is_empty());
    press(&mut app, KeyCode::Char('i'));
    typed(
        &mut app,
        "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: iam:PassRole",
    );
    let s = screen(&app, 80, 24);
    assert!(s.contains("authz/pass-role"), "{s}");
    // q while typing is a letter, not quit.
    press(&mut app, KeyCode::Char('q'));
    assert!(!app.quit);
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}

#[test]
fn too_small_says_so() {
    let app = loaded(options());
    let s = screen(&app, 50, 12);
    assert!(s.contains("needs a larger terminal"), "{s}");
    insta::assert_snapshot!("too_small", s);
}

#[test]
fn ascii_and_no_color() {
    let mut app = loaded(Options {
        ascii: true,
        color: false,
        ..options()
    });
    for (w, h) in [(80, 24), (120, 32)] {
        let s = screen(&app, w, h);
        assert!(s.is_ascii(), "overview at {w}x{h}:\n{s}");
    }
    press(&mut app, KeyCode::Char('2'));
    let s = screen(&app, 120, 40);
    assert!(s.is_ascii(), "{s}");
    press(&mut app, KeyCode::Char('3'));
    let s = screen(&app, 80, 24);
    assert!(s.is_ascii(), "{s}");
    insta::assert_snapshot!("keys_ascii_80x24", s);
    let mut t = Terminal::new(TestBackend::new(80, 24)).unwrap();
    t.draw(|f| f.render_widget(&app, f.area())).unwrap();
    let buf = t.backend().buffer();
    assert!(
        buf.content()
            .iter()
            .all(|c| c.fg == ratatui::style::Color::Reset)
    );
}

#[test]
fn refresh_drops_the_old_round() {
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('r'));
    assert_eq!(
        app.take_effects(),
        vec![eksdoctor_tui::app::Effect::Refresh]
    );
    assert!(app.findings.is_empty());
    for (_, feed) in demo::timeline(now()) {
        app.apply(0, feed); // late answers from round 0
    }
    assert!(app.findings.is_empty());
    assert!(app.animating());
    for (_, feed) in demo::timeline(now()) {
        app.apply(1, feed);
    }
    assert!(!app.animating());
    assert_eq!(app.findings.len(), loaded(options()).findings.len());
}

#[test]
fn overview_tiles_show_their_own_errors() {
    use eksdoctor_core::snapshot::{Probe, ProbeUpdate};
    use eksdoctor_tui::Feed;
    let mut app = App::new(options());
    app.apply(
        0,
        Feed::Probe(ProbeUpdate::Identity(Probe::Failed {
            message: "the SSO session has expired".into(),
        })),
    );
    app.apply(
        0,
        Feed::Probe(ProbeUpdate::ClusterList {
            region: "eu-west-1".into(),
            clusters: Probe::Denied {
                permission: "eks:ListClusters".into(),
            },
        }),
    );
    app.apply(0, Feed::Probe(ProbeUpdate::AccessKeys(Probe::TimedOut)));
    for (w, h) in [(80, 24), (120, 32)] {
        let s = screen(&app, w, h);
        assert!(s.contains("the SSO session has expired"), "{s}");
        assert!(s.contains("eu-west-1: ✗ denied"), "{s}");
        assert!(s.contains("timed out"), "{s}");
        insta::assert_snapshot!(format!("overview_errors_{w}x{h}"), s);
    }
}

/// The Clusters panel shows each cluster's own answers (issue 10): mapped
/// as whom and via what, groups, console verbs, the kubeconfig context; an
/// API server that does not answer; and each answer's own spinner while the
/// Kubernetes probes are in flight.
#[test]
fn clusters_show_the_kubernetes_answers() {
    use eksdoctor_core::snapshot::{KubeUpdate, ProbeUpdate};
    let mut app = loaded(options());
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('j'));
    let s = screen(&app, 120, 40);
    assert!(s.contains("mapped as"), "{s}");
    assert!(s.contains("console verbs"), "{s}");
    assert!(s.contains("(current)"), "{s}");
    insta::assert_snapshot!("clusters_kubernetes_mapped_120x40", s);
    press(&mut app, KeyCode::Down);
    let s = screen(&app, 120, 40);
    assert!(s.contains("timed out"), "{s}");
    insta::assert_snapshot!("clusters_kubernetes_unreachable_120x40", s);

    // Mid-round: the Kubernetes probes have started, nothing has answered.
    let mut app = App::new(options());
    for (_, feed) in demo::timeline(now()) {
        let keep = match &feed {
            Feed::Probe(ProbeUpdate::Kubernetes { update, .. }) => {
                matches!(update, KubeUpdate::Started { .. })
            }
            Feed::Probe(ProbeUpdate::Done) => false,
            Feed::Probe(_) | Feed::StsWorkloads { .. } => true,
            _ => false,
        };
        if keep {
            app.apply(0, feed);
        }
    }
    press(&mut app, KeyCode::Char('2'));
    press(&mut app, KeyCode::Char('j'));
    let s = screen(&app, 120, 40);
    assert!(s.contains("connecting"), "{s}");
    insta::assert_snapshot!("clusters_kubernetes_pending_120x40", s);
}
