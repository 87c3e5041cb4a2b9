//! Reading input of any size with flat memory: gzip by its magic bytes,
//! CloudTrail JSON (`{"Records":[...]}`, `{"Events":[...]}` from
//! lookup-events, a JSON array, or one record per line) record by record, and
//! text in 1 MiB chunks.
//!
//! Text is scanned chunk-wide with a multi-pattern prefilter
//! ([`aho_corasick`], SIMD where the CPU has it): only lines holding one of
//! the trigger phrases are decoded and parsed, so the 99% of log lines that
//! are not errors cost a single pass. A line longer than [`MAX_LINE`] is
//! examined up to that length and the rest skipped. A message wrapped over
//! several lines (pasted from a terminal or the docs) is stitched back
//! together when the next line continues it.

use std::io::{BufRead, BufReader, Read};
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, MatchKind};
use memchr::{memchr, memrchr};

use super::Explainer;

/// Bytes read at a time.
pub const CHUNK: usize = 1 << 20;
/// Longest line examined; the rest of a longer line is skipped.
pub const MAX_LINE: usize = 1 << 20;
/// Largest JSON value (a record, or a whole small document) parsed at once.
pub const MAX_JSON_VALUE: usize = 8 << 20;
/// Most lines one wrapped message is stitched from, and its byte cap.
const MAX_STITCH_LINES: usize = 8;
const MAX_STITCH_BYTES: usize = 64 << 10;

/// Phrases that make a line worth parsing. Case-sensitive on purpose: these
/// are the spellings AWS, kubectl and credential files use.
const TRIGGERS: &[&str] = &[
    "authorized",
    "forbidden",
    "ubernetes objects",
    "should be scoped",
    "xpired",
    "InvalidClientTokenId",
    "token included in the request",
    "ignature",
    "InvalidAccessKeyId",
    "Access Key Id you provided",
    "AccessKeysPerUser",
    "principalArn",
    "ecret",
    "ECRET",
    "AKIA",
    "ASIA",
    "ncoded authorization",
    "errorCode",
    "must be logged in",
    "An error occurred (",
    "missing permissions",
    "SSO ",
    "provide credentials",
    "role-to-assume",
    "configure-aws-credentials",
    "gitlab",
    "GITLAB",
    "169.254.170.23",
    "nable to load credentials",
];

fn triggers() -> Option<&'static AhoCorasick> {
    static AC: OnceLock<Option<AhoCorasick>> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(TRIGGERS)
            .ok()
    })
    .as_ref()
}

/// Why reading stopped early. Findings up to that point are kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "the gzip data is truncated or corrupt ({message}) after {text_bytes} bytes of text; findings up to there are reported"
    )]
    Gzip { text_bytes: u64, message: String },
    #[error("{message}")]
    Io {
        kind: std::io::ErrorKind,
        message: String,
    },
}

/// What a read saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Bytes of text (after gunzip).
    pub bytes: u64,
    pub lines: u64,
    pub gzip: bool,
    /// JSON values (CloudTrail records and documents) parsed.
    pub json_values: u64,
    /// Lines longer than [`MAX_LINE`], examined only up to that length.
    pub long_lines: u64,
    /// JSON records larger than [`MAX_JSON_VALUE`], skipped.
    pub skipped_values: u64,
}

fn io_error(e: &std::io::Error) -> ReadError {
    ReadError::Io {
        kind: e.kind(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_owned(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
            std::io::ErrorKind::IsADirectory => "is a directory".to_owned(),
            _ => e.to_string(),
        },
    }
}

/// A message being stitched from consecutive lines.
struct Held {
    text: Vec<u8>,
    line: u64,
    lines: usize,
    /// The last line ended without whitespace: a hard wrap may have cut a word.
    open: bool,
    /// The first line's log prefix (timestamp, level word), repeated on
    /// continuation lines of the same log record and stripped there.
    level: Option<Vec<u8>>,
}

impl Held {
    fn start(first: &[u8], line: u64) -> Self {
        let rest = super::strip_log_prefix_bytes(first);
        let stamped = rest.len() < first.len();
        let level = stamped.then(|| {
            let w = &rest[..rest
                .iter()
                .position(u8::is_ascii_whitespace)
                .unwrap_or(rest.len())];
            let word = w.strip_suffix(b":").unwrap_or(w);
            let is_level = [
                &b"ERROR"[..],
                b"WARN",
                b"WARNING",
                b"INFO",
                b"DEBUG",
                b"FATAL",
                b"E",
                b"W",
                b"I",
            ]
            .iter()
            .any(|l| word.eq_ignore_ascii_case(l));
            if is_level { w.to_vec() } else { Vec::new() }
        });
        Self {
            text: first.trim_ascii().to_vec(),
            line,
            lines: 1,
            open: first.last().is_some_and(|b| !b.is_ascii_whitespace()),
            level,
        }
    }

    /// A continuation line without the log prefix its first line had.
    fn strip_prefix<'b>(&self, next: &'b [u8]) -> &'b [u8] {
        let Some(level) = &self.level else {
            return next;
        };
        let rest = super::strip_log_prefix_bytes(next);
        if rest.len() == next.len() {
            return next;
        }
        let rest = if !level.is_empty() && rest.starts_with(level) {
            &rest[level.len()..]
        } else {
            rest
        };
        rest.strip_prefix(b" ").unwrap_or(rest)
    }
}

/// How a continuation line joins the held message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Join {
    No,
    Space,
    /// Without a space: the line break cut a word, an ARN or an action.
    Glue,
}

/// What may follow a token completed by gluing: the grammar around principals,
/// actions and resources.
const AFTER_TOKEN: &[&[u8]] = &[
    b"on resource",
    b"on this resource",
    b"because",
    b"with an explicit",
    b"is not authorized",
    b"cannot ",
    b"due to",
    b"(Service:",
    b"\"",
    b"\\\"",
    b"'",
    b".",
    b",",
    b")",
];

/// Grammar words a wrap may cut in two.
const WORDS: &[&str] = &[
    "authorized",
    "perform:",
    "resource:",
    "because",
    "explicit",
    "identity-based",
    "resource-based",
    "permissions",
    "boundary",
    "policy",
    "forbidden:",
];

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'_' | b'/' | b':' | b'.' | b'*' | b'@' | b'+' | b'='
        )
}

/// Whether gluing `next` to the held text completes a principal, action,
/// resource or grammar word, and what follows the glued piece fits the grammar.
fn glue_fits(prev: &[u8], next: &[u8]) -> bool {
    let Some(&first) = next.first() else {
        return false;
    };
    if !is_token_byte(first) {
        return false;
    }
    let last_start = prev
        .iter()
        .rposition(|b| b.is_ascii_whitespace())
        .map_or(0, |i| i + 1);
    let before = prev[..last_start].trim_ascii_end();
    let last = &prev[last_start..];
    let last = last
        .iter()
        .position(|&b| is_token_byte(b))
        .map_or(&last[last.len()..], |i| &last[i..]);
    if last.is_empty() {
        return false;
    }
    let frag_len = next.iter().take_while(|&&b| is_token_byte(b)).count();
    let frag = &next[..frag_len];
    let rest = next[frag_len..].trim_ascii_start();
    let rest_fits = rest.is_empty() || AFTER_TOKEN.iter().any(|a| rest.starts_with(a));
    // Cheap exit for the common case (the next line is another log record).
    if !rest_fits && last.len() + frag.len() > 16 {
        return false;
    }
    let joined: Vec<u8> = [last, frag].concat();
    let joined_s = String::from_utf8_lossy(&joined);
    if WORDS.iter().any(|w| joined_s == *w) && !WORDS.iter().any(|w| w.as_bytes() == last) {
        return true;
    }
    if !rest_fits {
        return false;
    }
    if last.starts_with(b"arn:") {
        return true;
    }
    // The action slot: `... to perform: cloudforma` + `tion:DescribeStacks`.
    // The catalog of actions decides where it covers the service: glue when
    // the joined piece is a catalogued action, not when only the held piece is.
    if before.ends_with(b"perform:") || before.ends_with(b"API:") {
        let Some(action) =
            super::denial::leading_action(&joined_s).filter(|a| a.len() == joined.len())
        else {
            return false;
        };
        let known = |a: &str| {
            a.split_once(':')
                .and_then(|(svc, name)| super::check::known_action(svc, name))
        };
        return match known(action) {
            Some(true) | None => true,
            Some(false) => known(&String::from_utf8_lossy(last)) != Some(true),
        };
    }
    false
}

fn join_kind(held: &Held, raw: &[u8]) -> Join {
    if held.lines >= MAX_STITCH_LINES || held.text.len() >= MAX_STITCH_BYTES {
        return Join::No;
    }
    let unprefixed = held.strip_prefix(raw);
    let next = unprefixed.trim_ascii();
    if next.is_empty() {
        return Join::No;
    }
    let leading_space = unprefixed.first().is_some_and(u8::is_ascii_whitespace);
    if held.open && !leading_space && glue_fits(&held.text, next) {
        return Join::Glue;
    }
    let prev = held.text.trim_ascii();
    if OPEN_ENDS.iter().any(|e| prev.ends_with(e))
        || CONTINUATIONS.iter().any(|c| next.starts_with(c))
    {
        Join::Space
    } else {
        Join::No
    }
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    b.trim_ascii()
}

/// Phrases that end a line in the middle of a message.
const OPEN_ENDS: &[&[u8]] = &[
    b"is not authorized",
    b" is not",
    b"to perform",
    b"on resource",
    b"because",
    b"explicit deny",
    b" in a",
    b" in an",
    b" in the",
    b":",
];

/// Phrases that start a line continuing a message.
const CONTINUATIONS: &[&[u8]] = &[
    b"is not authorized",
    b"not authorized",
    b"to perform",
    b"on resource",
    b"on this resource",
    b"because no ",
    b"because the ",
    b"with an explicit deny",
    b"transitively through",
    b"Encoded authorization failure message",
    b"Go to https://",
    b"or call the GetRequestAuthorizationDetails",
    b"for complete details",
    b"with the following authorization id",
];

/// Where to cut a piece of a long line: before the last message start in its
/// last 64 KiB (`User: `, `An error occurred`, a JSON object, an escaped line
/// break), else after its last space or comma, else at its end.
fn safe_cut(piece: &[u8]) -> usize {
    let floor = piece.len() / 2;
    let window = piece.len().saturating_sub(64 << 10).max(floor);
    let tail = &piece[window..];
    let starts: [&[u8]; 5] = [b"User: ", b"An error occurred", b"{\"", b"\\n", b"Error"];
    let best = starts
        .iter()
        .filter_map(|s| memchr::memmem::rfind(tail, s))
        .max()
        .map(|i| window + i)
        .filter(|&i| i > floor);
    if let Some(i) = best {
        return i;
    }
    match memrchr(b' ', tail).or_else(|| memrchr(b',', tail)) {
        Some(i) => window + i + 1,
        None => piece.len(),
    }
}

fn count_newlines(b: &[u8]) -> u64 {
    // memchr's SIMD search: ~8x faster here than a filter-and-count loop,
    // and this pass over non-matching text bounds the speed.
    memchr::memchr_iter(b'\n', b).count() as u64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Detect,
    Text,
    Json,
}

/// Streaming JSON splitter state.
#[derive(Default)]
struct Json {
    depth: u32,
    in_str: bool,
    esc: bool,
    /// The whole top-level value, unless it is a records container.
    top: Option<Vec<u8>>,
    top_line: u64,
    top_overflow: bool,
    /// The current element of a records array.
    elem: Option<Vec<u8>>,
    elem_line: u64,
    elem_overflow: bool,
    /// The depth at which records-array elements start.
    records_depth: Option<u32>,
    /// The last string at depth 1 (a key, for `"Records"` / `"Events"`).
    key: Vec<u8>,
    key_on: bool,
}

/// Where scanned text goes: straight into the explainer, or into a batch for
/// it when the scan runs on its own thread.
trait Sink {
    /// One (logical, possibly stitched) line, `line` 1-based.
    fn line(&mut self, text: &[u8], line: u64);
    /// One JSON value (a record, or a whole document) that starts at `line`.
    fn json(&mut self, bytes: &[u8], line: u64, overflow: bool, element: bool);
}

/// The explainer's side: lines are fed to it, JSON values parsed and fed.
struct Feeder<'a> {
    ex: &'a mut Explainer,
    source: Option<&'a str>,
    json_values: u64,
    skipped_values: u64,
}

impl Feeder<'_> {
    fn text(&mut self, text: &str, line: u64) {
        self.ex.feed_line(text, line, self.source);
    }

    /// Bytes that turned out not to be CloudTrail JSON, scanned as text.
    fn text_fallback(&mut self, bytes: &[u8], first_line: u64) {
        let mut s = Scanner::new(first_line.saturating_sub(1));
        s.scan_region(bytes, self);
        s.flush(self);
    }
}

impl Sink for Feeder<'_> {
    fn line(&mut self, text: &[u8], line: u64) {
        // The common case is valid UTF-8: checked without copying.
        match std::str::from_utf8(text) {
            Ok(text) => self.text(text, line),
            Err(_) => {
                let text = String::from_utf8_lossy(text);
                self.text(&text, line);
            }
        }
    }

    fn json(&mut self, bytes: &[u8], line: u64, overflow: bool, element: bool) {
        if overflow {
            self.skipped_values += 1;
            if !element {
                self.text_fallback(bytes, line);
            }
            return;
        }
        match serde_json::from_slice::<serde_json::Value>(bytes) {
            Ok(v) => {
                self.json_values += 1;
                if !self.ex.feed_json(&v, line, self.source) {
                    self.text_fallback(bytes, line);
                }
            }
            Err(_) => self.text_fallback(bytes, line),
        }
    }
}

/// Lines and JSON values in the order the scan met them, sent from the scan
/// thread to the explainer in one message.
#[derive(Default)]
struct Batch {
    /// Lines, already valid UTF-8 (a lossy copy where the input was not).
    text: String,
    json: Vec<u8>,
    items: Vec<Item>,
}

enum Item {
    Line {
        end: usize,
        line: u64,
    },
    Json {
        end: usize,
        line: u64,
        overflow: bool,
        element: bool,
    },
}

/// A batch is sent when it holds this many bytes or [`BATCH_ITEMS`] items.
const BATCH_BYTES: usize = 64 << 10;
const BATCH_ITEMS: usize = 512;
/// Batches in flight between the scan thread and the explainer.
const BATCHES_IN_FLIGHT: usize = 4;

impl Batch {
    fn clear(&mut self) {
        self.text.clear();
        self.json.clear();
        self.items.clear();
        // A batch that carried a big JSON document does not keep its memory.
        if self.json.capacity() > 4 * BATCH_BYTES {
            self.json = Vec::new();
        }
    }

    fn full(&self) -> bool {
        self.text.len() + self.json.len() >= BATCH_BYTES || self.items.len() >= BATCH_ITEMS
    }

    fn feed(&self, feeder: &mut Feeder<'_>) {
        let (mut t, mut j) = (0, 0);
        for item in &self.items {
            match *item {
                Item::Line { end, line } => {
                    feeder.text(self.text.get(t..end).unwrap_or_default(), line);
                    t = end;
                }
                Item::Json {
                    end,
                    line,
                    overflow,
                    element,
                } => {
                    feeder.json(
                        self.json.get(j..end).unwrap_or_default(),
                        line,
                        overflow,
                        element,
                    );
                    j = end;
                }
            }
        }
    }
}

/// The scan thread's side: fills batches and sends them, reusing the ones
/// the explainer has finished with.
struct BatchSink {
    batch: Batch,
    tx: std::sync::mpsc::SyncSender<Batch>,
    free: std::sync::mpsc::Receiver<Batch>,
}

impl BatchSink {
    fn send_if_full(&mut self) {
        if self.batch.full() {
            self.send();
        }
    }

    fn send(&mut self) {
        if self.batch.items.is_empty() {
            return;
        }
        let next = self.free.try_recv().unwrap_or_default();
        let full = std::mem::replace(&mut self.batch, next);
        // The explainer only stops listening when it is gone; nothing to do then.
        let _ = self.tx.send(full);
    }
}

impl Sink for BatchSink {
    fn line(&mut self, text: &[u8], line: u64) {
        match std::str::from_utf8(text) {
            Ok(t) => self.batch.text.push_str(t),
            Err(_) => self.batch.text.push_str(&String::from_utf8_lossy(text)),
        }
        let end = self.batch.text.len();
        self.batch.items.push(Item::Line { end, line });
        self.send_if_full();
    }

    fn json(&mut self, bytes: &[u8], line: u64, overflow: bool, element: bool) {
        self.batch.json.extend_from_slice(bytes);
        let end = self.batch.json.len();
        self.batch.items.push(Item::Json {
            end,
            line,
            overflow,
            element,
        });
        self.send_if_full();
    }
}

/// Inputs up to this size are read and scanned on the calling thread; a
/// bigger one is scanned on a thread of its own while the explainer parses.
const SMALL_INPUT: usize = 256 << 10;

/// Reads one source into the explainer.
pub(crate) struct Reader<'a> {
    ex: &'a mut Explainer,
    source: Option<&'a str>,
    first_line: u64,
    /// See [`SMALL_INPUT`].
    small_input: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(ex: &'a mut Explainer, source: Option<&'a str>) -> Self {
        Self {
            ex,
            source,
            first_line: 0,
            small_input: SMALL_INPUT,
        }
    }

    /// Number lines after `n` lines already seen (pasted text fed in parts).
    pub(crate) fn set_first_line(&mut self, n: u64) {
        self.first_line = n;
    }

    /// Read everything; gzip is recognised by its magic bytes.
    pub(crate) fn run(self, reader: impl Read + Send) -> (ReadStats, Result<(), ReadError>) {
        let mut scanner = Scanner::new(self.first_line);
        let mut feeder = Feeder {
            ex: self.ex,
            source: self.source,
            json_values: 0,
            skipped_values: 0,
        };
        let mut br = BufReader::with_capacity(64 << 10, reader);
        let head = loop {
            match br.fill_buf() {
                Ok(h) => break Ok(h),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(io_error(&e)),
            }
        };
        let (mut stats, result) = match head {
            Err(e) => (scanner.stats, Err(e)),
            Ok(head) => {
                let gzip = head.starts_with(&[0x1f, 0x8b]);
                scanner.stats.gzip = gzip;
                let small = self.small_input;
                if gzip {
                    scanner.drive(flate2::bufread::MultiGzDecoder::new(br), &mut feeder, small)
                } else {
                    scanner.drive(br, &mut feeder, small)
                }
            }
        };
        stats.json_values += feeder.json_values;
        stats.skipped_values += feeder.skipped_values;
        feeder.ex.long_lines += stats.long_lines;
        feeder.ex.end_source(feeder.source);
        (stats, result)
    }
}

/// The reading side: text scanning, stitching and JSON splitting, with no
/// explainer in it, so that it can run on a thread of its own.
struct Scanner {
    mode: Mode,
    line_no: u64,
    held: Option<Held>,
    /// Inside a line longer than [`MAX_LINE`], read in pieces.
    in_long: bool,
    json: Json,
    stats: ReadStats,
}

impl Scanner {
    fn new(line_no: u64) -> Self {
        Self {
            mode: Mode::Detect,
            line_no,
            held: None,
            in_long: false,
            json: Json::default(),
            stats: ReadStats::default(),
        }
    }

    /// Read `src` to its end into `feeder`: a small input on this thread, a
    /// bigger one with the scan on a second thread. Finishes the source.
    fn drive(
        mut self,
        mut src: impl Read + Send,
        feeder: &mut Feeder<'_>,
        small_input: usize,
    ) -> (ReadStats, Result<(), ReadError>) {
        let gzip = self.stats.gzip;
        let mut buf = Vec::new();
        let mut len = 0;
        let head = read_head(&mut src, &mut buf, &mut len, small_input);
        self.stats.bytes += len as u64;
        let result = match head {
            Err(e) => {
                // What was read before the error still counts.
                self.process(&buf[..len], true, feeder);
                Err(e)
            }
            Ok(true) => {
                self.process(&buf[..len], true, feeder);
                Ok(())
            }
            Ok(false) => {
                let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
                let (free_tx, free_rx) = std::sync::mpsc::channel::<Batch>();
                let scanned = std::thread::scope(|scope| {
                    let scan = scope.spawn(move || {
                        let mut sink = BatchSink {
                            batch: Batch::default(),
                            tx,
                            free: free_rx,
                        };
                        let result = self.pump(&mut src, &mut sink, buf, len);
                        self.finish(&mut sink);
                        sink.send();
                        (self.stats, result)
                    });
                    for mut batch in rx {
                        batch.feed(feeder);
                        batch.clear();
                        let _ = free_tx.send(batch);
                    }
                    scan.join()
                });
                return match scanned {
                    Ok((stats, result)) => {
                        (stats, result.map_err(|e| read_error(&e, gzip, stats.bytes)))
                    }
                    Err(_) => (
                        ReadStats::default(),
                        Err(ReadError::Io {
                            kind: std::io::ErrorKind::Other,
                            message: "the reading thread stopped unexpectedly".to_owned(),
                        }),
                    ),
                };
            }
        };
        self.finish(feeder);
        let bytes = self.stats.bytes;
        (self.stats, result.map_err(|e| read_error(&e, gzip, bytes)))
    }

    /// Read on (after `len` bytes already in `buf`) and process to the end.
    fn pump(
        &mut self,
        src: &mut dyn Read,
        sink: &mut impl Sink,
        mut buf: Vec<u8>,
        mut len: usize,
    ) -> std::io::Result<()> {
        // Big inputs are read CHUNK at a time into a buffer that is zeroed
        // once and then reused.
        let want = CHUNK;
        loop {
            if buf.len() < len + want {
                buf.resize(len + want, 0);
            }
            let n = loop {
                match src.read(&mut buf[len..len + want]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        // What was read before the error still counts.
                        self.process(&buf[..len], true, sink);
                        return Err(e);
                    }
                }
            };
            len += n;
            self.stats.bytes += n as u64;
            let eof = n == 0;
            let consumed = self.process(&buf[..len], eof, sink);
            buf.copy_within(consumed..len, 0);
            len -= consumed;
            if eof {
                return Ok(());
            }
        }
    }

    /// Process what can be processed; returns the bytes consumed.
    fn process(&mut self, buf: &[u8], eof: bool, sink: &mut impl Sink) -> usize {
        let mut consumed = 0;
        loop {
            match self.mode {
                Mode::Detect => {
                    let rest = &buf[consumed..];
                    let rest = rest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rest);
                    match rest.iter().position(|b| !b.is_ascii_whitespace()) {
                        Some(i) => {
                            self.mode = if matches!(rest[i], b'{' | b'[') {
                                Mode::Json
                            } else {
                                Mode::Text
                            };
                        }
                        None if eof => self.mode = Mode::Text,
                        None => return consumed,
                    }
                }
                Mode::Text => return consumed + self.text(&buf[consumed..], eof, sink),
                Mode::Json => {
                    let (n, to_text) = self.json_bytes(&buf[consumed..], sink);
                    consumed += n;
                    if !to_text {
                        return consumed;
                    }
                    self.mode = Mode::Text;
                }
            }
        }
    }

    fn text(&mut self, buf: &[u8], eof: bool, sink: &mut impl Sink) -> usize {
        let region_end = memrchr(b'\n', buf).map_or(0, |i| i + 1);
        if region_end > 0 {
            // The first line of the region may end a long line read in pieces.
            self.in_long = false;
            self.scan_region(&buf[..region_end], sink);
        }
        let mut tail = &buf[region_end..];
        let mut consumed = region_end;
        // A line with no end in sight: scan it in pieces cut where no message
        // can straddle the cut, and keep reading (never skip).
        while tail.len() > MAX_LINE || (eof && !tail.is_empty()) {
            if !self.in_long && tail.len() > MAX_LINE {
                self.in_long = true;
                self.stats.long_lines += 1;
            }
            let cut = if tail.len() > MAX_LINE {
                safe_cut(&tail[..MAX_LINE])
            } else {
                tail.len()
            };
            self.scan_region(&tail[..cut], sink);
            self.flush(sink);
            tail = &tail[cut..];
            consumed += cut;
        }
        if eof && !buf[region_end..].is_empty() {
            self.line_no += 1;
        }
        consumed
    }

    /// Scan complete lines (the last may lack its newline at EOF).
    fn scan_region(&mut self, region: &[u8], sink: &mut impl Sink) {
        let mut pos = 0;
        if self.held.is_some() && !self.absorb(region, &mut pos, sink) {
            return;
        }
        let Some(ac) = triggers() else {
            return;
        };
        while pos < region.len() {
            let Some(m) = ac.find(&region[pos..]) else {
                break;
            };
            let hit = pos + m.start();
            let line_start = memrchr(b'\n', &region[pos..hit]).map_or(pos, |i| pos + i + 1);
            self.line_no += count_newlines(&region[pos..line_start]);
            let line_end = memchr(b'\n', &region[hit..]).map_or(region.len(), |i| hit + i);
            let mut held = Held::start(&region[line_start..line_end], self.line_no + 1);
            // A message whose first words stand on the line before (`User: ARN is not` /
            // `authorized to perform: ...`): take that line in too.
            if line_start > pos + 1 {
                let prev_start =
                    memrchr(b'\n', &region[pos..line_start - 1]).map_or(pos, |i| pos + i + 1);
                let prev = &region[prev_start..line_start - 1];
                let cur = held.text.as_slice();
                let prev_t = prev.trim_ascii();
                if (CONTINUATIONS.iter().any(|c| cur.starts_with(c))
                    || OPEN_ENDS[..2].iter().any(|e| prev_t.ends_with(e)))
                    && memchr::memmem::find(prev, b"User").is_some()
                {
                    let mut h = Held::start(prev, self.line_no);
                    h.text.push(b' ');
                    h.text.extend_from_slice(cur);
                    h.lines = 2;
                    h.open = held.open;
                    held = h;
                }
            }
            self.held = Some(held);
            if line_end < region.len() {
                self.line_no += 1;
            }
            pos = line_end + 1;
            if !self.absorb(region, &mut pos, sink) {
                return;
            }
        }
        if pos < region.len() {
            self.line_no += count_newlines(&region[pos..]);
        }
    }

    /// Append continuation lines to the held message; flush it when the next
    /// line does not continue it. Returns false when the region ran out first.
    fn absorb(&mut self, region: &[u8], pos: &mut usize, sink: &mut impl Sink) -> bool {
        while let Some(held) = self.held.as_mut() {
            if *pos >= region.len() {
                return false;
            }
            let end = memchr(b'\n', &region[*pos..]).map_or(region.len(), |i| *pos + i);
            let raw = &region[*pos..end];
            let join = join_kind(held, raw);
            if join != Join::No {
                let next = held.strip_prefix(raw);
                if join == Join::Space {
                    held.text.push(b' ');
                }
                held.text.extend_from_slice(trim_ascii(next));
                held.open = next.last().is_some_and(|b| !b.is_ascii_whitespace());
                held.lines += 1;
                if end < region.len() {
                    self.line_no += 1;
                }
                *pos = end + 1;
            } else {
                self.flush(sink);
            }
        }
        true
    }

    fn flush(&mut self, sink: &mut impl Sink) {
        if let Some(h) = self.held.take() {
            sink.line(&h.text, h.line);
        }
    }

    /// The end of the input: what is held goes out.
    fn finish(&mut self, sink: &mut impl Sink) {
        if self.mode == Mode::Json {
            // A value cut short by the end of input: look at it as text.
            if let Some(top) = self.json.top.take() {
                let saved = self.line_no;
                self.line_no = self.json.top_line.saturating_sub(1);
                self.scan_region(&top, sink);
                self.flush(sink);
                self.line_no = saved;
            }
        }
        self.flush(sink);
        self.stats.lines = self.line_no;
    }

    /// Consume JSON bytes; returns (bytes consumed, switch to text).
    fn json_bytes(&mut self, buf: &[u8], sink: &mut impl Sink) -> (usize, bool) {
        let mut i = 0;
        while i < buf.len() {
            let b = buf[i];
            let j = &mut self.json;
            if j.depth == 0 && !j.in_str {
                if b.is_ascii_whitespace() {
                    if b == b'\n' {
                        self.line_no += 1;
                    }
                    i += 1;
                    continue;
                }
                if b != b'{' && b != b'[' {
                    return (i, true);
                }
                j.top = Some(Vec::new());
                j.top_line = self.line_no + 1;
                j.top_overflow = false;
                if b == b'[' {
                    // A top-level array: its objects are records (the whole
                    // array is kept only until its first object shows, so an
                    // array of strings is still read as text).
                    j.records_depth = Some(1);
                }
            }
            if let Some(t) = j.top.as_mut() {
                if t.len() < MAX_JSON_VALUE {
                    t.push(b);
                } else {
                    j.top_overflow = true;
                }
            }
            if let Some(e) = j.elem.as_mut() {
                if e.len() < MAX_JSON_VALUE {
                    e.push(b);
                } else {
                    j.elem_overflow = true;
                }
            }
            if b == b'\n' {
                self.line_no += 1;
            }
            if j.in_str {
                if j.esc {
                    j.esc = false;
                } else if b == b'\\' {
                    j.esc = true;
                } else if b == b'"' {
                    j.in_str = false;
                    j.key_on = false;
                } else if j.key_on && j.key.len() < 16 {
                    j.key.push(b);
                }
                i += 1;
                continue;
            }
            match b {
                b'"' => {
                    j.in_str = true;
                    if j.depth == 1 {
                        j.key.clear();
                        j.key_on = true;
                    }
                }
                b'{' | b'[' => {
                    if b == b'['
                        && j.depth == 1
                        && (j.key == b"Records" || j.key == b"Events")
                        && j.records_depth.is_none()
                    {
                        j.records_depth = Some(2);
                        j.top = None;
                    }
                    if b == b'{' && j.records_depth == Some(j.depth) && j.elem.is_none() {
                        if j.depth == 1 {
                            j.top = None;
                        }
                        j.elem = Some(vec![b'{']);
                        j.elem_line = self.line_no + 1;
                        j.elem_overflow = false;
                    }
                    j.depth += 1;
                }
                b'}' | b']' => {
                    j.depth = j.depth.saturating_sub(1);
                    if j.records_depth == Some(j.depth) && b == b'}' {
                        if let Some(e) = j.elem.take() {
                            let (line, overflow) = (j.elem_line, j.elem_overflow);
                            sink.json(&e, line, overflow, true);
                        }
                    } else if j.records_depth.is_some_and(|d| j.depth < d) {
                        j.records_depth = None;
                    }
                    let j = &mut self.json;
                    if j.depth == 0 {
                        j.records_depth = None;
                        if let Some(t) = j.top.take() {
                            let (line, overflow) = (j.top_line, j.top_overflow);
                            sink.json(&t, line, overflow, false);
                        }
                    }
                }
                _ => {}
            }
            i += 1;
        }
        (buf.len(), false)
    }
}

/// Read the start of an input into `buf`: true when that was all of it.
fn read_head(
    src: &mut impl Read,
    buf: &mut Vec<u8>,
    len: &mut usize,
    small_input: usize,
) -> std::io::Result<bool> {
    // Small inputs (pasted text) stay small: the buffer grows as they do.
    let mut want = 16 << 10;
    while *len < small_input {
        if buf.len() < *len + want {
            buf.resize(*len + want, 0);
        }
        match src.read(&mut buf[*len..*len + want]) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                *len += n;
                if n == want {
                    want = (want * 2).min(CHUNK);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

fn read_error(e: &std::io::Error, gzip: bool, text_bytes: u64) -> ReadError {
    if gzip && e.kind() != std::io::ErrorKind::PermissionDenied {
        ReadError::Gzip {
            text_bytes,
            message: e.to_string(),
        }
    } else {
        io_error(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_rules() {
        let held = Held::start(
            b"User: arn:aws:iam::1:user/x is not authorized to perform:",
            1,
        );
        assert_eq!(
            join_kind(&held, b"  codecommit:ListRepositories"),
            Join::Space
        );
        let held = Held::start(
            b"User: arn:aws:iam::1:user/x is not authorized to perform: s3:GetObject",
            1,
        );
        assert_eq!(
            join_kind(
                &held,
                b"because no identity-based policy allows the s3:GetObject action"
            ),
            Join::Space
        );
        assert_eq!(join_kind(&held, b"2024-01-01 INFO started"), Join::No);
        assert_eq!(join_kind(&held, b""), Join::No);
        let held = Held::start(
            b"User: arn:aws:iam::1:user/x is not authorized to perform: cloudforma",
            1,
        );
        assert_eq!(
            join_kind(&held, b"tion:DescribeStacks on resource: arn:aws:x"),
            Join::Glue
        );
        let held = Held::start(
            b"on resource: arn:aws:ecr:us-east-1:345678901234:reposit",
            1,
        );
        assert_eq!(
            join_kind(&held, b"ory/team/api because no resource-based policy"),
            Join::Glue
        );
    }

    #[test]
    fn a_denial_at_the_end_of_a_long_line_is_found() {
        let mut text = String::from("INFO first\n");
        let filler = "x=1 GET /api/v1/items 200 ".repeat(120_000);
        text.push_str(&filler);
        text.push_str("User: arn:aws:iam::210987654321:user/far is not authorized to perform: eks:ListClusters");
        text.push_str(&filler);
        text.push_str("\nERROR User: arn:aws:iam::210987654321:user/next is not authorized to perform: eks:DescribeCluster\n");
        let mut ex = Explainer::new();
        let stats = ex.read(Some("long.log"), text.as_bytes()).unwrap();
        assert_eq!(stats.long_lines, 1);
        assert_eq!(stats.lines, 3);
        assert_eq!(ex.long_lines(), 1);
        let fs = ex.finish();
        let names: Vec<_> = fs
            .iter()
            .map(|f| {
                (
                    f.evidence["parsed"]["principal"]["name"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                    f.location.as_ref().unwrap().line,
                )
            })
            .collect();
        assert!(names.contains(&("far".to_owned(), 2)), "{names:?}");
        assert!(names.contains(&("next".to_owned(), 3)), "{names:?}");
    }

    /// Pieces of log text: plain lines, denials, a message wrapped over
    /// lines (cut inside an action and an ARN), CRLF line ends, blank lines,
    /// invalid UTF-8, a CloudTrail record.
    const PIECES: &[&[u8]] = &[
        b"2026-01-01T00:00:00Z INFO GET /healthz 200\n",
        b"ERROR User: arn:aws:iam::111122223333:user/a is not authorized to perform: eks:ListClusters\n",
        b"User: arn:aws:iam::111122223333:user/b is not authorized to perform: cloudforma\ntion:DescribeStacks on resource: arn:aws:cloudformation:us-east-1:111122223333:stack/s\n",
        b"User: arn:aws:iam::111122223333:user/c is not\nauthorized to perform: s3:GetObject on resource: arn:aws:s3:::b/k\n",
        b"WARN User: arn:aws:iam::111122223333:user/d is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/r\r\n",
        b"because no identity-based policy allows the iam:PassRole action\r\n",
        b"\n",
        b"x=1 forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\"\n",
        b"DEBUG \xff\xfe not UTF-8, User: arn:aws:iam::111122223333:user/\xc3 is not authorized to perform: eks:ListNodegroups\r\n",
        b"{\"eventName\":\"ListClusters\",\"errorCode\":\"AccessDenied\",\"errorMessage\":\"User: arn:aws:iam::111122223333:user/e is not authorized to perform: eks:ListClusters\"}\n",
    ];

    /// The report and read stats of `text` read with the scan on its own
    /// thread from `small_input` bytes on.
    fn report_of(text: &[u8], small_input: usize) -> (String, ReadStats) {
        let mut ex = Explainer::new();
        let mut r = Reader::new(&mut ex, Some("in.log"));
        r.small_input = small_input;
        let (stats, result) = r.run(text);
        assert!(result.is_ok());
        (crate::report::Report::new(ex.finish()).to_json(), stats)
    }

    proptest::proptest! {
        /// The scan thread changes nothing: the same report (findings, line
        /// numbers, counts) and the same stats as scanning on one thread,
        /// wherever the batches are cut.
        #[test]
        fn threaded_read_equals_one_thread(
            picks in proptest::collection::vec(0..PIECES.len(), 0..200),
            small_input in 1usize..2000,
            last_newline in proptest::bool::ANY,
        ) {
            let mut text: Vec<u8> = picks.iter().flat_map(|&i| PIECES[i].iter().copied()).collect();
            if !last_newline {
                text.pop();
            }
            let one = report_of(&text, usize::MAX);
            let two = report_of(&text, small_input);
            proptest::prop_assert_eq!(one, two);
        }
    }

    #[test]
    fn a_big_log_reads_the_same_on_two_threads() {
        // Many 64 KiB batches, within one read (a message whose first words
        // end one read is not looked back for from the next; both paths
        // must cut reads at the same places to compare).
        let mut text = Vec::new();
        let mut i = 0usize;
        while text.len() < CHUNK - (8 << 10) {
            i = i.wrapping_mul(31).wrapping_add(7);
            text.extend_from_slice(PIECES[i % PIECES.len()]);
        }
        let one = report_of(&text, usize::MAX);
        let two = report_of(&text, 1);
        assert_eq!(
            one.1.lines,
            text.iter().filter(|&&b| b == b'\n').count() as u64
        );
        assert_eq!(one, two);
    }

    #[test]
    fn triggers_build() {
        assert!(triggers().is_some());
        assert_eq!(count_newlines(b"a\nb\n\n"), 3);
    }
}
