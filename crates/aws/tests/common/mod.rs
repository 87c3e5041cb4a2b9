//! The live-test harness: a moto server per test (own port), seeded with
//! boto3 from the moto venv (`tests/fixtures/live/seed.py`), behind the
//! fault-injecting proxy (`proxy.rs`). Real aws-sdk-rust clients talk to it
//! with `--endpoint-url` and dummy credentials; nothing here reaches AWS.
//!
//! moto_server comes from `EKSDOCTOR_MOTO_SERVER` (set by `cargo xtask ci`),
//! else `<workspace>/.venv-moto/bin/moto_server`. If it is absent the tests
//! fail with a message saying how to install it: CI must run them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod proxy;

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[allow(unused_imports)]
pub use proxy::{Faults, Proxy, StubEntry};

pub const ACCOUNT: &str = "123456789012";
pub const REGION: &str = "us-west-2";

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

pub fn moto_server_path() -> PathBuf {
    let p = std::env::var_os("EKSDOCTOR_MOTO_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv-moto/bin/moto_server"));
    assert!(
        p.exists(),
        "moto_server not found at {}: run `cargo xtask setup` (creates .venv-moto with \
         moto[server]) or set EKSDOCTOR_MOTO_SERVER",
        p.display()
    );
    p
}

/// A moto_server process on its own port; killed on drop.
pub struct Moto {
    child: Child,
    pub addr: SocketAddr,
}

impl Moto {
    pub fn start() -> Self {
        let server = moto_server_path();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            // Auth stays off while seeding; seed.py switches it on when asked.
            .env("INITIAL_NO_AUTH_ACTION_COUNT", "1000000")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let moto = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not start on {addr}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        moto
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Seed with boto3 (the venv's python); returns seed.py's JSON answer.
    pub fn seed(&self, spec: &serde_json::Value) -> serde_json::Value {
        let script = workspace().join("tests/fixtures/live/seed.py");
        self.python(&[script.as_os_str()], spec)
    }

    /// Run the venv's python with `args` then this server's URL, `input`
    /// as JSON on stdin; returns its JSON answer (boto3 seeding and checks).
    #[allow(dead_code)] // not every test binary that shares this harness runs python
    pub fn python(
        &self,
        args: &[&std::ffi::OsStr],
        input: &serde_json::Value,
    ) -> serde_json::Value {
        let python = moto_server_path().with_file_name("python");
        let mut child = Command::new(python)
            .args(args)
            .arg(self.url())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.to_string().as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "python {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// moto plus the proxy in front of it.
pub struct World {
    pub moto: Moto,
    pub proxy: Proxy,
    pub seeded: serde_json::Value,
}

impl World {
    pub fn new(spec: &serde_json::Value) -> Self {
        let moto = Moto::start();
        let seeded = moto.seed(spec);
        let proxy = Proxy::start(moto.addr, Faults::default());
        Self {
            moto,
            proxy,
            seeded,
        }
    }

    pub fn endpoint(&self) -> String {
        self.proxy.url()
    }

    pub fn faults(&self) -> std::sync::MutexGuard<'_, Faults> {
        self.proxy.faults.lock().unwrap()
    }

    /// (id, secret) of a seeded user's n-th key.
    pub fn user_key(&self, user: &str, n: usize) -> (String, String) {
        let k = &self.seeded["users"][user]["keys"][n];
        (
            k["id"].as_str().unwrap().to_owned(),
            k["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// (id, secret, token) of a seeded role session.
    pub fn role_creds(&self, role: &str) -> (String, String, String) {
        let c = &self.seeded["roles"][role]["creds"];
        (
            c["id"].as_str().unwrap().to_owned(),
            c["secret"].as_str().unwrap().to_owned(),
            c["token"].as_str().unwrap().to_owned(),
        )
    }
}

/// A port where something accepts connections and never answers.
pub struct HungEndpoint {
    pub addr: SocketAddr,
}

impl HungEndpoint {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for c in listener.incoming().flatten() {
                held.push(c);
            }
        });
        Self { addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
