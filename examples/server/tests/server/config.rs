//! Configuration errors stop start-up with the key and the problem; every key
//! of `.env.example` is accepted.

use crate::support::Env;

fn refused(env: &Env) -> String {
    let output = env.run(&["cron", "list"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "expected exit 2: {stderr}");
    assert!(
        stderr.starts_with("tasker: invalid configuration:"),
        "{stderr}"
    );
    stderr
}

#[test]
fn a_value_of_the_wrong_type_names_the_key_and_the_variable() {
    let stderr = refused(&Env::defaults().set("TASKER_SERVER__PORT", "eighty"));
    assert!(stderr.contains("server.port: invalid type"), "{stderr}");
    assert!(stderr.contains("TASKER_SERVER__PORT"), "{stderr}");
}

#[test]
fn an_unknown_key_is_refused() {
    let stderr = refused(&Env::defaults().set("TASKER_SERVR__PORT", "8081"));
    assert!(stderr.contains("unknown field"), "{stderr}");
    assert!(stderr.contains("servr"), "{stderr}");
}

#[test]
fn a_public_address_needs_a_secret_or_a_jwks_url() {
    let env = Env::defaults().set("TASKER_SERVER__HOST", "0.0.0.0");
    let stderr = refused(&env);
    assert!(
        stderr.contains("server.host: 0.0.0.0 is not a loopback address"),
        "{stderr}"
    );
    assert!(stderr.contains("TASKER_AUTH__JWT_SECRET"), "{stderr}");

    let ok = env.set(
        "TASKER_AUTH__JWKS_URL",
        "https://example.clerk.accounts.dev/.well-known/jwks.json",
    );
    let output = ok.run(&["cron", "list"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Authentication off for benchmarks is never accepted on the network.
    let stderr = refused(&ok.set("TASKER_BENCH__USER", "bench"));
    assert!(
        stderr.contains("bench.user: turns authentication off"),
        "{stderr}"
    );
}

#[test]
fn a_jwks_url_over_plain_http_is_refused_unless_its_host_is_loopback() {
    let stderr = refused(&Env::defaults().set(
        "TASKER_AUTH__JWKS_URL",
        "http://example.clerk.accounts.dev/.well-known/jwks.json",
    ));
    assert!(
        stderr.contains("auth.jwks_url: must be an https:// URL"),
        "{stderr}"
    );
    assert!(stderr.contains("TASKER_AUTH__JWKS_URL"), "{stderr}");
    for url in [
        "http://localhost:8081/.well-known/jwks.json",
        "http://127.0.0.1:8081/.well-known/jwks.json",
    ] {
        let output = Env::defaults()
            .set("TASKER_AUTH__JWKS_URL", url)
            .run(&["cron", "list"]);
        assert!(
            output.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn several_problems_are_reported_together() {
    let stderr = refused(
        &Env::defaults()
            .set("TASKER_AUTH__JWT_SECRET", "short")
            .set("TASKER_MAIL__TRANSPORT", "resend")
            .set("TASKER_DATABASE__URL", "mysql://localhost/tasker")
            .set("TASKER_JOBS__CRON__WEEKLY_REPORTS", "every monday")
            .set("TASKER_LOG__LEVEL", "loud=="),
    );
    for key in [
        "auth.jwt_secret: must be at least 32 characters",
        "mail.resend.api_key: is required",
        "database.url: must start with postgres://",
        "jobs.cron.weekly_reports:",
        "log.level:",
    ] {
        assert!(stderr.contains(key), "missing {key:?} in:\n{stderr}");
    }
}

#[test]
fn a_bad_enum_value_lists_the_choices() {
    let stderr = refused(&Env::defaults().set("TASKER_MAIL__TRANSPORT", "pigeon"));
    assert!(stderr.contains("mail.transport:"), "{stderr}");
    assert!(stderr.contains("preview"), "{stderr}");
}

#[test]
fn tasker_toml_and_dot_env_are_read() {
    let env = Env::defaults();
    std::fs::write(
        env.path().join("tasker.toml"),
        "[server]\nport = \"http\"\n",
    )
    .expect("toml");
    let stderr = refused(&env);
    assert!(stderr.contains("server.port:"), "{stderr}");
    assert!(stderr.contains("tasker.toml"), "{stderr}");

    std::fs::remove_file(env.path().join("tasker.toml")).expect("rm");
    std::fs::write(
        env.path().join(".env"),
        "TASKER_DATABASE__MAX_CONNECTIONS=0\n",
    )
    .expect(".env");
    let stderr = refused(&env);
    assert!(
        stderr.contains("database.max_connections: must be at least 1"),
        "{stderr}"
    );
}

#[test]
fn every_key_in_env_example_is_accepted() {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.env.example"))
            .expect(".env.example");
    let mut env = Env::defaults();
    let mut keys = 0;
    for line in example.lines() {
        let Some(assignment) = line.strip_prefix("# TASKER_") else {
            continue;
        };
        let (key, value) = assignment.split_once('=').expect("KEY=value");
        // Placeholders are refused on purpose (see the next test).
        let value = value.replace("change-me", "d6f1c0a8e27b4f5e9a3c1b7d2e8f4a6c");
        env = env.set(&format!("TASKER_{key}"), value.as_str());
        keys += 1;
    }
    assert!(keys > 60, "only {keys} keys in .env.example");
    let output = env.run(&["cron", "list"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn cron_list_shows_the_schedules() {
    let output = Env::defaults()
        .set("TASKER_JOBS__CRON__AUTO_ARCHIVE", "")
        // The test suites' own variables are not configuration.
        .set("TASKER_TEST_DATABASE_URL", "postgres://elsewhere/db")
        .run(&["cron", "list"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(
        stdout.contains("due-date-reminders   0 */15 * * * *"),
        "{stdout}"
    );
    assert!(stdout.contains("auto-archive         disabled"), "{stdout}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_go_style_configuration_stops_start_up_naming_the_keys_to_use() {
    let env = Env::defaults()
        .set("TASKER_SERVER.PORT", "9000")
        .set("TASKER_DATABASE.HOST", "db.internal")
        .set("TASKER_AWS.UPLOAD_BUCKET", "uploads");
    let output = env.run(&["serve"]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "never a server on other settings"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    for expected in [
        "TASKER_SERVER.PORT: is the Go service's spelling and is not read: set TASKER_SERVER__PORT",
        "TASKER_DATABASE.HOST: is the Go service's spelling and is not read: set TASKER_DATABASE__URL",
        "TASKER_AWS.UPLOAD_BUCKET: is the Go service's spelling and is not read: set TASKER_STORAGE__S3__BUCKET",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}

#[test]
fn the_go_services_cron_job_names_are_accepted() {
    let env = Env::defaults();
    let list = env.run(&["cron", "list"]);
    let stdout = String::from_utf8_lossy(&list.stdout);
    assert!(
        stdout.contains("overdue-notices") && stdout.contains("(Go name: overdue-notifications)"),
        "{stdout}"
    );
    for name in [
        "overdue-notifications",
        "due-date-reminders",
        "weekly-reports",
        "auto-archive",
    ] {
        let run = env.run(&["cron", "run", name]);
        assert!(
            run.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
    }
    let unknown = env.run(&["cron", "run", "overdue-emails"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("known jobs"));
}

#[test]
fn a_misspelt_auth_key_is_refused() {
    let stderr = refused(&Env::defaults().set(
        "TASKER_AUTH__JWT_SECRETT",
        "0123456789abcdef0123456789abcdef",
    ));
    assert!(
        stderr.contains("auth.jwt_secrett: unknown field"),
        "{stderr}"
    );
}

#[test]
fn an_unreachable_database_stops_start_up_with_a_message() {
    let started = std::time::Instant::now();
    let output = Env::defaults()
        .set(
            "TASKER_DATABASE__URL",
            "postgres://postgres@127.0.0.1:1/tasker",
        )
        .set("TASKER_DATABASE__ACQUIRE_TIMEOUT_SECONDS", "2")
        .run(&["migrate"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tasker: database:"), "{stderr}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "gave up after {:?}",
        started.elapsed()
    );
}

#[test]
fn the_placeholder_secrets_of_env_example_are_refused() {
    let stderr = refused(&Env::defaults().set(
        "TASKER_AUTH__JWT_SECRET",
        "change-me-to-a-random-string-of-at-least-32-characters",
    ));
    assert!(
        stderr.contains("auth.jwt_secret: is still the placeholder from .env.example"),
        "{stderr}"
    );
}

#[test]
fn a_secret_is_never_echoed_in_an_error() {
    let stderr = refused(
        &Env::defaults()
            .set("TASKER_MAIL__SMTP__PASSWORD", "[1, 2]")
            .set("TASKER_METRICS__TOKEN", "{a = 1}"),
    );
    assert!(
        stderr.contains("mail.smtp.password: must be text (the value is not shown)"),
        "{stderr}"
    );
    assert!(!stderr.contains("1, 2"), "{stderr}");
    // Digits are fine as a secret.
    let output = Env::defaults()
        .set("TASKER_MAIL__SMTP__PASSWORD", "123456")
        .run(&["cron", "list"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn orchestrator_variables_without_a_section_are_ignored_with_a_note() {
    let output = Env::defaults()
        .set("TASKER_PORT", "tcp://10.0.0.7:8080")
        .set("TASKER_SERVICE_HOST", "10.0.0.7")
        .run(&["cron", "list"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("ignoring TASKER_PORT"), "{stderr}");
}

#[test]
fn a_malformed_redis_url_is_refused_without_echoing_its_password() {
    let stderr = refused(&Env::defaults().set("TASKER_REDIS__URL", "rediss://:hunter2@redis:port"));
    assert!(
        stderr.contains("redis.url: is not a valid Redis URL"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");

    let stderr = refused(&Env::defaults().set("TASKER_REDIS__URL", "https://redis.internal"));
    assert!(
        stderr.contains("redis.url: must start with redis:// (or rediss:// for TLS)"),
        "{stderr}"
    );
}

#[test]
fn a_redis_ca_file_needs_a_rediss_url() {
    let stderr = refused(
        &Env::defaults()
            .set("TASKER_REDIS__URL", "redis://127.0.0.1:6379")
            .set("TASKER_REDIS__CA_FILE", "/etc/tasker/redis-ca.pem"),
    );
    assert!(
        stderr.contains("redis.ca_file: is only used with a rediss:// redis.url"),
        "{stderr}"
    );
}

/// `serve` stops before connecting to anything when the CA file is missing
/// or holds no certificate.
#[test]
fn a_redis_ca_file_that_is_missing_or_not_pem_stops_start_up() {
    let env = Env::defaults()
        .set("TASKER_SERVER__PORT", "0")
        .set("TASKER_REDIS__URL", "rediss://127.0.0.1:6380")
        .set("TASKER_REDIS__CA_FILE", "/nonexistent/ca.pem");
    let output = env.run(&["serve"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("tasker: redis.ca_file: cannot read /nonexistent/ca.pem"),
        "{stderr}"
    );

    let not_pem = env.path().join("not-a-ca.pem");
    std::fs::write(&not_pem, "hello").expect("write");
    let output = env
        .set("TASKER_REDIS__CA_FILE", not_pem.display().to_string())
        .run(&["serve"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("not-a-ca.pem holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        "{stderr}"
    );
}

#[test]
fn zero_or_absurd_slow_client_limits_are_refused_naming_each_key() {
    let stderr = refused(
        &Env::defaults()
            .set("TASKER_SERVER__HEADER_READ_TIMEOUT_SECONDS", "0")
            .set("TASKER_SERVER__IDLE_TIMEOUT_SECONDS", "86401")
            .set("TASKER_SERVER__BODY_READ_TIMEOUT_SECONDS", "0")
            .set("TASKER_SERVER__MAX_CONNECTIONS", "0"),
    );
    for expected in [
        "server.header_read_timeout_seconds: must be between 1 and 86400 seconds, not 0",
        "server.idle_timeout_seconds: must be between 1 and 86400 seconds, not 86401",
        "server.body_read_timeout_seconds: must be between 1 and 86400 seconds, not 0",
        "server.max_connections: must be between 1 and 1000000, not 0",
    ] {
        assert!(
            stderr.contains(expected),
            "missing {expected:?} in {stderr}"
        );
    }
    let stderr = refused(&Env::defaults().set("TASKER_SERVER__MAX_CONNECTIONS", "2000000"));
    assert!(
        stderr.contains("server.max_connections: must be between 1 and 1000000, not 2000000"),
        "{stderr}"
    );
}

#[test]
fn a_negative_connection_cap_names_the_key_and_the_variable() {
    let stderr = refused(&Env::defaults().set("TASKER_SERVER__MAX_CONNECTIONS", "-1"));
    assert!(stderr.contains("server.max_connections"), "{stderr}");
    assert!(
        stderr.contains("TASKER_SERVER__MAX_CONNECTIONS"),
        "{stderr}"
    );
}

#[test]
fn a_migration_url_must_be_postgres_and_for_a_postgres_database() {
    let stderr = refused(
        &Env::defaults()
            .set(
                "TASKER_DATABASE__URL",
                "postgres://postgres@127.0.0.1:6432/tasker",
            )
            .set("TASKER_DATABASE__MIGRATION_URL", "sqlite://data/tasker.db"),
    );
    assert!(
        stderr.contains("database.migration_url: must start with postgres://"),
        "{stderr}"
    );
    assert!(
        stderr.contains("TASKER_DATABASE__MIGRATION_URL"),
        "{stderr}"
    );

    // On the default SQLite database there is nothing to migrate elsewhere.
    let stderr = refused(&Env::defaults().set(
        "TASKER_DATABASE__MIGRATION_URL",
        "postgres://postgres@127.0.0.1:5432/tasker",
    ));
    assert!(
        stderr.contains("database.migration_url: is for a PostgreSQL database.url only"),
        "{stderr}"
    );
}
