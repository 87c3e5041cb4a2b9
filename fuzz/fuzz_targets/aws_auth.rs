#![no_main]
//! The aws-auth ConfigMap reader, rules, mapper and fixer: never panic on any
//! input, the fixer never turns a ConfigMap into something that is not, and
//! every principal whose mapping the fix changes is named in its summary.
//! The first byte chooses: the whole file, or the `mapRoles` block only.

use eksdoctor_core::access::{self, Caller};
use eksdoctor_core::awsauth::{self, MigrateOptions, Read, effective, fixer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(s) = std::str::from_utf8(rest) else {
        return;
    };
    let text = if mode % 2 == 0 {
        s.to_owned()
    } else {
        let body: String = s.lines().map(|l| format!("    {l}\n")).collect();
        format!("kind: ConfigMap\nmetadata:\n  name: aws-auth\ndata:\n  mapRoles: |\n{body}")
    };
    let opts = MigrateOptions::default();
    let Ok(lint) = awsauth::lint(&text, "f", &opts) else {
        return;
    };
    if let Some(auth) = lint.configmaps.first()
        && let Ok(c) = Caller::from_arn("arn:aws:sts::111122223333:assumed-role/dev/i-0123456789abcdef0")
    {
        let _ = access::resolve(&c, None, Some(auth), Some(&[]));
    }
    if !lint.configmaps.is_empty() {
        let fixed = fixer::fix(&text, "f", &opts);
        assert!(awsauth::lint(&fixed.text, "f", &opts).is_ok());
        if let (Ok(Read::ConfigMaps(a)), Ok(Read::ConfigMaps(b))) =
            (awsauth::read(&text, "f"), awsauth::read(&fixed.text, "f"))
        {
            for (x, y) in a.iter().zip(&b) {
                let mut who = effective::principals(x);
                who.extend(effective::principals(y));
                for arn in who.values() {
                    if effective::answer(x, arn).effective != effective::answer(y, arn).effective {
                        assert!(fixed.changes.iter().any(|c| &c.principal == arn), "{arn}");
                    }
                }
            }
        }
    }
});
