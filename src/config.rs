//! Settings, read from the environment. The names are stable: deployment scripts rely on them
//! (the README's configuration table lists them).
//! A bad value stops the start with one line that names the variable.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lettre::message::Mailbox;

/// Where mail goes. (Its `Debug` would show an SMTP password: use [`MailTransport::redacted`].)
#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Printed to the log (the default, so a newcomer sees the verification link in the console).
    Log,
    /// `smtp://host:port` (plain) or `smtps://user:pass@host[:port]` (TLS).
    Smtp(String),
    /// `file:///folder`: one `.eml` file per mail.
    Folder(PathBuf),
}

impl MailTransport {
    /// For logs: the SMTP URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            MailTransport::Log => "log".to_owned(),
            MailTransport::Smtp(url) => redact_url(url),
            MailTransport::Folder(path) => format!("file://{}", path.display()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub bind_addr: SocketAddr,
    /// Base of every link put in an e-mail, without a trailing slash.
    pub public_url: String,
    pub secret_key: Vec<u8>,
    pub mail_transport: MailTransport,
    pub mail_from: Mailbox,
    pub first_user_is_admin: bool,
    pub access_token_ttl: Duration,
    pub log_format: LogFormat,
    /// Cron expressions (with seconds, UTC) of the scheduled jobs.
    pub complete_relations_schedule: String,
    pub delete_unverified_users_schedule: String,
    pub optimize_search_index_schedule: String,
    pub remind_meetings_schedule: String,
    pub purge_expired_schedule: String,
    /// Audit events older than this are pruned by `purge-expired`; `None` keeps them forever.
    pub audit_retention: Option<Duration>,
    /// On SIGTERM, how long `/health` answers 503 while requests are still served, so a load
    /// balancer takes the instance out before it stops accepting connections.
    pub shutdown_drain: Duration,
    /// Size of the server's connection pool.
    pub database_max_connections: u32,
    /// How long a request waits for a database connection (or SQLite's write lock) before it
    /// is answered 503 with `Retry-After`.
    pub database_acquire_timeout: Duration,
    /// Peers whose `X-Forwarded-For` or PROXY protocol header names the client (the balancer).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Clients that may read `/metrics`.
    pub metrics_allow: Vec<ipnet::IpNet>,
    /// A client must send a request's headers within this time.
    pub header_read_timeout: Duration,
    /// A keep-alive connection waiting for its next request is closed after this time.
    pub idle_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

/// Whether `ip` is in one of `nets`.
pub fn in_nets(nets: &[ipnet::IpNet], ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    nets.iter().any(|net| net.contains(&ip))
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("bind_addr", &self.bind_addr)
            .field("public_url", &self.public_url)
            .field("mail_transport", &self.mail_transport.redacted())
            .field("first_user_is_admin", &self.first_user_is_admin)
            .field("access_token_ttl", &self.access_token_ttl)
            .finish_non_exhaustive()
    }
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/mentorship.db?mode=rwc";
const DEFAULT_SECRET_FILE: &str = "data/secret_key";
const MIN_SECRET_LEN: usize = 32;

/// A configuration error: the variable and what is wrong with its value.
#[derive(Debug, thiserror::Error)]
#[error("{name}: {problem}")]
pub struct ConfigError {
    pub name: &'static str,
    pub problem: String,
}

fn bad(name: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        name,
        problem: problem.into(),
    }
}

impl Config {
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads every setting through `lookup` (the environment in production, a map in tests).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let database_url =
            lookup("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let is_sqlite = database_url.starts_with("sqlite:");
        if !is_sqlite
            && !database_url.starts_with("postgres://")
            && !database_url.starts_with("postgresql://")
        {
            return Err(bad(
                "DATABASE_URL",
                "must start with sqlite: or postgres://",
            ));
        }

        let bind_addr = match lookup("BIND_ADDR") {
            None => SocketAddr::from(([127, 0, 0, 1], 8080)),
            Some(text) => text.parse().map_err(|_| {
                bad(
                    "BIND_ADDR",
                    format!("{text:?} is not an address like 127.0.0.1:8080"),
                )
            })?,
        };

        let public_url = match lookup("PUBLIC_URL") {
            None => format!("http://{bind_addr}"),
            Some(text) => {
                let parsed = url::Url::parse(&text).map_err(|_| {
                    bad(
                        "PUBLIC_URL",
                        format!("{text:?} is not a URL like https://mentorship.example.org"),
                    )
                })?;
                if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
                    return Err(bad(
                        "PUBLIC_URL",
                        format!("{text:?} must be an http(s) URL with a host"),
                    ));
                }
                text.trim_end_matches('/').to_owned()
            }
        };

        let secret_key = match lookup("SECRET_KEY") {
            Some(secret) if secret.len() >= MIN_SECRET_LEN => secret.into_bytes(),
            Some(_) => {
                return Err(bad(
                    "SECRET_KEY",
                    format!("must be at least {MIN_SECRET_LEN} characters long"),
                ));
            }
            // Several PostgreSQL instances must share one key, so it cannot be made up locally.
            None if !is_sqlite => {
                return Err(bad(
                    "SECRET_KEY",
                    "is required with PostgreSQL (every instance must share it)",
                ));
            }
            None => local_secret().map_err(|e| bad("SECRET_KEY", format!("unset, and {e}")))?,
        };

        let mail_transport = match lookup("SMTP_URL") {
            None => MailTransport::Log,
            Some(text) if text.starts_with("smtp://") || text.starts_with("smtps://") => {
                url::Url::parse(&text)
                    .ok()
                    .filter(|u| u.host().is_some())
                    .ok_or_else(|| bad("SMTP_URL", "is not a URL like smtp://localhost:25"))?;
                MailTransport::Smtp(text)
            }
            Some(text) if text.starts_with("file://") => {
                MailTransport::Folder(PathBuf::from(text.trim_start_matches("file://")))
            }
            Some(text) if text == "log" => MailTransport::Log,
            Some(_) => {
                return Err(bad(
                    "SMTP_URL",
                    "must start with smtp://, smtps:// or file://",
                ));
            }
        };

        let mail_from = lookup("MAIL_FROM")
            .unwrap_or_else(|| "Mentorship System <no-reply@localhost>".to_owned());
        let mail_from = mail_from.parse().map_err(|_| {
            bad(
                "MAIL_FROM",
                format!("{mail_from:?} is not an address like Name <name@host>"),
            )
        })?;

        let first_user_is_admin =
            match lookup("FIRST_USER_IS_ADMIN").map(|v| v.to_ascii_lowercase()) {
                None => false,
                Some(v) if matches!(v.as_str(), "true" | "1" | "yes") => true,
                Some(v) if matches!(v.as_str(), "false" | "0" | "no") => false,
                Some(v) => {
                    return Err(bad(
                        "FIRST_USER_IS_ADMIN",
                        format!("{v:?} is not true or false"),
                    ));
                }
            };

        let access_token_ttl = match lookup("ACCESS_TOKEN_TTL") {
            None => Duration::from_secs(15 * 60),
            Some(text) => parse_duration(&text)
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    bad(
                        "ACCESS_TOKEN_TTL",
                        format!("{text:?} is not a duration like 15m, 12h or 7d"),
                    )
                })?,
        };

        let log_format = match lookup("LOG_FORMAT").as_deref() {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(bad(
                    "LOG_FORMAT",
                    format!("{other:?} is not pretty or json"),
                ));
            }
        };

        let schedule = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let expression = lookup(name).unwrap_or_else(|| default.to_owned());
            <cron::Schedule as std::str::FromStr>::from_str(&expression).map_err(|_| {
                bad(
                    name,
                    format!("{expression:?} is not a cron expression like \"0 59 23 * * *\""),
                )
            })?;
            Ok(expression)
        };
        let complete_relations_schedule = schedule("COMPLETE_RELATIONS_SCHEDULE", "0 59 23 * * *")?;
        let delete_unverified_users_schedule =
            schedule("DELETE_UNVERIFIED_USERS_SCHEDULE", "0 0 0 1 * *")?;
        let optimize_search_index_schedule =
            schedule("OPTIMIZE_SEARCH_INDEX_SCHEDULE", "0 30 3 * * *")?;
        let remind_meetings_schedule = schedule("REMIND_MEETINGS_SCHEDULE", "0 */5 * * * *")?;
        let purge_expired_schedule = schedule("PURGE_EXPIRED_SCHEDULE", "0 15 4 * * *")?;

        let audit_retention =
            match lookup("AUDIT_RETENTION").as_deref().map(str::trim) {
                None | Some("") | Some("forever") => None,
                Some(text) => Some(parse_duration(text).filter(|d| !d.is_zero()).ok_or_else(
                    || {
                        bad(
                            "AUDIT_RETENTION",
                            format!("{text:?} is not a duration like 365d, or forever"),
                        )
                    },
                )?),
            };

        let shutdown_drain = match lookup("SHUTDOWN_DRAIN") {
            None => Duration::ZERO,
            Some(text) => parse_duration(&text).ok_or_else(|| {
                bad(
                    "SHUTDOWN_DRAIN",
                    format!("{text:?} is not a duration like 10s"),
                )
            })?,
        };

        // SQLite runs queries on this machine's cores, so a few connections keep them busy, and
        // each one holds its own page cache (2 MB) and statement cache: 16 of them took the
        // server to 90+ MB at 1M users. PostgreSQL works in its own processes; its commits wait
        // for the WAL flush, so writes gain from more of them in flight (the benchmark's write
        // mix: 866 req/s with 4 connections, 1,743 with 16), while reads alone ran best with
        // about two per database core (bench/RESULTS.md).
        let default_connections = if database_url.starts_with("sqlite:") {
            4
        } else {
            16
        };
        let database_max_connections = match lookup("DATABASE_MAX_CONNECTIONS") {
            None => default_connections,
            Some(text) => text
                .trim()
                .parse::<u32>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad(
                        "DATABASE_MAX_CONNECTIONS",
                        format!("{text:?} is not a positive number"),
                    )
                })?,
        };

        let duration = |name: &'static str, default: Duration| -> Result<Duration, ConfigError> {
            match lookup(name) {
                None => Ok(default),
                Some(text) => parse_duration(&text)
                    .filter(|d| !d.is_zero())
                    .ok_or_else(|| bad(name, format!("{text:?} is not a duration like 10s"))),
            }
        };
        let database_acquire_timeout =
            duration("DATABASE_ACQUIRE_TIMEOUT", Duration::from_secs(3))?;
        let header_read_timeout = duration("HEADER_READ_TIMEOUT", Duration::from_secs(10))?;
        let idle_timeout = duration("IDLE_TIMEOUT", Duration::from_secs(60))?;
        let nets = |name: &'static str, default: &str| -> Result<Vec<ipnet::IpNet>, ConfigError> {
            let text = lookup(name).unwrap_or_else(|| default.to_owned());
            text.split([',', ' '])
                .filter(|part| !part.is_empty())
                .map(|part| {
                    part.parse::<ipnet::IpNet>()
                        .or_else(|_| part.parse::<IpAddr>().map(ipnet::IpNet::from))
                        .map_err(|_| {
                            bad(
                                name,
                                format!("{part:?} is not an address or a CIDR like 10.0.0.0/8"),
                            )
                        })
                })
                .collect()
        };
        let trusted_proxies = nets("TRUSTED_PROXIES", "")?;
        let metrics_allow = nets("METRICS_ALLOW", "127.0.0.0/8,::1")?;
        let max_connections = match lookup("MAX_CONNECTIONS") {
            None => 1024,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| {
                    bad(
                        "MAX_CONNECTIONS",
                        format!("{text:?} is not a positive number"),
                    )
                })?,
        };

        Ok(Config {
            database_url,
            bind_addr,
            public_url,
            secret_key,
            mail_transport,
            mail_from,
            first_user_is_admin,
            access_token_ttl,
            log_format,
            complete_relations_schedule,
            delete_unverified_users_schedule,
            optimize_search_index_schedule,
            remind_meetings_schedule,
            purge_expired_schedule,
            audit_retention,
            shutdown_drain,
            database_max_connections,
            database_acquire_timeout,
            trusted_proxies,
            metrics_allow,
            header_read_timeout,
            idle_timeout,
            max_connections,
        })
    }
}

/// `90`, `90s`, `15m`, `12h`, `7d`.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: u64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => value,
        "m" => value.checked_mul(60)?,
        "h" => value.checked_mul(3600)?,
        "d" => value.checked_mul(86_400)?,
        _ => return None,
    };
    Some(Duration::from_secs(seconds))
}

/// The development secret: generated once and kept in `./data/secret_key`, so tokens survive
/// a restart without any setup.
fn local_secret() -> std::io::Result<Vec<u8>> {
    let path = std::path::Path::new(DEFAULT_SECRET_FILE);
    if let Ok(existing) = std::fs::read_to_string(path)
        && existing.trim().len() >= MIN_SECRET_LEN
    {
        return Ok(existing.trim().as_bytes().to_vec());
    }
    crate::files::create_private_dir(path.parent().unwrap_or(std::path::Path::new(".")))?;
    let secret = crate::security::random_token();
    crate::files::write_private_file(path, secret.as_bytes())?;
    Ok(secret.into_bytes())
}

/// The URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("****"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    const SECRET: (&str, &str) = ("SECRET_KEY", "0123456789abcdef0123456789abcdef");

    #[test]
    fn a_bad_value_names_its_variable() {
        let err = config(&[SECRET, ("BIND_ADDR", "nowhere")]).err().unwrap();
        assert_eq!(err.name, "BIND_ADDR");
        let err = config(&[SECRET, ("ACCESS_TOKEN_TTL", "soon")])
            .err()
            .unwrap();
        assert_eq!(err.name, "ACCESS_TOKEN_TTL");
        let err = config(&[("DATABASE_URL", "postgres://x@localhost/db")])
            .err()
            .unwrap();
        assert_eq!(err.name, "SECRET_KEY");
    }

    #[test]
    fn defaults_follow_the_bind_address() {
        let cfg = config(&[
            SECRET,
            ("BIND_ADDR", "0.0.0.0:9000"),
            ("ACCESS_TOKEN_TTL", "7d"),
        ])
        .unwrap();
        assert_eq!(cfg.public_url, "http://0.0.0.0:9000");
        assert_eq!(cfg.access_token_ttl, Duration::from_secs(7 * 86_400));
        assert!(cfg.mail_transport == MailTransport::Log);
        assert!(in_nets(&cfg.metrics_allow, "127.0.0.1".parse().unwrap()));
        assert!(cfg.trusted_proxies.is_empty());
    }

    #[test]
    fn debug_output_shows_no_password() {
        let cfg = config(&[
            SECRET,
            ("SMTP_URL", "smtps://mailer:hunter2@mail.example.org"),
        ])
        .unwrap();
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
    }

    #[test]
    fn proxies_are_addresses_or_networks() {
        let cfg = config(&[SECRET, ("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")]).unwrap();
        assert!(in_nets(&cfg.trusted_proxies, "10.2.3.4".parse().unwrap()));
        assert!(in_nets(
            &cfg.trusted_proxies,
            "::ffff:192.168.1.7".parse().unwrap()
        ));
        assert!(!in_nets(
            &cfg.trusted_proxies,
            "192.168.1.8".parse().unwrap()
        ));
        let err = config(&[SECRET, ("TRUSTED_PROXIES", "balancer")])
            .err()
            .unwrap();
        assert_eq!(err.name, "TRUSTED_PROXIES");
    }
}
