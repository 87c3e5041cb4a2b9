//! The dashboard picks ASCII by itself when the locale is not UTF-8 or
//! `TERM=dumb` (a jump host reached over ssh with no locale forwarded), and
//! Unicode otherwise. Runs `eksdoctor --demo` in a private tmux server whose
//! own locale is UTF-8 (so tmux shows whatever the binary draws), with the
//! locale under test given to the binary only.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eksdoctor");

/// The first frame of `--demo` under `env` (assignments for `env -i`).
fn first_frame(name: &str, env: &[&str]) -> String {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is needed for this test (cargo xtask ci installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join(format!("tmux-{name}"));
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .env_remove("TMUX")
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE")
            .output()
            .unwrap()
    };
    let mut args = vec![
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "-s",
        "t",
        "env",
        "-i",
        "PATH=/usr/bin:/bin",
    ];
    args.extend_from_slice(env);
    args.extend_from_slice(&[BIN, "--demo"]);
    let out = tmux(&args);
    assert!(out.status.success(), "tmux new-session: {out:?}");
    let deadline = Instant::now() + Duration::from_secs(30);
    let screen = loop {
        let s =
            String::from_utf8_lossy(&tmux(&["capture-pane", "-p", "-t", "t"]).stdout).into_owned();
        if s.contains("AWSReservedSSO") || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    tmux(&["send-keys", "-t", "t", "q"]);
    std::thread::sleep(Duration::from_millis(200));
    tmux(&["kill-server"]);
    assert!(screen.contains("AWSReservedSSO"), "no frame: {screen}");
    screen
}

#[test]
fn utf8_locale_draws_unicode() {
    let s = first_frame("utf8", &["TERM=xterm-256color", "LANG=en_US.UTF-8"]);
    assert!(!s.is_ascii(), "{s}");
}

#[test]
fn no_locale_draws_ascii() {
    let s = first_frame("c", &["TERM=xterm-256color"]);
    assert!(s.is_ascii(), "{s}");
    let s = first_frame(
        "lcall",
        &["TERM=xterm-256color", "LC_ALL=C", "LANG=en_US.UTF-8"],
    );
    assert!(s.is_ascii(), "{s}");
}

#[test]
fn dumb_terminal_draws_ascii() {
    let s = first_frame("dumb", &["TERM=dumb", "LANG=C.UTF-8"]);
    assert!(s.is_ascii(), "{s}");
}
