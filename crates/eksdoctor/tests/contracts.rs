//! The contracts scripts rely on (issue 18), across every command: exit
//! status 2 for unreadable input and 3 when the identity probe cannot run,
//! `--format json` always JSON on stdout, `--format sarif` refused up front
//! where a command has none, bounded readers, gzip everywhere, help that
//! shows the AWS flags only where they apply, text wrapped to the width.
//!
//! The live cases here need no moto: a small HTTP stub on 127.0.0.1 answers
//! 500 with an empty body, or accepts and never answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use assert_cmd::cargo::CommandCargoExt as _;
use serde_json::Value;

fn fixture(rel: &str) -> String {
    format!("{}/../../tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("eksdoctor").unwrap();
    c.env("NO_COLOR", "1")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("COLUMNS");
    c
}

fn run(args: &[&str]) -> std::process::Output {
    bin().args(args).output().unwrap()
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON value ({e}):\n{}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Every command that reads files, with `{}` where the file goes.
const READERS: &[&[&str]] = &[
    &["explain", "--input", "{}"],
    &["lint", "aws-auth", "{}"],
    &["lint", "sts", "{}"],
    &[
        "lint",
        "irsa",
        "--role-trust",
        "{}",
        "--service-account",
        "a/b",
        "--issuer",
        "https://oidc.eks.us-west-2.amazonaws.com/id/X",
    ],
    &[
        "lint",
        "irsa",
        "{}",
        "--issuer",
        "https://oidc.eks.us-west-2.amazonaws.com/id/X",
    ],
    &["keys", "--input", "{}"],
    &[
        "policy",
        "eval",
        "--policy",
        "{}",
        "--action",
        "s3:GetObject",
    ],
];

fn with_file(args: &[&str], file: &str) -> Vec<String> {
    args.iter()
        .map(|a| {
            if *a == "{}" {
                file.to_owned()
            } else {
                (*a).to_owned()
            }
        })
        .collect()
}

#[test]
fn unreadable_input_is_exit_2_for_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let cases = [
        ("junk.bin", junk),
        (
            "corrupt.gz",
            b"\x1f\x8b\x08\x00not deflate at all, from byte 0".to_vec(),
        ),
        (
            "utf16.yaml",
            "apiVersion: v1\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect(),
        ),
    ];
    for (name, bytes) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        for args in READERS {
            let args = with_file(args, path.to_str().unwrap());
            let out = bin().args(&args).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(name), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{args:?}: {err}");
        }
    }
}

#[test]
fn dev_zero_ends_at_once_with_exit_2() {
    for args in READERS {
        let args = with_file(args, "/dev/zero");
        let started = Instant::now();
        let out = bin()
            .args(&args)
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?}");
    }
}

/// The peak resident memory of a running process, sampled, in KiB.
fn vm_hwm(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// An endless text stream on stdin (valid YAML lines, so no binary check
/// stops it): every bounded reader stops at its limit with exit 2, quickly,
/// with memory near the limit (32 MiB), not growing with the stream.
#[test]
fn an_endless_pipe_is_refused_with_bounded_memory() {
    let commands: &[&[&str]] = &[
        &["lint", "aws-auth", "-"],
        &["lint", "sts", "-"],
        &["keys", "--input", "-"],
        &[
            "policy",
            "eval",
            "--policy",
            "-",
            "--action",
            "s3:GetObject",
        ],
    ];
    for args in commands {
        let mut child = StdCommand::cargo_bin("eksdoctor")
            .unwrap()
            .args(*args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut stdin = child.stdin.take().unwrap();
        let writer = std::thread::spawn(move || {
            let line = b"key: value value value value value value value value\n".repeat(1024);
            while stdin.write_all(&line).is_ok() {}
        });
        let started = Instant::now();
        let mut peak = 0;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            peak = peak.max(vm_hwm(pid).unwrap_or(0));
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "{args:?} still reading"
            );
            std::thread::sleep(Duration::from_millis(5));
        };
        writer.join().unwrap();
        let mut err = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("32 MiB"), "{args:?}: {err}");
        assert!(peak < 200 * 1024, "{args:?}: peak {peak} KiB");
    }
}

#[test]
fn gzip_is_read_by_every_reader() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["lint", "aws-auth", "{}"], "aws-auth/role-path.yaml"),
        (&["lint", "sts", "{}"], "sts/workloads.yaml"),
        (
            &["keys", "--now", "2026-11-29T00:00:00Z", "--input", "{}"],
            "examples/list-access-keys.json",
        ),
        (
            &[
                "policy",
                "eval",
                "--policy",
                "{}",
                "--action",
                "eks:DescribeCluster",
            ],
            "policy/eks-read.json",
        ),
    ];
    for (args, rel) in cases {
        let src = fixture(rel);
        if !std::path::Path::new(&src).exists() {
            panic!("fixture {rel} missing");
        }
        // Any file name: gzip is recognised by its magic bytes.
        let packed = dir.path().join(format!("{}.data", rel.replace('/', "_")));
        std::fs::write(&packed, gz(&std::fs::read(&src).unwrap())).unwrap();
        let mut a_args = vec!["--format".to_owned(), "json".to_owned()];
        a_args.extend(with_file(args, &src));
        let a = bin().args(&a_args).output().unwrap();
        let mut b_args = vec!["--format".to_owned(), "json".to_owned()];
        b_args.extend(with_file(args, packed.to_str().unwrap()));
        let b = bin().args(&b_args).output().unwrap();
        assert_eq!(
            a.status.code(),
            b.status.code(),
            "{rel}: {}",
            String::from_utf8_lossy(&b.stderr)
        );
        let (va, vb) = (stdout_json(&a), stdout_json(&b));
        assert_eq!(
            va["findings"].as_array().map(Vec::len),
            vb["findings"].as_array().map(Vec::len),
            "{rel}"
        );
    }
}

#[test]
fn format_json_is_always_json_on_stdout() {
    let role_path = fixture("aws-auth/role-path.yaml");
    let cases: Vec<Vec<&str>> = vec![
        vec!["rules"],
        vec!["rules", "aws-auth/role-path"],
        vec!["rules", "no/such-rule"],
        vec!["keys", "--input", "/no/such/file"],
        vec!["lint", "sts", "/no/such/file"],
        vec!["whoami", "--no-such-flag"],
        vec!["lint", "aws-auth", &role_path, "--fix"],
    ];
    for args in cases {
        let mut all = vec!["--format", "json"];
        all.extend(&args);
        let out = run(&all);
        let v = stdout_json(&out);
        match out.status.code() {
            Some(2) => {
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{args:?}: {v}"
                );
                assert_eq!(v["error"]["exit_code"], 2);
            }
            _ => assert!(v.is_object() || v.is_array(), "{args:?}"),
        }
    }
    let out = run(&["--format", "json", "rules", "aws-auth/role-path"]);
    let v = stdout_json(&out);
    assert_eq!(v["id"], "aws-auth/role-path");
    assert!(
        v["page"]
            .as_str()
            .unwrap()
            .starts_with("# aws-auth/role-path")
    );
    // --fix with json: one report, the corrected YAML as a member.
    let out = run(&["--format", "json", "lint", "aws-auth", &role_path, "--fix"]);
    let v = stdout_json(&out);
    assert!(
        v["fix"]["yaml"].as_str().unwrap().contains("mapRoles"),
        "{v}"
    );
    assert!(v["summary"].is_object());
}

#[test]
fn sarif_is_refused_before_any_work_where_there_is_none() {
    // /dev/zero would be an input error: the format is refused before reading.
    for args in [
        vec!["keys", "--input", "/dev/zero"],
        vec!["explain", "--input", "/dev/zero"],
        vec![
            "policy",
            "eval",
            "--policy",
            "/dev/zero",
            "--action",
            "s3:GetObject",
        ],
        vec!["rules"],
        vec!["whoami"],
        vec!["check"],
    ] {
        let mut all = vec!["--format", "sarif"];
        all.extend(&args);
        let out = run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(err.contains("--format sarif"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn sarif_has_file_uris() {
    let out = run(&[
        "--format",
        "sarif",
        "lint",
        "sts",
        &fixture("sts/workloads.yaml"),
        "--cluster-version",
        "1.29",
    ]);
    let v = stdout_json(&out);
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for r in results {
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            uri.starts_with("file:///") && uri.ends_with("workloads.yaml"),
            "{uri}"
        );
    }
    if let Some(info) = v["runs"][0]["tool"]["driver"]["informationUri"].as_str() {
        assert!(!info.contains(".invalid"), "{info}");
    }
}

#[test]
fn aws_flags_only_in_the_help_of_commands_that_use_them() {
    let help = |args: &[&str]| {
        let out = run(args);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    for args in [
        &["rules", "--help"][..],
        &["policy", "eval", "--help"],
        &["lint", "aws-auth", "--help"],
    ] {
        let h = help(args);
        for flag in ["--profile", "--endpoint-url"] {
            assert!(!h.contains(flag), "{args:?} shows {flag}:\n{h}");
        }
    }
    for args in [
        &["whoami", "--help"][..],
        // explain --live reads the account's policies.
        &["explain", "--help"],
        &["check", "--help"],
        &["keys", "--help"],
        &["--help"],
    ] {
        let h = help(args);
        for flag in ["--profile", "--region", "--endpoint-url"] {
            assert!(h.contains(flag), "{args:?} lacks {flag}:\n{h}");
        }
    }
    assert!(help(&["lint", "sts", "--help"]).contains("--region"));
    // Both places still work.
    let out = run(&[
        "--region",
        "eu-west-1",
        "lint",
        "sts",
        &fixture("sts/workloads.yaml"),
    ]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&[
        "lint",
        "sts",
        &fixture("sts/workloads.yaml"),
        "--region",
        "eu-west-1",
    ]);
    assert_ne!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn text_wraps_to_the_width() {
    let err = "An error occurred (AccessDeniedException) when calling the DescribeCluster operation: User: arn:aws:iam::111122223333:user/alice is not authorized to perform: eks:DescribeCluster on resource: arn:aws:eks:us-west-2:111122223333:cluster/prod because no identity-based policy allows the eks:DescribeCluster action";
    for width in [80usize, 120] {
        let out = bin()
            .env("COLUMNS", width.to_string())
            .args(["explain", err])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut in_policy = false;
        for line in text.lines() {
            let t = line.trim_start();
            if t == "{" {
                in_policy = true;
            }
            // Commands and policies are pasted as they are; words longer than the width stay whole.
            let pasted = in_policy || t.starts_with('$') || !t.contains(' ');
            if !pasted {
                let long_word = t.split(' ').any(|w| w.len() > width / 2);
                assert!(
                    line.chars().count() <= width || long_word,
                    "{width}: {line:?}"
                );
            }
            if t == "}" && line.starts_with("    }") {
                in_policy = false;
            }
        }
    }
}

/// A stub endpoint on 127.0.0.1: `hang` accepts and never answers, else
/// every request gets `500` with an empty body.
fn stub(hang: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            if hang {
                held.push(conn);
                continue;
            }
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = conn.read(&mut buf);
                let _ = conn.write_all(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
                );
            });
        }
    });
    format!("http://{addr}")
}

fn live(home: &std::path::Path, endpoint: &str) -> Command {
    let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7TESTKEY")
        .env("AWS_SECRET_ACCESS_KEY", "not-a-real-secret")
        .env("AWS_MAX_ATTEMPTS", "1")
        .env("NO_COLOR", "1")
        .args(["--region", "us-west-2", "--endpoint-url", endpoint]);
    cmd
}

#[test]
fn identity_probe_http_error_is_exit_3_and_says_why() {
    let endpoint = stub(false);
    let home = tempfile::tempdir().unwrap();
    for args in [&["whoami"][..], &["check", "--timeout", "10"], &["keys"]] {
        let out = live(home.path(), &endpoint).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(err.contains("HTTP 500"), "{args:?}: {err}");
        assert!(
            !err.contains("failed: \n") && !err.trim_end().ends_with(':'),
            "{err}"
        );
        // JSON: still one object on stdout.
        let out = live(home.path(), &endpoint)
            .args(["--format", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        let v = stdout_json(&out);
        assert!(v.is_object(), "{args:?}");
    }
}

#[test]
fn identity_probe_timeout_is_exit_3() {
    let endpoint = stub(true);
    let home = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let out = live(home.path(), &endpoint)
        .args(["check", "--timeout", "2"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(40));
}

#[test]
fn no_credentials_lists_only_the_providers_tried() {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::cargo_bin("eksdoctor").unwrap();
    for (k, _) in std::env::vars() {
        if k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    let out = cmd
        .env("HOME", home.path())
        .env("AWS_CONFIG_FILE", home.path().join("config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            home.path().join("credentials"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--format", "json", "whoami", "--region", "us-west-2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let v = stdout_json(&out);
    let f = &v["findings"][0];
    assert_eq!(f["rule"], "creds/none");
    let tried = f["evidence"]["tried"].to_string();
    assert!(!tried.contains("metadata"), "{tried}");
    assert!(
        f["evidence"]["skipped"]
            .to_string()
            .contains("AWS_EC2_METADATA_DISABLED")
    );
    let detail = f["detail"].as_str().unwrap();
    let said_tried = detail.split("Not tried").next().unwrap();
    assert!(!said_tried.contains("metadata"), "{detail}");
}
