//! The verifiers against real loopback servers: HTTP API keys, OAuth2, PostgreSQL, hostile
//! servers and the token lifecycle.

mod support;

mod verify {
    mod hostile;
    mod http;
    mod https;
    mod lifecycle;
    mod mysql;
    mod oauth;
    mod pg_tls;
    mod postgres;
    mod redis;
    mod sftp;
}
