//! What the vault benches seed their vaults with: 10,000 credentials, half Stripe API keys and
//! half PostgreSQL logins, each verified; and what `keyway credential list` shows of them.

use keyway::catalog::Catalog;
use keyway::core::input::FieldValue;
use keyway::core::time::Timestamp;
use keyway::core::Snapshot;
use keyway::core::{Credential, Environment, Status, Verification};
use keyway::store::{CredentialDraft, Store};
use secrecy::SecretString;

/// Credential number `i` of workspace `ws`, prepared by the store's own rules, with a result.
pub fn credential(
    store: &Store,
    catalog: &Catalog,
    ws: &keyway::core::RecordId,
    i: usize,
) -> Credential {
    let (component, changes) = if i % 2 == 0 {
        (
            "stripe",
            vec![(
                "api_key".to_string(),
                FieldValue::Secret(SecretString::from(format!("sk_live_{i:032}"))),
            )],
        )
    } else {
        (
            "postgresql",
            vec![
                (
                    "host".to_string(),
                    FieldValue::Plain(format!("db{i}.internal")),
                ),
                ("user".to_string(), FieldValue::Plain("etl".into())),
                (
                    "password".to_string(),
                    FieldValue::Secret(SecretString::from(format!("pw-{i:024}"))),
                ),
            ],
        )
    };
    let draft = CredentialDraft {
        workspace: ws.clone(),
        component: component.into(),
        name: format!("cred-{i:05}"),
        environment: if i % 3 == 0 {
            Environment::Production
        } else {
            Environment::Staging
        },
        changes,
    };
    let mut c = store
        .prepare_credential(catalog, draft, None, Timestamp(1))
        .expect("prepare");
    c.record_verification(Verification {
        status: Status::Verified,
        reason: "The service accepted the credential.".into(),
        detail: Some("acct_123".into()),
        latency_ms: Some(87),
        at: Timestamp(2),
        run: None,
        tls: None,
    });
    c
}

/// Fills workspace `ws` with credentials 0..n (`credential`), each with a full verification
/// history, by the store's bulk path: 1,000 credentials per transaction. Opening reads only the
/// latest result, so the history's size must not show in an open's time; every credential has
/// the same latest result, so one history serves them all.
pub fn fill(store: &mut Store, catalog: &Catalog, ws: &keyway::core::RecordId, n: usize) {
    let creds: Vec<Credential> = (0..n).map(|i| credential(store, catalog, ws, i)).collect();
    let history =
        super::measure::full_history(creds[0].last_verification.as_ref().expect("verified"));
    let mut creds = creds.into_iter();
    loop {
        let chunk: Vec<_> = creds
            .by_ref()
            .take(1000)
            .map(|c| (c, history.clone()))
            .collect();
        if chunk.is_empty() {
            break;
        }
        store.save_credentials(chunk).expect("bulk insert");
    }
}

/// What `keyway credential list` shows of each credential, as the open benchmarks list it.
pub fn list(snapshot: &Snapshot) -> Vec<String> {
    snapshot
        .credentials
        .iter()
        .map(|c| {
            format!(
                "{} {} {} {}",
                c.component,
                c.name,
                c.environment,
                c.status_word()
            )
        })
        .collect()
}
