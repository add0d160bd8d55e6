//! The OAuth2 client a credential describes and the token endpoint's vocabulary (its responses,
//! its errors, the sentences they become), shared by verification (oauth.rs) and the logins
//! (login.rs).

use std::time::Duration;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    ClientId, ClientSecret, EndpointNotSet, EndpointSet, ExtraTokenFields, RequestTokenError,
    Scope, StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use url::Url;

use super::safety;
use super::transport::{HttpClients, OAuthHttp, TransportError};
use super::{Finding, Limits, TokenUpdate};
use crate::core::schema::CA_CERT_FIELD;
use crate::core::time::Timestamp;
use crate::core::{Credential, Status};

/// Why getting or checking a token did not work; each a sentence the user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    #[error("{0}")]
    Misconfigured(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    Unreachable(String),
    #[error("The sign-in was declined at the provider (access_denied).")]
    AccessDenied,
    #[error("The code expired before the sign-in was completed; start the login again.")]
    Expired,
    #[error("The pasted address belongs to a different login attempt (state mismatch); nothing was exchanged.")]
    StateMismatch,
    #[error("{0}")]
    BadRedirect(String),
}

/// The OAuth2 client a credential describes: its id and secret and the provider's endpoints.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    pub client_id: String,
    pub(super) client_secret: Option<SecretString>,
    pub token_url: Url,
    pub device_authorization_url: Option<Url>,
    pub auth_url: Option<Url>,
    pub scopes: Vec<String>,
    /// The credential's `ca_cert` (canonical PEM), trusted for its endpoints too.
    pub(super) ca_cert: Option<String>,
}

impl OAuthClient {
    /// Reads client_id, client_secret, token_url, device_authorization_url, auth_url and scope.
    /// Endpoint URLs obey the same transport rules as API requests (https, or http on loopback
    /// or with allow_http = yes).
    pub fn from_credential(credential: &Credential) -> Result<OAuthClient, FlowError> {
        let misconfigured = |f: super::Finding| FlowError::Misconfigured(f.reason);
        let allow_http = safety::allows_http(credential);
        let endpoint = |field: &str| -> Result<Option<Url>, FlowError> {
            safety::optional(credential, field)
                .map(|raw| safety::checked_endpoint(raw, field, allow_http).map_err(misconfigured))
                .transpose()
        };
        let client_id = safety::required(credential, "client_id")
            .map_err(misconfigured)?
            .to_string();
        let token_url = safety::required(credential, "token_url").map_err(misconfigured)?;
        let token_url =
            safety::checked_endpoint(token_url, "token_url", allow_http).map_err(misconfigured)?;
        Ok(OAuthClient {
            client_id,
            client_secret: safety::optional(credential, "client_secret")
                .map(|s| SecretString::from(s.to_string())),
            token_url,
            device_authorization_url: endpoint("device_authorization_url")?,
            auth_url: endpoint("auth_url")?,
            scopes: safety::optional(credential, "scope")
                .map(|s| s.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default(),
            ca_cert: safety::optional(credential, CA_CERT_FIELD).map(str::to_string),
        })
    }

    /// The login flows' HTTP clients as oauth2 uses them, trusting this client's `ca_cert`.
    pub(super) fn http<'a>(&'a self, clients: &'a HttpClients) -> OAuthHttp<'a> {
        OAuthHttp {
            clients,
            ca_cert: self.ca_cert.as_deref(),
        }
    }

    /// The oauth2 client for token-endpoint grants (client secret sent as HTTP basic auth, the
    /// RFC 6749 default, when there is one; a public client sends only its id). It parses token
    /// responses as `GrantResponse`, so a stated refresh-token lifetime is kept.
    pub(crate) fn grant_client(&self) -> GrantClient {
        let client: GrantClient = oauth2::Client::new(ClientId::new(self.client_id.clone()))
            .set_token_uri(TokenUrl::from_url(self.token_url.clone()));
        match &self.client_secret {
            Some(secret) => {
                client.set_client_secret(ClientSecret::new(secret.expose_secret().to_string()))
            }
            None => client,
        }
    }

    pub(super) fn scope_list(&self) -> impl Iterator<Item = Scope> + '_ {
        self.scopes.iter().cloned().map(Scope::new)
    }
}

/// `BasicClient` with keyway's token response (`GrantResponse`) and only the token URL set.
pub(crate) type GrantClient = oauth2::Client<
    BasicErrorResponse,
    GrantResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

/// Token-response fields beyond RFC 6749 §5.1 that keyway reads: the refresh token's lifetime,
/// which some providers state (`refresh_token_expires_in`). Kept as raw JSON and read leniently,
/// because these fields are flattened into the response: a provider sending it as a string must
/// not make the whole grant unreadable.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub(crate) struct LifetimeFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token_expires_in: Option<serde_json::Value>,
}

impl ExtraTokenFields for LifetimeFields {}

impl LifetimeFields {
    pub(crate) fn refresh_expires_in(&self) -> Option<Duration> {
        lifetime_secs(self.refresh_token_expires_in.as_ref()?).map(Duration::from_secs)
    }
}

/// Seconds from a JSON number or a numeric string; anything else (negative, fractional text,
/// an object) is ignored rather than guessed.
fn lifetime_secs(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The token response keyway's grants parse: the standard one plus `LifetimeFields`.
pub(crate) type GrantResponse = StandardTokenResponse<LifetimeFields, BasicTokenType>;

/// The tokens to store from a successful grant; expiries are counted from `now`.
pub(crate) fn token_update(response: &GrantResponse, now: Timestamp) -> TokenUpdate {
    TokenUpdate {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().clone())),
        expires_at: response.expires_in().map(|d| expiry(now, d)),
        refresh_expires_at: response
            .extra_fields()
            .refresh_expires_in()
            .map(|d| expiry(now, d)),
    }
}

/// When a lifetime the provider stated runs out, at the latest the last second RFC 3339 can
/// write (a provider may say `expires_in = u64::MAX`; the stored time must still be a time).
pub(crate) fn expiry(now: Timestamp, expires_in: Duration) -> Timestamp {
    let at = now
        .0
        .saturating_add(i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX));
    Timestamp(at.min(Timestamp::RFC3339_MAX.0))
}

/// Which grant failed: the wording of invalid_grant depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grant {
    ClientCredentials,
    Refresh,
    Code,
    Device,
}

/// A failed token request as a status and one sentence. oauth2's own error Display is never
/// used: its Parse variant carries the raw body, which may echo what was sent.
pub(crate) fn token_failure(
    error: RequestTokenError<TransportError, BasicErrorResponse>,
    grant: Grant,
    client: &OAuthClient,
    limits: Limits,
) -> FlowError {
    let where_ = safety::host_port(&client.token_url);
    match error {
        RequestTokenError::ServerResponse(response) => provider_error(response.error(), grant),
        RequestTokenError::Request(TransportError::Net(failure)) => {
            let sentence = failure.sentence(&where_, limits.connect_timeout.as_secs());
            match failure.status() {
                Status::Misconfigured => FlowError::Misconfigured(sentence),
                _ => FlowError::Unreachable(sentence),
            }
        }
        RequestTokenError::Request(TransportError::Unusable(sentence)) => {
            FlowError::Misconfigured(sentence)
        }
        RequestTokenError::Request(TransportError::Redirect(target)) => FlowError::Misconfigured(format!(
            "The OAuth2 endpoint at {where_} redirected to {}; keyway does not follow redirects with a secret attached.",
            target.unwrap_or_else(|| "another address".into())
        )),
        RequestTokenError::Request(TransportError::Status(status)) => status_failure(status, &where_),
        RequestTokenError::Request(TransportError::Build) => FlowError::Misconfigured(
            "The token request could not be built from the credential's fields.".into(),
        ),
        RequestTokenError::Parse(..) | RequestTokenError::Other(_) => FlowError::Unreachable(format!(
            "The OAuth2 endpoint at {where_} did not answer with an OAuth2 token response."
        )),
    }
}

/// A status the token endpoint returned without an OAuth2 error body.
pub(crate) fn status_failure(status: StatusCode, where_: &str) -> FlowError {
    let code = status.as_u16();
    match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => FlowError::Rejected(format!(
            "The OAuth2 endpoint at {where_} refused the client (HTTP {code})."
        )),
        StatusCode::NOT_FOUND => FlowError::Misconfigured(format!(
            "The OAuth2 endpoint at {where_} answered HTTP 404; check the endpoint URL fields."
        )),
        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => FlowError::Unreachable(
            format!("The OAuth2 endpoint at {where_} answered HTTP {code}; try again later."),
        ),
        _ => FlowError::Rejected(format!(
            "The OAuth2 endpoint at {where_} refused the request (HTTP {code})."
        )),
    }
}

fn provider_error(kind: &BasicErrorResponseType, grant: Grant) -> FlowError {
    use BasicErrorResponseType as E;
    match kind {
        E::InvalidClient => FlowError::Rejected(
            "The provider rejected the client ID or client secret (invalid_client).".into(),
        ),
        // A refresh's invalid_grant never gets here: refresh_grant answers it with
        // needs_login, which names the credential.
        E::InvalidGrant => FlowError::Rejected(match grant {
            Grant::Code => "The provider rejected the authorization code (invalid_grant); start the login again.".into(),
            Grant::ClientCredentials | Grant::Device | Grant::Refresh => "The provider rejected the grant (invalid_grant).".into(),
        }),
        E::UnauthorizedClient => FlowError::Rejected(
            "The provider does not allow this client to use this kind of login (unauthorized_client).".into(),
        ),
        E::InvalidScope => FlowError::Misconfigured(
            "The provider refused the requested scope (invalid_scope); check the field 'scope'.".into(),
        ),
        E::UnsupportedGrantType => FlowError::Misconfigured(
            "The provider does not support this kind of login (unsupported_grant_type).".into(),
        ),
        E::InvalidRequest => FlowError::Misconfigured(
            "The provider found the token request malformed (invalid_request); check the credential's fields.".into(),
        ),
        E::Extension(code) => FlowError::Rejected(format!(
            "The provider refused the token request ({}).",
            printable_code(code)
        )),
    }
}

/// An error code from the provider, kept only if it looks like one (a word with '_').
pub(crate) fn printable_code(code: &str) -> String {
    if !code.is_empty()
        && code.len() <= 40
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    {
        code.to_string()
    } else {
        "an unrecognised error".to_string()
    }
}

impl FlowError {
    /// The verification status a flow error amounts to.
    pub fn status(&self) -> Status {
        match self {
            FlowError::Unreachable(_) => Status::Unreachable,
            FlowError::Misconfigured(_) | FlowError::BadRedirect(_) => Status::Misconfigured,
            FlowError::Rejected(_)
            | FlowError::AccessDenied
            | FlowError::Expired
            | FlowError::StateMismatch => Status::Rejected,
        }
    }

    pub(crate) fn into_finding(self) -> Finding {
        let status = self.status();
        Finding::with(status, self.to_string())
    }
}
