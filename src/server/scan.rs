//! `tollgate scan PATH...`: finds tollgate tokens (right prefix, length and
//! checksum) in files, directories (recursively, skipping `.git` and binary
//! files) or standard input (`-`), prints where each is, masked, and exits
//! 1 if it found any: a pre-commit hook or a CI step. With `--report URL`
//! the tokens found are sent to that server's leaked-token endpoint, which
//! revokes them.

use crate::server::tokens::format::{PlainToken, PREFIX, TOKEN_LEN};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

/// A file whose first bytes hold a NUL is binary, as git decides.
const BINARY_PROBE: usize = 8000;
/// Files larger than this are skipped (they are not source or config).
const FILE_MAX: u64 = 64 * 1024 * 1024;
/// Tokens per report, the endpoint's most.
const REPORT_BATCH: usize = 1000;

/// One token found.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    pub path: String,
    pub line: usize,
    pub token: String,
}

impl Finding {
    /// `path:line: tgp_abcd…(masked)`: enough to find it, never the secret.
    pub fn masked(&self) -> String {
        format!(
            "{}:{}: {}…(masked)",
            self.path,
            self.line,
            &self.token[..PREFIX.len() + 4]
        )
    }
}

/// The valid tokens in `text`: the prefix at a word start, 36 letters and
/// digits after it and no more, and a checksum that holds.
pub fn tokens_in(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find(PREFIX) {
        let start = from + at;
        from = start + PREFIX.len();
        let word_start = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let end = start + TOKEN_LEN;
        if !word_start || end > bytes.len() {
            continue;
        }
        let word_end = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        let candidate = &text[start..end];
        if word_end && PlainToken::parse(candidate).is_ok() {
            out.push(candidate);
            from = end;
        }
    }
    out
}

/// Scans one text, line by line.
fn scan_text(path: &str, text: &str, found: &mut Vec<Finding>) {
    for (i, line) in text.lines().enumerate() {
        for token in tokens_in(line) {
            found.push(Finding {
                path: path.to_string(),
                line: i + 1,
                token: token.to_string(),
            });
        }
    }
}

/// Scans a file unless it is binary or huge; `None` when skipped.
fn scan_file(path: &Path, found: &mut Vec<Finding>) -> std::io::Result<Option<()>> {
    let file = std::fs::File::open(path)?;
    if file.metadata()?.len() > FILE_MAX {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.take(FILE_MAX).read_to_end(&mut bytes)?;
    if bytes[..bytes.len().min(BINARY_PROBE)].contains(&0) {
        return Ok(None);
    }
    scan_text(
        &path.display().to_string(),
        &String::from_utf8_lossy(&bytes),
        found,
    );
    Ok(Some(()))
}

/// Every token under `paths` (`-`: standard input), in the order walked.
/// Unreadable files are reported on standard error and skipped.
pub fn scan(paths: &[String], progress: &ProgressBar) -> Result<Vec<Finding>, String> {
    let mut found = Vec::new();
    for root in paths {
        if root == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| format!("cannot read standard input: {e}"))?;
            scan_text("(stdin)", &text, &mut found);
            continue;
        }
        if !Path::new(root).exists() {
            return Err(format!("{root}: no such file or directory"));
        }
        let walk = walkdir::WalkDir::new(root)
            .follow_links(false)
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || e.file_name() != ".git");
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    progress.suspend(|| eprintln!("tollgate scan: {e}"));
                    continue;
                }
            };
            if !entry.file_type().is_file() {
                continue;
            }
            progress.inc(1);
            if let Err(e) = scan_file(entry.path(), &mut found) {
                progress.suspend(|| eprintln!("tollgate scan: {}: {e}", entry.path().display()));
            }
        }
    }
    Ok(found)
}

/// Sends `tokens` to `base`'s `POST /go/api/credentials/revoke`, in batches,
/// with curl (so any URL curl can reach works, https included); the tokens
/// go through curl's standard input, never its command line.
pub fn report(base: &str, tokens: &[&str]) -> Result<(), String> {
    let url = format!("{}/go/api/credentials/revoke", base.trim_end_matches('/'));
    for batch in tokens.chunks(REPORT_BATCH) {
        let body = serde_json::json!({ "credentials": batch }).to_string();
        let mut curl = Command::new("curl")
            .args(["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST"])
            .args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
                &url,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run curl to report the tokens: {e}"))?;
        if let Some(mut stdin) = curl.stdin.take() {
            stdin
                .write_all(body.as_bytes())
                .map_err(|e| format!("cannot send the report to curl: {e}"))?;
        }
        let out = curl
            .wait_with_output()
            .map_err(|e| format!("curl failed: {e}"))?;
        let status = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if status != "202" {
            let err = String::from_utf8_lossy(&out.stderr);
            return Err(format!(
                "reporting to {url} answered {} {}",
                if status.is_empty() {
                    "nothing"
                } else {
                    &status
                },
                err.trim()
            ));
        }
    }
    Ok(())
}

/// The command: 0 nothing found, 1 tokens found (and reported, with
/// `--report`), 2 an error.
pub fn run(paths: &[String], report_to: Option<&str>) -> ExitCode {
    let paths: Vec<String> = if paths.is_empty() {
        vec![".".into()]
    } else {
        paths.to_vec()
    };
    let progress = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} scanned {pos} files ({elapsed})") {
        progress.set_style(style);
    }
    progress.enable_steady_tick(Duration::from_millis(200));
    let found = scan(&paths, &progress);
    progress.finish_and_clear();
    let found = match found {
        Ok(f) => f,
        Err(e) => {
            eprintln!("tollgate scan: {e}");
            return ExitCode::from(2);
        }
    };
    for f in &found {
        println!("{}", f.masked());
    }
    if found.is_empty() {
        return ExitCode::SUCCESS;
    }
    let mut tokens: Vec<&str> = found.iter().map(|f| f.token.as_str()).collect();
    tokens.sort_unstable();
    tokens.dedup();
    eprintln!(
        "tollgate scan: {} tollgate token{} found ({} distinct): revoke them, or run with --report URL",
        found.len(),
        if found.len() == 1 { "" } else { "s" },
        tokens.len()
    );
    if let Some(base) = report_to {
        match report(base, &tokens) {
            Ok(()) => eprintln!(
                "tollgate scan: reported {} token(s) to {base}; active ones are revoked",
                tokens.len()
            ),
            Err(e) => {
                eprintln!("tollgate scan: {e}");
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::from(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_valid_tokens_at_word_boundaries_only() {
        let t = PlainToken::generate();
        let t = t.expose();
        let forged = format!("{}{}", &t[..39], if t.ends_with('a') { 'b' } else { 'a' });
        let line = format!(
            "TOKEN={t} x{t} {t}a \"{t}\" {forged} ghp_16C7e42F292c6912E7710c838347Ae178B4a tgp_short"
        );
        assert_eq!(tokens_in(&line), [t, t]);
        assert!(tokens_in("").is_empty());
        assert_eq!(tokens_in(&format!("{t}{t}")), Vec::<&str>::new());
        let f = Finding {
            path: "a.env".into(),
            line: 3,
            token: t.to_string(),
        };
        assert_eq!(f.masked(), format!("a.env:3: {}…(masked)", &t[..8]));
        assert!(!f.masked().contains(&t[8..]));
    }
}
