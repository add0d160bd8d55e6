//! OAuth2 logins started from the credential form, the network half: one tokio task per login
//! (never the event loop itself), aborted when the user cancels, restarts or closes the form.
//! Each task reports through a callback; the event loop turns the reports into actions.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tokio::task::JoinHandle;

use crate::core::Credential;
use crate::store::StoreError;
use crate::verify::login::PASTE_REDIRECT_URI;
use crate::verify::{
    authorize_url, CsrfToken, DevicePollEvent, OAuthClient, PkceCodeVerifier, TokenUpdate, Verifier,
};

use crate::tui::app::action::DeviceInfo;
use crate::tui::app::action::{Action, RequestId};

/// What a login task tells the event loop.
pub(crate) enum LoginReport {
    Action(Action),
    /// A browser login's URL is ready; the PKCE verifier and state stay with the edges (never
    /// in the UI state) until the user pastes the address back.
    PasteReady {
        request: RequestId,
        url: String,
        login: Box<PasteLogin>,
    },
}

/// A browser login waiting for the pasted address.
pub(crate) struct PasteLogin {
    oauth: OAuthClient,
    pkce: PkceCodeVerifier,
    csrf: CsrfToken,
}

/// A task that is aborted when dropped, so forgetting a login stops its polling.
pub(crate) struct AbortOnDrop(JoinHandle<()>);

impl AbortOnDrop {
    pub(crate) fn spawn(task: impl std::future::Future<Output = ()> + Send + 'static) -> Self {
        AbortOnDrop(tokio::spawn(task))
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Builds the credential the form describes (on the blocking pool: it locks the store).
pub(crate) type Prepare = Box<dyn FnOnce() -> Result<Credential, StoreError> + Send>;
pub(crate) type Report = Arc<dyn Fn(LoginReport) + Send + Sync>;

/// Starts a login: the device grant, or the browser flow when `paste` is asked for or the
/// provider has no device endpoint.
pub(crate) fn spawn_login(
    request: RequestId,
    paste: bool,
    prepare: Prepare,
    verifier: Arc<Verifier>,
    report: Report,
) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let finished = |result| {
            report(LoginReport::Action(Action::LoginFinished {
                request,
                result,
            }));
        };
        match login(request, paste, prepare, &verifier, &report).await {
            Ok(Some(tokens)) => finished(Ok(tokens)),
            Ok(None) => {} // the browser flow waits for the pasted address
            Err(reason) => finished(Err(reason)),
        }
    }))
}

async fn login(
    request: RequestId,
    paste: bool,
    prepare: Prepare,
    verifier: &Verifier,
    report: &Report,
) -> Result<Option<TokenUpdate>, String> {
    let credential = tokio::task::spawn_blocking(prepare)
        .await
        .map_err(|e| format!("The form could not be read: {e}"))?
        .map_err(|e| e.to_string())?;
    let oauth = OAuthClient::from_credential(&credential).map_err(|e| e.to_string())?;
    if paste || oauth.device_authorization_url.is_none() {
        let (url, pkce, csrf) =
            authorize_url(&oauth, PASTE_REDIRECT_URI).map_err(|e| e.to_string())?;
        report(LoginReport::PasteReady {
            request,
            url: url.to_string(),
            login: Box::new(PasteLogin { oauth, pkce, csrf }),
        });
        return Ok(None);
    }
    let device = verifier
        .device_start(&oauth)
        .await
        .map_err(|e| e.to_string())?;
    report(LoginReport::Action(Action::LoginDevice {
        request,
        device: DeviceInfo {
            verification_uri: device.verification_uri.clone(),
            verification_uri_complete: device.verification_uri_complete.clone(),
            user_code: device.user_code.clone(),
            expires_in: device.expires_in,
            note: None,
        },
    }));
    let on_event = |event: DevicePollEvent| {
        let note = match event {
            DevicePollEvent::Pending => "Still waiting for the approval…".to_string(),
            DevicePollEvent::SlowDown { interval } => format!(
                "The provider asked to poll less often: every {} s now.",
                interval.as_secs()
            ),
            DevicePollEvent::Retrying { reason } => format!("{reason} Retrying…"),
        };
        report(LoginReport::Action(Action::LoginProgress { request, note }));
    };
    verifier
        .device_poll(&oauth, &device, crate::clock::now(), on_event)
        .await
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Exchanges the pasted redirect address of a browser login for tokens.
pub(crate) fn spawn_exchange(
    request: RequestId,
    login: PasteLogin,
    pasted: SecretString,
    verifier: Arc<Verifier>,
    report: Report,
) -> AbortOnDrop {
    AbortOnDrop(tokio::spawn(async move {
        let PasteLogin { oauth, pkce, csrf } = login;
        let result = verifier
            .exchange_pasted_redirect(
                &oauth,
                PASTE_REDIRECT_URI,
                pasted.expose_secret(),
                &csrf,
                pkce,
                crate::clock::now(),
            )
            .await
            .map_err(|e| e.to_string());
        report(LoginReport::Action(Action::LoginFinished {
            request,
            result,
        }));
    }))
}
