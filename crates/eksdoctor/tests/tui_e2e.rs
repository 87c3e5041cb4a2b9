//! The real binary in a real terminal: `eksdoctor --demo` in a tmux pane
//! (tmux gives CI the TTY it lacks). Moves between panels, pastes an error
//! with bracketed paste, quits, and checks that the terminal is back in
//! cooked mode; then the same after SIGTERM, and the plain error without a
//! terminal.
//!
//! Each test runs its own tmux server (`-L`), so it never touches the
//! operator's sessions. `cargo xtask ci` installs tmux when it is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../aws/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_eksdoctor");

struct Tmux {
    socket: String,
    dir: tempfile::TempDir,
}

impl Tmux {
    /// A private tmux server running `eksdoctor --demo` in an 80x24 pane,
    /// followed by `stty -a` into a file once it exits.
    fn start(name: &str) -> Self {
        Self::start_with(name, "", "--demo")
    }

    /// The same with `env` assignments before the binary and other arguments.
    fn start_with(name: &str, env: &str, args: &str) -> Self {
        assert!(
            Command::new("tmux").arg("-V").output().is_ok(),
            "tmux is needed for this test (cargo xtask ci installs it)"
        );
        let socket = format!("eksdoctor-e2e-{name}-{}", std::process::id());
        let dir = tempfile::tempdir().unwrap();
        let stty = dir.path().join("stty.txt");
        let script = format!(
            "{env} '{BIN}' {args}; echo \"exit=$?\" > '{}.exit'; stty -a > '{}'; echo EKSDOCTOR-EXITED; sleep 60",
            stty.display(),
            stty.display()
        );
        let t = Self { socket, dir };
        let out = t.run(&[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "e2e",
            "sh",
            "-c",
            &script,
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t
    }

    /// A private tmux server running an interactive bash with job control.
    fn start_shell(name: &str) -> Self {
        let socket = format!("eksdoctor-e2e-{name}-{}", std::process::id());
        let t = Self {
            socket,
            dir: tempfile::tempdir().unwrap(),
        };
        let out = t.run(&[
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "e2e",
            "env",
            "PS1=EKSDOCTOR-PROMPT$ ",
            "bash",
            "--norc",
            "--noprofile",
            "-i",
        ]);
        assert!(out.status.success(), "tmux new-session: {out:?}");
        t.wait_for("EKSDOCTOR-PROMPT");
        t
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("-f")
            .arg("/dev/null")
            .args(args)
            .env_remove("TMUX")
            .output()
            .unwrap()
    }

    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.run(&["capture-pane", "-p", "-t", "e2e"]).stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }

    /// Bracketed paste, as a terminal does it when the app asked for it.
    fn paste(&self, text: &str) {
        assert!(
            self.run(&["set-buffer", "-b", "e2e", text])
                .status
                .success()
        );
        assert!(
            self.run(&["paste-buffer", "-p", "-d", "-b", "e2e", "-t", "e2e"])
                .status
                .success()
        );
    }

    fn wait_for(&self, what: &str) -> String {
        self.wait_until(what, |s| s.contains(what))
    }

    fn wait_until(&self, what: &str, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let s = self.screen();
            if ok(&s) {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "never saw {what:?}; screen:\n{s}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn stty(&self) -> String {
        std::fs::read_to_string(self.stty_path()).unwrap_or_default()
    }

    fn stty_path(&self) -> PathBuf {
        self.dir.path().join("stty.txt")
    }

    fn exit_status(&self) -> String {
        let mut p = self.stty_path().into_os_string();
        p.push(".exit");
        std::fs::read_to_string(Path::new(&p))
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// The pid of eksdoctor: the child of the pane's shell.
    fn app_pid(&self) -> String {
        let out = self.run(&["display-message", "-p", "-t", "e2e", "#{pane_pid}"]);
        let shell = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let children =
            std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children")).unwrap();
        children.split_whitespace().next().unwrap().to_owned()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// `stty -a` lists `icanon` and `echo` (not `-icanon`, `-echo`) in cooked mode.
fn assert_cooked(stty: &str) {
    let flags: Vec<&str> = stty.split_whitespace().collect();
    for f in ["icanon", "echo", "isig"] {
        assert!(
            flags.contains(&f),
            "terminal not restored ({f} missing):\n{stty}"
        );
    }
}

#[test]
fn demo_in_a_real_terminal() {
    let t = Tmux::start("demo");
    let s = t.wait_for("EKS sees");
    assert!(s.contains("arn:aws:iam::111122223333:role/AW"), "{s}");
    // Let the scenario finish streaming in: findings counted, no spinner.
    let s = t.wait_until("the scenario to settle", |s| {
        let tabs = s.lines().next().unwrap_or_default();
        tabs.contains("5 Findings 1")
            && !tabs.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c))
    });
    // The first screen, the overview at 80x24: the caller, every cluster
    // with its marks on its own row, the keys at 2/2, the error count.
    assert!(s.contains("Overview"), "{s}");
    assert!(s.contains("alice@example.com"), "{s}");
    let row = |name: &str| {
        s.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("{name} missing:\n{s}"))
            .to_owned()
    };
    assert!(row("legacy-batch").contains('✗'), "{s}");
    assert!(row("prod-eu").contains('✓'), "{s}");
    assert!(row("staging-us").contains('?'), "{s}");
    assert!(s.contains("2/2"), "{s}");
    assert!(s.contains("4 errors"), "{s}");
    assert_eq!(s.lines().count(), 24, "{s}");

    // Enter on the selected cluster opens its access path; Esc comes back.
    t.keys(&["Enter"]);
    t.wait_for("Access path");
    t.wait_for("aws-auth line 13");
    t.keys(&["Escape"]);
    t.wait_for("Caller");
    t.keys(&["2"]);
    t.wait_for("legacy-batch");
    t.keys(&["j"]);
    t.wait_for("access entry");
    t.keys(&["3"]);
    t.wait_for("2/2 keys");
    t.keys(&["4"]);
    t.wait_for("Regional URL");
    t.keys(&["5"]);
    t.wait_for("aws-auth/role-path");
    // `c` copies the selected fix through OSC 52; tmux (set-clipboard on)
    // turns that into a paste buffer, as a terminal would fill the clipboard.
    assert!(
        t.run(&["set-option", "-g", "set-clipboard", "on"])
            .status
            .success()
    );
    t.keys(&["c"]);
    t.wait_for("copied to the clipboard");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let out = t.run(&["show-buffer"]);
        let copied = String::from_utf8_lossy(&out.stdout).into_owned();
        if copied.contains("AWSReservedSSO_PlatformAdmin") {
            break;
        }
        assert!(Instant::now() < deadline, "nothing copied: {copied:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    t.keys(&["?"]);
    t.wait_for("OSC 52");
    t.keys(&["Escape"]);
    // Explain, live: the demo's canned answer to its waiting PassRole denial.
    t.keys(&["6"]);
    t.wait_for("DenyPassRoleOutsidePlatformPath");

    t.paste(
        "An error occurred (AccessDenied) when calling the CreateCluster operation: User: arn:aws:iam::123456789012:user/marymajor is not authorized to perform: iam:PassRole on resource: arn:aws:iam::123456789012:role/eks-cluster-role\naws_secret_access_key = Zq3v8XlTnP0e/Hk2Rm9wYbC4sJd7Ua1GfE6iLoNx",
    );
    let s = t.wait_for("keys/secret-in-input");
    assert!(s.contains("authz/pass-role"), "{s}");
    assert!(s.contains("marymajor"), "{s}");
    assert!(
        !s.contains("Zq3v8XlTnP0e"),
        "a pasted secret reached the screen:\n{s}"
    );

    t.keys(&["q"]);
    t.wait_for("EKSDOCTOR-EXITED");
    assert_eq!(t.exit_status(), "exit=0");
    assert_cooked(&t.stty());
}

#[test]
fn sigterm_restores_the_terminal() {
    let t = Tmux::start("term");
    t.wait_for("EKS sees");
    let pid = t.app_pid();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    t.wait_for("EKSDOCTOR-EXITED");
    assert_eq!(t.exit_status(), "exit=143");
    assert_cooked(&t.stty());
}

/// Ctrl-Z in a shell with job control: the main screen comes back with the
/// shell's "Stopped", `fg` brings the dashboard back, and quitting after
/// that still leaves a cooked terminal.
#[test]
fn ctrl_z_suspends_and_fg_resumes() {
    let t = Tmux::start_shell("suspend");
    t.keys(&[&format!("'{BIN}' --demo"), "Enter"]);
    t.wait_for("EKS sees");
    t.keys(&["C-z"]);
    let s = t.wait_for("Stopped");
    assert!(
        !s.contains("EKS matches"),
        "the dashboard stayed on screen:\n{s}"
    );
    t.keys(&["fg", "Enter"]);
    t.wait_for("EKS sees");
    t.keys(&["q"]);
    t.wait_for("EKSDOCTOR-PROMPT");
    t.keys(&[&format!("stty -a > '{}'", t.stty_path().display()), "Enter"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.stty().is_empty() {
        assert!(Instant::now() < deadline, "stty never ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_cooked(&t.stty());
}

/// No `--demo`: the live probes (against moto, with dummy keys) stream into
/// the same panels.
#[test]
fn live_dashboard_against_moto() {
    let world = common::World::new(&serde_json::json!({
        "users": [{"name": "alice", "keys": 2}],
        "clusters": [
            {"name": "old", "version": "1.21"},
            {"name": "new", "version": "1.29", "oidc_provider": true}
        ]
    }));
    let (id, secret) = world.user_key("alice", 0);
    let home = tempfile::tempdir().unwrap();
    let env = format!(
        "env -i PATH=\"$PATH\" TERM=xterm-256color HOME='{home}' AWS_CONFIG_FILE='{home}/config' \
         AWS_SHARED_CREDENTIALS_FILE='{home}/credentials' AWS_EC2_METADATA_DISABLED=true \
         AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY='{secret}'",
        home = home.path().display()
    );
    let args = format!(
        "--region {} --endpoint-url {}",
        common::REGION,
        world.endpoint()
    );
    let t = Tmux::start_with("live", &env, &args);
    let s = t.wait_for("user/alice");
    assert!(s.contains("long-term"), "{s}");
    assert!(!s.contains(&secret), "{s}");
    t.keys(&["2"]);
    t.wait_for("old");
    let s = t.wait_for("1.29");
    assert!(s.contains("new"), "{s}");
    t.keys(&["3"]);
    t.wait_for("2/2 keys");
    t.keys(&["5"]);
    t.wait_for("keys/limit-reached");
    // Explain, live: the offline answer, then the account's (alice's
    // policies read from moto) as the line under the box.
    t.paste(&format!(
        "User: arn:aws:iam::{account}:user/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:{region}:{account}:cluster/old",
        account = common::ACCOUNT,
        region = common::REGION
    ));
    let s = t.wait_for("live: implicit deny");
    assert!(s.contains("reads)"), "{s}");
    t.keys(&["q"]);
    t.wait_for("EKSDOCTOR-EXITED");
    assert_eq!(t.exit_status(), "exit=0");
    assert_cooked(&t.stty());
}

/// `--no-kubernetes`: the dashboard runs on the AWS probes alone.
#[test]
fn live_dashboard_without_kubernetes() {
    let world = common::World::new(&serde_json::json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [{"name": "new", "version": "1.29"}]
    }));
    let (id, secret) = world.user_key("alice", 0);
    let home = tempfile::tempdir().unwrap();
    let env = format!(
        "env -i PATH=\"$PATH\" TERM=xterm-256color HOME='{home}' AWS_CONFIG_FILE='{home}/config' \
         AWS_SHARED_CREDENTIALS_FILE='{home}/credentials' AWS_EC2_METADATA_DISABLED=true \
         AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY='{secret}'",
        home = home.path().display()
    );
    let args = format!(
        "--no-kubernetes --region {} --endpoint-url {}",
        common::REGION,
        world.endpoint()
    );
    let t = Tmux::start_with("nokube", &env, &args);
    t.wait_for("user/alice");
    t.keys(&["2"]);
    t.wait_for("1.29");
    t.paste(&format!(
        "User: arn:aws:iam::{account}:user/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:{region}:{account}:cluster/new",
        account = common::ACCOUNT,
        region = common::REGION
    ));
    t.wait_for("live: implicit deny");
    t.keys(&["q"]);
    t.wait_for("EKSDOCTOR-EXITED");
    assert_eq!(t.exit_status(), "exit=0");
}

/// The Explain box's live answer takes the dashboard's `--context`: alice
/// may describe clusters only from 10.0.0.0/8, and with
/// `--context aws:SourceIp=10.0.0.1` the account's policies allow it.
#[test]
fn live_explain_takes_the_dashboards_context() {
    let world = common::World::new(&serde_json::json!({
        "users": [{"name": "alice", "keys": 1}],
        "clusters": [{"name": "new", "version": "1.29"}]
    }));
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "eks:DescribeCluster", "Resource": "*",
        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]});
    let script = common::workspace().join("tests/fixtures/live/boto_calls.py");
    world.moto.python(
        &[script.as_os_str()],
        &serde_json::json!([{"service": "iam", "op": "put_user_policy", "args": {
            "UserName": "alice", "PolicyName": "from-the-office",
            "PolicyDocument": policy.to_string()}}]),
    );
    let (id, secret) = world.user_key("alice", 0);
    let home = tempfile::tempdir().unwrap();
    let env = format!(
        "env -i PATH=\"$PATH\" TERM=xterm-256color HOME='{home}' AWS_CONFIG_FILE='{home}/config' \
         AWS_SHARED_CREDENTIALS_FILE='{home}/credentials' AWS_EC2_METADATA_DISABLED=true \
         AWS_ACCESS_KEY_ID={id} AWS_SECRET_ACCESS_KEY='{secret}'",
        home = home.path().display()
    );
    let args = format!(
        "--no-kubernetes --context aws:SourceIp=10.0.0.1 --region {} --endpoint-url {}",
        common::REGION,
        world.endpoint()
    );
    let t = Tmux::start_with("context", &env, &args);
    t.wait_for("user/alice");
    t.paste(&format!(
        "User: arn:aws:iam::{account}:user/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:{region}:{account}:cluster/new",
        account = common::ACCOUNT,
        region = common::REGION
    ));
    let s = t.wait_for("live: allow");
    assert!(s.contains("from-the-office"), "{s}");
    t.keys(&["q"]);
    t.wait_for("EKSDOCTOR-EXITED");
    assert_eq!(t.exit_status(), "exit=0");
}

#[test]
fn without_a_terminal_it_says_so() {
    let out = Command::new(BIN).arg("--demo").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs a terminal"), "{err}");
}
