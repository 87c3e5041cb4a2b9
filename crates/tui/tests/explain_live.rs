//! The Explain box when the dashboard is live (issue 16): the offline answer
//! at once, then the account's answer as an event. One request in flight,
//! the newest text queued; the three states on screen (asking, answered,
//! failed), rendered on a TestBackend and driven by key and paste events.
#![allow(clippy::unwrap_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use eksdoctor_core::rules;
use eksdoctor_tui::action::Action;
use eksdoctor_tui::app::Effect;
use eksdoctor_tui::{
    App, Feed, FeedSink, FeedSource, LiveAnswer, LiveExplain, Options, Panel, demo,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn options() -> Options {
    Options {
        color: true,
        ascii: false,
        demo: true,
        now: "2026-11-29T06:00:00Z".parse().unwrap(),
        rotation_days: 90,
    }
}

/// A dashboard whose Explain box asks live.
fn live_app() -> App {
    let mut app = App::new(options());
    app.explain_live_enabled = true;
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

/// The live requests the app asked for since the last call.
fn asked(app: &mut App) -> Vec<(u64, String)> {
    app.take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::ExplainLive { request, text } => Some((request, text)),
            _ => None,
        })
        .collect()
}

fn answer(app: &mut App, request: u64, answer: LiveAnswer) {
    // Live answers are not tied to a refresh round.
    app.apply(app.round + 7, Feed::ExplainLive { request, answer });
}

const BOB: &str = "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:eu-west-1:111122223333:cluster/prod";
const CAROL: &str =
    "User: arn:aws:iam::111122223333:user/carol is not authorized to perform: eks:ListClusters";

#[test]
fn one_request_in_flight_the_newest_queued() {
    let mut app = live_app();
    app.update(Action::Paste(demo::PASS_ROLE_ERROR.to_owned()));
    // Offline at once...
    assert!(
        app.explain_findings
            .iter()
            .any(|f| f.rule == rules::AUTHZ_PASS_ROLE.id)
    );
    // ...and one live request.
    let first = asked(&mut app);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].1, demo::PASS_ROLE_ERROR);
    assert_eq!(app.explain_live, LiveExplain::Asking);
    assert!(app.animating(), "the spinner turns while IAM is asked");
    assert!(app.panel_pending(Panel::Explain));

    // Two more texts while the first is in flight: none is sent, the newest waits.
    app.update(Action::Paste(BOB.to_owned()));
    app.update(Action::Paste(CAROL.to_owned()));
    assert!(asked(&mut app).is_empty());

    // The first answer is about an older text: dropped, the newest is sent.
    answer(
        &mut app,
        first[0].0,
        demo::live_answer(demo::PASS_ROLE_ERROR),
    );
    assert_eq!(app.explain_live, LiveExplain::Asking);
    let second = asked(&mut app);
    assert_eq!(second.len(), 1, "{second:?}");
    assert_eq!(second[0].1, CAROL, "the older queued text (bob) is dropped");
    assert_ne!(second[0].0, first[0].0);

    // An answer for a request not in flight changes nothing.
    answer(
        &mut app,
        first[0].0,
        LiveAnswer::Failed {
            message: "late".to_owned(),
        },
    );
    assert_eq!(app.explain_live, LiveExplain::Asking);

    answer(
        &mut app,
        second[0].0,
        LiveAnswer::Failed {
            message: "no credentials".to_owned(),
        },
    );
    assert_eq!(
        app.explain_live,
        LiveExplain::Failed {
            message: "no credentials".to_owned()
        }
    );
    assert!(asked(&mut app).is_empty());
    assert!(!app.panel_pending(Panel::Explain));
}

#[test]
fn typing_coalesces_to_one_request_per_answer() {
    let mut app = live_app();
    press(&mut app, KeyCode::Char('6'));
    press(&mut app, KeyCode::Char('i'));
    let mut sent = Vec::new();
    for c in BOB.chars() {
        press(&mut app, KeyCode::Char(c));
        sent.extend(asked(&mut app));
    }
    // The text holds a denial from "...perform: e" on; only the first is sent.
    assert_eq!(sent.len(), 1, "{sent:?}");
    answer(&mut app, sent[0].0, LiveAnswer::NothingToAsk);
    let next = asked(&mut app);
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].1, BOB, "the whole text, as typed last");
}

#[test]
fn clearing_drops_the_answer_in_flight() {
    let mut app = live_app();
    app.update(Action::Paste(demo::PASS_ROLE_ERROR.to_owned()));
    let sent = asked(&mut app);
    press(&mut app, KeyCode::Char('x'));
    assert_eq!(app.explain_live, LiveExplain::Off);
    answer(
        &mut app,
        sent[0].0,
        demo::live_answer(demo::PASS_ROLE_ERROR),
    );
    assert_eq!(app.explain_live, LiveExplain::Off);
    assert!(app.explain_findings.is_empty());
    // Text with no denial asks nothing.
    app.update(Action::Paste("hello".to_owned()));
    assert!(asked(&mut app).is_empty());
    assert_eq!(app.explain_live, LiveExplain::Off);
}

#[test]
fn not_live_asks_nothing() {
    let mut app = App::new(options());
    app.update(Action::Paste(demo::PASS_ROLE_ERROR.to_owned()));
    assert!(asked(&mut app).is_empty());
    assert_eq!(app.explain_live, LiveExplain::Off);
    let s = screen(&app, 80, 24);
    assert!(!s.contains("asking IAM") && !s.contains("live:"), "{s}");
}

/// The three states, at 80x24 (and answered at 120x40 too).
#[test]
fn the_three_states_on_screen() {
    let mut app = live_app();
    app.update(Action::Paste(demo::PASS_ROLE_ERROR.to_owned()));
    let sent = asked(&mut app);
    assert_eq!(app.panel, Panel::Explain);
    let s = screen(&app, 80, 24);
    assert!(s.contains("asking IAM…"), "{s}");
    assert!(
        s.contains("authz/pass-role"),
        "the offline answer meanwhile: {s}"
    );
    insta::assert_snapshot!("explain_live_asking_80x24", s);

    answer(
        &mut app,
        sent[0].0,
        demo::live_answer(demo::PASS_ROLE_ERROR),
    );
    assert_eq!(app.explain_live, LiveExplain::Answered { reads: 7 });
    let s = screen(&app, 80, 24);
    assert!(s.contains("DenyPassRoleOutsidePlatformPath"), "{s}");
    assert!(s.contains("authz/explicit-deny"), "{s}");
    insta::assert_snapshot!("explain_live_answered_80x24", s);
    let s = screen(&app, 120, 40);
    assert!(s.contains("create-policy-version"), "the fix: {s}");
    insta::assert_snapshot!("explain_live_answered_120x40", s);
    // Enter: the whole detail; its fix below the deciding statement.
    press(&mut app, KeyCode::Enter);
    for _ in 0..10 {
        press(&mut app, KeyCode::Char('j'));
    }
    let s = screen(&app, 80, 24);
    assert!(s.contains("$ aws iam create-policy-version"), "{s}");
    insta::assert_snapshot!("explain_live_answered_detail_80x24", s);
    press(&mut app, KeyCode::Esc);
    // c copies the live fix.
    press(&mut app, KeyCode::Char('c'));
    let copied: Vec<String> = app
        .take_effects()
        .into_iter()
        .filter_map(|e| match e {
            Effect::Copy(t) => Some(t),
            _ => None,
        })
        .collect();
    assert!(
        copied[0].starts_with("aws iam create-policy-version"),
        "{copied:?}"
    );
    app.status = None;

    app.update(Action::Paste(BOB.to_owned()));
    let sent = asked(&mut app);
    answer(
        &mut app,
        sent[0].0,
        LiveAnswer::Failed {
            message: "no AWS credentials found (the default chain: env, profile, SSO, IMDS)"
                .to_owned(),
        },
    );
    let s = screen(&app, 80, 24);
    assert!(s.contains("no AWS credentials"), "{s}");
    assert!(s.contains("authz/"), "the offline answer stays: {s}");
    insta::assert_snapshot!("explain_live_failed_80x24", s);

    // ASCII: no Unicode ellipsis or spinner.
    let mut app = App::new(Options {
        ascii: true,
        ..options()
    });
    app.explain_live_enabled = true;
    app.update(Action::Paste(demo::PASS_ROLE_ERROR.to_owned()));
    assert!(screen(&app, 80, 24).contains("asking IAM..."));
}

#[test]
fn the_demo_answers_only_its_denial() {
    assert!(matches!(demo::live_answer(BOB), LiveAnswer::Failed { .. }));
    let LiveAnswer::Answered { findings, .. } = demo::live_answer(demo::PASS_ROLE_ERROR) else {
        panic!("the demo's PassRole denial has a live answer");
    };
    let f = &findings[0];
    assert!(f.evidence["live"]["deciding"]["lines"].is_string());
    assert!(f.fix.as_ref().is_some_and(|x| !x.commands.is_empty()));
    // The fix command parses as shell.
    for c in &f.fix.as_ref().unwrap().commands {
        assert!(shlex::split(c).is_some(), "{c}");
    }
}

#[tokio::test]
async fn the_demo_source_plays_its_answer_as_an_event() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut source = demo::DemoSource::new(options().now);
    source.speed = 0;
    source.explain_live(3, demo::PASS_ROLE_ERROR.to_owned(), FeedSink::new(0, tx));
    let (_, feed) = rx.recv().await.unwrap();
    let Feed::ExplainLive { request, answer } = feed else {
        panic!("{feed:?}");
    };
    assert_eq!(request, 3);
    assert!(matches!(answer, LiveAnswer::Answered { .. }));
}
