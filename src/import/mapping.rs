//! The tables that map other tools' credentials to keyway's components and fields (README,
//! "Import from other tools"). A line names a keyway component whether or not this keyway has
//! it: an entry of a component that is missing (a user file removed, or one keyway does not ship
//! yet) is reported unmappable, and works as soon as the component exists. Adding a source type
//! is one line.

use crate::catalog::Catalog;
use crate::core::dburl;
use crate::core::schema::Component;

/// Airflow `conn_type` -> keyway component. `http` and `https` connections are mapped by their
/// host instead (`component_for_host`).
pub const AIRFLOW_CONN_TYPES: &[(&str, &str)] = &[
    ("postgres", "postgresql"),
    ("postgresql", "postgresql"),
    ("mysql", "mysql"),
    ("redis", "redis"),
    ("sftp", "sftp"),
    ("ssh", "sftp"),
    ("github", "github"),
    ("slack", "slack"),
];

/// Airflow connection attribute -> the keyway fields it may fill, the first the component has.
pub const AIRFLOW_FIELDS: &[(&str, &[&str])] = &[
    ("host", &["host", "base_url"]),
    ("port", &["port"]),
    ("schema", &["database"]),
    ("login", &["user", "email", "account_sid"]),
    ("password", &["password", "api_key"]),
];

/// An n8n credential type: its `type`, the keyway component, and n8n `data` key -> keyway field.
pub type N8nType = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// n8n credential `type` -> keyway component, and n8n `data` key -> keyway field.
// One line per type, so a new one is one line.
#[rustfmt::skip]
pub const N8N_TYPES: &[N8nType] = &[
    ("postgres", "postgresql", &[("host", "host"), ("port", "port"), ("database", "database"), ("user", "user"), ("password", "password"), ("ssl", "sslmode")]),
    ("mySql", "mysql", &[("host", "host"), ("port", "port"), ("database", "database"), ("user", "user"), ("password", "password")]),
    ("redis", "redis", &[("host", "host"), ("port", "port"), ("user", "user"), ("password", "password"), ("database", "database")]),
    ("sftp", "sftp", &[("host", "host"), ("port", "port"), ("username", "user"), ("password", "password"), ("privateKey", "private_key"), ("passphrase", "private_key_passphrase")]),
    ("stripeApi", "stripe", &[("secretKey", "api_key")]),
    ("githubApi", "github", &[("server", "base_url"), ("accessToken", "api_key")]),
    ("slackApi", "slack", &[("accessToken", "api_key")]),
    ("openAiApi", "openai", &[("url", "base_url"), ("apiKey", "api_key")]),
    ("sendGridApi", "sendgrid", &[("apiKey", "api_key")]),
    ("twilioApi", "twilio", &[("accountSid", "account_sid"), ("authToken", "api_key")]),
    ("mailgunApi", "mailgun", &[("apiKey", "api_key")]),
    ("pagerDutyApi", "pagerduty", &[("apiToken", "api_key")]),
    ("airtableTokenApi", "airtable", &[("accessToken", "api_key")]),
    ("asanaApi", "asana", &[("accessToken", "api_key")]),
    ("cloudflareApi", "cloudflare", &[("apiToken", "api_key")]),
    ("datadogApi", "datadog", &[("url", "base_url"), ("apiKey", "api_key")]),
    ("digitalOceanApi", "digitalocean", &[("accessToken", "api_key")]),
    ("gitlabApi", "gitlab", &[("server", "base_url"), ("accessToken", "api_key")]),
    ("jiraSoftwareCloudApi", "jira", &[("domain", "base_url"), ("email", "email"), ("apiToken", "api_key")]),
    ("mailchimpApi", "mailchimp", &[("apiKey", "api_key")]),
    ("pipedriveApi", "pipedrive", &[("apiToken", "api_key")]),
];

/// The component `id`, or why an entry mapped to it cannot be imported.
pub fn component<'a>(catalog: &'a Catalog, id: &str, what: &str) -> Result<&'a Component, String> {
    catalog.get(id).ok_or_else(|| {
        format!("{what} maps to keyway's '{id}' component, which this keyway does not have")
    })
}

/// The component whose default base URL is on `host` (`api.stripe.com` -> Stripe), with that
/// URL: how an Airflow http connection to a known service is recognised.
pub fn component_for_host<'a>(catalog: &'a Catalog, host: &str) -> Option<(&'a Component, String)> {
    let host = host.trim().to_ascii_lowercase();
    let bare = match url::Url::parse(&host) {
        Ok(u) if u.host_str().is_some() => u.host_str().unwrap_or_default().to_string(),
        _ => host
            .split(['/', ':'])
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    if bare.is_empty() {
        return None;
    }
    catalog.all().iter().find_map(|c| {
        let default = c.field("base_url")?.default.as_deref()?;
        let url = url::Url::parse(default).ok()?;
        (url.host_str()? == bare).then(|| (c, default.to_string()))
    })
}

/// The component a connection URL (a dotenv DATABASE_URL) is for, by its scheme, and the fields
/// it gives: core::dburl's rule, the one `--from-url` and the TUI form use. The canonical scheme
/// of an engine is the id of keyway's component for it (`postgresql`, `mysql`, `redis`, `sftp`).
pub fn url_credential(
    catalog: &Catalog,
    url: &str,
) -> Result<(String, Vec<(String, String)>), String> {
    let parsed =
        url::Url::parse(url.trim()).map_err(|_| "its value is not a connection URL".to_string())?;
    let scheme = parsed.scheme();
    let engine = dburl::engine_of(scheme)
        .ok_or_else(|| format!("its URL scheme '{scheme}' maps to no keyway component"))?;
    let id = dburl::schemes(engine)[0];
    let component = component(catalog, id, &format!("its {scheme}:// URL"))?;
    let fields = dburl::fields_from_url(component, url).map_err(|e| format!("its URL {e}"))?;
    Ok((id.to_string(), fields))
}
