//! Issue 18: the live dashboard exited 0 after a credentials failure. In a
//! real terminal (a private tmux server, as tui_e2e.rs does), with no
//! credentials at all: the operator quits, the exit status is 3.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eksdoctor");

struct Pane {
    socket: String,
    dir: tempfile::TempDir,
}

impl Pane {
    fn tmux(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.tmux(&["capture-pane", "-p", "-t", "x"]).stdout).into_owned()
    }

    fn wait(&self, what: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let s = self.screen();
            if s.contains(what) {
                return s;
            }
            assert!(Instant::now() < deadline, "never saw {what:?}:\n{s}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn exit_file(&self) -> std::path::PathBuf {
        self.dir.path().join("exit")
    }
}

impl Drop for Pane {
    fn drop(&mut self) {
        let _ = self.tmux(&["kill-server"]);
    }
}

#[test]
fn dashboard_without_credentials_exits_3() {
    assert!(
        Command::new("tmux").arg("-V").output().is_ok(),
        "tmux is needed for this test (cargo xtask ci installs it)"
    );
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().display().to_string();
    let pane = Pane {
        socket: format!("eksdoctor-exit3-{}", std::process::id()),
        dir,
    };
    let script = format!(
        "env -i PATH=\"$PATH\" TERM=xterm-256color HOME='{home}' AWS_CONFIG_FILE='{home}/config' \
         AWS_SHARED_CREDENTIALS_FILE='{home}/credentials' AWS_EC2_METADATA_DISABLED=true \
         '{BIN}' --region us-west-2; echo \"exit=$?\" > '{}'; echo EKSDOCTOR-EXITED; sleep 60",
        pane.exit_file().display()
    );
    let out = pane.tmux(&[
        "new-session",
        "-d",
        "-x",
        "100",
        "-y",
        "30",
        "-s",
        "x",
        "sh",
        "-c",
        &script,
    ]);
    assert!(out.status.success(), "{out:?}");
    pane.wait("no AWS credentials");
    pane.tmux(&["send-keys", "-t", "x", "q"]);
    pane.wait("EKSDOCTOR-EXITED");
    let status = std::fs::read_to_string(pane.exit_file()).unwrap();
    assert_eq!(status.trim(), "exit=3");
}
