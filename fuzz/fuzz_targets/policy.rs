#![no_main]
//! Policy parsing and evaluation: never panics, whatever the document, the
//! context assignment or the caller text.

use eksdoctor_core::policy::{self, Caller, Context, Policy, PolicyKind, PolicySet, Request, explain};
use libfuzzer_sys::fuzz_target;

const KINDS: [PolicyKind; 4] = [
    PolicyKind::Identity,
    PolicyKind::ResourceBased,
    PolicyKind::Trust,
    PolicyKind::ServiceControl,
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Caller::parse(s, false);
    let mut ctx = Context::new();
    let _ = ctx.add_assignment(s);
    for (i, line) in s.lines().take(4).enumerate() {
        let _ = ctx.add_assignment(line);
        if i == 0 {
            ctx.insert("aws:username", line);
        }
    }
    ctx.insert("aws:SourceIp", "10.0.0.1");
    ctx.insert("aws:TagKeys", "env");
    let kind = KINDS[data.first().map_or(0, |b| usize::from(*b) % KINDS.len())];
    if let Ok(p) = Policy::parse("fuzz.json", kind, s) {
        let set = PolicySet::new().with(p);
        let caller = Caller::parse("arn:aws:sts::111122223333:assumed-role/r/s", false).ok();
        for (action, resource) in [
            ("s3:GetObject", "arn:aws:s3:::b/k"),
            ("sts:AssumeRole", "arn:aws:iam::111122223333:role/r"),
            ("eks:DescribeCluster", "*"),
        ] {
            let req = Request::new(action, resource, caller.clone(), ctx.clone());
            let ev = policy::evaluate(&set, &req);
            let _ = explain::reasons(&set, &req, &ev);
            let _ = explain::to_json(&set, &ev, &[]);
        }
    }
});
