//! The dashboard on a fleet run: the Overview lists the accounts with their
//! worst finding; Enter replays one account into the usual panels; Esc on
//! its Overview goes back to the list.
#![allow(clippy::unwrap_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use eksdoctor_core::finding::Severity;
use eksdoctor_tui::action::Action;
use eksdoctor_tui::fleet::{FleetAccount, FleetView};
use eksdoctor_tui::{App, Options, Panel, demo};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn now() -> jiff::Timestamp {
    "2026-11-29T06:00:00Z".parse().unwrap()
}

fn app() -> App {
    let mut app = App::new(Options {
        color: false,
        ascii: false,
        demo: false,
        now: now(),
        rotation_days: 90,
    });
    let demo_feed: Vec<_> = demo::timeline(now()).into_iter().map(|(_, f)| f).collect();
    let account =
        |id: &str, name: &str, clusters, counts, worst: Option<(Severity, &str, &str)>| {
            FleetAccount {
                account_id: id.to_owned(),
                account_name: Some(name.to_owned()),
                clusters,
                counts,
                worst: worst.map(|(s, r, m)| (s, r.to_owned(), m.to_owned())),
                feed: if name == "prod" {
                    demo_feed.clone()
                } else {
                    Vec::new()
                },
            }
        };
    app.set_fleet(FleetView::new(
        vec![
            account("333333333333", "quiet", Some(0), (0, 0, 0), None),
            account(
                "111111111111",
                "prod",
                Some(3),
                (2, 1, 0),
                Some((
                    Severity::Error,
                    "irsa/oidc-provider-missing",
                    "no IAM OIDC provider for cluster web's issuer",
                )),
            ),
            account(
                "222222222222",
                "sandbox",
                None,
                (1, 0, 0),
                Some((
                    Severity::Error,
                    "fleet/assume-failed",
                    "account 222222222222: cannot assume arn:aws:iam::222222222222:role/EksDoctorReadOnly",
                )),
            ),
        ],
        4,
    ));
    app
}

fn press(app: &mut App, code: KeyCode) {
    let key = KeyEvent::new(code, KeyModifiers::NONE);
    if let Some(a) = Action::from_key(key, app.key_context()) {
        app.update(a);
    }
}

fn screen(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| f.render_widget(app, f.area())).unwrap();
    t.backend().to_string()
}

#[test]
fn the_overview_lists_accounts_worst_first() {
    let app = app();
    let s = screen(&app, 100, 16);
    insta::assert_snapshot!("fleet_overview", s);
    let prod = s.find("111111111111").unwrap();
    let quiet = s.find("333333333333").unwrap();
    assert!(prod < quiet, "{s}");
}

#[test]
fn enter_opens_an_account_and_esc_comes_back() {
    let mut app = app();
    // Worst first: prod (2 errors), sandbox (1), quiet.
    assert_eq!(
        app.fleet.as_ref().unwrap().accounts[0].account_id,
        "111111111111"
    );
    press(&mut app, KeyCode::Enter);
    assert_eq!(app.fleet.as_ref().unwrap().open, Some(0));
    assert!(
        app.identity.ready().is_some(),
        "the demo account's identity was replayed"
    );
    assert!(!app.findings.is_empty());
    let opened = screen(&app, 100, 30);
    assert!(!opened.contains("Fleet:"), "{opened}");
    // Into a panel and back, then Esc on the Overview returns to the list.
    press(&mut app, KeyCode::Char('2'));
    assert_eq!(app.panel, Panel::Clusters);
    press(&mut app, KeyCode::Char('0'));
    press(&mut app, KeyCode::Esc);
    assert!(!app.quit);
    assert!(app.fleet.as_ref().unwrap().listing());
    assert!(screen(&app, 100, 16).contains("Fleet: 3 accounts"));
    // Down, Down, then the bottom stays the bottom.
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    assert_eq!(app.fleet.as_ref().unwrap().selected, 2);
    // Opening an account without answers (the unreachable one) is empty, not stale.
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Enter);
    assert!(app.findings.is_empty());
    assert!(app.clusters.is_empty());
    // q still quits.
    press(&mut app, KeyCode::Esc);
    press(&mut app, KeyCode::Char('q'));
    assert!(app.quit);
}
