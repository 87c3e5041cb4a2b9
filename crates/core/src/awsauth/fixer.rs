//! `lint aws-auth --fix`: the corrected ConfigMap.
//!
//! The text is edited surgically where the reader knows the spans (an ARN,
//! a key, a group list, an entry's lines); everything else — comments,
//! metadata, entry order, quoting of untouched values — is kept byte for
//! byte. Edits inside a data value are made on the value's own text and
//! written back: a `|` block keeps its lines and indentation; a quoted or
//! plain string becomes a `|` block (the only form that can carry the
//! corrected YAML legibly). Fixing runs in rounds (a fix such as adding the
//! missing `|` exposes the entries to the next round) until nothing changes.
//!
//! Fixed: role-path, assumed-role-arn, wrong-section (the entry moves),
//! duplicate (the entry that does not win is removed), malformed-entry (the
//! missing `|`, a group that swallowed a dash, groups written as a string),
//! unknown-key (wrong case or a near miss, when the right key is free),
//! node-role-groups (the missing groups added). Not fixed (they need a
//! decision): invalid-arn, system-masters, reserved-username, invalid-yaml.

use std::collections::BTreeMap;

use super::arns::{MappedArn, classify, path_free_role_arn};
use super::effective;
use super::reader::{AwsAuth, DataValue, Groups, MapEntry, Read, Section, ValueForm, read};
use super::rules::{FARGATE_USERNAME, NODE_USERNAME, swallowed_dash};
use super::yaml::{Lines, Pos};
use super::{MigrateOptions, lint};
use crate::arn::PrincipalKind;

/// The corrected text and what was fixed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    pub text: String,
    /// `rule ×n` for every rule with fewer findings after the fix.
    pub fixed: Vec<String>,
    /// How many findings fewer.
    pub count: usize,
    /// Every principal whose mapping differs after the fix.
    pub changes: Vec<Change>,
    /// Fixes not made because they would change who has access: why (lines
    /// of the corrected text).
    pub refused: Vec<String>,
}

/// One principal whose mapping the fix changes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Change {
    pub principal: String,
    pub before: String,
    pub after: String,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.principal, self.before, self.after)
    }
}

/// What one group of edits touches: one entry (value index, entry index) or
/// one data value (its key or its missing `|`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Unit {
    Entry(usize, usize),
    Value(usize),
}

/// Which units' edits to make, and which units turned out to have any.
struct Sel<'a> {
    allow: &'a dyn Fn(Unit) -> bool,
    seen: std::cell::RefCell<std::collections::BTreeSet<Unit>>,
}

impl<'a> Sel<'a> {
    fn new(allow: &'a dyn Fn(Unit) -> bool) -> Self {
        Self {
            allow,
            seen: std::cell::RefCell::default(),
        }
    }

    fn ok(&self, u: Unit) -> bool {
        (self.allow)(u)
    }

    fn saw(&self, u: Unit) {
        self.seen.borrow_mut().insert(u);
    }
}

/// The units that have edits, in one pass.
fn units_with_edits(text: &str, auth: &AwsAuth) -> Vec<Unit> {
    let all = |_: Unit| true;
    let sel = Sel::new(&all);
    let _ = edits_for(text, auth, &sel);
    sel.seen.into_inner().into_iter().collect()
}

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| (e.start, e.end));
    let mut kept: Vec<Edit> = Vec::new();
    for e in edits {
        if e.start > e.end
            || e.end > text.len()
            || !text.is_char_boundary(e.start)
            || !text.is_char_boundary(e.end)
        {
            continue;
        }
        if kept.last().is_some_and(|k| e.start < k.end) {
            continue;
        }
        kept.push(e);
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for e in &kept {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

const ROUNDS: usize = 8;

fn read_maps(text: &str, file: &str) -> Option<Vec<AwsAuth>> {
    match read(text, file) {
        Ok(Read::ConfigMaps(m)) => Some(m),
        _ => None,
    }
}

fn unit_line(auth: &AwsAuth, u: Unit) -> usize {
    match u {
        Unit::Entry(vi, ei) => auth
            .values
            .get(vi)
            .and_then(|v| v.entries.get(ei))
            .map_or(auth.data_line, |e| {
                e.arn.as_ref().map_or(e.line, |a| a.line)
            }),
        Unit::Value(vi) => auth.values.get(vi).map_or(auth.data_line, |v| v.key_line),
    }
}

fn unit_what(auth: &AwsAuth, u: Unit) -> String {
    match u {
        Unit::Entry(vi, ei) => {
            let e = auth.values.get(vi).and_then(|v| v.entries.get(ei));
            match e.and_then(|e| e.arn.as_ref().or(e.foreign_arn.as_ref())) {
                Some(a) => format!("the fix of the entry on line {} ({})", a.line, a.value),
                None => format!("the fix of the entry on line {}", unit_line(auth, u)),
            }
        }
        Unit::Value(vi) => format!(
            "the fix of data key {} on line {}",
            auth.values.get(vi).map_or("", |v| v.key.as_str()),
            unit_line(auth, u)
        ),
    }
}

/// Whether the entry of `u` is the one in effect for a principal (`entry`: the
/// section and index of the entry in effect, from the lookup).
fn own_entry(auth: &AwsAuth, u: Unit, entry: Option<(Section, usize)>) -> bool {
    let Unit::Entry(vi, ei) = u else {
        return false;
    };
    let Some(v) = auth.values.get(vi) else {
        return false;
    };
    entry.is_some_and(|(s, i)| {
        i == ei && v.is_effective(s) && auth.effective(s).is_some_and(|e| std::ptr::eq(e, v))
    })
}

/// What a repair of a principal's own entry may change: its groups (a list
/// written as a string, a swallowed dash, the node groups), and a username
/// that was missing. It stays mapped, under the same name.
fn own_repair(before: &effective::Effective, after: &effective::Effective) -> bool {
    match (before, after) {
        (
            effective::Effective::Entry { username: u0, .. },
            effective::Effective::Entry { username: u1, .. },
        ) => u0 == u1 || u0.is_empty(),
        _ => false,
    }
}

/// Judge one unit's edits: the principals it newly maps, or why it must not be made.
fn judge(base: &AwsAuth, after: &AwsAuth, u: Unit, full: bool) -> Result<Vec<String>, String> {
    // An entry's own edits can only change the principals its ARNs name (the
    // ARN as written, with its path removed, under another key); the round
    // checks everything once more after combining the units.
    let who = match touched(base, u) {
        Some(t) if !full => t,
        _ => {
            let mut who = effective::principals(base);
            who.extend(effective::principals(after));
            who
        }
    };
    let mut newly = Vec::new();
    for (key, arn) in &who {
        let a0 = effective::answer(base, arn);
        if let Some(why) = second_mapping(base, u, key, arn, &a0) {
            return Err(why);
        }
        let a1 = effective::answer(after, arn);
        if a0.effective == a1.effective {
            continue;
        }
        if matches!(
            a0.effective,
            effective::Effective::Entry { .. } | effective::Effective::Refused
        ) {
            if own_entry(base, u, a0.entry) && own_repair(&a0.effective, &a1.effective) {
                continue;
            }
            return Err(format!(
                "not fixed: {} would change what {arn} maps to, today {} (line {}), to {}; decide by hand which mapping {arn} should have",
                unit_what(base, u),
                a0.effective.describe(),
                a0.line.unwrap_or(0),
                a1.effective.describe(),
            ));
        }
        newly.push(key.clone());
    }
    Ok(newly)
}

/// A fix that would make an entry a second mapping of a principal that
/// another entry maps today (stripping a path, mapping the role of an sts
/// ARN, renaming a key, moving an entry the authenticator drops): refused
/// whether the new entry would win or lose, since one of the two mappings
/// must be chosen by hand. Plain duplicates (the same ARN twice) are not
/// this: the losing one is removed.
fn second_mapping(
    base: &AwsAuth,
    u: Unit,
    key: &str,
    arn: &str,
    a0: &effective::Answer,
) -> Option<String> {
    let Unit::Entry(vi, ei) = u else {
        return None;
    };
    let e = base.values.get(vi)?.entries.get(ei)?;
    if !matches!(
        a0.effective,
        effective::Effective::Entry { .. } | effective::Effective::Refused
    ) || own_entry(base, u, a0.entry)
    {
        return None;
    }
    let live_match = !e.ignored()
        && base.values[vi].is_effective(e.section)
        && e.arn
            .as_ref()
            .is_some_and(|a| a.value.to_lowercase() == key);
    if live_match {
        return None;
    }
    let meant = [&e.arn, &e.foreign_arn]
        .into_iter()
        .flatten()
        .chain(e.unknown_keys.iter())
        .any(|f| effective::caller_arn_for(&f.value).is_some_and(|c| c.to_lowercase() == key));
    meant.then(|| {
        format!(
            "not fixed: {} would make it a second mapping of {arn}, which line {} maps today ({}); decide by hand which mapping {arn} should have and remove the other",
            unit_what(base, u),
            a0.line.unwrap_or(0),
            a0.effective.describe(),
        )
    })
}

/// The principals an entry unit can affect: the callers its ARNs are meant for.
fn touched(auth: &AwsAuth, u: Unit) -> Option<BTreeMap<String, String>> {
    let Unit::Entry(vi, ei) = u else {
        return None;
    };
    let e = auth.values.get(vi)?.entries.get(ei)?;
    let mut out = BTreeMap::new();
    for f in [&e.arn, &e.foreign_arn]
        .into_iter()
        .flatten()
        .chain(e.unknown_keys.iter())
    {
        if let Some(c) = effective::caller_arn_for(&f.value) {
            out.insert(c.to_lowercase(), c);
        }
    }
    Some(out)
}

/// Fix what can be fixed without a decision, never changing a principal's
/// mapping except to repair that principal's own entry or to map a
/// principal that maps nobody today; every such change is listed.
#[must_use]
pub fn fix(text: &str, file: &str, opts: &MigrateOptions) -> Fixed {
    let before = counts(text, file, opts);
    let mut current = text.to_owned();
    for _ in 0..ROUNDS {
        let Some(maps) = read_maps(&current, file) else {
            break;
        };
        let Some(next) = round(&current, file, &maps, &mut Vec::new()) else {
            break;
        };
        if next == current {
            break;
        }
        current = next;
    }
    // What is left undone, with the lines of the text handed back.
    let mut refused: Vec<String> = Vec::new();
    if let Some(maps) = read_maps(&current, file) {
        let _ = round(&current, file, &maps, &mut refused);
    }
    let after = counts(&current, file, opts);
    let mut fixed = Vec::new();
    let mut count = 0;
    for (rule, n) in &before {
        let m = after.get(rule).copied().unwrap_or(0);
        if *n > m && *rule != "aws-auth/migrate" {
            fixed.push(format!("{rule} ×{}", n - m));
            count += n - m;
        }
    }
    let changes = match (read_maps(text, file), read_maps(&current, file)) {
        (Some(a), Some(b)) => diff(&a, &b),
        _ => Vec::new(),
    };
    Fixed {
        text: current,
        fixed,
        count,
        changes,
        refused,
    }
}

/// Every principal whose answer differs between two readings of a file.
fn diff(before: &[AwsAuth], after: &[AwsAuth]) -> Vec<Change> {
    let mut out = Vec::new();
    for (a, b) in before.iter().zip(after) {
        let mut who = effective::principals(a);
        who.extend(effective::principals(b));
        for arn in who.values() {
            let x = effective::answer(a, arn).effective;
            let y = effective::answer(b, arn).effective;
            if x != y {
                out.push(Change {
                    principal: arn.clone(),
                    before: x.describe(),
                    after: y.describe(),
                });
            }
        }
    }
    out
}

/// One round: every unit whose edits are safe on their own and together.
fn round(current: &str, file: &str, maps: &[AwsAuth], refused: &mut Vec<String>) -> Option<String> {
    match fast_round(current, file, maps, refused) {
        Some(done) => done,
        None => slow_round(current, file, maps, refused),
    }
}

fn push_once(refused: &mut Vec<String>, why: String) {
    if !refused.contains(&why) {
        refused.push(why);
    }
}

/// All entry fixes applied together and checked once, the units to blame
/// found by the principals they name; `None` when that cannot be decided
/// (a data key is fixed too, or a change nobody names), for [`slow_round`].
fn fast_round(
    current: &str,
    file: &str,
    maps: &[AwsAuth],
    refused: &mut Vec<String>,
) -> Option<Option<String>> {
    let mut batch: Vec<(usize, Unit)> = Vec::new();
    let mut touched_by: BTreeMap<(usize, Unit), BTreeMap<String, String>> = BTreeMap::new();
    for (mi, m) in maps.iter().enumerate() {
        for u in units_with_edits(current, m) {
            if matches!(u, Unit::Value(_)) {
                return None;
            }
            {
                let t = touched(m, u).unwrap_or_default();
                let second = t
                    .iter()
                    .find_map(|(k, arn)| second_mapping(m, u, k, arn, &effective::answer(m, arn)));
                if let Some(why) = second {
                    push_once(refused, why);
                    continue;
                }
                touched_by.insert((mi, u), t);
                batch.push((mi, u));
            }
        }
    }
    let combined = |units: &[(usize, Unit)]| -> String {
        let mut edits = Vec::new();
        for (mi, m) in maps.iter().enumerate() {
            edits.extend(edits_for(
                current,
                m,
                &Sel::new(&|x| units.contains(&(mi, x))),
            ));
        }
        apply(current, edits)
    };
    for _ in 0..4 {
        if batch.is_empty() {
            return Some(None);
        }
        let next = combined(&batch);
        let after = read_maps(&next, file)?;
        if after.len() != maps.len() {
            return None;
        }
        let mut bad: Vec<((usize, Unit), String)> = Vec::new();
        for (mi, (a, b)) in maps.iter().zip(&after).enumerate() {
            let mut who = effective::principals(a);
            who.extend(effective::principals(b));
            for (key, arn) in &who {
                let a0 = effective::answer(a, arn);
                let a1 = effective::answer(b, arn);
                if a0.effective == a1.effective {
                    continue;
                }
                let owners: Vec<(usize, Unit)> = batch
                    .iter()
                    .filter(|bu| {
                        bu.0 == mi && touched_by.get(bu).is_some_and(|t| t.contains_key(key))
                    })
                    .copied()
                    .collect();
                if owners.is_empty() {
                    return None;
                }
                let mapped = matches!(
                    a0.effective,
                    effective::Effective::Entry { .. } | effective::Effective::Refused
                );
                if mapped {
                    if owners.len() == 1
                        && own_entry(a, owners[0].1, a0.entry)
                        && own_repair(&a0.effective, &a1.effective)
                    {
                        continue;
                    }
                    for o in owners {
                        bad.push((o, format!(
                            "not fixed: {} would change what {arn} maps to, today {} (line {}), to {}; decide by hand which mapping {arn} should have",
                            unit_what(a, o.1),
                            a0.effective.describe(),
                            a0.line.unwrap_or(0),
                            a1.effective.describe(),
                        )));
                    }
                } else if owners.len() > 1 {
                    let lines: Vec<String> = owners
                        .iter()
                        .map(|o| unit_line(a, o.1).to_string())
                        .collect();
                    let why = format!(
                        "not fixed: the fixes on lines {} would each map {arn}, differently; keep one of those entries and fix it by hand",
                        lines.join(" and ")
                    );
                    for o in owners {
                        bad.push((o, why.clone()));
                    }
                }
            }
        }
        if bad.is_empty() {
            return Some(Some(next));
        }
        for (o, why) in bad {
            batch.retain(|b| *b != o);
            push_once(refused, why);
        }
    }
    None
}

/// Every unit tried on its own, then the safe ones together.
fn slow_round(
    current: &str,
    file: &str,
    maps: &[AwsAuth],
    refused: &mut Vec<String>,
) -> Option<String> {
    let mut safe: Vec<(usize, Unit)> = Vec::new();
    let mut claims: BTreeMap<(usize, String), Vec<Unit>> = BTreeMap::new();
    for (mi, m) in maps.iter().enumerate() {
        for u in units_with_edits(current, m) {
            let edits = edits_for(current, m, &Sel::new(&|x| x == u));
            if edits.is_empty() {
                continue;
            }
            let trial = apply(current, edits);
            if trial == current {
                continue;
            }
            let Some(tmaps) = read_maps(&trial, file) else {
                continue;
            };
            if tmaps.len() != maps.len() {
                continue;
            }
            match judge(m, &tmaps[mi], u, false) {
                Ok(newly) => {
                    safe.push((mi, u));
                    for p in newly {
                        claims.entry((mi, p)).or_default().push(u);
                    }
                }
                Err(why) => {
                    if !refused.contains(&why) {
                        refused.push(why);
                    }
                }
            }
        }
    }
    // Two fixes that would each map the same principal: neither is made.
    for ((mi, p), us) in &claims {
        if us.len() < 2 {
            continue;
        }
        let m = &maps[*mi];
        let arn = effective::principals(m)
            .get(p)
            .cloned()
            .unwrap_or_else(|| p.clone());
        let lines: Vec<String> = us.iter().map(|u| unit_line(m, *u).to_string()).collect();
        let why = format!(
            "not fixed: the fixes on lines {} would each map {arn}, differently; keep one of those entries and fix it by hand",
            lines.join(" and ")
        );
        if !refused.contains(&why) {
            refused.push(why);
        }
        safe.retain(|(i, u)| !(i == mi && us.contains(u)));
    }
    if safe.is_empty() {
        return None;
    }
    let combined = |units: &[(usize, Unit)]| -> String {
        let mut edits = Vec::new();
        for (mi, m) in maps.iter().enumerate() {
            edits.extend(edits_for(
                current,
                m,
                &Sel::new(&|x| units.contains(&(mi, x))),
            ));
        }
        apply(current, edits)
    };
    let next = combined(&safe);
    // Safe one by one should be safe together; if not, take one step only.
    let ok = read_maps(&next, file).is_some_and(|after| {
        after.len() == maps.len()
            && maps.iter().zip(&after).enumerate().all(|(mi, (a, b))| {
                let mut who = effective::principals(a);
                who.extend(effective::principals(b));
                who.values().all(|arn| {
                    let a0 = effective::answer(a, arn);
                    let a1 = effective::answer(b, arn);
                    a0.effective == a1.effective
                        || !matches!(
                            a0.effective,
                            effective::Effective::Entry { .. } | effective::Effective::Refused
                        )
                        || (own_repair(&a0.effective, &a1.effective)
                            && safe
                                .iter()
                                .any(|(i, u)| *i == mi && own_entry(a, *u, a0.entry)))
                })
            })
    });
    if ok {
        return Some(next);
    }
    // Take the first unit that is safe on a full check, alone.
    safe.iter().find_map(|&(mi, u)| {
        let one = combined(&[(mi, u)]);
        let after = read_maps(&one, file)?;
        (after.len() == maps.len() && judge(&maps[mi], &after[mi], u, true).is_ok()).then_some(one)
    })
}

fn counts(text: &str, file: &str, opts: &MigrateOptions) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    if let Ok(l) = lint(text, file, opts) {
        for f in l.findings {
            *m.entry(f.rule).or_insert(0) += 1;
        }
    }
    m
}

fn edits_for(text: &str, auth: &AwsAuth, allow: &Sel<'_>) -> Vec<Edit> {
    let lines = Lines::new(text);
    let mut edits = Vec::new();
    let present = |s: Section| auth.values.iter().any(|v| v.exact && v.section == Some(s));
    let mut renamed: Vec<Section> = Vec::new();
    for (vi, v) in auth.values.iter().enumerate() {
        // Wrong-case or near-miss data keys.
        if !v.exact {
            let target = v.section.or_else(|| near_section(&v.key));
            if let Some(t) = target
                && !present(t)
                && !renamed.contains(&t)
            {
                renamed.push(t);
                if allow.ok(Unit::Value(vi)) {
                    allow.saw(Unit::Value(vi));
                    edits.push(Edit {
                        start: v.key_range.0,
                        end: v.key_range.1,
                        text: t.key().to_owned(),
                    });
                }
            }
        }
        if v.section.is_none() {
            continue;
        }
        if let ValueForm::NotString { .. } = v.form {
            if allow.ok(Unit::Value(vi)) {
                let pipe = add_pipe(text, &lines, v);
                if !pipe.is_empty() {
                    allow.saw(Unit::Value(vi));
                }
                edits.extend(pipe);
            }
            continue;
        }
        if v.parse_error.is_some() || v.not_a_list.is_some() {
            continue;
        }
        let ValueForm::String { text: inner, .. } = &v.form else {
            continue;
        };
        let inner_edits = entry_edits(inner, auth, v, vi, allow);
        let mut new_inner = if inner_edits.is_empty() {
            inner.clone()
        } else {
            apply(inner, inner_edits)
        };
        // Entries moved here from the other section.
        if let Some(section) = v.section
            && v.exact
        {
            for fragment in moves_into(auth, section, allow) {
                if !new_inner.ends_with('\n') && !new_inner.is_empty() {
                    new_inner.push('\n');
                }
                new_inner.push_str(&fragment);
            }
        }
        if &new_inner != inner {
            edits.extend(write_back(text, &lines, v, &new_inner));
        }
    }
    // Moves into a section that does not exist yet: a new data key at the end.
    for s in [Section::Roles, Section::Users] {
        if present(s) || renamed.contains(&s) {
            continue;
        }
        let fragments = moves_into(auth, s, allow);
        if fragments.is_empty() {
            continue;
        }
        if let Some(e) = new_section(text, &lines, auth, s, &fragments.concat()) {
            edits.push(e);
        }
    }
    edits
}

fn near_section(key: &str) -> Option<Section> {
    let k = key.to_ascii_lowercase();
    Section::ALL
        .iter()
        .find(|s| {
            let t = s.key().to_ascii_lowercase();
            k.len().abs_diff(t.len()) <= 1 && (t.starts_with(&k) || k.starts_with(&t))
        })
        .copied()
}

/// Whether an entry is to be moved to the other section, and with which ARN.
fn move_arn(e: &MapEntry) -> Option<String> {
    if e.section == Section::Accounts || e.not_a_mapping.is_some() {
        return None;
    }
    match (&e.arn, &e.foreign_arn) {
        (None, Some(f)) => Some(f.value.clone()),
        (Some(a), _) => match classify(&a.value) {
            MappedArn::Principal(p) => {
                let wrong = match e.section {
                    Section::Roles => matches!(
                        p.kind,
                        PrincipalKind::User | PrincipalKind::Root | PrincipalKind::FederatedUser
                    ),
                    Section::Users => p.kind == PrincipalKind::Role,
                    Section::Accounts => false,
                };
                wrong.then(|| a.value.clone())
            }
            MappedArn::Invalid(_) => None,
        },
        (None, None) => None,
    }
}

/// Fragments (entries re-keyed for `target`) of the entries leaving the other section.
fn moves_into(auth: &AwsAuth, target: Section, allow: &Sel<'_>) -> Vec<String> {
    let from = target.other();
    let Some((vi, v)) = auth
        .values
        .iter()
        .enumerate()
        .rev()
        .find(|(_, v)| v.is_effective(from) && v.parse_error.is_none())
    else {
        return Vec::new();
    };
    let ValueForm::String { text: inner, .. } = &v.form else {
        return Vec::new();
    };
    let lines = Lines::new(inner);
    let mut out = Vec::new();
    for e in &v.entries {
        if !allow.ok(Unit::Entry(vi, e.index)) {
            continue;
        }
        if let Some(fragment) = departing(auth, &lines, v, e) {
            allow.saw(Unit::Entry(vi, e.index));
            out.push(fragment);
        }
    }
    out
}

/// Whether the entry's lines are its own (a block list item starting on a
/// line no other entry starts on), so whole lines can be removed or moved.
fn owns_lines(lines: &Lines<'_>, v: &DataValue, e: &MapEntry) -> bool {
    let first = e.inner_lines.0;
    // Entries come in order: one sharing the line is a neighbour.
    let shares = |i: Option<usize>| {
        i.and_then(|i| v.entries.get(i))
            .is_some_and(|o| o.inner_lines.0 == first)
    };
    lines.line(first).trim_start().starts_with('-')
        && !shares(e.index.checked_sub(1))
        && !shares(e.index.checked_add(1))
}

/// The entry, re-keyed and de-indented for the other section, when it is to move.
fn departing(auth: &AwsAuth, lines: &Lines<'_>, v: &DataValue, e: &MapEntry) -> Option<String> {
    // Only entries of the section the authenticator reads move, and only to
    // the one it reads or to a new one (never while a key is being renamed
    // to it: the entry would have nowhere to go).
    if !v.is_effective(e.section) {
        return None;
    }
    let target = e.section.other();
    let exists = auth
        .values
        .iter()
        .any(|o| o.exact && o.section == Some(target));
    let pending = auth
        .values
        .iter()
        .any(|o| !o.exact && o.section.or_else(|| near_section(&o.key)) == Some(target));
    if !exists && pending {
        return None;
    }
    move_arn(e)?;
    if !owns_lines(lines, v, e) {
        return None;
    }
    let block = rekey(&entry_text(lines, e), e, e.section.other())?;
    Some(dedent_entry(&block))
}

/// The entry's lines, exactly.
fn entry_text(lines: &Lines<'_>, e: &MapEntry) -> String {
    let (first, last) = e.inner_lines;
    let mut s = String::new();
    for l in first..=last {
        s.push_str(lines.line(l));
        s.push('\n');
    }
    // Drop trailing blank or comment-only lines (they belong to what follows).
    while s.ends_with('\n') {
        let trimmed = s.trim_end_matches('\n');
        let last_line = trimmed.rsplit('\n').next().unwrap_or("");
        if last_line.trim().is_empty() || last_line.trim_start().starts_with('#') {
            if trimmed.len() == last_line.len() {
                break;
            }
            s.truncate(trimmed.len() - last_line.len());
        } else {
            break;
        }
    }
    s
}

/// Rename the entry's ARN key for `target` (`rolearn` → `userarn`).
fn rekey(block: &str, e: &MapEntry, target: Section) -> Option<String> {
    let key = match (&e.arn, &e.foreign_arn) {
        (Some(a), _) => a.key.clone(),
        (None, Some(f)) => f.key.clone(),
        (None, None) => return None,
    };
    if key.eq_ignore_ascii_case(target.arn_key()) {
        return Some(block.to_owned());
    }
    let mut out = String::new();
    let mut done = false;
    for line in block.split_inclusive('\n') {
        if !done {
            let t = line.trim_start().trim_start_matches("- ").trim_start();
            if t.starts_with(&format!("{key}:"))
                && let Some(i) = line.find(&format!("{key}:"))
            {
                out.push_str(&line[..i]);
                out.push_str(target.arn_key());
                out.push_str(&line[i + key.len()..]);
                done = true;
                continue;
            }
        }
        out.push_str(line);
    }
    done.then_some(out)
}

/// Shift an entry so its dash is at column 0.
fn dedent_entry(block: &str) -> String {
    let first = block.lines().next().unwrap_or("");
    let lead = first.len() - first.trim_start_matches(' ').len();
    block
        .split_inclusive('\n')
        .map(|l| {
            let spaces = l.len() - l.trim_start_matches(' ').len();
            l[spaces.min(lead)..].to_owned()
        })
        .collect()
}

fn inner_range(lines: &Lines<'_>, span: (Pos, Pos)) -> (usize, usize) {
    (lines.offset(span.0), lines.offset(span.1))
}

/// Edits inside one data value's text (inner byte offsets).
fn entry_edits(
    inner: &str,
    auth: &AwsAuth,
    v: &DataValue,
    vi: usize,
    allow: &Sel<'_>,
) -> Vec<Edit> {
    let lines = Lines::new(inner);
    let mut edits = Vec::new();
    let losers = duplicate_losers(auth, v);
    for e in &v.entries {
        let unit = Unit::Entry(vi, e.index);
        if !allow.ok(unit) {
            continue;
        }
        if edits_of_entry(&lines, auth, v, e, &losers, &mut edits) {
            allow.saw(unit);
        }
    }
    edits
}

/// One entry's edits (inner offsets); whether there are any.
fn edits_of_entry(
    lines: &Lines<'_>,
    auth: &AwsAuth,
    v: &DataValue,
    e: &MapEntry,
    losers: &[usize],
    edits: &mut Vec<Edit>,
) -> bool {
    let before = edits.len();
    {
        let leaving = departing(auth, lines, v, e).is_some();
        if leaving || (losers.contains(&e.index) && owns_lines(lines, v, e)) {
            let first = e.inner_lines.0;
            let kept = entry_text(lines, e);
            let end_line = first + kept.lines().count().max(1) - 1;
            edits.push(Edit {
                start: lines.start(first),
                end: lines.start(end_line + 1),
                text: String::new(),
            });
            return true;
        }
        if let Some(a) = &e.arn
            && let MappedArn::Principal(p) = classify(&a.value)
            && (p.kind == PrincipalKind::AssumedRole
                || (p.kind == PrincipalKind::Role && p.path != "/"))
            && let Some(free) = path_free_role_arn(&p)
        {
            let (s, t) = inner_range(lines, a.span);
            edits.push(Edit {
                start: s,
                end: t,
                text: free,
            });
        }
        for k in &e.unknown_keys {
            let lower = k.key.to_ascii_lowercase();
            let target = match lower.as_str() {
                "group" | "grops" | "gruops" | "groupss" => Some("groups"),
                "user" | "usename" | "usernme" | "user_name" | "name" => Some("username"),
                "rolarn" | "role_arn" | "rolearns" | "roleaarn" if e.section == Section::Roles => {
                    Some("rolearn")
                }
                "usrarn" | "user_arn" | "userarns" if e.section == Section::Users => {
                    Some("userarn")
                }
                _ => None,
            };
            let taken = match target {
                Some("groups") => e.groups_key.is_some(),
                Some("username") => e.username.is_some(),
                Some(_) => e.arn.is_some(),
                None => true,
            };
            if let Some(t) = target
                && !taken
            {
                let (s, end) = inner_range(lines, k.key_span);
                edits.push(Edit {
                    start: s,
                    end,
                    text: t.to_owned(),
                });
            }
        }
        match &e.groups {
            Groups::NotList {
                field,
                what: "a string",
            } => {
                let items: Vec<&str> = field
                    .value
                    .split_whitespace()
                    .filter(|w| *w != "-")
                    .collect();
                let indent = " ".repeat(field.key_span.0.col + 2);
                let (_, key_end) = inner_range(lines, field.key_span);
                let (_, val_end) = inner_range(lines, field.span);
                let mut t = String::from(":");
                for i in items {
                    t.push('\n');
                    t.push_str(&indent);
                    t.push_str("- ");
                    t.push_str(i);
                }
                edits.push(Edit {
                    start: key_end,
                    end: val_end,
                    text: t,
                });
            }
            Groups::List(items) => {
                for g in items {
                    if let Some(parts) = swallowed_dash(&g.value)
                        && g.span.0.col >= 2
                    {
                        let indent = " ".repeat(g.span.0.col - 2);
                        let (s, t) = inner_range(lines, g.span);
                        edits.push(Edit {
                            start: s,
                            end: t,
                            text: parts.join(&format!("\n{indent}- ")),
                        });
                    }
                }
            }
            _ => {}
        }
        edits.extend(node_groups(lines, e));
    }
    edits.len() > before
}

/// Add system:bootstrappers / system:nodes to a node mapping that lacks them.
fn node_groups(lines: &Lines<'_>, e: &MapEntry) -> Vec<Edit> {
    let u = e.username();
    if u != NODE_USERNAME && u != FARGATE_USERNAME {
        return Vec::new();
    }
    let names: Vec<String> = e
        .groups
        .names()
        .iter()
        .flat_map(|g| swallowed_dash(g).unwrap_or_else(|| vec![g.clone()]))
        .collect();
    let missing: Vec<&str> = ["system:bootstrappers", "system:nodes"]
        .into_iter()
        .filter(|m| !names.iter().any(|n| n == m))
        .collect();
    if missing.is_empty() {
        return Vec::new();
    }
    match (&e.groups, &e.groups_key) {
        (Groups::List(items), Some(key))
            if !items.is_empty() && items[0].span.0.line > key.key_span.0.line =>
        {
            // Block list: one new item after the last.
            let Some(last) = items.last() else {
                return Vec::new();
            };
            let indent = " ".repeat(last.span.0.col.saturating_sub(2));
            let at = lines.start(last.span.1.line + 1);
            let text: String = missing.iter().map(|m| format!("{indent}- {m}\n")).collect();
            vec![Edit {
                start: at,
                end: at,
                text,
            }]
        }
        (Groups::List(_) | Groups::Missing, Some(key)) => {
            // Flow list (or `groups:` with nothing): rewrite the value as a flow list.
            let mut all = names.clone();
            all.extend(missing.iter().map(|m| (*m).to_owned()));
            let flow = format!("[{}]", all.join(", "));
            let (_, key_end) = (lines.offset(key.key_span.0), lines.offset(key.key_span.1));
            let val_end = lines.offset(key.span.1).max(key_end);
            vec![Edit {
                start: key_end,
                end: val_end,
                text: format!(": {flow}"),
            }]
        }
        (Groups::Missing, None) => {
            // No groups key: add one after the username line.
            let Some(uf) = &e.username else {
                return Vec::new();
            };
            let indent = " ".repeat(uf.key_span.0.col);
            let at = lines.start(uf.span.1.line + 1);
            let mut text = format!("{indent}groups:\n");
            for m in missing {
                text.push_str(&format!("{indent}  - {m}\n"));
            }
            vec![Edit {
                start: at,
                end: at,
                text,
            }]
        }
        _ => Vec::new(),
    }
}

/// Indices of entries of `v` that lose to a later entry for the same ARN.
fn duplicate_losers(auth: &AwsAuth, v: &DataValue) -> Vec<usize> {
    let Some(section) = v.section else {
        return Vec::new();
    };
    let ValueForm::String { text: inner, .. } = &v.form else {
        return Vec::new();
    };
    let lines = Lines::new(inner);
    let moves = |e: &MapEntry| departing(auth, &lines, v, e).is_some();
    if !v.is_effective(section) || section == Section::Accounts {
        return Vec::new();
    }
    let mut last: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let key = |e: &MapEntry| {
        e.arn.as_ref().map(|a| {
            if section == Section::Roles {
                a.value.to_lowercase()
            } else {
                a.value.clone()
            }
        })
    };
    for e in &v.entries {
        if e.ignored() || moves(e) {
            continue;
        }
        if let Some(k) = key(e) {
            last.insert(k, e.index);
        }
    }
    let mut losers: Vec<usize> = v
        .entries
        .iter()
        .filter(|e| !e.ignored() && !moves(e))
        .filter(|e| {
            key(e)
                .and_then(|k| last.get(&k))
                .is_some_and(|w| *w != e.index)
        })
        .map(|e| e.index)
        .collect();
    // mapUsers entries shadowed by mapRoles (looked up first).
    if section == Section::Users {
        let roles: std::collections::HashSet<String> = auth
            .entries(Section::Roles)
            .filter(|e| !e.ignored())
            .filter_map(|e| e.arn.as_ref().map(|a| a.value.to_lowercase()))
            .collect();
        for e in &v.entries {
            if e.arn
                .as_ref()
                .is_some_and(|a| roles.contains(&a.value.to_lowercase()))
                && !losers.contains(&e.index)
            {
                losers.push(e.index);
            }
        }
    }
    losers
}

/// Add the `|` a data value forgot, re-indenting its lines when they sit at the key's column.
fn add_pipe(text: &str, lines: &Lines<'_>, v: &DataValue) -> Vec<Edit> {
    let colon = text
        .get(v.key_range.1..)
        .and_then(|rest| rest.find(':'))
        .map(|i| v.key_range.1 + i + 1);
    let Some(colon) = colon else {
        return Vec::new();
    };
    let mut edits = vec![Edit {
        start: colon,
        end: colon,
        text: " |".to_owned(),
    }];
    let mut included = Vec::new();
    let mut l = v.key_line + 1;
    while l <= lines.count() {
        let line = lines.line(l);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let t = line.trim_start();
        if t.is_empty()
            || indent > v.key_col
            || (indent == v.key_col && (t.starts_with("- ") || t == "-"))
        {
            included.push((l, indent, t.is_empty()));
            l += 1;
        } else {
            break;
        }
    }
    let min = included
        .iter()
        .filter(|(_, _, blank)| !blank)
        .map(|(_, i, _)| *i)
        .min();
    if let Some(min) = min
        && min <= v.key_col
    {
        let shift = " ".repeat(v.key_col + 2 - min);
        for (l, _, blank) in included {
            if !blank {
                let at = lines.start(l);
                edits.push(Edit {
                    start: at,
                    end: at,
                    text: shift.clone(),
                });
            }
        }
    }
    edits
}

/// Write a data value's new text back into the file.
fn write_back(text: &str, lines: &Lines<'_>, v: &DataValue, new_inner: &str) -> Vec<Edit> {
    let ValueForm::String {
        style,
        text: old,
        header_line,
        indent,
    } = &v.form
    else {
        return Vec::new();
    };
    if *style == super::yaml::Style::Literal {
        let n = old.lines().count().max(1);
        let start = lines.start(header_line + 1);
        let end = lines.start(header_line + n + 1);
        let region = text.get(start..end).unwrap_or("");
        let eol = if region.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let pad = " ".repeat(*indent);
        let mut out = String::new();
        let body: Vec<&str> = new_inner.lines().collect();
        for (i, l) in body.iter().enumerate() {
            if !l.is_empty() {
                out.push_str(&pad);
                out.push_str(l);
            }
            if i + 1 < body.len() || region.ends_with('\n') {
                out.push_str(eol);
            }
        }
        if body.is_empty() && old.lines().count() == 0 {
            return Vec::new();
        }
        return vec![Edit {
            start,
            end,
            text: out,
        }];
    }
    // Quoted, plain or folded: becomes a literal block under the key.
    let pad = " ".repeat(v.key_col + 2);
    let chomp = if new_inner.ends_with('\n') { "|" } else { "|-" };
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out = String::from(chomp);
    for l in new_inner.lines() {
        out.push_str(eol);
        if !l.is_empty() {
            out.push_str(&pad);
            out.push_str(l);
        }
    }
    vec![Edit {
        start: v.value_range.0,
        end: v.value_range.1,
        text: out,
    }]
}

/// A new `mapRoles`/`mapUsers` key holding `body`, after the last data value.
fn new_section(
    text: &str,
    lines: &Lines<'_>,
    auth: &AwsAuth,
    s: Section,
    body: &str,
) -> Option<Edit> {
    let last = auth.values.last()?;
    let end_line = match &last.form {
        ValueForm::String {
            style: super::yaml::Style::Literal,
            text: old,
            header_line,
            ..
        } => header_line + old.lines().count(),
        _ => {
            let end = last.value_range.1;
            let l =
                memchr::memchr_iter(b'\n', text.as_bytes().get(..end).unwrap_or(b"")).count() + 1;
            // A value ending at column 0 ended on the line before.
            if lines.start(l) == end { l - 1 } else { l }
        }
    };
    let at = lines.start(end_line + 1);
    let pad = " ".repeat(last.key_col);
    let inner_pad = " ".repeat(last.key_col + 2);
    let mut t = String::new();
    if at == text.len() && !text.ends_with('\n') && !text.is_empty() {
        t.push('\n');
    }
    t.push_str(&format!("{pad}{}: |\n", s.key()));
    for l in body.lines() {
        if !l.is_empty() {
            t.push_str(&inner_pad);
            t.push_str(l);
        }
        t.push('\n');
    }
    Some(Edit {
        start: at,
        end: at,
        text: t,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixed(text: &str) -> String {
        fix(text, "f", &MigrateOptions::default()).text
    }

    const HEAD: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth  # keep me\n  namespace: kube-system\ndata:\n";

    #[test]
    fn strips_paths_and_sts_arns_keeping_the_rest() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    # admins\n    - rolearn: arn:aws:iam::111122223333:role/team/dev/eks-admin\n      username: admin\n      groups:\n        - system:masters\n    - rolearn: arn:aws:sts::111122223333:assumed-role/ops/alice\n      username: ops\n"
        );
        let out = fixed(&text);
        assert!(out.contains("    # admins\n    - rolearn: arn:aws:iam::111122223333:role/eks-admin\n      username: admin"), "{out}");
        assert!(
            out.contains("- rolearn: arn:aws:iam::111122223333:role/ops\n"),
            "{out}"
        );
        assert!(out.contains("name: aws-auth  # keep me"));
    }

    #[test]
    fn swallowed_dash_and_node_groups() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/node\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n          - system:nodes\n    - rolearn: arn:aws:iam::111122223333:role/node2\n      username: system:node:{{{{EC2PrivateDNSName}}}}\n      groups:\n        - system:bootstrappers\n"
        );
        let out = fixed(&text);
        assert!(
            out.contains("        - system:bootstrappers\n        - system:nodes\n    - rolearn"),
            "{out}"
        );
        assert!(
            out.ends_with("        - system:bootstrappers\n        - system:nodes\n"),
            "{out}"
        );
    }

    #[test]
    fn adds_the_missing_pipe_and_renames_keys() {
        let text = format!(
            "{HEAD}  MapRoles:\n  - rolearn: arn:aws:iam::111122223333:role/team/x\n    username: x\n"
        );
        let out = fixed(&text);
        assert!(out.contains("  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/x\n      username: x\n"), "{out}");
    }

    #[test]
    fn removes_the_losing_duplicate_and_moves_users() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      username: first\n    - rolearn: arn:aws:iam::111122223333:user/bob\n      username: bob\n    - rolearn: arn:aws:iam::111122223333:role/A\n      username: second\n"
        );
        let out = fixed(&text);
        assert!(!out.contains("first"), "{out}");
        assert!(out.contains("username: second"));
        assert!(out.contains("  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:user/bob\n      username: bob\n"), "{out}");
    }

    /// Issue 18: stripping the path of role/ci/build would make it a second
    /// mapping of role/build and replace the one in effect (builders) with
    /// system:masters. The fix must leave both and say why.
    #[test]
    fn a_path_fix_never_replaces_the_mapping_in_effect() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/build\n      username: build\n      groups:\n        - builders\n    - rolearn: arn:aws:iam::111122223333:role/ci/build\n      username: build-admin\n      groups:\n        - system:masters\n"
        );
        let f = fix(&text, "f", &MigrateOptions::default());
        assert_eq!(f.text, text);
        assert!(f.changes.is_empty(), "{:?}", f.changes);
        assert_eq!(f.refused.len(), 1, "{:?}", f.refused);
        assert!(
            f.refused[0].contains("line 12") && f.refused[0].contains("role/build"),
            "{}",
            f.refused[0]
        );
    }

    #[test]
    fn two_path_entries_for_one_role_are_left_alone() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a/x\n      username: a\n    - rolearn: arn:aws:iam::111122223333:role/b/x\n      username: b\n"
        );
        let f = fix(&text, "f", &MigrateOptions::default());
        assert_eq!(f.text, text);
        assert!(f.refused[0].contains("lines 8 and 10"), "{:?}", f.refused);
    }

    #[test]
    fn repairs_are_named() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/team/x\n      username: x\n"
        );
        let f = fix(&text, "f", &MigrateOptions::default());
        assert_eq!(
            f.changes,
            vec![Change {
                principal: "arn:aws:iam::111122223333:role/x".to_owned(),
                before: "not mapped".to_owned(),
                after: "username \"x\", groups []".to_owned(),
            }]
        );
    }

    #[test]
    fn a_role_in_map_users_does_not_move_over_the_map_roles_entry() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/a\n      username: roles\n  mapUsers: |\n    - userarn: arn:aws:iam::111122223333:role/a\n      username: users\n"
        );
        let f = fix(&text, "f", &MigrateOptions::default());
        assert!(f.changes.is_empty(), "{:?}\n{}", f.changes, f.text);
        assert!(f.text.contains("username: roles"), "{}", f.text);
    }

    #[test]
    fn flow_lists_are_not_cut_by_lines() {
        let text = format!(
            "{HEAD}  mapRoles: |\n    [{{rolearn: arn:aws:iam::111122223333:role/a, username: x}}, {{rolearn: arn:aws:iam::111122223333:role/a, username: y}}]\n"
        );
        let out = fixed(&text);
        assert!(out.contains("username: y"), "{out}");
    }

    #[test]
    fn keeps_crlf_line_ends() {
        let text = "kind: ConfigMap\r\nmetadata:\r\n  name: aws-auth\r\ndata:\r\n  mapRoles: |\r\n    - rolearn: arn:aws:iam::111122223333:role/a/b\r\n      username: x\r\n";
        assert_eq!(fixed(text), text.replace("role/a/b", "role/b"));
    }

    #[test]
    fn quoted_values_become_blocks() {
        let text = format!(
            "{HEAD}  mapRoles: \"- rolearn: arn:aws:iam::111122223333:role/p/x\\n  username: x\\n\"\n"
        );
        let out = fixed(&text);
        assert!(out.contains("  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/x\n      username: x\n"), "{out}");
    }
}
