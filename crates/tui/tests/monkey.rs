//! Random key presses, pastes and terminal sizes: the dashboard never
//! panics, never draws outside its area, and never shows a pasted secret.
#![allow(clippy::unwrap_used)]

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use eksdoctor_tui::action::Action;
use eksdoctor_tui::{App, Options, demo};
use proptest::prelude::*;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

#[derive(Debug, Clone)]
enum Input {
    Key(KeyCode, bool),
    Paste(String),
    Resize(u16, u16),
}

fn input() -> impl Strategy<Value = Input> {
    let code = prop_oneof![
        any::<char>().prop_map(KeyCode::Char),
        "[a-zA-Z0-9/?:. qjkhlgGrcyixe]"
            .prop_map(|s| KeyCode::Char(s.chars().next().unwrap_or('j'))),
        Just(KeyCode::Tab),
        Just(KeyCode::BackTab),
        Just(KeyCode::Enter),
        Just(KeyCode::Esc),
        Just(KeyCode::Backspace),
        Just(KeyCode::Up),
        Just(KeyCode::Down),
        Just(KeyCode::Left),
        Just(KeyCode::Right),
        Just(KeyCode::PageUp),
        Just(KeyCode::PageDown),
        Just(KeyCode::Home),
        Just(KeyCode::End),
    ];
    prop_oneof![
        6 => (code, any::<bool>()).prop_map(|(c, ctrl)| Input::Key(c, ctrl)),
        1 => "\\PC{0,200}".prop_map(Input::Paste),
        1 => ("[ -~]{0,40}", "[ -~]{0,40}").prop_map(|(a, b)| Input::Paste(format!("{a}\naws_secret_access_key={SECRET}\n{b}"))),
        1 => (1u16..160, 1u16..60).prop_map(|(w, h)| Input::Resize(w, h)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]
    #[test]
    fn any_input_sequence_renders(inputs in proptest::collection::vec(input(), 1..60)) {
        let now = "2026-11-29T06:00:00Z".parse().unwrap();
        let mut app = App::new(Options { demo: true, now, ..Options::default() });
        app.preload_explain(demo::PASS_ROLE_ERROR);
        for (_, feed) in demo::timeline(now) {
            app.apply(0, feed);
        }
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        for i in inputs {
            match i {
                Input::Key(code, ctrl) => {
                    let m = if ctrl { KeyModifiers::CONTROL } else { KeyModifiers::NONE };
                    if let Some(a) = Action::from_key(KeyEvent::new(code, m), app.key_context()) {
                        app.update(a);
                    }
                }
                Input::Paste(t) => app.update(Action::Paste(t)),
                Input::Resize(w, h) => terminal.backend_mut().resize(w, h),
            }
            // Quitting is fine; keep going to exercise the state anyway.
            app.quit = false;
            let _ = app.take_effects();
            terminal.autoresize().unwrap();
            terminal.draw(|f| f.render_widget(&app, f.area())).unwrap();
            let screen = terminal.backend().to_string();
            prop_assert!(!screen.contains("wJalrXUtnFEMI"), "{}", screen);
        }
    }
}
