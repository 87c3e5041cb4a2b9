//! A small YAML tree with positions, built from saphyr-parser's events.
//!
//! aws-auth needs what a generic YAML loader throws away: the scalar style
//! (is `mapRoles` a `|` block string or a bare list?), the line and column of
//! every node, duplicate and wrongly-cased keys in their original order. So
//! the tree keeps mappings as ordered pairs, and every node its span.
//! Aliases are expanded (as Go's yaml does) within a node budget, so a
//! "billion laughs" input is an error, not an out-of-memory.

use saphyr_parser::{Event, Parser, ScalarStyle};

/// A position in the text: 1-based line, 0-based column and index, both in
/// characters (as saphyr reports them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
    pub index: usize,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    /// `|`
    Literal,
    /// `>`
    Folded,
}

impl From<ScalarStyle> for Style {
    fn from(s: ScalarStyle) -> Self {
        match s {
            ScalarStyle::Plain => Self::Plain,
            ScalarStyle::SingleQuoted => Self::SingleQuoted,
            ScalarStyle::DoubleQuoted => Self::DoubleQuoted,
            ScalarStyle::Literal => Self::Literal,
            ScalarStyle::Folded => Self::Folded,
        }
    }
}

/// One YAML node and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: Kind,
    pub start: Pos,
    pub end: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar {
        value: String,
        style: Style,
    },
    Seq(Vec<Node>),
    /// Pairs in document order; duplicate keys kept.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// The scalar's text, if this is a scalar.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The scalar's style, if this is a scalar.
    #[must_use]
    pub fn style(&self) -> Option<Style> {
        match &self.kind {
            Kind::Scalar { style, .. } => Some(*style),
            _ => None,
        }
    }

    /// Whether this is a plain scalar meaning null (`~`, `null`, empty).
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: Style::Plain }
            if value.is_empty() || value == "~" || value.eq_ignore_ascii_case("null"))
    }

    /// The pairs, if this is a mapping.
    #[must_use]
    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            Kind::Map(pairs) => Some(pairs),
            _ => None,
        }
    }

    /// The last value under an exact scalar key (YAML decoders keep the last).
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .rev()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// A short name for what this node is, for messages.
    #[must_use]
    pub fn what(&self) -> &'static str {
        match &self.kind {
            Kind::Scalar { .. } => "a string",
            Kind::Seq(_) => "a list",
            Kind::Map(_) => "a mapping",
        }
    }
}

/// YAML that does not parse: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {line}, column {column})")]
pub struct YamlError {
    pub message: String,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
}

/// At most this many nodes per input, aliases expanded.
const NODE_BUDGET: usize = 2_000_000;
/// At most this nesting depth.
const MAX_DEPTH: usize = 256;

enum Frame {
    Seq {
        anchor: usize,
        start: Pos,
        items: Vec<Node>,
    },
    Map {
        anchor: usize,
        start: Pos,
        pairs: Vec<(Node, Node)>,
        key: Option<Node>,
    },
}

fn pos(m: saphyr_parser::Marker) -> Pos {
    Pos {
        line: m.line(),
        col: m.col(),
        index: m.index(),
    }
}

/// Parse every document of a YAML stream.
///
/// # Errors
/// The first syntax error, with its line and column; also inputs that nest
/// too deeply or expand aliases past the node budget.
pub fn parse(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: std::collections::HashMap<usize, Node> = std::collections::HashMap::new();
    let mut budget = NODE_BUDGET;
    let mut last = Pos::default();
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| YamlError {
            message: e.info().to_owned(),
            line: e.marker().line().max(1),
            column: e.marker().col() + 1,
        })?;
        let (start, end) = (pos(span.start), pos(span.end));
        last = end;
        let done: Option<(Node, usize)> = match ev {
            Event::Scalar(value, style, anchor, _) => Some((
                Node {
                    kind: Kind::Scalar {
                        value: value.into_owned(),
                        style: style.into(),
                    },
                    start,
                    end,
                },
                anchor,
            )),
            Event::SequenceStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(start));
                }
                stack.push(Frame::Seq {
                    anchor,
                    start,
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(too_deep(start));
                }
                stack.push(Frame::Map {
                    anchor,
                    start,
                    pairs: Vec::new(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq {
                    anchor,
                    start,
                    items,
                }) => Some((
                    Node {
                        kind: Kind::Seq(items),
                        start,
                        end,
                    },
                    anchor,
                )),
                _ => return Err(structure(start)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map {
                    anchor,
                    start,
                    pairs,
                    key,
                }) => {
                    let mut pairs = pairs;
                    if let Some(k) = key {
                        // A key without a value cannot come from the parser; keep it as null.
                        let null = Node {
                            kind: Kind::Scalar {
                                value: String::new(),
                                style: Style::Plain,
                            },
                            start: k.end,
                            end: k.end,
                        };
                        pairs.push((k, null));
                    }
                    Some((
                        Node {
                            kind: Kind::Map(pairs),
                            start,
                            end,
                        },
                        anchor,
                    ))
                }
                _ => return Err(structure(start)),
            },
            Event::Alias(id) => {
                let Some(target) = anchors.get(&id) else {
                    return Err(YamlError {
                        message: "alias to an unknown anchor".to_owned(),
                        line: start.line.max(1),
                        column: start.col + 1,
                    });
                };
                let cost = count(target);
                if cost > budget {
                    return Err(YamlError {
                        message: "aliases expand past the size eksdoctor reads".to_owned(),
                        line: start.line.max(1),
                        column: start.col + 1,
                    });
                }
                budget -= cost;
                let mut node = target.clone();
                node.start = start;
                node.end = end;
                Some((node, 0))
            }
            Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart(_)
            | Event::DocumentEnd
            | Event::Nothing => None,
        };
        let Some((node, anchor)) = done else {
            continue;
        };
        budget = budget.checked_sub(1).ok_or_else(|| YamlError {
            message: "the document is larger than eksdoctor reads".to_owned(),
            line: start.line.max(1),
            column: start.col + 1,
        })?;
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { pairs, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => pairs.push((k, node)),
            },
        }
    }
    if !stack.is_empty() {
        return Err(structure(last));
    }
    Ok(docs)
}

fn count(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar { .. } => 1,
        Kind::Seq(items) => 1 + items.iter().map(count).sum::<usize>(),
        Kind::Map(pairs) => {
            1 + pairs
                .iter()
                .map(|(k, v)| count(k) + count(v))
                .sum::<usize>()
        }
    }
}

fn too_deep(p: Pos) -> YamlError {
    YamlError {
        message: format!("nested deeper than {MAX_DEPTH} levels"),
        line: p.line.max(1),
        column: p.col + 1,
    }
}

fn structure(p: Pos) -> YamlError {
    YamlError {
        message: "unbalanced YAML structure".to_owned(),
        line: p.line.max(1),
        column: p.col + 1,
    }
}

/// Byte offsets of line starts, to turn (line, column-in-chars) into byte offsets.
#[derive(Debug, Clone)]
pub struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    #[must_use]
    pub fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Self { text, starts }
    }

    /// Number of lines (a trailing newline does not start a new line).
    #[must_use]
    pub fn count(&self) -> usize {
        if self.text.ends_with('\n') {
            self.starts.len() - 1
        } else {
            self.starts.len()
        }
    }

    /// Byte offset where 1-based `line` starts (the text's end past the last line).
    #[must_use]
    pub fn start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    /// The 1-based line holding byte `offset`.
    #[must_use]
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|s| *s <= offset).max(1)
    }

    /// The text of 1-based `line`, without its newline.
    #[must_use]
    pub fn line(&self, line: usize) -> &'a str {
        let s = self.start(line);
        let e = self.start(line + 1);
        self.text
            .get(s..e)
            .unwrap_or("")
            .trim_end_matches('\n')
            .trim_end_matches('\r')
    }

    /// Byte offset of a position (line, 0-based column in characters).
    #[must_use]
    pub fn offset(&self, p: Pos) -> usize {
        let s = self.start(p.line);
        let line = self.text.get(s..).unwrap_or("");
        let within = line
            .char_indices()
            .nth(p.col)
            .map_or(line.len(), |(i, _)| i);
        (s + within).min(self.text.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_styles_positions_and_duplicates() {
        let docs = parse("a: |\n  x\nb: 1\nb: 2\n").unwrap();
        let map = docs[0].as_map().unwrap();
        assert_eq!(map.len(), 3);
        assert_eq!(map[0].1.style(), Some(Style::Literal));
        assert_eq!(map[0].1.as_str(), Some("x\n"));
        assert_eq!(map[2].0.start.line, 4);
        assert_eq!(docs[0].get("b").unwrap().as_str(), Some("2"));
    }

    #[test]
    fn errors_carry_line_and_column() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.column >= 1);
    }

    #[test]
    fn aliases_expand_within_budget() {
        let docs = parse("x: &a [1, 2]\ny: *a\n").unwrap();
        assert_eq!(docs[0].get("y").unwrap(), &{
            let mut n = docs[0].get("x").unwrap().clone();
            n.start = docs[0].get("y").unwrap().start;
            n.end = docs[0].get("y").unwrap().end;
            n
        });
        let mut laughs = String::from("a: &a [x,x,x,x,x,x,x,x,x,x]\n");
        let mut prev = 'a';
        for c in 'b'..='k' {
            laughs.push_str(&format!("{c}: &{c} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
            prev = c;
        }
        assert!(parse(&laughs).is_err());
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).is_err());
    }

    #[test]
    fn multi_documents() {
        let docs = parse("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(docs.len(), 2);
    }

    #[test]
    fn offsets_count_characters() {
        let text = "é: x\nab: y\n";
        let l = Lines::new(text);
        assert_eq!(
            l.offset(Pos {
                line: 1,
                col: 3,
                index: 3
            }),
            4
        );
        assert_eq!(l.line(2), "ab: y");
        assert_eq!(l.line_of(0), 1);
        assert_eq!(l.line_of(5), 1);
        assert_eq!(l.line_of(6), 2);
        assert_eq!(l.count(), 2);
    }
}
