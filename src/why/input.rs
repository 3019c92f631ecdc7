//! Reading the message: the arguments, or standard input line by line
//! (`npm start 2>&1 | portcheck why`): every line a format recognises (up
//! to [`MAX_FOUND`]), a few lines around each for what it leaves out, and
//! the lines where the program announced a socket of its own
//! ([`super::announce`]).
//!
//! Bounded: at most [`MAX_INPUT_BYTES`] are read, a line is cut at
//! [`MAX_LINE_BYTES`] (the rest is skipped, not buffered), and after a
//! recognised line further lines are waited for at most [`AFTER_WAIT`]: a
//! server that keeps running after its error (a dev server with a file
//! watcher) never closes the pipe.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::sync::LazyLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant};

use regex::Regex;

use super::announce::{self, Announced, MAX_ANNOUNCED};
use super::patterns::{Extract, Matcher};

pub const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;
pub const MAX_LINE_BYTES: usize = 8 * 1024;
pub const CONTEXT_LINES: usize = 12;
pub const AFTER_WAIT: Duration = Duration::from_millis(300);
/// Recognised lines kept from one input; reading stops at the next one.
pub const MAX_FOUND: usize = 16;

/// One line of input, numbered from 1, without colours or line ending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: usize,
    pub text: String,
}

/// The recognised line and the lines around it.
#[derive(Debug, Clone)]
pub struct Found {
    pub line: Line,
    pub extract: Extract,
    /// Up to [`CONTEXT_LINES`] lines before it, nearest first.
    pub before: Vec<Line>,
    /// Up to [`CONTEXT_LINES`] lines after it, nearest first.
    pub after: Vec<Line>,
    /// The sockets the program announced before this line, in order.
    pub announced: Vec<Announced>,
}

/// What a scan read.
#[derive(Debug, Clone)]
pub struct Scan {
    /// Every recognised line, in order (at most [`MAX_FOUND`]).
    pub found: Vec<Found>,
    pub lines: usize,
    pub bytes: u64,
    /// The input went on past [`MAX_INPUT_BYTES`].
    pub capped: bool,
    /// The input held NUL bytes: not text.
    pub binary: bool,
}

/// Where lines come from: memory (the arguments) or a reader thread (standard input).
enum Source {
    Memory(io::Cursor<Vec<u8>>),
    Thread(Receiver<Chunk>),
}

enum Chunk {
    Line(Vec<u8>, usize),
    End,
    Failed(io::Error),
}

enum Next {
    Line(Vec<u8>, usize),
    End,
    /// No line came in time (only after the recognised line).
    Waited,
}

impl Source {
    fn next(&mut self, deadline: Option<Instant>) -> io::Result<Next> {
        match self {
            Source::Memory(cursor) => {
                let mut line = Vec::new();
                let consumed = read_line_capped(cursor, &mut line)?;
                Ok(if consumed == 0 {
                    Next::End
                } else {
                    Next::Line(line, consumed)
                })
            }
            Source::Thread(receiver) => {
                let chunk = match deadline {
                    None => receiver.recv().unwrap_or(Chunk::End),
                    Some(deadline) => {
                        let left = deadline.saturating_duration_since(Instant::now());
                        match receiver.recv_timeout(left) {
                            Ok(chunk) => chunk,
                            Err(RecvTimeoutError::Timeout) => return Ok(Next::Waited),
                            Err(RecvTimeoutError::Disconnected) => Chunk::End,
                        }
                    }
                };
                match chunk {
                    Chunk::Line(line, consumed) => Ok(Next::Line(line, consumed)),
                    Chunk::End => Ok(Next::End),
                    Chunk::Failed(error) => Err(error),
                }
            }
        }
    }
}

/// Scans `text` (the arguments).
pub fn scan_text(text: &str, matcher: &Matcher) -> io::Result<Scan> {
    scan(
        Source::Memory(io::Cursor::new(text.as_bytes().to_vec())),
        matcher,
    )
}

/// Scans standard input. The reading happens on a thread of its own, so
/// that the lines after the recognised one are waited for only briefly;
/// that thread may stay blocked on a pipe nobody closes, which does not
/// keep the process alive.
pub fn scan_stdin(matcher: &Matcher) -> io::Result<Scan> {
    let (sender, receiver) = mpsc::sync_channel(64);
    std::thread::Builder::new()
        .name("why-stdin".into())
        .spawn(move || {
            let stdin = io::stdin();
            let mut reader = io::BufReader::new(io::Read::take(stdin.lock(), MAX_INPUT_BYTES + 1));
            feed(&mut reader, &sender);
        })
        .map_err(|e| io::Error::other(format!("starting the reader: {e}")))?;
    scan(Source::Thread(receiver), matcher)
}

fn feed(reader: &mut impl BufRead, sender: &SyncSender<Chunk>) {
    loop {
        let mut line = Vec::new();
        let chunk = match read_line_capped(reader, &mut line) {
            Ok(0) => Chunk::End,
            Ok(consumed) => Chunk::Line(line, consumed),
            Err(error) => Chunk::Failed(error),
        };
        let last = !matches!(chunk, Chunk::Line(..));
        if sender.send(chunk).is_err() || last {
            return;
        }
    }
}

fn scan(mut source: Source, matcher: &Matcher) -> io::Result<Scan> {
    let mut before: VecDeque<Line> = VecDeque::with_capacity(CONTEXT_LINES + 1);
    let mut announced: Vec<Announced> = Vec::new();
    let mut scan = Scan {
        found: Vec::new(),
        lines: 0,
        bytes: 0,
        capped: false,
        binary: false,
    };
    let mut deadline = None;
    loop {
        if scan.bytes >= MAX_INPUT_BYTES {
            scan.capped = true;
            break;
        }
        let (raw, consumed) = match source.next(deadline)? {
            Next::Line(raw, consumed) => (raw, consumed),
            Next::End | Next::Waited => break,
        };
        scan.bytes += consumed as u64;
        scan.lines += 1;
        scan.binary |= raw.contains(&0);
        let line = Line {
            number: scan.lines,
            text: clean(&raw),
        };
        for found in &mut scan.found {
            if found.after.len() < CONTEXT_LINES {
                found.after.push(line.clone());
            }
        }
        let extract = if scan.found.len() < MAX_FOUND {
            matcher.recognise(&line.text)
        } else {
            None
        };
        if let Some(extract) = extract {
            scan.found.push(Found {
                line: line.clone(),
                extract,
                before: before.iter().rev().cloned().collect(),
                after: Vec::new(),
                announced: announced.clone(),
            });
            deadline = Some(Instant::now() + AFTER_WAIT);
        } else if scan.found.len() >= MAX_FOUND
            && scan.found.iter().all(|f| f.after.len() >= CONTEXT_LINES)
        {
            break;
        } else if announced.len() < MAX_ANNOUNCED {
            announced.extend(announce::announced(line.number, &line.text));
        }
        if before.len() == CONTEXT_LINES {
            before.pop_front();
        }
        before.push_back(line);
    }
    Ok(scan)
}

/// Reads one line into `out`, keeping at most [`MAX_LINE_BYTES`] of it and
/// skipping the rest without buffering it. Returns the bytes consumed
/// (0 at the end of input).
fn read_line_capped(reader: &mut impl BufRead, out: &mut Vec<u8>) -> io::Result<usize> {
    out.clear();
    let mut consumed = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(consumed);
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let room = MAX_LINE_BYTES.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let taken = chunk.len();
        reader.consume(taken);
        consumed += taken;
        if done {
            return Ok(consumed);
        }
    }
}

/// ANSI escape sequences (colours, cursor moves) that dev servers print.
static ANSI: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]").ok()
});

/// The line as text: invalid UTF-8 replaced, colours removed, trimmed.
pub fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let text = match ANSI.as_ref() {
        Some(ansi) => ansi.replace_all(&text, ""),
        None => text,
    };
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::why::patterns::matcher;

    #[test]
    fn finds_the_first_recognised_line_with_its_neighbours() {
        let log = "> app@1.0.0 start\n> node server.js\n\nnode:events:502\n      throw er;\n      ^\n\nError: listen EADDRINUSE: address already in use :::3000\n    at Server.setupListenHandle\n  code: 'EADDRINUSE',\n";
        let scan = scan_text(log, matcher()).expect("in memory");
        let found = scan.found.first().expect("recognised");
        assert_eq!(found.line.number, 8);
        assert_eq!(found.extract.format.name, "node_listen");
        assert_eq!(found.before.first().map(|l| l.number), Some(7));
        assert_eq!(found.after.len(), 2);
    }

    #[test]
    fn colours_and_line_endings_are_removed() {
        assert_eq!(
            clean(b"\x1b[31merror\x1b[39m when starting dev server:\r\n"),
            "error when starting dev server:"
        );
    }

    #[test]
    fn long_lines_are_cut_not_buffered() {
        let mut text = "x".repeat(MAX_LINE_BYTES * 4);
        text.push_str(" listen tcp :8080: bind: address already in use\nnext\n");
        let mut cursor = io::Cursor::new(text.into_bytes());
        let mut line = Vec::new();
        let consumed = read_line_capped(&mut cursor, &mut line).expect("read");
        assert_eq!(line.len(), MAX_LINE_BYTES);
        assert!(consumed > MAX_LINE_BYTES * 4);
        read_line_capped(&mut cursor, &mut line).expect("read");
        assert_eq!(line, b"next\n");
    }

    #[test]
    fn empty_and_binary_input_find_nothing() {
        let scan = scan_text("", matcher()).expect("in memory");
        assert!(scan.found.is_empty());
        assert_eq!(scan.lines, 0);
        let garbage: String = (0u8..=255).map(char::from).collect();
        let scan = scan_text(&garbage.repeat(10), matcher()).expect("in memory");
        assert!(scan.found.is_empty());
        assert!(scan.binary);
    }
}
