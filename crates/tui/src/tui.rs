//! The terminal: raw mode and the alternate screen in, everything restored
//! on every way out (quit, error, panic, SIGTERM, SIGHUP), Ctrl-Z suspends.
//!
//! The loop sleeps until something happens: a key, a paste, a resize, probe
//! data, a signal, or, only while a spinner is on screen, the spinner tick.
//! It redraws only then, so an idle dashboard costs no CPU.

use std::io::{self, Write};
use std::time::{Duration, Instant};

use crossterm::event::{self, DisableBracketedPaste, EnableBracketedPaste, Event};
use crossterm::execute;
use ratatui::DefaultTerminal;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;

use crate::action::Action;
use crate::app::{App, Effect};
use crate::feed::{Feed, FeedSink, FeedSource};

/// Spinner frame time.
const TICK: Duration = Duration::from_millis(100);

/// Called once the first frame is on screen (benchmarks time it).
pub type FirstFrameHook = Box<dyn FnOnce(&App) + Send>;

/// Take over the terminal: raw mode, the alternate screen and bracketed
/// paste, with a panic hook that gives it back first.
///
/// This is `ratatui::try_init` plus bracketed paste, with one difference:
/// the hook restores the terminal only for a panic on the UI thread (the
/// one calling this). A panic in a background task (a probe) is caught by
/// tokio and must not pull the terminal from under a dashboard that keeps
/// running; it is not printed either, which would scribble over the screen.
///
/// # Errors
/// When the terminal cannot be put in raw mode.
pub fn init() -> io::Result<DefaultTerminal> {
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() == ui_thread {
            restore();
            previous(info);
        }
    }));
    crossterm::terminal::enable_raw_mode()?;
    execute!(
        io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        EnableBracketedPaste
    )?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))
}

/// Give the terminal back: cooked mode, main screen, no bracketed paste.
pub fn restore() {
    let _ = execute!(io::stdout(), DisableBracketedPaste, crossterm::cursor::Show);
    ratatui::restore();
}

/// Why the loop stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// SIGTERM.
    Terminated,
    /// SIGHUP: the SSH session or terminal went away.
    HungUp,
}

impl Exit {
    /// The conventional exit status: 128 + the signal's number.
    #[must_use]
    pub fn code(self) -> i32 {
        match self {
            Self::Quit => 0,
            Self::Terminated => 128 + 15,
            Self::HungUp => 128 + 1,
        }
    }
}

/// Run the dashboard until the operator quits or a signal arrives. The
/// terminal is restored on every return.
///
/// # Errors
/// Terminal I/O errors.
pub async fn run(
    app: App,
    source: Box<dyn FeedSource>,
    first_frame: Option<FirstFrameHook>,
) -> io::Result<Exit> {
    let mut terminal = match init() {
        Ok(t) => t,
        Err(e) => {
            restore();
            return Err(e);
        }
    };
    let result = event_loop(&mut terminal, app, source, first_frame).await;
    restore();
    result
}

async fn event_loop(
    terminal: &mut DefaultTerminal,
    mut app: App,
    mut source: Box<dyn FeedSource>,
    mut first_frame: Option<FirstFrameHook>,
) -> io::Result<Exit> {
    let (feed_tx, mut feed_rx) = mpsc::unbounded_channel::<(u64, Feed)>();
    let (input_tx, mut input_rx) = mpsc::unbounded_channel::<io::Result<Event>>();
    // crossterm's read blocks; a plain thread (not spawn_blocking, which the
    // runtime would wait for on shutdown) hands events over.
    std::thread::Builder::new()
        .name("eksdoctor-input".to_owned())
        .spawn(move || {
            loop {
                let ev = event::read();
                let failed = ev.is_err();
                if input_tx.send(ev).is_err() || failed {
                    return;
                }
            }
        })?;
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    source.start(FeedSink::new(app.round, feed_tx.clone()));

    let mut dirty = true;
    let mut next_tick = Instant::now() + TICK;
    loop {
        // Before drawing: effects asked for by the last event, or before the
        // loop started (a preloaded Explain text asks live at once).
        for effect in app.take_effects() {
            match effect {
                Effect::Refresh => source.start(FeedSink::new(app.round, feed_tx.clone())),
                Effect::Copy(text) => copy_osc52(&text)?,
                Effect::Suspend => {
                    suspend(terminal)?;
                    dirty = true;
                }
                Effect::ExplainLive { request, text } => {
                    source.explain_live(request, text, FeedSink::new(app.round, feed_tx.clone()));
                }
            }
        }
        if dirty {
            terminal.draw(|f| f.render_widget(&app, f.area()))?;
            dirty = false;
            if let Some(hook) = first_frame.take() {
                hook(&app);
            }
        }
        if app.quit {
            return Ok(Exit::Quit);
        }
        let animating = app.animating();
        tokio::select! {
            ev = input_rx.recv() => match ev {
                Some(Ok(ev)) => dirty |= handle_event(&mut app, ev),
                Some(Err(e)) => return Err(e),
                None => return Ok(Exit::Quit),
            },
            Some((round, feed)) = feed_rx.recv() => {
                app.apply(round, feed);
                // Take whatever else is already queued before drawing once.
                while let Ok((round, feed)) = feed_rx.try_recv() {
                    app.apply(round, feed);
                }
                dirty = true;
            }
            () = tokio::time::sleep_until(next_tick.into()), if animating => {
                app.tick();
                next_tick = Instant::now() + TICK;
                dirty = true;
            }
            _ = sigterm.recv() => return Ok(Exit::Terminated),
            _ = sighup.recv() => return Ok(Exit::HungUp),
        }
        if !animating {
            next_tick = Instant::now() + TICK;
        }
    }
}

/// Map a terminal event to an action and apply it; whether to redraw.
fn handle_event(app: &mut App, ev: Event) -> bool {
    let action = match ev {
        Event::Key(key) => Action::from_key(key, app.key_context()),
        Event::Paste(text) => Some(Action::Paste(text)),
        Event::Resize(..) => return true,
        _ => None,
    };
    match action {
        Some(a) => {
            app.status = None;
            app.update(a);
            true
        }
        None => false,
    }
}

/// The OSC 52 sequence that sets the clipboard: understood by most terminal
/// emulators, and carried over SSH since it is just output.
#[must_use]
pub fn osc52(text: &str) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    format!("\x1b]52;c;{b64}\x07")
}

fn copy_osc52(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(osc52(text).as_bytes())?;
    out.flush()
}

/// Ctrl-Z: give the terminal back, stop, and take it again on `fg`.
///
/// Without job control (an orphaned process group) the kernel discards the
/// stop and this returns at once: the dashboard simply stays.
fn suspend(terminal: &mut DefaultTerminal) -> io::Result<()> {
    restore();
    let stopped = signal_hook::low_level::raise(signal_hook::consts::SIGTSTP);
    crossterm::terminal::enable_raw_mode()?;
    execute!(
        io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        EnableBracketedPaste,
        crossterm::terminal::Clear(crossterm::terminal::ClearType::All)
    )?;
    // A fresh terminal forgets the last frame, so the next draw repaints
    // everything. (`Terminal::clear` would ask the terminal for the cursor
    // position, an answer the input thread's pending read would swallow.)
    *terminal = ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(io::stdout()))?;
    stopped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_encodes_the_text() {
        assert_eq!(osc52("aws iam"), "\x1b]52;c;YXdzIGlhbQ==\x07");
    }
}
