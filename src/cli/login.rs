//! Getting OAuth2 tokens from a terminal (`credential login`, `credential add --login`), with no
//! local browser needed. The device grant shows a URL and a code to enter on any device; with
//! --paste (or when the provider has no device endpoint) the authorization code + PKCE flow
//! prints a URL to open and reads back the address the browser was redirected to. Nothing is
//! saved here: the caller verifies the new tokens before it saves them, like any other edit.

use super::context::{read_stdin_line, runtime, Context};
use super::error::CliError;
use crate::clock;
use crate::core::schema::Kind;
use crate::core::Credential;
use crate::verify::login::PASTE_REDIRECT_URI;
use crate::verify::{authorize_url, DevicePollEvent, FlowError, OAuthClient, TokenUpdate};

/// The most keyway reads of a pasted redirect address (real ones are well under 8 KiB).
pub const PASTE_LIMIT: usize = 64 * 1024;

/// Runs a login for an OAuth2 credential (stored or about to be added) and returns its tokens.
pub fn obtain_tokens(
    ctx: &Context,
    credential: &Credential,
    paste: bool,
    redirect_uri: Option<&str>,
) -> Result<TokenUpdate, CliError> {
    let kind = ctx.catalog.get(&credential.component).map(|c| c.kind);
    if kind != Some(Kind::Oauth2) {
        return Err(CliError::Usage(format!(
            "credential '{}' is not an OAuth2 credential; login only applies to OAuth2",
            credential.name
        )));
    }
    let oauth = OAuthClient::from_credential(credential).map_err(flow_error)?;
    let verifier = ctx.verifier()?;
    let rt = runtime()?;
    let now = clock::now();
    let use_paste = paste || oauth.device_authorization_url.is_none();
    if use_paste {
        let redirect = redirect_uri.unwrap_or(PASTE_REDIRECT_URI);
        let (url, pkce, state) = authorize_url(&oauth, redirect).map_err(flow_error)?;
        note!("Open this address in any browser and sign in:\n\n  {url}\n");
        note!("The browser then goes to {redirect}?code=... (the page may fail to load; that is fine).");
        note!("Paste that whole address here and press Enter:");
        let pasted = read_stdin_line(PASTE_LIMIT)
            .map_err(|why| CliError::Usage(format!("cannot read the pasted address: {why}")))?;
        return rt
            .block_on(verifier.exchange_pasted_redirect(
                &oauth,
                redirect,
                pasted.trim(),
                &state,
                pkce,
                now,
            ))
            .map_err(flow_error);
    }
    let device = rt
        .block_on(verifier.device_start(&oauth))
        .map_err(flow_error)?;
    match &device.verification_uri_complete {
        Some(complete) => note!(
            "Open {complete}\n(or {} and enter the code {})",
            device.verification_uri,
            device.user_code
        ),
        None => note!(
            "Open {} and enter the code {}",
            device.verification_uri,
            device.user_code
        ),
    }
    note!(
        "Waiting for you to approve (the code expires in {} s)...",
        device.expires_in.as_secs()
    );
    rt.block_on(
        verifier.device_poll(&oauth, &device, now, |event| match event {
            DevicePollEvent::Pending => {}
            DevicePollEvent::SlowDown { interval } => {
                note!(
                    "The provider asked to poll less often: every {} s now.",
                    interval.as_secs()
                )
            }
            DevicePollEvent::Retrying { reason } => note!("{reason} Retrying..."),
        }),
    )
    .map_err(flow_error)
}

fn flow_error(e: FlowError) -> CliError {
    CliError::Refused(e.to_string())
}
