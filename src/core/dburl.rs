//! A database credential's fields from a connection URL (`postgresql://user:pass@host:5432/db?
//! sslmode=require`, `mysql://...`, `redis://` / `rediss://...`, `sftp://user@host:22`), for the
//! CLI's `--from-url` and the TUI form's URL field. One rule for both faces: the URL's scheme
//! must be the component's engine, and every part must name a field the component has.
//!
//! Messages never echo the URL: it holds a password.

use super::schema::{Component, DbEngine, VerifySpec};

/// The schemes each engine's URLs use, the first the canonical one.
pub fn schemes(engine: DbEngine) -> &'static [&'static str] {
    match engine {
        DbEngine::Postgres => &["postgresql", "postgres"],
        DbEngine::Mysql => &["mysql", "mariadb"],
        DbEngine::Redis => &["redis", "rediss"],
        DbEngine::Sftp => &["sftp", "ssh"],
    }
}

/// The engine whose URLs use `scheme`, if any.
pub fn engine_of(scheme: &str) -> Option<DbEngine> {
    [
        DbEngine::Postgres,
        DbEngine::Mysql,
        DbEngine::Redis,
        DbEngine::Sftp,
    ]
    .into_iter()
    .find(|e| schemes(*e).contains(&scheme))
}

/// The engine whose URLs fill a credential of `component`; None: it takes no connection URL.
pub fn url_engine(component: &Component) -> Option<DbEngine> {
    match component.verify {
        VerifySpec::Database { dbengine } => Some(dbengine),
        _ => None,
    }
}

/// `url` with its password taken out (and nothing else changed), for showing what was read
/// from it once the password has gone to its own field; None when it is no URL.
pub fn without_password(url: &str) -> Option<String> {
    let mut parsed = url::Url::parse(url.trim()).ok()?;
    parsed.set_password(None).ok()?;
    Some(parsed.into())
}

/// The fields `url` gives a credential of `component`, in the URL's order: user, password,
/// host, port, the database (a path; Redis's is its number), and each query parameter as the
/// field of its name. `rediss://` sets `tls = on`, `redis://` `tls = off`.
pub fn fields_from_url(component: &Component, url: &str) -> Result<Vec<(String, String)>, String> {
    let Some(dbengine) = url_engine(component) else {
        return Err(format!(
            "{} credentials have no connection URL; give their fields with --field",
            component.name
        ));
    };
    let parsed = url::Url::parse(url.trim()).map_err(|_| {
        format!(
            "is not a connection URL such as {}://user:password@host/...",
            schemes(dbengine)[0]
        )
    })?;
    let scheme = parsed.scheme().to_ascii_lowercase();
    match engine_of(&scheme) {
        Some(engine) if engine == dbengine => {}
        Some(_) => {
            return Err(format!(
                "is a {scheme}:// URL, which is not for {} (its URLs start {}://)",
                component.name,
                schemes(dbengine)[0]
            ))
        }
        None => {
            return Err(format!(
                "has the scheme '{}', which is no database keyway knows",
                scheme.chars().take(20).collect::<String>()
            ))
        }
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("has no host")?;
    // Percent-decoding without '+' as a space: user names and passwords keep their plus signs.
    let plain = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8()
            .map(|s| s.into_owned())
            .map_err(|_| "holds a percent-encoded part that is not UTF-8".to_string())
    };
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, value: String| -> Result<(), String> {
        if value.is_empty() {
            return Ok(());
        }
        if component.field(name).is_none() {
            return Err(format!(
                "gives '{}', which is no field of {}",
                name.chars().take(40).collect::<String>(),
                component.name
            ));
        }
        if fields.iter().any(|(n, _)| n == name) {
            return Err(format!("gives '{name}' twice"));
        }
        fields.push((name.to_string(), value));
        Ok(())
    };
    push("user", plain(parsed.username())?)?;
    push(
        "password",
        parsed
            .password()
            .map(plain)
            .transpose()?
            .unwrap_or_default(),
    )?;
    push(
        "host",
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
    )?;
    push(
        "port",
        parsed.port().map(|p| p.to_string()).unwrap_or_default(),
    )?;
    let path = parsed.path().trim_start_matches('/');
    match dbengine {
        // An sftp:// URL's path is a folder on the server (RFC draft-ietf-secsh-scp-sftp-
        // ssh-uri), not part of the login: a credential has no field for it.
        DbEngine::Sftp => {}
        _ if path.contains('/') => return Err("has a path of more than one part".into()),
        _ => push("database", plain(path)?)?,
    }
    if dbengine == DbEngine::Redis {
        push(
            "tls",
            if scheme == "rediss" { "on" } else { "off" }.to_string(),
        )?;
    }
    for (name, value) in parsed.query_pairs() {
        push(&name, value.into_owned())?;
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::schema::examples;

    fn component(id: &str) -> Component {
        match id {
            "postgresql" => examples::postgres(),
            "redis" => examples::redis(),
            "sftp" => examples::sftp(),
            other => panic!("no example {other}"),
        }
    }

    #[test]
    fn a_postgres_url_fills_every_field_and_decodes_the_password() {
        let fields = fields_from_url(
            &component("postgresql"),
            "postgresql://etl:p%40ss+word@db.internal:5433/dwh?sslmode=require",
        )
        .unwrap();
        assert_eq!(
            fields,
            [
                ("user", "etl"),
                ("password", "p@ss+word"),
                ("host", "db.internal"),
                ("port", "5433"),
                ("database", "dwh"),
                ("sslmode", "require"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn another_engines_url_is_a_clear_error_that_does_not_echo_it() {
        let e =
            fields_from_url(&component("postgresql"), "mysql://u:SENTINEL@h:3306/db").unwrap_err();
        assert!(
            e.contains("mysql:// URL, which is not for PostgreSQL"),
            "{e}"
        );
        assert!(!e.contains("SENTINEL"));
        let e = fields_from_url(&component("postgresql"), "ftp://u:SENTINEL@h").unwrap_err();
        assert!(e.contains("no database keyway knows"), "{e}");
        let e = fields_from_url(&component("postgresql"), "not a url SENTINEL").unwrap_err();
        assert!(!e.contains("SENTINEL"), "{e}");
    }

    #[test]
    fn redis_says_tls_in_its_scheme() {
        let fields = fields_from_url(&component("redis"), "rediss://:pw@cache:6380/2").unwrap();
        assert!(fields.contains(&("tls".into(), "on".into())), "{fields:?}");
        assert!(
            fields.contains(&("database".into(), "2".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("password".into(), "pw".into())),
            "{fields:?}"
        );
    }

    #[test]
    fn the_password_can_be_taken_out_of_a_url() {
        assert_eq!(
            without_password("postgresql://etl:SENTINEL@db:5433/dwh?sslmode=require").as_deref(),
            Some("postgresql://etl@db:5433/dwh?sslmode=require")
        );
        assert_eq!(
            without_password("rediss://:SENTINEL@cache/2").as_deref(),
            Some("rediss://cache/2")
        );
        assert_eq!(without_password("not a url"), None);
        assert!(url_engine(&component("redis")).is_some());
    }

    #[test]
    fn unknown_parameters_are_refused() {
        let e = fields_from_url(
            &component("postgresql"),
            "postgres://u:p@h/db?application_name=x",
        )
        .unwrap_err();
        assert!(e.contains("'application_name', which is no field"), "{e}");
    }

    #[test]
    fn an_sftp_url_gives_user_host_and_port_and_its_path_is_no_field() {
        let fields = fields_from_url(
            &component("sftp"),
            "sftp://files@drop.example.com:2222/inbox",
        )
        .unwrap();
        assert_eq!(
            fields,
            [
                ("user", "files"),
                ("host", "drop.example.com"),
                ("port", "2222")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let fields = fields_from_url(
            &component("sftp"),
            "ssh://files:pw@[::1]/?host_key=SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s",
        )
        .unwrap();
        assert!(
            fields.contains(&("host".into(), "::1".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("password".into(), "pw".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&(
                "host_key".into(),
                "SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s".into()
            )),
            "{fields:?}"
        );
        let e = fields_from_url(&component("sftp"), "redis://:SENTINEL@h").unwrap_err();
        assert!(
            e.contains("redis:// URL, which is not for SFTP / SSH"),
            "{e}"
        );
        assert!(!e.contains("SENTINEL"));
    }
}
