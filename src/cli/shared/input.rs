//! Input besides arguments: `--batch` id lists and password or line prompts.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;

use crate::core::{Error, Result};

/// Read ids for `--batch FILE|-`: one per line, or a JSON array of strings.
pub fn read_batch(source: &PathBuf, confirmed: bool) -> Result<Vec<String>> {
    let text = if source.as_os_str() == "-" {
        if std::io::stdin().is_terminal() {
            return Err(Error::usage(
                "--batch - reads ids from stdin, but stdin is a terminal",
            ));
        }
        if !confirmed {
            return Err(Error::usage(
                "--batch - needs --yes or --dry-run (stdin cannot also answer the prompt)",
            ));
        }
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io("reading --batch from stdin", e))?;
        s
    } else {
        std::fs::read_to_string(source).map_err(|e| {
            Error::usage(format!(
                "cannot read --batch file {}: {e}",
                source.display()
            ))
        })?
    };
    parse_batch(&text)
}

/// Parse batch text: a JSON array of strings, or one id per non-blank line.
pub fn parse_batch(text: &str) -> Result<Vec<String>> {
    let trimmed = text.trim_start();
    let ids: Vec<String> = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        let value: serde_json::Value = serde_json::from_str(trimmed)
            .map_err(|e| Error::usage(format!("--batch: invalid JSON ({e})")))?;
        let arr = value
            .as_array()
            .ok_or_else(|| Error::usage("--batch: JSON input must be an array of strings"))?;
        arr.iter()
            .map(|v| {
                v.as_str()
                    .map(|s| s.trim().to_string())
                    .ok_or_else(|| Error::usage("--batch: JSON input must be an array of strings"))
            })
            .collect::<Result<_>>()?
    } else {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    if ids.is_empty() {
        return Err(Error::usage("--batch: no ids found"));
    }
    Ok(ids)
}

/// Reject a password given as a command-line value (exit 2): other users can read it from the
/// process list, and shells keep it in their history.
pub fn refuse_password(pw: &Option<String>) -> Result<()> {
    refuse_password_flag(
        pw,
        "--password",
        "--password-stdin, XNAT_PASS, or the prompt",
    )
}

/// [`refuse_password`] for another password option `flag`, naming the ways to give it instead.
pub fn refuse_password_flag(pw: &Option<String>, flag: &str, instead: &str) -> Result<()> {
    if pw.is_some() {
        return Err(Error::usage(format!(
            "refusing to read {flag} from the command line (other users can see it in the process list): use {instead}"
        )));
    }
    Ok(())
}

/// The password to use: `piped` (read from stdin, before any prompt could take the line), else
/// `stored` (a profile, the keyring or an environment variable), else asked on the terminal.
pub fn password_or_prompt(
    piped: Option<String>,
    stored: Option<String>,
    prompt: &str,
) -> Result<String> {
    match piped.or(stored) {
        Some(pw) => Ok(pw),
        None => prompt_password(prompt),
    }
}

/// Longest password `--password-stdin` reads; stdin from `/dev/zero` must not fill memory.
const MAX_PASSWORD_BYTES: u64 = 4096;

/// Read one line from stdin as a password (for `--password-stdin`).
pub fn password_from_stdin() -> Result<String> {
    read_password(std::io::stdin().lock())
}

fn read_password(input: impl BufRead) -> Result<String> {
    let mut line = Vec::new();
    input
        .take(MAX_PASSWORD_BYTES + 1)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io("reading the password from stdin", e))?;
    if line.len() as u64 > MAX_PASSWORD_BYTES {
        return Err(Error::usage(format!(
            "--password-stdin: the first line of stdin is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    let line = String::from_utf8(line)
        .map_err(|_| Error::usage("--password-stdin: the password is not UTF-8"))?;
    let pw = line.trim_end_matches(['\n', '\r']).to_string();
    if pw.is_empty() {
        return Err(Error::usage(
            "--password-stdin: stdin gave an empty password",
        ));
    }
    Ok(pw)
}

/// Prompt for a password on the terminal without echo.
pub fn prompt_password(prompt: &str) -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(
            "no password available and stdin is not a terminal: use --password-stdin, XNAT_PASS or the keyring",
        ));
    }
    rpassword::prompt_password(prompt).map_err(|e| Error::io("reading the password", e))
}

/// Prompt for a line of text on the terminal.
pub fn prompt_line(prompt: &str) -> Result<String> {
    use std::io::Write;
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage(format!(
            "{} is required and stdin is not a terminal",
            prompt.trim_end_matches([':', ' '])
        )));
    }
    let mut stderr = std::io::stderr();
    let _ = write!(stderr, "{prompt}");
    let _ = stderr.flush();
    let mut s = String::new();
    std::io::stdin()
        .read_line(&mut s)
        .map_err(|e| Error::io("reading input", e))?;
    Ok(s.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_line_is_capped() {
        assert_eq!(read_password(&b"secret\nrest"[..]).unwrap(), "secret");
        let zeros = std::io::repeat(0).take(1 << 30);
        let e = read_password(std::io::BufReader::new(zeros)).unwrap_err();
        assert!(e.to_string().contains("longer than 4096 bytes"), "{e}");
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn batch_lines_skip_blanks_and_trim() {
        assert_eq!(parse_batch(" A \n\nB\n").unwrap(), vec!["A", "B"]);
    }

    #[test]
    fn batch_json_array() {
        assert_eq!(parse_batch(r#"["A", " B"]"#).unwrap(), vec!["A", "B"]);
    }

    #[test]
    fn batch_rejects_bad_input() {
        for bad in ["", "  \n", "[1,2]", "{\"a\":1}", "[", "[]"] {
            let err = parse_batch(bad).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad:?}");
        }
    }
}
