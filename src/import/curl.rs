//! curl command lines, as browsers' "Copy as cURL (bash)" and API docs
//! write them, to requests.
//!
//! The words are split by a small POSIX-shell reader of our own rather than
//! `shlex`: Chrome writes bodies with special characters in ANSI-C quotes
//! (`$'…'`), which shlex does not know, and a shell variable (`$TOKEN`,
//! `"${TOKEN}"`) must become a batch `${TOKEN}` only outside single quotes,
//! which needs the quoting that shlex does not report. The option mapping
//! follows curl's manual; an option it does not know is an error naming it,
//! because guessing whether it takes a value would misread the rest.

use std::path::Path;

use super::vars::{is_env_name, literal};
use super::{Body, Imported, Request, basic_auth, body_from, header};
use crate::batch::BatchError;

/// Imports every curl command in `text`.
pub fn import(text: &str, path: &Path) -> Result<Imported, BatchError> {
    let commands = split(text).map_err(|e| e.into_error(path))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut imported = Imported {
        requests: Vec::new(),
        warnings: Vec::new(),
    };
    // A list of commands may hold others (`echo`, `jq`): those are
    // skipped with a note, unless there is no curl command at all.
    let any_curl = commands.iter().any(is_curl);
    let mut first_error: Option<Positioned> = None;
    for command in commands {
        if any_curl && !is_curl(&command) {
            let first = &command.words[0];
            imported.warnings.push(format!(
                "line {}: skipped `{}`: not a curl command",
                first.line, first.text
            ));
            continue;
        }
        if let Some((line, column)) = command.cut_at {
            imported.warnings.push(format!(
                "line {line}, column {column}: the command ends at this unquoted `&` (the shell \
                 runs what follows on its own): if it was part of the URL, quote the URL"
            ));
        }
        match command_requests(&command, dir, &mut imported.warnings) {
            Ok(requests) => imported.requests.extend(requests),
            Err(e) => {
                imported.warnings.push(format!(
                    "line {}, column {}: skipped this command: {}",
                    e.line, e.column, e.message
                ));
                first_error.get_or_insert(e);
            }
        }
    }
    // One command that cannot be read is skipped, named, and the others
    // import; when none does, the first one's error is the file's (a
    // missing upload is then said among the notes).
    match first_error {
        Some(e) if imported.requests.is_empty() && !e.own => Err(e.into_error(path)),
        _ => Ok(imported),
    }
}

/// Whether a command runs curl (after an optional `$` prompt).
fn is_curl(command: &Command) -> bool {
    let mut words = command.words.iter().skip_while(|w| w.text == "$");
    words
        .next()
        .is_some_and(|w| matches!(w.text.rsplit('/').next(), Some("curl" | "curl.exe")))
}

/// Converts one curl command line (for pasting into the workbench).
/// Its uploads (`-F x=@file`, `-T file`) are files of the working
/// directory, where the command would have run: they are written with
/// their full path, since the batch it joins reads paths from its own
/// folder.
pub fn import_line(text: &str) -> Result<Imported, String> {
    let mut imported = import(text, Path::new("pasted curl command")).map_err(|e| e.to_string())?;
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    // The path is in batch syntax already; the folder is made so.
    let folder = literal(&cwd.to_string_lossy());
    let full = |file: &mut String| {
        if Path::new(file.as_str()).is_relative() {
            *file = format!("{folder}/{file}");
        }
    };
    for request in &mut imported.requests {
        match &mut request.body {
            Body::File(file) => full(file),
            Body::Multipart(parts) => parts
                .iter_mut()
                .filter_map(|p| p.file.as_mut())
                .for_each(full),
            _ => {}
        }
    }
    Ok(imported)
}

/// A shell word, in batch syntax, and where it starts.
#[derive(Debug, Clone, PartialEq)]
struct Word {
    /// Literal text escaped, shell variables as `${NAME}`.
    text: String,
    line: usize,
    column: usize,
}

#[derive(Debug)]
struct Command {
    words: Vec<Word>,
    /// What the shell feeds the command: a heredoc's text (in batch
    /// syntax) or a `< file`, for `-d @-` and `-T -`.
    stdin: Option<Stdin>,
    /// A lone `&` inside a word ended it here (line, column): most likely
    /// an unquoted URL's query, cut by the shell.
    cut_at: Option<(usize, usize)>,
}

#[derive(Debug, Clone)]
enum Stdin {
    Text(String),
    File(Word),
}

/// A heredoc announced on the current line (`<<EOF`, `<<-'EOF'`), read
/// when the line ends.
#[derive(Debug)]
struct Heredoc {
    delimiter: String,
    /// `<<-`: leading tabs are stripped.
    strip_tabs: bool,
    /// A quoted delimiter: the text is literal; else `$NAME` is expanded.
    quoted: bool,
    /// Where the `<<` is.
    at: (usize, usize),
}

/// An error at a position in the source.
#[derive(Debug)]
struct Positioned {
    line: usize,
    column: usize,
    message: String,
    /// The fault is this command's alone (a file it reads is not there):
    /// the command is skipped with a note, the others import.
    own: bool,
}

impl Positioned {
    fn new(line: usize, column: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            column,
            message: message.into(),
            own: false,
        }
    }

    fn own(mut self) -> Self {
        self.own = true;
        self
    }

    fn at(word: &Word, message: impl Into<String>) -> Self {
        Self::new(word.line, word.column, message)
    }

    fn into_error(self, path: &Path) -> BatchError {
        BatchError::new(path, self.message).at(self.line, self.column)
    }
}

/// Reads the text as shell commands: quoting, escapes, continuations,
/// comments and variables, one command per unescaped line end.
fn split(text: &str) -> Result<Vec<Command>, Positioned> {
    let mut reader = Reader {
        chars: text.chars().collect(),
        i: 0,
        line: 1,
        column: 1,
        commands: Vec::new(),
        words: Vec::new(),
        current: None,
        cut_at: None,
        heredoc: None,
        stdin: None,
    };
    while let Some(&c) = reader.chars.get(reader.i) {
        reader.step(c)?;
    }
    reader.end_command();
    Ok(reader.commands)
}

/// The word reader's state: where it is, and what it has read.
struct Reader {
    chars: Vec<char>,
    i: usize,
    line: usize,
    column: usize,
    commands: Vec<Command>,
    words: Vec<Word>,
    /// The word being read, if one has started.
    current: Option<Word>,
    /// Where a lone `&` inside a word ended the command.
    cut_at: Option<(usize, usize)>,
    heredoc: Option<Heredoc>,
    stdin: Option<Stdin>,
}

impl Reader {
    /// Advances over one char, keeping the position.
    fn bump(&mut self) -> char {
        let c = self.chars[self.i];
        self.i += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        c
    }

    fn bump_n(&mut self, n: usize) {
        (0..n).for_each(|_| {
            self.bump();
        });
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.i + ahead).copied()
    }

    /// The word being read, started at (`line`, `column`) if none is.
    fn word(&mut self, line: usize, column: usize) -> &mut Word {
        self.current.get_or_insert_with(|| Word {
            text: String::new(),
            line,
            column,
        })
    }

    fn end_word(&mut self) {
        if let Some(mut word) = self.current.take() {
            // Text is literal in a batch: a `{{` in it is too.
            word.text = crate::batch::template::escape_placeholders(&word.text);
            self.words.push(word);
        }
    }

    fn end_command(&mut self) {
        self.end_word();
        if !self.words.is_empty() {
            self.commands.push(Command {
                words: std::mem::take(&mut self.words),
                stdin: self.stdin.take(),
                cut_at: self.cut_at.take(),
            });
        }
        self.cut_at = None;
        self.stdin = None;
    }

    /// After `<<`: the delimiter word, remembered until the line ends.
    fn heredoc_start(&mut self) -> Result<(), Positioned> {
        let (l, col) = (self.line, self.column);
        self.bump_n(2);
        let strip_tabs = self.peek(0) == Some('-');
        if strip_tabs {
            self.bump();
        }
        while self.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
            self.bump();
        }
        let mut delimiter = String::new();
        let mut quoted = false;
        while let Some(c) = self.peek(0) {
            match c {
                '\'' | '"' => {
                    quoted = true;
                    self.bump();
                }
                c if c.is_whitespace() || matches!(c, ';' | '|' | '&' | '<' | '>') => break,
                _ => delimiter.push(self.bump()),
            }
        }
        if delimiter.is_empty() {
            return Err(Positioned::new(
                l,
                col,
                "`<<` without a delimiter word: expected `<<EOF`",
            ));
        }
        self.heredoc = Some(Heredoc {
            delimiter,
            strip_tabs,
            quoted,
            at: (l, col),
        });
        Ok(())
    }

    /// At the end of a line that announced a heredoc: its lines, up to
    /// the delimiter's, become the command's input.
    fn heredoc_body(&mut self, heredoc: Heredoc) -> Result<(), Positioned> {
        let mut text = String::new();
        loop {
            if self.peek(0).is_none() {
                return Err(Positioned::new(
                    heredoc.at.0,
                    heredoc.at.1,
                    format!("the heredoc has no closing `{}` line", heredoc.delimiter),
                ));
            }
            let mut line = String::new();
            while let Some(c) = self.peek(0) {
                self.bump();
                if c == '\n' {
                    break;
                }
                line.push(c);
            }
            let line = line.strip_suffix('\r').unwrap_or(&line).to_owned();
            let line = if heredoc.strip_tabs {
                line.trim_start_matches('\t').to_owned()
            } else {
                line
            };
            if line == heredoc.delimiter {
                break;
            }
            text.push_str(&line);
            text.push('\n');
        }
        let text = if heredoc.quoted {
            literal(&text)
        } else {
            expand_shell_vars(&text)
        };
        self.stdin = Some(Stdin::Text(text));
        Ok(())
    }

    fn skip_to_line_end(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// Reads what starts with `c`.
    fn step(&mut self, c: char) -> Result<(), Positioned> {
        let (l, col) = (self.line, self.column);
        match c {
            '\n' => {
                self.bump();
                if let Some(heredoc) = self.heredoc.take() {
                    self.end_word();
                    self.heredoc_body(heredoc)?;
                }
                self.end_command();
            }
            '<' if self.current.is_none() && self.peek(1) == Some('<') => {
                if self.peek(2) == Some('<') {
                    return Err(Positioned::new(
                        l,
                        col,
                        "a here-string (`<<<`) is not supported: use `-d '…'` or a heredoc",
                    ));
                }
                self.heredoc_start()?;
            }
            '<' if self.current.is_none() => {
                // `< file`: the file is the command's input.
                self.bump();
                while self.peek(0).is_some_and(|c| c == ' ' || c == '\t') {
                    self.bump();
                }
                let (wl, wc) = (self.line, self.column);
                while let Some(c) = self.peek(0).filter(|c| !c.is_whitespace()) {
                    let _ = c;
                    let ch = self.bump();
                    push_lit(self.word(wl, wc), ch);
                }
                let word = self
                    .current
                    .take()
                    .ok_or_else(|| Positioned::new(l, col, "`<` without a file name"))?;
                self.stdin = Some(Stdin::File(word));
            }
            c if c.is_whitespace() => {
                self.bump();
                self.end_word();
            }
            '#' if self.current.is_none() => self.skip_to_line_end(),
            '\\' => {
                self.bump();
                match self.peek(0) {
                    Some('\n') => self.bump_n(1),
                    Some('\r') if self.peek(1) == Some('\n') => self.bump_n(2),
                    Some(_) => {
                        let escaped = self.bump();
                        push_lit(self.word(l, col), escaped);
                    }
                    None => {}
                }
            }
            '^' if self.current.is_none() && rest_of_line_blank(&self.chars[self.i + 1..]) => {
                return Err(Positioned::new(
                    l,
                    col,
                    "this is Windows cmd quoting (`^` at the end of a line): copy the request as cURL (bash) instead",
                ));
            }
            '|' | ';' | '&' => {
                // A lone `&` right after a word's text (`?a=1&b=2`) is the
                // shell cutting an unquoted URL: say so.
                if c == '&' && self.current.is_some() && self.peek(1) != Some('&') {
                    self.cut_at = Some((l, col));
                }
                // The command ends here; what follows (| jq, && echo) is not curl's.
                self.skip_to_line_end();
                self.end_command();
            }
            // '…' and ANSI-C $'…' (what Chrome writes for special characters).
            '\'' => self.single_quoted(false)?,
            '$' if self.peek(1) == Some('\'') => self.single_quoted(true)?,
            '"' => self.double_quoted()?,
            '$' => {
                let (name, len) =
                    variable(&self.chars[self.i..]).map_err(|m| Positioned::new(l, col, m))?;
                self.bump_n(len);
                push_dollar(self.word(l, col), name);
            }
            _ => {
                let ch = self.bump();
                push_lit(self.word(l, col), ch);
            }
        }
        Ok(())
    }

    /// `'…'`, or with `ansi` `$'…'` and its backslash escapes.
    fn single_quoted(&mut self, ansi: bool) -> Result<(), Positioned> {
        let (l, col) = (self.line, self.column);
        self.bump_n(if ansi { 2 } else { 1 });
        self.word(l, col);
        loop {
            match self.peek(0) {
                None => {
                    return Err(Positioned::new(
                        l,
                        col,
                        if ansi {
                            "unterminated `$'` quote: expected a closing `'`"
                        } else {
                            "unterminated single quote: expected a closing `'`"
                        },
                    ));
                }
                Some('\'') => {
                    self.bump();
                    return Ok(());
                }
                Some('\\') if ansi => {
                    self.bump();
                    let (decoded, len) = ansi_c_escape(&self.chars[self.i..]);
                    self.bump_n(len);
                    let word = self.word(l, col);
                    decoded.into_iter().for_each(|ch| push_lit(word, ch));
                }
                Some(_) => {
                    let ch = self.bump();
                    push_lit(self.word(l, col), ch);
                }
            }
        }
    }

    /// `"…"`: backslash escapes of `$`, a backquote, `"` and `\\`; line
    /// continuations; and variables.
    fn double_quoted(&mut self) -> Result<(), Positioned> {
        let (l, col) = (self.line, self.column);
        self.bump();
        self.word(l, col);
        loop {
            match self.peek(0) {
                None => {
                    return Err(Positioned::new(
                        l,
                        col,
                        "unterminated double quote: expected a closing `\"`",
                    ));
                }
                Some('"') => {
                    self.bump();
                    return Ok(());
                }
                Some('\\') if matches!(self.peek(1), Some('$' | '`' | '"' | '\\')) => {
                    self.bump();
                    let ch = self.bump();
                    push_lit(self.word(l, col), ch);
                }
                Some('\\') if self.peek(1) == Some('\n') => self.bump_n(2),
                Some('$') => {
                    let (vl, vc) = (self.line, self.column);
                    let (name, len) =
                        variable(&self.chars[self.i..]).map_err(|m| Positioned::new(vl, vc, m))?;
                    self.bump_n(len);
                    push_dollar(self.word(l, col), name);
                }
                Some(_) => {
                    let ch = self.bump();
                    push_lit(self.word(l, col), ch);
                }
            }
        }
    }
}

fn rest_of_line_blank(rest: &[char]) -> bool {
    rest.iter()
        .take_while(|c| **c != '\n')
        .all(|c| c.is_whitespace())
}

/// Heredoc text as the shell gives it: `$NAME` and `${NAME}` read from
/// the environment (as batch `${NAME}`), the rest literal.
fn expand_shell_vars(text: &str) -> String {
    let re = regex::Regex::new(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
        .expect("a valid pattern");
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for caps in re.captures_iter(text) {
        let m = caps.get(0).expect("the whole match");
        out.push_str(&literal(&text[last..m.start()]));
        let name = caps.get(1).or(caps.get(2)).expect("a name").as_str();
        out.push_str(&format!("${{{name}}}"));
        last = m.end();
    }
    out.push_str(&literal(&text[last..]));
    out
}

fn push_lit(word: &mut Word, c: char) {
    word.text.push(c);
    // A literal `${` must not read as a batch variable.
    // (`push_dollar` writes variables whole, so a `${` made here is literal.)
    if c == '{' && word.text.ends_with("${") {
        word.text.insert(word.text.len() - 2, '$');
    }
}

/// A shell variable as a batch `${NAME}`, or a literal `$`.
fn push_dollar(word: &mut Word, variable: Option<String>) {
    match variable {
        Some(name) => {
            word.text.push_str("${");
            word.text.push_str(&name);
            word.text.push('}');
        }
        None => push_lit(word, '$'),
    }
}

/// A shell variable at the start of `rest` (which begins with `$`): its
/// name (`None` for a `$` that is literal) and how many chars it spans.
fn variable(rest: &[char]) -> Result<(Option<String>, usize), String> {
    match rest.get(1) {
        Some('{') => {
            let close = rest
                .iter()
                .position(|c| *c == '}')
                .ok_or("unterminated `${`: expected `}`")?;
            let name: String = rest[2..close].iter().collect();
            if is_env_name(&name) {
                Ok((Some(name), close + 1))
            } else {
                Err(format!(
                    "`${{{name}}}` is a shell expansion ratebench cannot evaluate: use a plain `${{NAME}}`"
                ))
            }
        }
        Some('(') => Err("command substitution `$(…)` is not supported: put its value in the command or an environment variable".into()),
        Some(c) if c.is_ascii_alphabetic() || *c == '_' => {
            let len = rest[1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            Ok((Some(rest[1..=len].iter().collect()), len + 1))
        }
        _ => Ok((None, 1)),
    }
}

/// Decodes one ANSI-C escape (after the backslash): the chars it stands
/// for and how many chars it spans.
fn ansi_c_escape(rest: &[char]) -> (Vec<char>, usize) {
    let hex = |digits: &[char], max: usize| {
        let n = digits
            .iter()
            .take(max)
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        let s: String = digits[..n].iter().collect();
        (u32::from_str_radix(&s, 16).ok().and_then(char::from_u32), n)
    };
    match rest.first() {
        None => (vec!['\\'], 0),
        Some('n') => (vec!['\n'], 1),
        Some('t') => (vec!['\t'], 1),
        Some('r') => (vec!['\r'], 1),
        Some('a') => (vec!['\x07'], 1),
        Some('b') => (vec!['\x08'], 1),
        Some('e' | 'E') => (vec!['\x1b'], 1),
        Some('f') => (vec!['\x0c'], 1),
        Some('v') => (vec!['\x0b'], 1),
        Some('\\') => (vec!['\\'], 1),
        Some('\'') => (vec!['\''], 1),
        Some('"') => (vec!['"'], 1),
        Some('?') => (vec!['?'], 1),
        Some('x') => match hex(&rest[1..], 2) {
            (Some(c), n) if n > 0 => (vec![c], 1 + n),
            _ => (vec!['\\', 'x'], 1),
        },
        Some('u') => match hex(&rest[1..], 4) {
            (Some(c), n) if n > 0 => (vec![c], 1 + n),
            _ => (vec!['\\', 'u'], 1),
        },
        Some('U') => match hex(&rest[1..], 8) {
            (Some(c), n) if n > 0 => (vec![c], 1 + n),
            _ => (vec!['\\', 'U'], 1),
        },
        Some(d) if d.is_digit(8) => {
            let n = rest.iter().take(3).take_while(|c| c.is_digit(8)).count();
            let s: String = rest[..n].iter().collect();
            let c = u32::from_str_radix(&s, 8)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\0');
            (vec![c], n)
        }
        Some(other) => (vec!['\\', *other], 1),
    }
}

/// How an option is spelled in full, from its one-letter form.
fn long_name(short: char) -> Option<&'static str> {
    Some(match short {
        'X' => "request",
        'H' => "header",
        'd' => "data",
        'A' => "user-agent",
        'e' => "referer",
        'b' => "cookie",
        'u' => "user",
        'o' => "output",
        'O' => "remote-name",
        'w' => "write-out",
        'm' => "max-time",
        'F' => "form",
        'T' => "upload-file",
        'x' => "proxy",
        'E' => "cert",
        'r' => "range",
        'c' => "cookie-jar",
        'K' => "config",
        's' => "silent",
        'S' => "show-error",
        'L' => "location",
        'k' => "insecure",
        'i' => "include",
        'I' => "head",
        'v' => "verbose",
        'G' => "get",
        'f' => "fail",
        'N' => "no-buffer",
        'g' => "globoff",
        '4' => "ipv4",
        '6' => "ipv6",
        '0' => "http1.0",
        '#' => "progress-bar",
        'q' => "disable",
        _ => return None,
    })
}

/// Options that take a value.
const WITH_VALUE: &[&str] = &[
    "request",
    "header",
    "data",
    "data-ascii",
    "data-binary",
    "data-raw",
    "data-urlencode",
    "json",
    "url",
    "user-agent",
    "referer",
    "cookie",
    "user",
    "oauth2-bearer",
    "max-time",
    "output",
    "write-out",
    "connect-timeout",
    "retry",
    "retry-delay",
    "retry-max-time",
    "max-redirs",
    "limit-rate",
    "proxy",
    "cacert",
    "cert",
    "key",
    "resolve",
    "connect-to",
    "range",
    "cookie-jar",
    "form",
    "form-string",
    "upload-file",
    "config",
    "interface",
    "dns-servers",
    "user-agent",
    "expect100-timeout",
    "keepalive-time",
    "trace",
    "trace-ascii",
    "stderr",
    "dump-header",
];

/// Options that change nothing a batch would send differently: accepted
/// quietly (ratebench follows redirects and decompresses on its own).
const QUIET: &[&str] = &[
    "compressed",
    "location",
    "location-trusted",
    "silent",
    "show-error",
    "verbose",
    "include",
    "fail",
    "fail-with-body",
    "no-buffer",
    "globoff",
    "ipv4",
    "ipv6",
    "progress-bar",
    "no-progress-meter",
    "disable",
    "output",
    "remote-name",
    "write-out",
    "dump-header",
    "stderr",
    "trace",
    "trace-ascii",
    "http1.1",
    "path-as-is",
    "raw",
    "tr-encoding",
    "tcp-nodelay",
    "no-keepalive",
    "keepalive-time",
    "expect100-timeout",
    "max-redirs",
    "cookie-jar",
];

/// Options accepted with a warning: they change how curl connects, which
/// a batch sets elsewhere or not at all.
const IGNORED: &[(&str, &str)] = &[
    ("insecure", "ratebench always verifies certificates"),
    ("http2", "set `\"http2\": true` in the batch instead"),
    (
        "http2-prior-knowledge",
        "set `\"http2\": true` in the batch instead",
    ),
    ("http1.0", "ratebench speaks HTTP/1.1 or HTTP/2"),
    (
        "connect-timeout",
        "the batch's `timeout` covers the whole request",
    ),
    ("retry", "set `retries` in the batch or pass --retries"),
    ("retry-delay", "ratebench backs off on its own"),
    ("retry-max-time", "ratebench backs off on its own"),
    ("limit-rate", "ratebench limits requests, not bytes"),
    ("proxy", "proxies are not supported"),
    ("cacert", "custom CA files are not supported"),
    ("cert", "client certificates are not supported"),
    ("key", "client certificates are not supported"),
    ("resolve", "set the address in the URL instead"),
    ("connect-to", "set the address in the URL instead"),
    ("interface", "network interfaces cannot be chosen"),
    ("dns-servers", "DNS servers cannot be chosen"),
];

/// What one command says, before it becomes requests.
#[derive(Default)]
struct Parsed {
    method: Option<String>,
    urls: Vec<Word>,
    headers: Vec<(String, String)>,
    data: Vec<String>,
    json: Vec<String>,
    get: bool,
    head: bool,
    timeout_s: Option<f64>,
    /// `-F` fields: a multipart body.
    form: Vec<super::Part>,
    /// `-T`: a file (or the command's input) sent as the body.
    /// One for each URL, in order, as curl pairs them.
    upload: Vec<UploadSource>,
}

enum UploadSource {
    File(String),
    Text(String),
}

fn command_requests(
    command: &Command,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<Request>, Positioned> {
    let mut words = command.words.iter().peekable();
    if words.peek().is_some_and(|w| w.text == "$") {
        words.next();
    }
    let Some(first) = words.next() else {
        return Ok(vec![]);
    };
    let program = first.text.rsplit('/').next().unwrap_or("");
    if program != "curl" && program != "curl.exe" {
        return Err(Positioned::at(
            first,
            format!("expected a curl command, found `{}`", first.text),
        ));
    }
    let line = first.line;
    let mut parsed = Parsed::default();
    let mut options_done = false;
    while let Some(word) = words.next() {
        let text = word.text.as_str();
        if options_done || !text.starts_with('-') || text == "-" {
            parsed.urls.push(word.clone());
            continue;
        }
        if text == "--" {
            options_done = true;
            continue;
        }
        // Expand the word into (long name, attached value) pairs.
        let mut options: Vec<(String, Option<String>)> = Vec::new();
        if let Some(long) = text.strip_prefix("--") {
            match long.split_once('=') {
                // curl itself takes no `--opt=value`, but people write it.
                Some((name, value)) if WITH_VALUE.contains(&name) => {
                    options.push((name.to_owned(), Some(value.to_owned())))
                }
                _ => options.push((long.to_owned(), None)),
            }
        } else {
            let cluster: Vec<char> = text[1..].chars().collect();
            for (k, c) in cluster.iter().enumerate() {
                let name = long_name(*c).ok_or_else(|| {
                    Positioned::at(word, format!("unknown curl option `-{c}` in `{text}`"))
                })?;
                if WITH_VALUE.contains(&name) {
                    let attached: String = cluster[k + 1..].iter().collect();
                    options.push((name.to_owned(), (!attached.is_empty()).then_some(attached)));
                    break;
                }
                options.push((name.to_owned(), None));
            }
        }
        for (name, attached) in options {
            // Errors about a value point at the value.
            let (value, at) = if WITH_VALUE.contains(&name.as_str()) {
                match attached {
                    Some(v) => (Some(v), word),
                    None => {
                        let next = words.next().ok_or_else(|| {
                            Positioned::at(word, format!("`{text}` expects a value after it"))
                        })?;
                        (Some(next.text.clone()), next)
                    }
                }
            } else {
                (None, word)
            };
            let input = Input {
                dir,
                stdin: command.stdin.as_ref(),
            };
            apply(&mut parsed, &name, value, (word, at), &input, warnings)?;
        }
    }
    if parsed.urls.is_empty() {
        return Err(Positioned::new(
            line,
            1,
            "this curl command has no URL: expected one like `curl https://api.example.com/items`",
        ));
    }
    parsed.finish(line)
}

/// Where a command's files and input come from.
struct Input<'a> {
    dir: &'a Path,
    stdin: Option<&'a Stdin>,
}

impl Input<'_> {
    /// The text `@file` (or `@-`, the command's input) names, in batch
    /// syntax.
    fn text(&self, file: &str, word: &Word) -> Result<String, Positioned> {
        if file != "-" {
            return Ok(literal(&read_file(self.dir, file, word)?));
        }
        match self.stdin {
            Some(Stdin::Text(text)) => Ok(text.clone()),
            Some(Stdin::File(from)) => Ok(literal(&read_file(self.dir, &from.text, from)?)),
            None => Err(Positioned::at(
                word,
                "`@-` reads the command's input, and none is given: add a heredoc \
                 (`<<EOF` … `EOF`) or `< file`",
            )),
        }
    }

    /// A file to upload as it is: it must be there now.
    fn upload(&self, file: &str, word: &Word) -> Result<String, Positioned> {
        let path = self.dir.join(file);
        if path.is_file() {
            Ok(file.to_owned())
        } else {
            Err(Positioned::at(
                word,
                format!(
                    "cannot upload {}: it is not a readable file",
                    path.display()
                ),
            )
            .own())
        }
    }
}

/// `-F name=content`: text, `@file` (an upload), `<file` (the file's
/// text as the value), or `"quoted"`, each with `;type=` and
/// `;filename=` as curl reads them.
fn form_part(
    value: &str,
    string_only: bool,
    input: &Input<'_>,
    word: &Word,
) -> Result<super::Part, Positioned> {
    let (name, content) = value
        .split_once('=')
        .ok_or_else(|| Positioned::at(word, format!("`-F {value}`: expected `name=content`")))?;
    let mut part = super::Part {
        name: name.to_owned(),
        ..Default::default()
    };
    if string_only {
        part.value = Some(content.to_owned());
        return Ok(part);
    }
    let (main, params) = match content.strip_prefix('"') {
        Some(rest) => {
            let mut inner = String::new();
            let mut chars = rest.char_indices();
            let mut end = rest.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => inner.extend(chars.next().map(|(_, c)| c)),
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    c => inner.push(c),
                }
            }
            (inner, &rest[end..])
        }
        None => {
            let cut = ["type=", "filename=", "headers=", "encoder="]
                .iter()
                .filter_map(|p| content.find(&format!(";{p}")))
                .min()
                .unwrap_or(content.len());
            (content[..cut].to_owned(), &content[cut..])
        }
    };
    for param in params.split(';').filter(|p| !p.is_empty()) {
        match param.split_once('=') {
            Some(("type", t)) => part.content_type = Some(t.to_owned()),
            Some(("filename", f)) => part.filename = Some(f.trim_matches('"').to_owned()),
            _ => {}
        }
    }
    if let Some(file) = main.strip_prefix('@') {
        part.file = Some(input.upload(file, word)?);
    } else if let Some(file) = main.strip_prefix('<') {
        part.value = Some(input.text(file, word)?);
    } else {
        part.value = Some(main);
    }
    Ok(part)
}

fn apply(
    p: &mut Parsed,
    name: &str,
    value: Option<String>,
    (option, word): (&Word, &Word),
    input: &Input<'_>,
    warnings: &mut Vec<String>,
) -> Result<(), Positioned> {
    let value = value.unwrap_or_default();
    match name {
        // As written: curl sends `-X wHat` as `wHat` (a standard name in
        // another case is read as that method by the batch).
        "request" => p.method = Some(value),
        // `-H @file`: one header per line.
        "header" if value.starts_with('@') => {
            let text = input.text(&value[1..], word)?;
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                header_option(p, line.trim_end_matches('\r'), word)?;
            }
        }
        "header" => header_option(p, &value, word)?,
        "data" | "data-ascii" | "data-binary" | "data-raw" | "data-urlencode" | "json" => {
            data_option(p, name, value, word, input)?;
        }
        "url" if value.starts_with('@') => {
            return Err(Positioned::at(
                word,
                "`--url @file` (URLs read from a file) is not supported: list the URLs",
            ));
        }
        "url" => p.urls.push(Word {
            text: value,
            ..word.clone()
        }),
        "user-agent" => p.headers.push(("User-Agent".into(), value)),
        // `;auto` asks curl to set the Referer on redirects; the header is
        // what comes before it.
        "referer" => {
            let referer = value.strip_suffix(";auto").unwrap_or(&value);
            if !referer.is_empty() {
                p.headers.push(("Referer".into(), referer.to_owned()));
            }
        }
        // `-b ""` turns on curl's cookie engine and sends no cookie.
        "cookie" if value.is_empty() => {}
        "cookie" => {
            if !value.contains('=') {
                return Err(Positioned::at(
                    word,
                    format!(
                        "`-b {value}` reads cookies from a file: put them inline as `-b 'name=value'`"
                    ),
                ));
            }
            p.headers.push(("Cookie".into(), value));
        }
        "user" => user_option(p, &value, word, warnings)?,
        "oauth2-bearer" => p
            .headers
            .push(("Authorization".into(), format!("Bearer {value}"))),
        "max-time" => {
            let secs: f64 = value.parse().map_err(|_| {
                Positioned::at(
                    word,
                    format!("`--max-time {value}`: expected a number of seconds"),
                )
            })?;
            p.timeout_s = Some(secs);
        }
        "get" => p.get = true,
        "head" => p.head = true,
        "form" | "form-string" => {
            p.form
                .push(form_part(&value, name == "form-string", input, word)?);
        }
        "upload-file" => {
            p.upload.push(if value == "-" {
                UploadSource::Text(input.text("-", word)?)
            } else {
                UploadSource::File(input.upload(&value, word)?)
            });
        }
        "range" => p.headers.push(("Range".into(), format!("bytes={value}"))),
        "config" => {
            return Err(Positioned::at(
                option,
                "`-K`/`--config` files are not supported",
            ));
        }
        n if QUIET.contains(&n) => {}
        n => match IGNORED.iter().find(|(o, _)| *o == n) {
            Some((_, why)) => {
                warnings.push(format!("line {}: ignored `--{n}`: {why}", option.line))
            }
            None => {
                return Err(Positioned::at(
                    option,
                    format!(
                        "unknown curl option `--{n}`: remove it or tell us at the issue tracker"
                    ),
                ));
            }
        },
    }
    Ok(())
}

/// The options that give the body's data: `-d` and its kinds, `--json`.
fn data_option(
    p: &mut Parsed,
    name: &str,
    value: String,
    word: &Word,
    input: &Input<'_>,
) -> Result<(), Positioned> {
    match name {
        "data-raw" => p.data.push(value),
        "data-urlencode" => p.data.push(urlencode_data(&value, word, input)?),
        "json" => p.json.push(match value.strip_prefix('@') {
            Some(file) => input.text(file, word)?,
            None => value,
        }),
        // `-d @file` drops the file's line ends; `--data-binary` keeps them.
        _ => p.data.push(match value.strip_prefix('@') {
            Some(file) if name == "data-binary" => input.text(file, word)?,
            Some(file) => input.text(file, word)?.replace(['\r', '\n'], ""),
            None => value,
        }),
    }
    Ok(())
}

/// `-H 'Name: value'`; `Name:` alone removes a header curl adds, and
/// `Name;` sends it empty.
fn header_option(p: &mut Parsed, value: &str, word: &Word) -> Result<(), Positioned> {
    if let Some((k, v)) = value.split_once(':') {
        if !v.trim().is_empty() {
            p.headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    } else if let Some(k) = value.strip_suffix(';') {
        p.headers.push((k.trim().to_owned(), String::new()));
    } else {
        return Err(Positioned::at(
            word,
            format!("header {value:?} has no `:`: expected `Name: value`"),
        ));
    }
    Ok(())
}

/// `-u user:password`, as the Basic authorization it becomes.
fn user_option(
    p: &mut Parsed,
    value: &str,
    word: &Word,
    warnings: &mut Vec<String>,
) -> Result<(), Positioned> {
    if word_has_var(value) {
        return Err(Positioned::at(
            word,
            "`-u` with a shell variable cannot be encoded ahead of time: use `-H \"Authorization: Basic …\"` or `-H \"Authorization: Bearer ${TOKEN}\"`",
        ));
    }
    let credentials = value.replace("$${", "${");
    let credentials = if credentials.contains(':') {
        credentials
    } else {
        warnings.push(format!(
            "line {}: `-u {credentials}` has no password; sent as `{credentials}:`",
            word.line
        ));
        format!("{credentials}:")
    };
    p.headers
        .push(("Authorization".into(), basic_auth(&credentials)));
    Ok(())
}

fn word_has_var(text: &str) -> bool {
    text.replace("$${", "").contains("${")
}

fn read_file(dir: &Path, file: &str, word: &Word) -> Result<String, Positioned> {
    let path = dir.join(file);
    super::read_text_file(&path).map_err(|e| {
        Positioned::at(
            word,
            format!("cannot read {} (named by `@{file}`): {e}", path.display()),
        )
        .own()
    })
}

/// `--data-urlencode` in its forms: `content`, `=content`, `name=content`.
fn urlencode_data(value: &str, word: &Word, input: &Input<'_>) -> Result<String, Positioned> {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    // A file's content, as it is (encoded, nothing in it is syntax).
    let file = |name: &str| -> Result<String, Positioned> {
        if name == "-" {
            return input.text(name, word);
        }
        read_file(input.dir, name, word)
    };
    if let Some(rest) = value.strip_prefix('=') {
        return Ok(encode(rest));
    }
    match value.split_once('=') {
        Some((name, content)) if !name.contains('@') => Ok(format!("{name}={}", encode(content))),
        _ => match value.split_once('@') {
            // `name@file` and `@file`: the file's content, encoded.
            Some(("", path)) => Ok(encode(&file(path)?)),
            Some((name, path)) => Ok(format!("{name}={}", encode(&file(path)?))),
            None => Ok(encode(value)),
        },
    }
}

impl Parsed {
    fn finish(self, line: usize) -> Result<Vec<Request>, Positioned> {
        let mut headers = self.headers;
        let mut url_query: Option<String> = None;
        let kinds = [
            !self.json.is_empty() || !self.data.is_empty(),
            !self.form.is_empty(),
            !self.upload.is_empty(),
        ];
        if kinds.iter().filter(|k| **k).count() > 1 {
            return Err(Positioned::new(
                line,
                1,
                "this command sends two kinds of body (`-d`/`--json`, `-F` and `-T` exclude each \
                 other, as curl says): keep one",
            ));
        }
        // `-T` files, one for each URL in order, as curl pairs them.
        let uploads: Vec<(Body, Option<String>)> = self
            .upload
            .into_iter()
            .map(|u| match u {
                UploadSource::File(file) => {
                    let name = Path::new(&file)
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned());
                    (Body::File(file), name)
                }
                UploadSource::Text(text) => (Body::Text(text), None),
            })
            .collect();
        let body = if !self.form.is_empty() {
            headers.retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
            Body::Multipart(self.form)
        } else if !self.json.is_empty() {
            let text = self.json.concat();
            if header(&headers, "content-type").is_none() {
                headers.push(("Content-Type".into(), "application/json".into()));
            }
            if header(&headers, "accept").is_none() {
                headers.push(("Accept".into(), "application/json".into()));
            }
            body_from(&text, Some("application/json"))
        } else if !self.data.is_empty() {
            let text = self.data.join("&");
            if self.get {
                url_query = Some(text);
                Body::None
            } else {
                let ct = header(&headers, "content-type")
                    .unwrap_or("application/x-www-form-urlencoded")
                    .to_owned();
                let body = body_from(&text, Some(&ct));
                // curl labels -d data a form; say so when it is sent as text.
                if matches!(body, Body::Text(_)) && header(&headers, "content-type").is_none() {
                    headers.push(("Content-Type".into(), ct));
                }
                body
            }
        } else {
            Body::None
        };
        let mut requests = Vec::new();
        for (i, url) in self.urls.into_iter().enumerate() {
            let mut text = url.text.clone();
            if let Some((scheme, _)) = text.split_once("://")
                && !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https")
                && !scheme.starts_with("${")
            {
                return Err(Positioned::at(
                    &url,
                    format!("`{scheme}://` is not HTTP: ratebench sends HTTP requests"),
                ));
            }
            let (body, upload_name) = match uploads.get(i) {
                Some((body, name)) => (body.clone(), name.clone()),
                None => (body.clone(), None),
            };
            let method = match &self.method {
                Some(m) => m.clone(),
                None if self.head => "HEAD".into(),
                // `-T` puts (also from the command's input).
                None if uploads.get(i).is_some() => "PUT".into(),
                None if !matches!(body, Body::None) => "POST".into(),
                None => "GET".into(),
            };
            // curl assumes http:// for a bare host; a path (`/users?id=1`,
            // as API docs write them) stays relative, for `--base-url`.
            if !text.contains("://") && !text.starts_with('/') {
                text = format!("http://{text}");
            }
            // `-T file` to a URL ending in `/` puts the file under its name.
            if let Some(name) = &upload_name
                && text.ends_with('/')
            {
                text.push_str(
                    &url::form_urlencoded::byte_serialize(name.as_bytes()).collect::<String>(),
                );
            }
            if let Some(q) = &url_query {
                text.push(if text.contains('?') { '&' } else { '?' });
                text.push_str(q);
            }
            requests.push(Request {
                name: None,
                method,
                url: text,
                headers: headers.clone(),
                body,
                timeout_s: self.timeout_s,
                line,
            });
        }
        Ok(requests)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<Vec<String>> {
        split(text)
            .unwrap()
            .into_iter()
            .map(|c| c.words.into_iter().map(|w| w.text).collect())
            .collect()
    }

    #[test]
    fn quoting_as_bash_reads_it() {
        assert_eq!(
            words(r#"curl 'a b' "c \"d\" \$e" f\ g $'h\n\'i\x41' "${T}x" '$NOT' "$1""#),
            [[
                "curl",
                "a b",
                "c \"d\" $e",
                "f g",
                "h\n'iA",
                "${T}x",
                "$NOT",
                "$1"
            ]]
        );
    }

    #[test]
    fn continuations_comments_and_several_commands() {
        let text = "# list\ncurl https://a/1 \\\n  -H 'X: 1'\ncurl https://a/2 | jq .\n";
        assert_eq!(
            words(text),
            [
                vec!["curl", "https://a/1", "-H", "X: 1"],
                vec!["curl", "https://a/2"]
            ]
        );
    }

    #[test]
    fn literal_dollar_brace_is_escaped_for_the_batch() {
        assert_eq!(words(r#"curl 'x${y}'"#), [["curl", "x$${y}"]]);
    }

    #[test]
    fn a_pasted_commands_uploads_are_files_of_the_working_directory() {
        // Tests run in the crate's folder, where Cargo.toml is.
        let imported = import_line("curl -T Cargo.toml http://h/up/ -H 'X: 1'").unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(
            imported.requests[0].body,
            Body::File(format!("{}/Cargo.toml", cwd.display()))
        );
        let imported = import_line("curl http://h/f -F 'doc=@Cargo.toml'").unwrap();
        let Body::Multipart(parts) = &imported.requests[0].body else {
            panic!("a multipart body");
        };
        assert!(Path::new(parts[0].file.as_deref().unwrap()).is_absolute());
    }

    #[test]
    fn unterminated_quote_points_at_the_quote() {
        let e = split("curl 'https://a\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 6));
    }
}
