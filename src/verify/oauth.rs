//! OAuth2 verification: a refresh grant when the credential has a refresh token (the new tokens
//! go back in the Outcome), a userinfo request for access-token-only credentials, and a client
//! credentials grant for machine clients. Plus the token-error vocabulary the login flows share.

use std::time::Duration;

use oauth2::basic::{BasicErrorResponse, BasicErrorResponseType, BasicTokenResponse};
use oauth2::{RefreshToken, RequestTokenError, Scope, TokenResponse};
use reqwest::header::AUTHORIZATION;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};

use super::flows::{FlowError, OAuthClient};
use super::http::{judge, secret_header};
use super::safety::{self, NetFailure};
use super::transport::{OAuthHttp, TransportError};
use super::{Finding, Limits, TokenUpdate};
use crate::catalog::{Component, VerifySpec};
use crate::core::time::{parse_user_time, Timestamp};
use crate::core::{Credential, Status};

pub(crate) async fn verify_oauth2(
    http: &reqwest::Client,
    limits: Limits,
    component: &Component,
    credential: &Credential,
    now: Timestamp,
) -> Finding {
    let VerifySpec::Oauth2 {
        userinfo_path,
        ok_status,
        detail_pointer,
    } = &component.verify
    else {
        return Finding::misconfigured(format!("{} is not an OAuth2 component.", component.name));
    };
    let probe = Probe {
        http,
        component,
        credential,
        userinfo_path,
        ok_status,
        detail_pointer: detail_pointer.as_deref(),
    };
    if let Some(refresh) = safety::optional(credential, "refresh_token") {
        return refresh_grant(&probe, limits, refresh, now).await;
    }
    if let Some(access) = safety::optional(credential, "access_token") {
        let expiry = safety::optional(credential, "expires_at").and_then(parse_user_time);
        if let Some(at) = expiry.filter(|at| *at <= now) {
            // No request: the provider would only confirm what the stored expiry says.
            return Finding::rejected(format!(
                "The access token expired at {} and there is no refresh token; the credential needs to be logged in again.",
                at.rfc3339()
            ));
        }
        return probe.userinfo(access, limits).await;
    }
    if safety::optional(credential, "client_secret").is_some() {
        return client_credentials(&probe, limits, now).await;
    }
    Finding::misconfigured(
        "The credential has no refresh token, access token or client secret; log it in first (keyway credential login)."
            .to_string(),
    )
}

/// The bits of a verification the userinfo request needs.
struct Probe<'a> {
    http: &'a reqwest::Client,
    component: &'a Component,
    credential: &'a Credential,
    userinfo_path: &'a str,
    ok_status: &'a [u16],
    detail_pointer: Option<&'a str>,
}

impl Probe<'_> {
    async fn userinfo(&self, access_token: &str, limits: Limits) -> Finding {
        let credential = self.credential;
        let base = match safety::required(credential, "base_url")
            .and_then(|b| safety::checked_endpoint(b, "base_url", safety::allows_http(credential)))
        {
            Ok(base) => base,
            Err(f) => return f,
        };
        let url = safety::join_path(&base, self.userinfo_path);
        let header = match secret_header(&format!("Bearer {access_token}"), "access_token") {
            Ok(h) => h,
            Err(f) => return f,
        };
        let sent = self
            .http
            .get(url.clone())
            .header(AUTHORIZATION, header)
            .send()
            .await;
        match sent {
            Ok(response) => {
                judge(
                    response,
                    &url,
                    &self.component.name,
                    "access token",
                    self.ok_status,
                    self.detail_pointer,
                )
                .await
            }
            Err(e) => Finding::unreachable(
                NetFailure::from_reqwest(&e)
                    .sentence(&safety::host_port(&url), limits.connect_timeout.as_secs()),
            ),
        }
    }
}

async fn refresh_grant(
    probe: &Probe<'_>,
    limits: Limits,
    refresh: &str,
    now: Timestamp,
) -> Finding {
    let client = match OAuthClient::from_credential(probe.credential) {
        Ok(c) => c,
        Err(e) => return e.into_finding(),
    };
    let refresh = RefreshToken::new(refresh.to_string());
    let answer = client
        .basic_client()
        .exchange_refresh_token(&refresh)
        .request_async(&OAuthHttp(probe.http))
        .await;
    let tokens = match answer {
        Ok(response) => token_update(&response, now),
        Err(e) => return token_failure(e, Grant::Refresh, &client, limits).into_finding(),
    };
    // The grant alone proves the credential; the userinfo answer only adds the account name,
    // so its failure (a token without the openid scope, say) does not fail the verification.
    let detail = probe
        .userinfo(tokens.access_token.expose_secret(), limits)
        .await;
    let detail = (detail.status == Status::Verified)
        .then_some(detail.detail)
        .flatten();
    Finding {
        tokens: Some(tokens),
        ..Finding::verified(
            format!(
                "{} issued a new access token for the refresh token.",
                probe.component.name
            ),
            detail,
        )
    }
}

async fn client_credentials(probe: &Probe<'_>, limits: Limits, now: Timestamp) -> Finding {
    let client = match OAuthClient::from_credential(probe.credential) {
        Ok(c) => c,
        Err(e) => return e.into_finding(),
    };
    let answer = client
        .basic_client()
        .exchange_client_credentials()
        .add_scopes(client.scopes.iter().cloned().map(Scope::new))
        .request_async(&OAuthHttp(probe.http))
        .await;
    match answer {
        Ok(response) => Finding {
            tokens: Some(token_update(&response, now)),
            ..Finding::verified(
                format!(
                    "{} issued a token to client '{}'.",
                    probe.component.name, client.client_id
                ),
                Some(client.client_id.clone()),
            )
        },
        Err(e) => token_failure(e, Grant::ClientCredentials, &client, limits).into_finding(),
    }
}

/// The tokens to store from a successful grant; `expires_at` is counted from `now`.
pub(crate) fn token_update(response: &BasicTokenResponse, now: Timestamp) -> TokenUpdate {
    TokenUpdate {
        access_token: SecretString::from(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|t| SecretString::from(t.secret().clone())),
        expires_at: response.expires_in().map(|d| expiry(now, d)),
    }
}

pub(crate) fn expiry(now: Timestamp, expires_in: Duration) -> Timestamp {
    Timestamp(
        now.0
            .saturating_add(i64::try_from(expires_in.as_secs()).unwrap_or(i64::MAX)),
    )
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
            FlowError::Unreachable(failure.sentence(&where_, limits.connect_timeout.as_secs()))
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
        E::InvalidGrant => FlowError::Rejected(match grant {
            Grant::Refresh => "The provider no longer accepts the refresh token (invalid_grant); the credential needs to be logged in again.".into(),
            Grant::Code => "The provider rejected the authorization code (invalid_grant); start the login again.".into(),
            Grant::ClientCredentials | Grant::Device => "The provider rejected the grant (invalid_grant).".into(),
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
        Finding {
            status,
            reason: self.to_string(),
            detail: None,
            tokens: None,
        }
    }
}
