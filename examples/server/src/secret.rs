//! The development JWT secret, derived keys, and `token`.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::StartError;

const SECRET_FILE: &str = "jwt-secret";

/// The secret kept under `data_dir` for local use, created (and announced
/// once) on first start.
pub(crate) fn development_secret(data_dir: &Path) -> Result<String, StartError> {
    let path = data_dir.join(SECRET_FILE);
    match fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => return Ok(text.trim().to_owned()),
        Ok(_) => {
            return Err(StartError::dependency(
                "development secret",
                format!(
                    "{} is shorter than 32 characters; delete it to get a new one",
                    path.display()
                ),
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(StartError::dependency(
                "development secret",
                format!("{}: {e}", path.display()),
            ));
        }
    }
    let secret = hex(&random_key());
    write_new(&path, &secret).map_err(|e| {
        StartError::dependency("development secret", format!("{}: {e}", path.display()))
    })?;
    // Another process may have won the race; theirs is the one on disk.
    let secret = match fs::read_to_string(&path) {
        Ok(text) if text.trim().len() >= 32 => text.trim().to_owned(),
        _ => {
            return Err(StartError::dependency(
                "development secret",
                format!("{} could not be read back", path.display()),
            ));
        }
    };
    eprintln!(
        "tasker: generated a JWT secret for local use in {}\n\
         tasker: get a token with `cargo run -p tasker-server -- token --user <id>`",
        path.display()
    );
    Ok(secret)
}

/// Creates `path` (readable by its owner only) with `contents`, complete or
/// not at all; keeps an existing file.
fn write_new(path: &PathBuf, contents: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&dir)?;
    let temp = dir.join(format!(".{SECRET_FILE}.{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&temp).and_then(|mut file| {
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
    });
    // A hard link never replaces an existing file: of two racing processes,
    // one secret wins and both read it.
    let linked = written.and_then(|()| match fs::hard_link(&temp, path) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        other => other,
    });
    let _ = fs::remove_file(&temp);
    linked
}

/// 32 random bytes.
pub(crate) fn random_key() -> Vec<u8> {
    let mut key = vec![0u8; 32];
    // The OS random source failing is not recoverable for key material; an
    // all-zero key would be worse than stopping.
    if let Err(e) = getrandom::fill(&mut key) {
        eprintln!("tasker: the operating system's random source failed: {e}");
        std::process::exit(70);
    }
    key
}

/// A key for `purpose` derived from `secret` (HMAC-SHA256), so instances
/// sharing the secret share the key while the secret itself is never reused.
pub(crate) fn derive_key(secret: &str, purpose: &str) -> Vec<u8> {
    match <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(purpose.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC accepts keys of any length, so this arm is never taken.
        Err(_) => Sha256::digest([secret.as_bytes(), purpose.as_bytes()].concat()).to_vec(),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    iat: i64,
    exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<&'a str>,
}

/// What `token` puts in the token.
pub(crate) struct TokenRequest<'a> {
    pub(crate) user: &'a str,
    pub(crate) email: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
    pub(crate) role: Option<&'a str>,
    pub(crate) ttl: time::Duration,
    pub(crate) issuer: Option<&'a str>,
    pub(crate) audience: Option<&'a str>,
}

/// An HS256 token for `secret`.
pub(crate) fn mint(secret: &str, request: &TokenRequest<'_>) -> Result<String, String> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = Claims {
        sub: request.user,
        iat: now,
        exp: now + request.ttl.whole_seconds(),
        email: request.email,
        name: request.name,
        role: request.role,
        iss: request.issuer,
        aud: request.audience,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| format!("cannot sign the token: {e}"))
}

/// `"90m"`, `"12h"`, `"7d"`, `"3600"` (seconds) → a duration.
pub(crate) fn parse_ttl(text: &str) -> Result<time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: i64 = number
        .parse()
        .map_err(|_| format!("--ttl: {text:?} is not a duration like 30m, 12h or 7d"))?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("--ttl: unknown unit {unit:?}; use s, m, h or d")),
    };
    let seconds = n.checked_mul(factor).unwrap_or(i64::MAX);
    if seconds <= 0 || seconds > 366 * 86_400 {
        return Err("--ttl: must be between 1 second and 366 days".to_owned());
    }
    Ok(time::Duration::seconds(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("90m"), Ok(time::Duration::minutes(90)));
        assert_eq!(parse_ttl("7d"), Ok(time::Duration::days(7)));
        assert_eq!(parse_ttl("3600"), Ok(time::Duration::hours(1)));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("5w").is_err());
        assert!(parse_ttl("h").is_err());
        assert!(parse_ttl("99999999999999999d").is_err());
    }

    #[test]
    fn derived_keys_differ_by_purpose() {
        let a = derive_key("s", "one");
        assert_eq!(a, derive_key("s", "one"));
        assert_ne!(a, derive_key("s", "two"));
        assert_eq!(a.len(), 32);
    }
}
