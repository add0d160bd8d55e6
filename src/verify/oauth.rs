//! OAuth2 verification. With a refresh token: the userinfo request while the access token is far
//! from expiry, a refresh grant when it expires within the refresh margin, is missing, or is not
//! accepted (the new tokens go back in the Outcome; see the verify module docs for why not
//! always). Without one: a userinfo request for access-token-only credentials, and a client
//! credentials grant for machine clients.

use std::time::Duration;

use oauth2::basic::BasicErrorResponseType;
use oauth2::{RefreshToken, RequestTokenError, Scope};
use reqwest::header::AUTHORIZATION;
use secrecy::ExposeSecret;
use url::Url;

use super::endpoints::Endpoints;
use super::failure::NetFailure;
use super::http::{judge, secret_header, tls_of};
use super::safety;
use super::token::{token_failure, token_update, Grant, OAuthClient};
use super::transport::{HttpClients, OAuthHttp};
use super::{Finding, Limits};
use crate::core::expiry::{self, RefreshDue};
use crate::core::schema::{Component, VerifySpec, CA_CERT_FIELD};
use crate::core::time::Timestamp;
use crate::core::{Credential, Status};

/// What one OAuth2 verification takes from the Verifier.
#[derive(Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) http: &'a HttpClients,
    pub(crate) endpoints: &'a Endpoints,
    pub(crate) limits: Limits,
    /// Access tokens expiring within this are refreshed first (see the module docs of verify).
    pub(crate) refresh_margin: Duration,
    pub(crate) now: Timestamp,
}

pub(crate) async fn verify_oauth2(
    ctx: Context<'_>,
    component: &Component,
    credential: &Credential,
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
        http: ctx.http,
        endpoints: ctx.endpoints,
        component,
        credential,
        userinfo_path,
        ok_status,
        detail_pointer: detail_pointer.as_deref(),
    };
    let now = ctx.now;
    let access = safety::optional(credential, "access_token");
    let access_expiry = expiry::expires_at(credential);
    if let Some(refresh) = safety::optional(credential, "refresh_token") {
        let due = expiry::refresh_due(access.is_some(), access_expiry, now, ctx.refresh_margin);
        let why = match (due, access) {
            (Some(due), _) => Refreshing::Due(due),
            // refresh_due itself reports a missing access token as due.
            (None, None) => Refreshing::Due(RefreshDue::NoAccessToken),
            (None, Some(access)) => {
                // Far from expiry (or of unknown expiry): the read-only check, so an audit does
                // not spend and rotate the refresh token for nothing.
                let checked = probe.userinfo(access, ctx.limits).await;
                if checked.status == Status::Verified {
                    return Finding {
                        reason: not_refreshed(&checked.reason, access_expiry, now),
                        ..checked
                    };
                }
                // Revoked early, a token userinfo cannot judge, or userinfo unreachable: the
                // refresh grant is the authority on whether the credential still works.
                Refreshing::AccessNotConfirmed
            }
        };
        return refresh_grant(&probe, ctx, refresh, why).await;
    }
    let client_secret = safety::optional(credential, "client_secret").is_some();
    if let Some(access) = access {
        // With a client secret and no refresh token, keyway renews the access token itself
        // (expiry::Renewal::ClientCredentials): an expiring one is replaced by a new grant.
        let due = expiry::refresh_due(true, access_expiry, now, ctx.refresh_margin);
        if client_secret && due.is_some() {
            return client_credentials(&probe, ctx.limits, now).await;
        }
        if let Some(at) = access_expiry.filter(|at| *at <= now) {
            // No request: the provider would only confirm what the stored expiry says.
            return Finding::rejected(format!(
                "The access token of '{}' expired at {} and there is no refresh token; the credential needs to be logged in again.",
                credential.name,
                at.rfc3339()
            ));
        }
        return probe.userinfo(access, ctx.limits).await;
    }
    if client_secret {
        return client_credentials(&probe, ctx.limits, now).await;
    }
    Finding::misconfigured(
        "The credential has no refresh token, access token or client secret; log it in first (keyway credential login)."
            .to_string(),
    )
}

/// Why a verification is spending the refresh token; it shapes the reason shown.
#[derive(Debug, Clone, Copy)]
enum Refreshing {
    /// Due by the rule of `expiry::needs_refresh`.
    Due(RefreshDue),
    /// The stored access token was not confirmed by the userinfo request.
    AccessNotConfirmed,
}

/// The userinfo verdict for a token that was left alone, saying why it was not refreshed.
fn not_refreshed(reason: &str, expires: Option<Timestamp>, now: Timestamp) -> String {
    match expires {
        Some(at) => format!(
            "{reason} It was not refreshed: it is valid for another {}.",
            crate::core::time::span(expiry::secs_until(at, now))
        ),
        None => reason.to_string(),
    }
}

/// The bits of a verification the userinfo request needs.
struct Probe<'a> {
    http: &'a HttpClients,
    endpoints: &'a Endpoints,
    component: &'a Component,
    credential: &'a Credential,
    userinfo_path: &'a str,
    ok_status: &'a [u16],
    detail_pointer: Option<&'a str>,
}

impl Probe<'_> {
    async fn userinfo(&self, access_token: &str, limits: Limits) -> Finding {
        let url = match self
            .endpoints
            .for_credential(self.credential, self.userinfo_path)
        {
            Ok(url) => url,
            Err(f) => return f,
        };
        let header = match secret_header(format!("Bearer {access_token}"), "access_token") {
            Ok(h) => h,
            Err(f) => return f,
        };
        let client = match self.http.for_url(&url, self.ca_cert()) {
            Ok(client) => client,
            Err(f) => return f,
        };
        let sent = client
            .get(Url::clone(&url))
            .header(AUTHORIZATION, header)
            .send()
            .await;
        match sent {
            Ok(response) => judge(
                response,
                &url,
                &self.component.name,
                "access token",
                self.ok_status,
                self.detail_pointer,
            )
            .await
            .over(tls_of(&url)),
            Err(e) => NetFailure::from_reqwest(&e)
                .finding(&safety::host_port(&url), limits.connect_timeout.as_secs()),
        }
    }

    fn ca_cert(&self) -> Option<&str> {
        safety::optional(self.credential, CA_CERT_FIELD)
    }

    /// The client for token-endpoint requests.
    fn token_http(&self) -> OAuthHttp<'_> {
        OAuthHttp {
            clients: self.http,
            ca_cert: self.ca_cert(),
        }
    }
}

async fn refresh_grant(
    probe: &Probe<'_>,
    ctx: Context<'_>,
    refresh: &str,
    why: Refreshing,
) -> Finding {
    let client = match OAuthClient::from_credential(probe.credential) {
        Ok(c) => c,
        Err(e) => return e.into_finding(),
    };
    let refresh = RefreshToken::new(refresh.to_string());
    let answer = client
        .grant_client()
        .exchange_refresh_token(&refresh)
        .request_async(&probe.token_http())
        .await;
    let tokens = match answer {
        Ok(response) => token_update(&response, ctx.now),
        Err(RequestTokenError::ServerResponse(response))
            if *response.error() == BasicErrorResponseType::InvalidGrant =>
        {
            return needs_login(probe, ctx.now);
        }
        Err(e) => return token_failure(e, Grant::Refresh, &client, ctx.limits).into_finding(),
    };
    // The grant alone proves the credential; the userinfo answer only adds the account name,
    // so its failure (a token without the openid scope, say) does not fail the verification.
    let userinfo = probe
        .userinfo(tokens.access_token.expose_secret(), ctx.limits)
        .await;
    // The token request's protection, and the userinfo request's if it got an answer.
    let tls = userinfo.tls.map_or(tls_of(&client.token_url), |t| {
        t.weakest(tls_of(&client.token_url))
    });
    let detail = (userinfo.status == Status::Verified)
        .then_some(userinfo.detail)
        .flatten();
    let service = &probe.component.name;
    let reason = match why {
        Refreshing::Due(RefreshDue::NoAccessToken) => {
            format!("{service} issued a new access token for the refresh token.")
        }
        Refreshing::Due(RefreshDue::Expiring(at)) if at <= ctx.now => format!(
            "The access token had expired, so keyway refreshed it: {service} issued a new one."
        ),
        Refreshing::Due(RefreshDue::Expiring(at)) => format!(
            "The access token expires in {}, within the refresh margin, so keyway refreshed it: {service} issued a new one.",
            crate::core::time::span(expiry::secs_until(at, ctx.now))
        ),
        Refreshing::AccessNotConfirmed => format!(
            "The stored access token was not accepted, so keyway refreshed it: {service} issued a new one."
        ),
    };
    Finding {
        tokens: Some(Box::new(tokens)),
        ..Finding::verified(reason, detail).over(tls)
    }
}

/// invalid_grant on a refresh (RFC 6749 §5.2): the refresh token was revoked, expired or already
/// spent. Nothing keyway can retry fixes that; a person has to log the credential in again, so
/// the reason names the credential for an audit listing many.
fn needs_login(probe: &Probe<'_>, now: Timestamp) -> Finding {
    let name = &probe.credential.name;
    let service = &probe.component.name;
    let cause = match expiry::refresh_expires_at(probe.credential).filter(|at| *at <= now) {
        Some(at) => format!("its refresh token expired at {}", at.rfc3339()),
        None => "its refresh token was revoked or has expired".to_string(),
    };
    Finding::rejected(format!(
        "The credential '{name}' needs to be logged in again (keyway credential login): {service} no longer accepts its refresh token (invalid_grant; {cause})."
    ))
}

async fn client_credentials(probe: &Probe<'_>, limits: Limits, now: Timestamp) -> Finding {
    let client = match OAuthClient::from_credential(probe.credential) {
        Ok(c) => c,
        Err(e) => return e.into_finding(),
    };
    let answer = client
        .grant_client()
        .exchange_client_credentials()
        .add_scopes(client.scopes.iter().cloned().map(Scope::new))
        .request_async(&probe.token_http())
        .await;
    match answer {
        Ok(response) => Finding {
            tokens: Some(Box::new(token_update(&response, now))),
            ..Finding::verified(
                format!(
                    "{} issued a token to client '{}'.",
                    probe.component.name, client.client_id
                ),
                Some(client.client_id.clone()),
            )
            .over(tls_of(&client.token_url))
        },
        Err(e) => token_failure(e, Grant::ClientCredentials, &client, limits).into_finding(),
    }
}
