//! The `Condition` element, as "IAM JSON policy elements: Condition
//! operators" and "Conditions with multiple context keys or values" document:
//!
//! - several operators, and several keys under one operator, are AND'd;
//! - several values for one key are OR'd, and NOR'd for a negated operator
//!   (`StringNotEquals`, `NotIpAddress`, ...);
//! - key names are case-insensitive, values case-sensitive (except
//!   `...IgnoreCase`, and `Bool`);
//! - `...IfExists`: true when the key is absent; `Null`: tests presence;
//! - `ForAllValues:` is true when every request value matches (and for an
//!   empty set); `ForAnyValue:` when at least one does (false for an empty set);
//! - a negated operator is the negation of its positive form, applied to the
//!   whole set of request values (or per value under a set qualifier).
//!
//! A key that the request context does not give (and no `IfExists`/`Null`)
//! evaluates to [`Tri::Unknown`] and is reported, instead of AWS's "absent"
//! answer: offline, "not given" rarely means "not in the request".

use std::net::IpAddr;

use serde_json::Value;

use super::Tri;
use super::context::Context;
use super::variables::{Unresolved, ValuePattern, ValueText};

/// The positive form of an operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    ArnLike,
    Null,
}

/// Operator names: (name, positive form, negated).
const OPERATORS: &[(&str, Base, bool)] = &[
    ("StringEquals", Base::StringEquals, false),
    ("StringNotEquals", Base::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Base::StringLike, false),
    ("StringNotLike", Base::StringLike, true),
    ("NumericEquals", Base::NumericEquals, false),
    ("NumericNotEquals", Base::NumericEquals, true),
    ("NumericLessThan", Base::NumericLessThan, false),
    ("NumericLessThanEquals", Base::NumericLessThanEquals, false),
    ("NumericGreaterThan", Base::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Base::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Base::DateEquals, false),
    ("DateNotEquals", Base::DateEquals, true),
    ("DateLessThan", Base::DateLessThan, false),
    ("DateLessThanEquals", Base::DateLessThanEquals, false),
    ("DateGreaterThan", Base::DateGreaterThan, false),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals, false),
    ("Bool", Base::Bool, false),
    ("BinaryEquals", Base::BinaryEquals, false),
    ("IpAddress", Base::IpAddress, false),
    ("NotIpAddress", Base::IpAddress, true),
    // "ArnEquals and ArnLike behave identically" (condition operators page).
    ("ArnEquals", Base::ArnLike, false),
    ("ArnLike", Base::ArnLike, false),
    ("ArnNotEquals", Base::ArnLike, true),
    ("ArnNotLike", Base::ArnLike, true),
    ("Null", Base::Null, false),
];

/// `ForAllValues:` / `ForAnyValue:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    None,
    ForAllValues,
    ForAnyValue,
}

/// The policy's values for one key, parsed for its operator.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    Text(Vec<ValueText>),
    Like(Vec<ValuePattern>),
    Number(Vec<Decimal>),
    Date(Vec<i128>),
    Bool(Vec<bool>),
    Cidr(Vec<Cidr>),
    Arn(Vec<ArnPattern>),
}

/// One operator/key pair of a `Condition` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// The operator as written (`ForAnyValue:StringLike`).
    pub operator: String,
    /// The key as written.
    pub key: String,
    key_lc: Box<str>,
    base: Base,
    negated: bool,
    if_exists: bool,
    qualifier: SetQualifier,
    values: Values,
}

/// A condition key the context did not give, with the clause that needed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissingKey {
    pub key: String,
    pub operator: String,
    /// The key was needed by a `${...}` variable, not by the clause's own key.
    pub variable: bool,
}

/// Parse a whole `Condition` element into clauses.
///
/// # Errors
/// An unknown operator, a value of the wrong type for its operator.
pub fn parse_block(v: &Value, variables: bool) -> Result<Vec<Clause>, String> {
    let Value::Object(ops) = v else {
        return Err("Condition must be an object of operators".to_owned());
    };
    let mut clauses = Vec::new();
    for (op, keys) in ops {
        let Value::Object(keys) = keys else {
            return Err(format!(
                "condition operator {op:?} must map condition keys to values"
            ));
        };
        for (key, vals) in keys {
            clauses.push(Clause::parse(op, key, vals, variables)?);
        }
    }
    Ok(clauses)
}

impl Clause {
    fn parse(op: &str, key: &str, vals: &Value, variables: bool) -> Result<Self, String> {
        let (qualifier, rest) = if let Some(r) = strip_prefix_ci(op, "ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else if let Some(r) = strip_prefix_ci(op, "ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else {
            (SetQualifier::None, op)
        };
        let (name, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(n) if rest.is_char_boundary(n) && rest[n..].eq_ignore_ascii_case("IfExists") => {
                (&rest[..n], true)
            }
            _ => (rest, false),
        };
        let Some(&(_, base, negated)) = OPERATORS
            .iter()
            .find(|(n, _, _)| n.eq_ignore_ascii_case(name))
        else {
            return Err(format!("unknown condition operator {op:?}"));
        };
        if base == Base::Null && if_exists {
            return Err(format!(
                "unknown condition operator {op:?} (Null has no IfExists form)"
            ));
        }
        let raw = scalar_list(vals).map_err(|e| format!("{op} {key}: {e}"))?;
        let bad = |what: &str, v: &str| format!("{op} {key}: {v:?} is not {what}");
        let values = match base {
            Base::StringEquals | Base::StringEqualsIgnoreCase | Base::BinaryEquals => {
                Values::Text(raw.iter().map(|s| ValueText::new(s, variables)).collect())
            }
            Base::StringLike => Values::Like(
                raw.iter()
                    .map(|s| ValuePattern::new(s, variables))
                    .collect(),
            ),
            Base::NumericEquals
            | Base::NumericLessThan
            | Base::NumericLessThanEquals
            | Base::NumericGreaterThan
            | Base::NumericGreaterThanEquals => Values::Number(
                raw.iter()
                    .map(|s| parse_number(s).ok_or_else(|| bad("a number", s)))
                    .collect::<Result<_, _>>()?,
            ),
            Base::DateEquals
            | Base::DateLessThan
            | Base::DateLessThanEquals
            | Base::DateGreaterThan
            | Base::DateGreaterThanEquals => Values::Date(
                raw.iter()
                    .map(|s| {
                        parse_date(s).ok_or_else(|| bad("a date (ISO 8601 or epoch seconds)", s))
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Base::Bool | Base::Null => Values::Bool(
                raw.iter()
                    .map(|s| parse_bool(s).ok_or_else(|| bad("true or false", s)))
                    .collect::<Result<_, _>>()?,
            ),
            Base::IpAddress => Values::Cidr(
                raw.iter()
                    .map(|s| Cidr::parse(s).ok_or_else(|| bad("an IP address or CIDR block", s)))
                    .collect::<Result<_, _>>()?,
            ),
            Base::ArnLike => {
                Values::Arn(raw.iter().map(|s| ArnPattern::new(s, variables)).collect())
            }
        };
        Ok(Self {
            operator: op.to_owned(),
            key: key.to_owned(),
            key_lc: key.to_ascii_lowercase().into(),
            base,
            negated,
            if_exists,
            qualifier,
            values,
        })
    }

    /// Evaluate against the context; unknowns are appended to `missing`.
    pub fn eval(&self, ctx: &Context, missing: &mut Vec<MissingKey>) -> Tri {
        let given = ctx.get(&self.key_lc);
        if self.base == Base::Null {
            let is_null = given.is_none_or(<[String]>::is_empty);
            let Values::Bool(want) = &self.values else {
                return Tri::False;
            };
            return Tri::from(want.contains(&is_null));
        }
        let request = match given {
            None if self.if_exists => return Tri::True,
            // Known not to be in the request: AWS's answer for an absent key.
            None if ctx.is_absent(&self.key_lc) => {
                return Tri::from(match self.qualifier {
                    SetQualifier::ForAllValues => true,
                    SetQualifier::ForAnyValue => false,
                    SetQualifier::None => self.negated,
                });
            }
            None => {
                missing.push(MissingKey {
                    key: self.key.clone(),
                    operator: self.operator.clone(),
                    variable: false,
                });
                return Tri::Unknown;
            }
            // Present with no value and no set qualifier: as if absent.
            Some([]) if self.qualifier == SetQualifier::None => {
                return Tri::from(self.if_exists || self.negated);
            }
            Some(vs) => vs,
        };
        // Arn* operators on a value that is not an ARN: no match, for the
        // negated operators too (as the IAM Policy Simulator answers).
        let arn_op = self.base == Base::ArnLike;
        let mut one = |v: &str| self.matches_any(v, ctx, missing);
        match self.qualifier {
            SetQualifier::None if arn_op && self.negated && !request.iter().all(|v| is_arn(v)) => {
                Tri::False
            }
            SetQualifier::None => {
                let any = Tri::any(request.iter().map(|v| one(v)));
                if self.negated { any.not() } else { any }
            }
            SetQualifier::ForAnyValue | SetQualifier::ForAllValues if arn_op && self.negated => {
                let per = request
                    .iter()
                    .map(|v| if is_arn(v) { one(v).not() } else { Tri::False });
                if self.qualifier == SetQualifier::ForAnyValue {
                    Tri::any(per)
                } else {
                    Tri::all(per)
                }
            }
            SetQualifier::ForAnyValue => {
                Tri::any(request.iter().map(|v| one(v).negate_if(self.negated)))
            }
            SetQualifier::ForAllValues => {
                Tri::all(request.iter().map(|v| one(v).negate_if(self.negated)))
            }
        }
    }

    /// Does one request value match any of the policy's values (positive form)?
    fn matches_any(&self, v: &str, ctx: &Context, missing: &mut Vec<MissingKey>) -> Tri {
        let mut unknown = false;
        let mut note = |key: String, missing: &mut Vec<MissingKey>| {
            unknown = true;
            missing.push(MissingKey {
                key,
                operator: self.operator.clone(),
                variable: true,
            });
        };
        let hit = match &self.values {
            Values::Text(vals) => vals.iter().any(|t| match t.resolve(ctx) {
                Ok(s) => match self.base {
                    Base::StringEqualsIgnoreCase => s.to_lowercase() == v.to_lowercase(),
                    _ => *s == *v,
                },
                Err(Unresolved::Missing(k)) => {
                    note(k, missing);
                    false
                }
                Err(Unresolved::Absent) => false,
            }),
            Values::Like(vals) => vals.iter().any(|p| match p.matches(v, ctx) {
                Ok(b) => b,
                Err(k) => {
                    note(k, missing);
                    false
                }
            }),
            // Exact decimal comparison, no epsilon tolerance.
            Values::Number(vals) => parse_number(v).is_some_and(|n| {
                vals.iter().any(|p| match self.base {
                    Base::NumericLessThan => n < *p,
                    Base::NumericLessThanEquals => n <= *p,
                    Base::NumericGreaterThan => n > *p,
                    Base::NumericGreaterThanEquals => n >= *p,
                    _ => n == *p,
                })
            }),
            Values::Date(vals) => parse_date(v).is_some_and(|d| {
                vals.iter().any(|&p| match self.base {
                    Base::DateLessThan => d < p,
                    Base::DateLessThanEquals => d <= p,
                    Base::DateGreaterThan => d > p,
                    Base::DateGreaterThanEquals => d >= p,
                    _ => d == p,
                })
            }),
            Values::Bool(vals) => parse_bool(v).is_some_and(|b| vals.contains(&b)),
            Values::Cidr(vals) => v
                .trim()
                .parse::<IpAddr>()
                .is_ok_and(|ip| vals.iter().any(|c| c.contains(ip))),
            Values::Arn(vals) => vals.iter().any(|p| match p.matches(v, ctx) {
                Ok(b) => b,
                Err(k) => {
                    note(k, missing);
                    false
                }
            }),
        };
        if hit {
            Tri::True
        } else if unknown {
            Tri::Unknown
        } else {
            Tri::False
        }
    }
}

/// `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE`: six colon-separated
/// parts, the first `arn` and the partition, service and resource not empty.
fn is_arn(v: &str) -> bool {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && !parts[1].is_empty()
        && !parts[2].is_empty()
        && !parts[5].is_empty()
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// A condition value: a string, number or boolean, or a list of them.
fn scalar_list(v: &Value) -> Result<Vec<String>, String> {
    fn one(v: &Value) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err("a condition value must be a string, number or boolean".to_owned()),
        }
    }
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => one(other).map(|s| vec![s]),
    }
}

fn parse_number(s: &str) -> Option<Decimal> {
    Decimal::parse(s)
}

/// An exact decimal number (`-12.50`, `1e3`), compared without rounding:
/// the sign, the significant digits and the power of ten of the first one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    /// Significant digits, no leading or trailing zeros; empty for zero.
    digits: Box<[u8]>,
    /// Power of ten of the first significant digit.
    exponent: i64,
}

impl Decimal {
    /// `[+-]DIGITS[.DIGITS][e[+-]DIGITS]` (surrounding spaces ignored).
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (negative, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => (&s[..i], s[i + 1..].parse::<i64>().ok()?),
            None => (s, 0),
        };
        if exp.unsigned_abs() > 1_000_000 {
            return None;
        }
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let all: Vec<u8> = int.bytes().chain(frac.bytes()).map(|b| b - b'0').collect();
        let Some(first) = all.iter().position(|&d| d != 0) else {
            return Some(Self {
                negative: false,
                digits: Box::new([]),
                exponent: 0,
            });
        };
        let last = all.iter().rposition(|&d| d != 0).unwrap_or(first);
        let int_len = i64::try_from(int.len()).ok()?;
        let first_i = i64::try_from(first).ok()?;
        Some(Self {
            negative,
            digits: all[first..=last].into(),
            exponent: int_len - 1 - first_i + exp,
        })
    }

    fn cmp_magnitude(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            (false, false) => self
                .exponent
                .cmp(&other.exponent)
                .then_with(|| self.digits.cmp(&other.digits)),
        }
    }
}

impl PartialOrd for Decimal {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Decimal {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let sign = |d: &Self| {
            if d.digits.is_empty() {
                0
            } else if d.negative {
                -1
            } else {
                1
            }
        };
        match sign(self).cmp(&sign(other)) {
            Ordering::Equal if sign(self) < 0 => other.cmp_magnitude(self),
            Ordering::Equal => self.cmp_magnitude(other),
            o => o,
        }
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// ISO 8601 (with offset, or a date, or a UTC date-time) or epoch seconds,
/// as nanoseconds since the epoch.
fn parse_date(s: &str) -> Option<i128> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<i64>() {
        return Some(i128::from(secs) * 1_000_000_000);
    }
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(ts.as_nanosecond());
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return dt
            .to_zoned(jiff::tz::TimeZone::UTC)
            .ok()
            .map(|z| z.timestamp().as_nanosecond());
    }
    None
}

/// An IPv4 or IPv6 address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:db8::/32`, or a single address.
    #[must_use]
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let net: IpAddr = addr.parse().ok()?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { net, prefix })
    }

    /// Whether the block holds `ip` (same family only).
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// An ARN pattern for `ArnLike`/`ArnEquals`: each of the six colon-separated
/// parts is matched on its own (a `*` does not run across a `:` into the
/// next part).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ArnPattern {
    parts: Vec<ValuePattern>,
}

impl ArnPattern {
    fn new(s: &str, variables: bool) -> Self {
        Self {
            parts: s
                .splitn(6, ':')
                .map(|p| ValuePattern::new(p, variables))
                .collect(),
        }
    }

    fn matches(&self, v: &str, ctx: &Context) -> Result<bool, String> {
        let mut given = v.splitn(6, ':');
        let mut count = 0;
        for p in &self.parts {
            let Some(g) = given.next() else {
                return Ok(false);
            };
            count += 1;
            if !p.matches(g, ctx)? {
                return Ok(false);
            }
        }
        Ok(given.next().is_none() && count == self.parts.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn clause(op: &str, key: &str, v: Value) -> Clause {
        Clause::parse(op, key, &v, true).unwrap()
    }

    fn eval(c: &Clause, pairs: &[(&str, &str)]) -> Tri {
        let mut ctx = Context::new();
        for (k, v) in pairs {
            if *v == "[]" {
                ctx.insert_empty(k);
            } else {
                ctx.insert(k, v);
            }
        }
        c.eval(&ctx, &mut Vec::new())
    }

    #[test]
    fn unknown_operator_is_an_error() {
        let e = Clause::parse("StringEqualz", "k", &json!("v"), true).unwrap_err();
        assert!(e.contains("StringEqualz"), "{e}");
        assert!(Clause::parse("NullIfExists", "k", &json!("true"), true).is_err());
        assert!(Clause::parse("NumericLessThan", "k", &json!("abc"), true).is_err());
    }

    #[test]
    fn negated_values_are_nor() {
        let c = clause(
            "StringNotEquals",
            "aws:PrincipalTag/role",
            json!(["audit", "security"]),
        );
        assert_eq!(eval(&c, &[("aws:PrincipalTag/role", "audit")]), Tri::False);
        assert_eq!(eval(&c, &[("aws:PrincipalTag/role", "dev")]), Tri::True);
        assert_eq!(eval(&c, &[]), Tri::Unknown);
    }

    #[test]
    fn key_names_ignore_case_values_do_not() {
        let c = clause("StringEquals", "AWS:PrincipalTag/Team", json!("Eks"));
        assert_eq!(eval(&c, &[("aws:principaltag/team", "Eks")]), Tri::True);
        assert_eq!(eval(&c, &[("aws:principaltag/team", "eks")]), Tri::False);
        let c = clause("StringEqualsIgnoreCase", "k", json!("Eks"));
        assert_eq!(eval(&c, &[("k", "eKS")]), Tri::True);
    }

    #[test]
    fn set_qualifiers() {
        let all = clause(
            "ForAllValues:StringLike",
            "aws:TagKeys",
            json!(["env", "cost*"]),
        );
        assert_eq!(
            eval(
                &all,
                &[("aws:TagKeys", "env"), ("aws:TagKeys", "costcenter")]
            ),
            Tri::True
        );
        assert_eq!(
            eval(&all, &[("aws:TagKeys", "env"), ("aws:TagKeys", "owner")]),
            Tri::False
        );
        assert_eq!(eval(&all, &[("aws:TagKeys", "[]")]), Tri::True);
        let any = clause("ForAnyValue:StringEquals", "aws:TagKeys", json!("env"));
        assert_eq!(
            eval(&any, &[("aws:TagKeys", "env"), ("aws:TagKeys", "x")]),
            Tri::True
        );
        assert_eq!(eval(&any, &[("aws:TagKeys", "[]")]), Tri::False);
        let all_not = clause(
            "ForAllValues:StringNotEquals",
            "aws:TagKeys",
            json!(["DataClass", "Owner"]),
        );
        assert_eq!(eval(&all_not, &[("aws:TagKeys", "Dept")]), Tri::True);
        assert_eq!(
            eval(
                &all_not,
                &[("aws:TagKeys", "Dept"), ("aws:TagKeys", "Owner")]
            ),
            Tri::False
        );
        let any_not = clause(
            "ForAnyValue:StringNotEquals",
            "aws:TagKeys",
            json!(["DataClass", "Owner"]),
        );
        assert_eq!(
            eval(
                &any_not,
                &[("aws:TagKeys", "Dept"), ("aws:TagKeys", "Owner")]
            ),
            Tri::True
        );
        assert_eq!(
            eval(
                &any_not,
                &[("aws:TagKeys", "DataClass"), ("aws:TagKeys", "Owner")]
            ),
            Tri::False
        );
    }

    #[test]
    fn if_exists_and_null() {
        let c = clause(
            "StringEqualsIfExists",
            "ec2:InstanceType",
            json!("t3.micro"),
        );
        assert_eq!(eval(&c, &[]), Tri::True);
        assert_eq!(eval(&c, &[("ec2:InstanceType", "m5.large")]), Tri::False);
        let n = clause("Null", "aws:TokenIssueTime", json!("true"));
        assert_eq!(eval(&n, &[]), Tri::True);
        assert_eq!(
            eval(&n, &[("aws:TokenIssueTime", "2024-01-01T00:00:00Z")]),
            Tri::False
        );
        let n = clause("Null", "aws:TagKeys", json!(false));
        assert_eq!(eval(&n, &[("aws:TagKeys", "[]")]), Tri::False);
    }

    #[test]
    fn numbers_dates_bools() {
        let c = clause("NumericLessThanEquals", "s3:max-keys", json!("10"));
        assert_eq!(eval(&c, &[("s3:max-keys", "10")]), Tri::True);
        assert_eq!(eval(&c, &[("s3:max-keys", "11")]), Tri::False);
        assert_eq!(eval(&c, &[("s3:max-keys", "ten")]), Tri::False);
        let d = clause(
            "DateGreaterThan",
            "aws:CurrentTime",
            json!("2020-04-01T00:00:00Z"),
        );
        assert_eq!(
            eval(&d, &[("aws:CurrentTime", "2021-01-01T00:00:00Z")]),
            Tri::True
        );
        assert_eq!(eval(&d, &[("aws:CurrentTime", "1500000000")]), Tri::False);
        let b = clause("Bool", "aws:SecureTransport", json!("false"));
        assert_eq!(eval(&b, &[("aws:SecureTransport", "false")]), Tri::True);
        assert_eq!(eval(&b, &[("aws:SecureTransport", "TRUE")]), Tri::False);
    }

    #[test]
    fn ip_addresses() {
        let c = clause(
            "IpAddress",
            "aws:SourceIp",
            json!(["203.0.113.0/24", "2001:DB8:1234:5678::/64"]),
        );
        assert_eq!(eval(&c, &[("aws:SourceIp", "203.0.113.9")]), Tri::True);
        assert_eq!(eval(&c, &[("aws:SourceIp", "198.51.100.1")]), Tri::False);
        assert_eq!(
            eval(&c, &[("aws:SourceIp", "2001:db8:1234:5678::1")]),
            Tri::True
        );
        let n = clause("NotIpAddress", "aws:SourceIp", json!("203.0.113.0/24"));
        assert_eq!(eval(&n, &[("aws:SourceIp", "198.51.100.1")]), Tri::True);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
    }

    #[test]
    fn arns_match_part_by_part() {
        let c = clause(
            "ArnLike",
            "aws:SourceArn",
            json!("arn:aws:sns:*:123456789012:*"),
        );
        assert_eq!(
            eval(
                &c,
                &[("aws:SourceArn", "arn:aws:sns:us-east-1:123456789012:topic")]
            ),
            Tri::True
        );
        assert_eq!(
            eval(
                &c,
                &[("aws:SourceArn", "arn:aws:sns:us-east-1:999999999999:topic")]
            ),
            Tri::False
        );
        let e = clause("ArnEquals", "aws:SourceArn", json!("arn:aws:s3:::bucket"));
        assert_eq!(
            eval(&e, &[("aws:SourceArn", "arn:aws:s3:::bucket")]),
            Tri::True
        );
        assert_eq!(eval(&e, &[("aws:SourceArn", "not-an-arn")]), Tri::False);
    }

    #[test]
    fn numbers_compare_exactly() {
        // Condition operators page, "Numeric condition operators": exact
        // comparison, so values an epsilon apart differ.
        let c = clause("NumericEquals", "k", json!("0.3"));
        assert_eq!(eval(&c, &[("k", "0.30")]), Tri::True);
        assert_eq!(eval(&c, &[("k", "0.30000000000000004")]), Tri::False);
        let big = clause("NumericEquals", "k", json!("9007199254740993"));
        assert_eq!(eval(&big, &[("k", "9007199254740992")]), Tri::False);
        assert_eq!(eval(&big, &[("k", "9007199254740993")]), Tri::True);
        let lt = clause("NumericLessThan", "k", json!("-1.5"));
        assert_eq!(eval(&lt, &[("k", "-2")]), Tri::True);
        assert_eq!(eval(&lt, &[("k", "-1.5")]), Tri::False);
        assert_eq!(eval(&lt, &[("k", "0")]), Tri::False);
        let d = |s: &str| Decimal::parse(s).unwrap();
        assert_eq!(d("1e3"), d("1000.000"));
        assert_eq!(d("-0"), d("0.0"));
        assert!(d("0.001") < d("0.01"));
        assert!(d("-10") < d("-9.99"));
        assert!(Decimal::parse("1.2.3").is_none());
        assert!(Decimal::parse(".").is_none());
        assert!(Decimal::parse("").is_none());
    }

    #[test]
    fn arn_operators_on_a_non_arn_never_match() {
        // IAM Policy Simulator behaviour: ArnNotEquals / ArnNotLike are
        // false too when the request value is not an ARN.
        for op in ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike"] {
            let c = clause(op, "aws:SourceArn", json!("arn:aws:s3:::bucket"));
            assert_eq!(eval(&c, &[("aws:SourceArn", "bucket")]), Tri::False, "{op}");
        }
        let c = clause("ArnNotLike", "aws:SourceArn", json!("arn:aws:s3:::b*"));
        assert_eq!(
            eval(&c, &[("aws:SourceArn", "arn:aws:s3:::other")]),
            Tri::True
        );
        let any = clause(
            "ForAnyValue:ArnNotEquals",
            "aws:SourceArn",
            json!("arn:aws:s3:::b"),
        );
        assert_eq!(eval(&any, &[("aws:SourceArn", "x")]), Tri::False);
    }

    #[test]
    fn absent_keys_take_aws_answers() {
        let mut ctx = Context::new();
        ctx.set_all_absent(true);
        let run = |op: &str| clause(op, "k", json!("v")).eval(&ctx, &mut Vec::new());
        assert_eq!(run("StringEquals"), Tri::False);
        assert_eq!(run("StringNotEquals"), Tri::True);
        assert_eq!(run("StringEqualsIfExists"), Tri::True);
        assert_eq!(run("ForAllValues:StringEquals"), Tri::True);
        assert_eq!(run("ForAnyValue:StringEquals"), Tri::False);
        assert_eq!(
            clause("Null", "k", json!("true")).eval(&ctx, &mut Vec::new()),
            Tri::True
        );
        assert_eq!(
            clause("Null", "k", json!("false")).eval(&ctx, &mut Vec::new()),
            Tri::False
        );
        let var = clause("StringEquals", "j", json!("${aws:PrincipalTag/team}"));
        let mut c2 = ctx.clone();
        c2.insert("j", "x");
        assert_eq!(var.eval(&c2, &mut Vec::new()), Tri::False);
    }

    #[test]
    fn variables_in_values() {
        let c = clause("StringLike", "s3:prefix", json!("home/${aws:username}/*"));
        assert_eq!(
            eval(
                &c,
                &[("s3:prefix", "home/alice/x"), ("aws:username", "alice")]
            ),
            Tri::True
        );
        let mut missing = Vec::new();
        let mut ctx = Context::new();
        ctx.insert("s3:prefix", "home/alice/x");
        assert_eq!(c.eval(&ctx, &mut missing), Tri::Unknown);
        assert_eq!(missing[0].key, "aws:username");
        assert!(missing[0].variable);
    }
}
