//! Reading an aws-auth ConfigMap the way the authenticator does, keeping the
//! line of the file every entry stands on.
//!
//! Input forms: `kubectl get cm aws-auth -n kube-system -o yaml` output, a
//! plain manifest, a `kind: List`, multi-document YAML. The `data` values are
//! YAML strings that hold YAML; each is parsed again and its positions mapped
//! back to the outer file:
//!
//! * a `|` literal block: exactly (the block's first content line and its
//!   indentation);
//! * a bare list under the key (the `|` forgotten): the positions are the
//!   file's own;
//! * quoted, plain and `>` folded strings: best effort, by finding each
//!   entry's ARN in the text of the value (a double-quoted one-liner puts
//!   every entry on the same line).

use super::yaml::{self, Kind, Lines, Node, Pos, Style, YamlError};

/// The three data keys the authenticator reads (case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    Roles,
    Users,
    Accounts,
}

impl Section {
    pub const ALL: [Self; 3] = [Self::Roles, Self::Users, Self::Accounts];

    /// `mapRoles`, `mapUsers`, `mapAccounts`.
    #[must_use]
    pub fn key(self) -> &'static str {
        match self {
            Self::Roles => "mapRoles",
            Self::Users => "mapUsers",
            Self::Accounts => "mapAccounts",
        }
    }

    /// `rolearn` / `userarn`.
    #[must_use]
    pub fn arn_key(self) -> &'static str {
        match self {
            Self::Roles => "rolearn",
            Self::Users | Self::Accounts => "userarn",
        }
    }

    /// The other mapping section.
    #[must_use]
    pub fn other(self) -> Self {
        match self {
            Self::Roles => Self::Users,
            Self::Users | Self::Accounts => Self::Roles,
        }
    }

    fn known_entry_keys(self) -> &'static [&'static str] {
        match self {
            Self::Roles => &["rolearn", "username", "groups", "userid", "sso"],
            Self::Users | Self::Accounts => &["userarn", "username", "groups", "userid"],
        }
    }
}

/// A scalar field of an entry: its value, the key as written and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The key as written (`rolearn`, `RoleArn` ...).
    pub key: String,
    pub value: String,
    /// The line of the file.
    pub line: usize,
    /// The value's span inside the data value's text (for the fixer).
    pub span: (Pos, Pos),
    /// The key's span inside the data value's text.
    pub key_span: (Pos, Pos),
}

/// An entry's `groups`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Groups {
    /// No `groups` key, or `groups:` with nothing: the authenticator maps no groups.
    #[default]
    Missing,
    List(Vec<Field>),
    /// `groups: system:masters` (a string), or a mapping.
    NotList {
        field: Field,
        what: &'static str,
    },
}

impl Groups {
    /// The group names the authenticator keeps (none when not a list).
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::List(items) => items.iter().map(|f| f.value.clone()).collect(),
            Self::Missing | Self::NotList { .. } => Vec::new(),
        }
    }
}

/// One item of mapRoles or mapUsers.
#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    pub section: Section,
    /// 0-based position in its section.
    pub index: usize,
    /// The line of the file the entry starts on.
    pub line: usize,
    /// The entry's first and last line inside the data value's text.
    pub inner_lines: (usize, usize),
    /// The section's own ARN key (`rolearn` in mapRoles), the last one when repeated.
    pub arn: Option<Field>,
    /// The other section's ARN key (`userarn` in mapRoles).
    pub foreign_arn: Option<Field>,
    pub username: Option<Field>,
    pub groups: Groups,
    /// The `groups` key and value spans (value `""` when a list), for the fixer.
    pub groups_key: Option<Field>,
    /// `sso:` matcher (newer authenticators; mapRoles only).
    pub sso: bool,
    /// Keys the authenticator ignores.
    pub unknown_keys: Vec<Field>,
    /// A known key given twice (in any case): the shadowed ones.
    pub shadowed_keys: Vec<Field>,
    /// The item is not a mapping (e.g. a bare ARN string): what it is.
    pub not_a_mapping: Option<&'static str>,
}

impl MapEntry {
    /// The entry is dropped by the authenticator's validation (no ARN).
    #[must_use]
    pub fn ignored(&self) -> bool {
        self.not_a_mapping.is_some()
            || (self.arn.as_ref().is_none_or(|a| a.value.is_empty()) && !self.sso)
            || self.arn_and_sso()
    }

    /// Both `rolearn` and `sso`: the authenticator's validation refuses the
    /// entry ("only one of rolearn or SSO can be supplied").
    #[must_use]
    pub fn arn_and_sso(&self) -> bool {
        self.sso && self.arn.as_ref().is_some_and(|a| !a.value.is_empty())
    }

    /// The username template, or "".
    #[must_use]
    pub fn username(&self) -> &str {
        self.username.as_ref().map_or("", |f| f.value.as_str())
    }
}

/// One item of mapAccounts.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountEntry {
    pub value: String,
    pub line: usize,
    pub scalar: bool,
}

/// How the data value was written.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueForm {
    /// A YAML string; `header_line` is the line of the `|`/`>` (or of the string's start).
    String {
        style: Style,
        text: String,
        header_line: usize,
        indent: usize,
    },
    /// A list or mapping where a string belongs (the `|` forgotten).
    NotString { what: &'static str },
}

/// Where positions inside a data value are in the file.
#[derive(Debug, Clone, PartialEq)]
enum Placement {
    Literal {
        header_line: usize,
        indent: usize,
    },
    Outer,
    /// `cursor`: where the previous entry was found (entries come in order).
    Search {
        start: usize,
        end: usize,
        cursor: std::cell::Cell<usize>,
    },
}

/// One key of the ConfigMap's `data`.
#[derive(Debug, Clone, PartialEq)]
pub struct DataValue {
    /// The key as written.
    pub key: String,
    pub key_line: usize,
    /// The key's column (0-based) and the byte range of key and value in the file.
    pub key_col: usize,
    pub key_range: (usize, usize),
    pub value_range: (usize, usize),
    /// The section this key is, exactly, or would be when its case is fixed.
    pub section: Option<Section>,
    /// The key is exactly `mapRoles`/`mapUsers`/`mapAccounts`.
    pub exact: bool,
    pub form: ValueForm,
    /// The value's YAML does not parse (the authenticator drops the whole section).
    pub parse_error: Option<YamlError>,
    /// The value parses but is not a list: what it is.
    pub not_a_list: Option<&'static str>,
    /// Empty, or the authenticator's skippable forms (``` `` ```, `""`).
    pub skippable: bool,
    pub entries: Vec<MapEntry>,
    pub accounts: Vec<AccountEntry>,
}

impl DataValue {
    /// Whether the authenticator reads this value as `section`.
    #[must_use]
    pub fn is_effective(&self, section: Section) -> bool {
        self.exact && self.section == Some(section)
    }
}

/// A parsed aws-auth ConfigMap.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AwsAuth {
    /// The file name as shown in findings.
    pub file: String,
    /// The line of `data:` (or of the ConfigMap when it has no data).
    pub data_line: usize,
    pub namespace: Option<String>,
    /// The line of `metadata.namespace`.
    pub namespace_line: usize,
    pub values: Vec<DataValue>,
}

impl AwsAuth {
    /// The data value the authenticator reads for `section` (the last, if repeated).
    #[must_use]
    pub fn effective(&self, section: Section) -> Option<&DataValue> {
        self.values.iter().rev().find(|v| v.is_effective(section))
    }

    /// Entries of a section the authenticator reads, in order.
    pub fn entries(&self, section: Section) -> impl Iterator<Item = &MapEntry> {
        self.effective(section)
            .filter(|v| {
                self.rejected().is_none() && v.parse_error.is_none() && v.not_a_list.is_none()
            })
            .into_iter()
            .flat_map(|v| v.entries.iter())
    }

    /// Why the API server refuses the whole ConfigMap, when it does: a data
    /// value that is a list or mapping instead of a string (the `|`
    /// forgotten). Such a ConfigMap is never stored, so the cluster keeps its
    /// previous aws-auth and nothing in this file maps anyone.
    #[must_use]
    pub fn rejected(&self) -> Option<(usize, String)> {
        self.values.iter().find_map(|v| match v.form {
            ValueForm::NotString { what } => Some((
                v.key_line,
                format!(
                    "data key {} on line {} is {what}, not a string (the `|` after `{}:` is missing)",
                    v.key, v.key_line, v.key
                ),
            )),
            ValueForm::String { .. } => None,
        })
    }

    /// Every mapRoles/mapUsers entry, effective or not.
    pub fn all_entries(&self) -> impl Iterator<Item = (&DataValue, &MapEntry)> {
        self.values
            .iter()
            .flat_map(|v| v.entries.iter().map(move |e| (v, e)))
    }
}

/// Why the input is not an aws-auth ConfigMap (exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error("the input holds no Kubernetes object (it is empty, or an empty List)")]
    Empty,
    #[error("no ConfigMap named aws-auth in the input (found: {0})")]
    NotAwsAuth(String),
}

/// The outcome of reading a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    /// One or more aws-auth ConfigMaps (multi-document input may hold several).
    ConfigMaps(Vec<AwsAuth>),
    /// The file is not YAML (a finding, exit 1).
    Invalid(YamlError),
}

/// Read every aws-auth ConfigMap in `text`.
///
/// # Errors
/// When the input holds no aws-auth ConfigMap (it is empty, another kind, or
/// another ConfigMap).
pub fn read(text: &str, file: &str) -> Result<Read, ReadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let docs = match yaml::parse(text) {
        Ok(d) => d,
        Err(e) => return Ok(Read::Invalid(e)),
    };
    let lines = Lines::new(text);
    let mut objects = Vec::new();
    for d in &docs {
        collect_objects(d, &mut objects);
    }
    if objects.is_empty() {
        return Err(ReadError::Empty);
    }
    let mut found = Vec::new();
    let mut seen = Vec::new();
    for o in objects {
        let kind = o.get("kind").and_then(Node::as_str).unwrap_or("");
        let name = o
            .get("metadata")
            .and_then(|m| m.get("name"))
            .and_then(Node::as_str)
            .unwrap_or("");
        if kind == "ConfigMap" && name == "aws-auth" {
            found.push(read_config_map(o, file, text, &lines));
        } else {
            seen.push(match (kind, name) {
                ("", "") => format!("{} without kind", o.what()),
                (k, "") => k.to_owned(),
                ("", n) => format!("an object named {n} without kind"),
                (k, n) => format!("{k} {n}"),
            });
        }
    }
    if found.is_empty() {
        seen.truncate(5);
        return Err(ReadError::NotAwsAuth(seen.join(", ")));
    }
    Ok(Read::ConfigMaps(found))
}

fn collect_objects<'a>(n: &'a Node, out: &mut Vec<&'a Node>) {
    if n.is_null() {
        return;
    }
    if n.get("kind").and_then(Node::as_str) == Some("List")
        && let Some(Kind::Seq(items)) = n.get("items").map(|i| &i.kind)
    {
        for i in items {
            collect_objects(i, out);
        }
        return;
    }
    out.push(n);
}

fn read_config_map(o: &Node, file: &str, text: &str, lines: &Lines<'_>) -> AwsAuth {
    let ns = o.get("metadata").and_then(|m| m.get("namespace"));
    let mut auth = AwsAuth {
        file: file.to_owned(),
        data_line: o.start.line,
        namespace: ns.and_then(Node::as_str).map(str::to_owned),
        namespace_line: ns.map_or(o.start.line, |n| n.start.line),
        values: Vec::new(),
    };
    let Some(pairs) = o.as_map() else {
        return auth;
    };
    let Some((dk, data)) = pairs.iter().rev().find(|(k, _)| k.as_str() == Some("data")) else {
        return auth;
    };
    auth.data_line = dk.start.line;
    let Some(data_pairs) = data.as_map() else {
        return auth;
    };
    for (k, v) in data_pairs {
        let key = k.as_str().unwrap_or("").to_owned();
        let exact = Section::ALL.iter().find(|s| s.key() == key).copied();
        let section = exact.or_else(|| {
            Section::ALL
                .iter()
                .find(|s| s.key().eq_ignore_ascii_case(&key))
                .copied()
        });
        let key_range = (lines.offset(k.start), lines.offset(k.end));
        let value_range = (lines.offset(v.start), lines.offset(v.end));
        let mut dv = DataValue {
            key,
            key_line: k.start.line,
            key_col: k.start.col,
            key_range,
            value_range,
            section,
            exact: exact.is_some(),
            form: ValueForm::NotString { what: v.what() },
            parse_error: None,
            not_a_list: None,
            skippable: false,
            entries: Vec::new(),
            accounts: Vec::new(),
        };
        match &v.kind {
            Kind::Scalar { value, style } => {
                let (header_line, indent, placement) = place_string(v, *style, text, lines);
                dv.form = ValueForm::String {
                    style: *style,
                    text: value.clone(),
                    header_line,
                    indent,
                };
                let trimmed = value.trim();
                // The authenticator's isSkippable: blank, ``, "" and ''.
                dv.skippable =
                    trimmed.is_empty() || trimmed == "``" || trimmed == "\"\"" || trimmed == "''";
                if let Some(section) = section
                    && !dv.skippable
                {
                    match yaml::parse(value) {
                        Ok(docs) => {
                            let root = docs.into_iter().next();
                            fill_section(&mut dv, section, root.as_ref(), &placement, text, lines);
                        }
                        Err(mut e) => {
                            let (line, col) = map_pos(
                                &placement,
                                Pos {
                                    line: e.line,
                                    col: e.column.saturating_sub(1),
                                    index: 0,
                                },
                                None,
                                text,
                                lines,
                            );
                            e.line = line;
                            e.column = col + 1;
                            dv.parse_error = Some(e);
                        }
                    }
                }
            }
            Kind::Seq(_) | Kind::Map(_) => {
                if let Some(section) = section {
                    fill_section(&mut dv, section, Some(v), &Placement::Outer, text, lines);
                }
            }
        }
        auth.values.push(dv);
    }
    auth
}

/// The header line, content indentation and placement of a string value.
fn place_string(
    v: &Node,
    style: Style,
    text: &str,
    lines: &Lines<'_>,
) -> (usize, usize, Placement) {
    if style == Style::Literal {
        // The span starts at the first non-empty content line; the header
        // (`|`) is the last line before it that carries the indicator.
        let mut header = v.start.line.saturating_sub(1).max(1);
        while header > 1 {
            let l = lines.line(header);
            if l.trim_start().starts_with('#') || l.trim().is_empty() {
                header -= 1;
            } else {
                break;
            }
        }
        let first = lines.line(v.start.line);
        let outer_lead = first.len() - first.trim_start_matches(' ').len();
        let value = v.as_str().unwrap_or("");
        let inner_first = value.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        let inner_lead = inner_first.len() - inner_first.trim_start_matches(' ').len();
        let indent = outer_lead.saturating_sub(inner_lead);
        return (
            header,
            indent,
            Placement::Literal {
                header_line: header,
                indent,
            },
        );
    }
    let start = lines.offset(v.start);
    let end = lines.offset(v.end);
    (
        v.start.line,
        0,
        Placement::Search {
            start,
            end: end.max(start).min(text.len()),
            cursor: std::cell::Cell::new(start),
        },
    )
}

/// Map a position inside the value's text to (line, 0-based column) of the file.
/// `needle` helps the search placement find the line.
fn map_pos(
    placement: &Placement,
    p: Pos,
    needle: Option<&str>,
    text: &str,
    lines: &Lines<'_>,
) -> (usize, usize) {
    match placement {
        Placement::Literal {
            header_line,
            indent,
        } => (header_line + p.line, p.col + indent),
        Placement::Outer => (p.line, p.col),
        Placement::Search { start, end, cursor } => {
            let from = cursor.get().clamp(*start, *end);
            let region = text.get(from..*end).unwrap_or("");
            let abs = match needle
                .filter(|n| !n.is_empty())
                .and_then(|n| region.find(n))
            {
                Some(at) => {
                    cursor.set(from + at);
                    from + at
                }
                None => from,
            };
            (lines.line_of(abs), 0)
        }
    }
}

fn fill_section(
    dv: &mut DataValue,
    section: Section,
    root: Option<&Node>,
    placement: &Placement,
    text: &str,
    lines: &Lines<'_>,
) {
    let Some(root) = root else {
        dv.skippable = true;
        return;
    };
    if root.is_null() {
        dv.skippable = true;
        return;
    }
    let Kind::Seq(items) = &root.kind else {
        dv.not_a_list = Some(root.what());
        return;
    };
    let line_of = |p: Pos, needle: Option<&str>| map_pos(placement, p, needle, text, lines).0;
    if section == Section::Accounts {
        for item in items {
            let value = item.as_str().unwrap_or("").to_owned();
            dv.accounts.push(AccountEntry {
                line: line_of(item.start, Some(&value)),
                scalar: item.as_str().is_some(),
                value,
            });
        }
        return;
    }
    let last_index = items.len().saturating_sub(1);
    for (index, item) in items.iter().enumerate() {
        // The entry runs to the line before the next one starts.
        let last_line = if index < last_index {
            items[index + 1]
                .start
                .line
                .saturating_sub(1)
                .max(item.start.line)
        } else {
            item.end.line.max(item.start.line)
        };
        let mut entry = MapEntry {
            section,
            index,
            line: 0,
            inner_lines: (item.start.line, last_line),
            arn: None,
            foreign_arn: None,
            username: None,
            groups: Groups::Missing,
            groups_key: None,
            sso: false,
            unknown_keys: Vec::new(),
            shadowed_keys: Vec::new(),
            not_a_mapping: None,
        };
        let Some(pairs) = item.as_map() else {
            entry.not_a_mapping = Some(item.what());
            entry.line = line_of(item.start, item.as_str());
            dv.entries.push(entry);
            continue;
        };
        // The ARN locates the entry for the search placement.
        let arn_text = pairs
            .iter()
            .find(|(k, _)| {
                k.as_str().is_some_and(|k| {
                    k.eq_ignore_ascii_case("rolearn") || k.eq_ignore_ascii_case("userarn")
                })
            })
            .and_then(|(_, v)| v.as_str());
        entry.line = line_of(item.start, arn_text);
        // Go's encoding/json matches keys case-insensitively; sigs.k8s.io/yaml
        // hands it a Go map, so keys arrive sorted and the key sorting last wins.
        let mut known: Vec<(String, Field, &Node)> = Vec::new();
        for (k, v) in pairs {
            let key = k.as_str().unwrap_or("").to_owned();
            let lower = key.to_ascii_lowercase();
            let field = Field {
                key: key.clone(),
                value: v.as_str().unwrap_or("").to_owned(),
                line: if placement == &Placement::Outer
                    || matches!(placement, Placement::Literal { .. })
                {
                    line_of(k.start, None)
                } else {
                    entry.line
                },
                span: (v.start, v.end),
                key_span: (k.start, k.end),
            };
            let is_known = section.known_entry_keys().contains(&lower.as_str())
                || lower == section.other().arn_key();
            if !is_known {
                entry.unknown_keys.push(field);
                continue;
            }
            if let Some(pos) = known.iter().position(|(l, _, _)| *l == lower) {
                let (_, prev, prev_node) = known.remove(pos);
                // Exact repeats: the last wins; case variants: the one sorting last.
                if prev.key <= key {
                    entry.shadowed_keys.push(prev);
                    known.push((lower, field, v));
                } else {
                    entry.shadowed_keys.push(field);
                    known.push((lower, prev, prev_node));
                }
                continue;
            }
            known.push((lower, field, v));
        }
        for (lower, field, node) in known {
            match lower.as_str() {
                "rolearn" | "userarn" if lower == section.arn_key() => entry.arn = Some(field),
                "rolearn" | "userarn" => entry.foreign_arn = Some(field),
                "username" => entry.username = Some(field),
                "sso" => entry.sso = true,
                "groups" => {
                    entry.groups_key = Some(field.clone());
                    entry.groups = match &node.kind {
                        _ if node.is_null() => Groups::Missing,
                        Kind::Seq(gs) => Groups::List(
                            gs.iter()
                                .map(|g| Field {
                                    key: field.key.clone(),
                                    value: g.as_str().unwrap_or("").to_owned(),
                                    line: if matches!(placement, Placement::Search { .. }) {
                                        entry.line
                                    } else {
                                        line_of(g.start, None)
                                    },
                                    span: (g.start, g.end),
                                    key_span: field.key_span,
                                })
                                .collect(),
                        ),
                        Kind::Scalar { .. } | Kind::Map(_) => Groups::NotList {
                            what: node.what(),
                            field,
                        },
                    };
                }
                _ => {}
            }
        }
        dv.entries.push(entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> AwsAuth {
        match read(text, "aws-auth.yaml").unwrap() {
            Read::ConfigMaps(mut v) => v.remove(0),
            Read::Invalid(e) => panic!("{e}"),
        }
    }

    const CM: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: aws-auth\n  namespace: kube-system\ndata:\n  mapRoles: |\n    - rolearn: arn:aws:iam::111122223333:role/team/eks-admin\n      username: admin\n      groups:\n        - system:masters\n    - RoleArn: arn:aws:iam::111122223333:role/node\n      username: system:node:{{EC2PrivateDNSName}}\n      groups: [system:bootstrappers, system:nodes]\n  mapUsers: \"- userarn: arn:aws:iam::111122223333:user/alice\\n  username: alice\\n\"\n";

    #[test]
    fn literal_block_lines_map_to_the_file() {
        let a = one(CM);
        let roles = a.effective(Section::Roles).unwrap();
        assert_eq!(roles.entries.len(), 2);
        assert_eq!(roles.entries[0].line, 8);
        assert_eq!(roles.entries[0].arn.as_ref().unwrap().line, 8);
        assert_eq!(roles.entries[0].username.as_ref().unwrap().line, 9);
        assert_eq!(roles.entries[1].line, 12);
        assert_eq!(roles.entries[1].arn.as_ref().unwrap().key, "RoleArn");
        match &roles.entries[1].groups {
            Groups::List(g) => assert_eq!(g[1].value, "system:nodes"),
            other => panic!("{other:?}"),
        }
        let users = a.effective(Section::Users).unwrap();
        assert_eq!(users.entries[0].line, 15);
        assert_eq!(users.entries[0].username(), "alice");
    }

    #[test]
    fn lists_and_multi_documents() {
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: other}}\n- {}",
            "kind: ConfigMap\n  metadata:\n    name: aws-auth\n  data:\n    mapAccounts: |\n      - \"111122223333\"\n"
        );
        let a = one(&list);
        assert_eq!(a.effective(Section::Accounts).unwrap().accounts[0].line, 12);
        let multi = "kind: Namespace\nmetadata: {name: x}\n---\nkind: ConfigMap\nmetadata: {name: aws-auth}\ndata: {}\n";
        assert!(one(multi).values.is_empty());
    }

    #[test]
    fn not_aws_auth_and_invalid() {
        assert!(matches!(
            read("kind: ConfigMap\nmetadata: {name: coredns}\n", "f"),
            Err(ReadError::NotAwsAuth(s)) if s.contains("ConfigMap coredns")
        ));
        assert!(matches!(read("", "f"), Err(ReadError::Empty)));
        assert!(matches!(read("a: [\n", "f"), Ok(Read::Invalid(_))));
    }

    #[test]
    fn inner_errors_map_to_file_lines() {
        let a = one(
            "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles: |\n    - rolearn: x\n      groups: [a\n",
        );
        let e = a.values[0].parse_error.as_ref().unwrap();
        assert!(e.line >= 6, "{e:?}");
    }

    #[test]
    fn bare_list_is_not_a_string() {
        let a = one(
            "kind: ConfigMap\nmetadata: {name: aws-auth}\ndata:\n  mapRoles:\n    - rolearn: arn:aws:iam::111122223333:role/x\n",
        );
        assert!(matches!(a.values[0].form, ValueForm::NotString { .. }));
        assert_eq!(a.values[0].entries[0].line, 5);
    }
}
