//! The domain rules, checked against a snapshot of the vault's records before anything is written:
//! unique names, workspace and component scoping of flow steps, and the delete guards.

use super::domain::*;
use super::error::RuleError;
use super::names::{check_name, same_name};
use super::snapshot::Snapshot;

/// How one step of a flow being promoted gets its credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionStep {
    pub component: String,
    pub choice: PromotionChoice,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromotionChoice {
    /// Exactly one credential of the component exists in the target environment.
    Automatic(RecordId),
    /// Several exist: the user picks one of these.
    Ask(Vec<RecordId>),
    /// None exists: the user adds one (inline in the TUI) or names one.
    NoCredential,
}

fn name_rule(what: &str, name: &str) -> Result<(), RuleError> {
    check_name(what, name).map_err(RuleError::BadName)
}

impl Snapshot {
    pub fn check_new_workspace(
        &self,
        name: &str,
        renaming: Option<&RecordId>,
    ) -> Result<(), RuleError> {
        name_rule("workspace", name)?;
        if self
            .workspaces
            .iter()
            .any(|w| same_name(&w.name, name) && Some(&w.id) != renaming)
        {
            return Err(RuleError::WorkspaceExists(name.to_string()));
        }
        Ok(())
    }

    /// A credential's name is unique within its workspace and component. `editing` excludes the
    /// credential being edited from the comparison.
    pub fn check_credential_name(
        &self,
        workspace: &Workspace,
        component: &str,
        name: &str,
        editing: Option<&RecordId>,
    ) -> Result<(), RuleError> {
        name_rule("credential", name)?;
        // Every credential of the vault is looked at: the component first, whose length
        // alone usually tells it apart without reading the text (a save in a vault of 10,000
        // credentials spends more on this scan than on its statements).
        let clash = self.credentials.iter().any(|c| {
            c.component == component
                && c.workspace == workspace.id
                && same_name(&c.name, name)
                && Some(&c.id) != editing
        });
        if clash {
            return Err(RuleError::CredentialExists {
                workspace: workspace.name.clone(),
                component: component.to_string(),
                name: name.to_string(),
            });
        }
        Ok(())
    }

    pub fn check_flow_name(
        &self,
        workspace: &Workspace,
        name: &str,
        editing: Option<&RecordId>,
    ) -> Result<(), RuleError> {
        name_rule("flow", name)?;
        if self
            .flows_in(&workspace.id)
            .any(|f| same_name(&f.name, name) && Some(&f.id) != editing)
        {
            return Err(RuleError::FlowExists {
                workspace: workspace.name.clone(),
                name: name.to_string(),
            });
        }
        Ok(())
    }

    /// `base` if no flow of `workspace` has that name, else the first free `base-2`, `base-3`…:
    /// what a promotion proposes, so the name it offers is one a save accepts.
    pub fn free_flow_name(&self, workspace: &Workspace, base: &str) -> String {
        let taken = |name: &str| self.check_flow_name(workspace, name, None).is_err();
        if !taken(base) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|candidate| !taken(candidate))
            .unwrap_or_else(|| base.to_string())
    }

    /// Every step must use an existing credential of the flow's own workspace and of the step's
    /// own component.
    pub fn check_flow_steps(&self, flow: &Flow) -> Result<(), RuleError> {
        if flow.steps.is_empty() {
            return Err(RuleError::EmptyFlow);
        }
        for (i, step) in flow.steps.iter().enumerate() {
            let bad = |message: String| RuleError::BadStep {
                step: i + 1,
                message,
            };
            let cred = self.credential(&step.credential).ok_or_else(|| {
                bad(format!(
                    "{}: the credential no longer exists",
                    step.component
                ))
            })?;
            if cred.workspace != flow.workspace {
                let other = self
                    .workspace(&cred.workspace)
                    .map_or("another workspace", |w| w.name.as_str());
                return Err(bad(format!(
                    "credential '{}' belongs to workspace '{other}', not to this flow's workspace",
                    cred.name
                )));
            }
            if cred.component != step.component {
                return Err(bad(format!(
                    "credential '{}' is a {} credential and cannot be used for {}",
                    cred.name, cred.component, step.component
                )));
            }
        }
        Ok(())
    }

    /// An active flow may not run on a missing or failing (rejected, misconfigured) credential.
    pub fn check_flow_ready(&self, flow: &Flow) -> Result<(), RuleError> {
        for (i, step) in flow.steps.iter().enumerate() {
            let problem = match self.credential(&step.credential) {
                None => Some(format!(
                    "step {} ({}) has no credential",
                    i + 1,
                    step.component
                )),
                Some(c) if c.is_failing() => Some(format!(
                    "step {} uses credential '{}', whose last verification was {}",
                    i + 1,
                    c.name,
                    c.status_word()
                )),
                Some(_) => None,
            };
            if let Some(problem) = problem {
                return Err(RuleError::FlowNotReady {
                    flow: flow.name.clone(),
                    problem,
                });
            }
        }
        Ok(())
    }

    /// Steps whose credential is missing or failing, for marking in lists.
    pub fn failing_steps(&self, flow: &Flow) -> Vec<usize> {
        flow.steps
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                self.credential(&s.credential)
                    .is_none_or(Credential::is_failing)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Which credential each step of `flow` would use in `target`: the only credential of the
    /// step's component in that environment, or the user's choice among several, or none.
    pub fn plan_promotion(&self, flow: &Flow, target: &Environment) -> Vec<PromotionStep> {
        flow.steps
            .iter()
            .map(|step| {
                let candidates: Vec<RecordId> = self
                    .credentials_in(&flow.workspace)
                    .filter(|c| c.component == step.component && &c.environment == target)
                    .map(|c| c.id.clone())
                    .collect();
                PromotionStep {
                    component: step.component.clone(),
                    choice: match candidates.as_slice() {
                        [one] => PromotionChoice::Automatic(one.clone()),
                        [] => PromotionChoice::NoCredential,
                        _ => PromotionChoice::Ask(candidates),
                    },
                }
            })
            .collect()
    }

    /// The delete guard: a credential used by an active flow stays, and the refusal names them.
    pub fn check_credential_delete(&self, credential: &Credential) -> Result<(), RuleError> {
        let mut blocking: Vec<&str> = self
            .flows_using(&credential.id)
            .filter(|f| f.active)
            .map(|f| f.name.as_str())
            .collect();
        if blocking.is_empty() {
            return Ok(());
        }
        blocking.sort_unstable();
        Err(RuleError::CredentialInUse {
            credential: credential.name.clone(),
            flows: blocking
                .iter()
                .map(|n| format!("'{n}'"))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// A workspace that still holds records is deleted only with an explicit confirmation.
    pub fn check_workspace_delete(
        &self,
        workspace: &Workspace,
        force: bool,
    ) -> Result<(), RuleError> {
        let credentials = self.credentials_in(&workspace.id).count();
        let flows = self.flows_in(&workspace.id).count();
        if (credentials > 0 || flows > 0) && !force {
            return Err(RuleError::WorkspaceNotEmpty {
                name: workspace.name.clone(),
                credentials,
                flows,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::Timestamp;

    fn id(s: &str) -> RecordId {
        RecordId(s.to_string())
    }

    fn ws(i: &str, name: &str) -> Workspace {
        Workspace {
            id: id(i),
            name: name.into(),
            created_at: Timestamp(0),
            revision: Default::default(),
        }
    }

    fn cred(i: &str, w: &str, component: &str, name: &str) -> Credential {
        Credential {
            id: id(i),
            workspace: id(w),
            component: component.into(),
            name: name.into(),
            ..Credential::with_fields(&[], &[])
        }
    }

    fn flow(i: &str, w: &str, name: &str, active: bool, steps: &[(&str, &str)]) -> Flow {
        Flow {
            id: id(i),
            workspace: id(w),
            name: name.into(),
            environment: Environment::Staging,
            steps: steps
                .iter()
                .map(|(c, cr)| FlowStep {
                    component: c.to_string(),
                    credential: id(cr),
                })
                .collect(),
            active,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            revision: Default::default(),
        }
    }

    fn sample() -> Snapshot {
        Snapshot {
            workspaces: vec![ws("w1", "acme"), ws("w2", "globex")],
            credentials: vec![
                cred("c1", "w1", "stripe", "main"),
                cred("c2", "w1", "postgresql", "main"),
                cred("c3", "w2", "stripe", "theirs"),
                cred("c4", "w1", "salesforce", "crm"),
            ],
            flows: vec![
                flow(
                    "f1",
                    "w1",
                    "billing-sync",
                    true,
                    &[("stripe", "c1"), ("postgresql", "c2")],
                ),
                flow("f2", "w1", "old-sync", false, &[("salesforce", "c4")]),
                flow(
                    "f3",
                    "w1",
                    "crm-sync",
                    true,
                    &[("salesforce", "c4"), ("stripe", "c1")],
                ),
            ],
        }
    }

    #[test]
    fn workspace_names_are_unique() {
        let s = sample();
        assert_eq!(
            s.check_new_workspace("acme", None),
            Err(RuleError::WorkspaceExists("acme".into()))
        );
        assert!(s.check_new_workspace("initech", None).is_ok());
        // renaming a workspace to its own name is fine
        assert!(s.check_new_workspace("acme", Some(&id("w1"))).is_ok());
        assert!(matches!(
            s.check_new_workspace(" padded", None),
            Err(RuleError::BadName(_))
        ));
    }

    #[test]
    fn look_alike_names_are_refused_and_one_normal_form_is_compared() {
        for bad in [
            "good\u{202E}dab",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "line\u{2028}sep",
            "para\u{2029}sep",
            "nb\u{00A0}space",
            "tag\u{E0041}",
            "esc\u{1b}",
        ] {
            assert!(check_name("workspace", bad).is_err(), "{bad:?}");
        }
        assert!(check_name("workspace", "café ops 東京").is_ok());
        let s = sample();
        let nfc = "caf\u{e9}";
        let nfd = "cafe\u{301}";
        let mut s2 = s.clone();
        s2.workspaces.push(ws("w9", nfc));
        assert_eq!(
            s2.check_new_workspace(nfd, None),
            Err(RuleError::WorkspaceExists(nfd.into()))
        );
        assert_eq!(s2.workspace_by_name(nfd).unwrap().id, id("w9"));
        assert!(same_name(nfc, nfd) && !same_name("cafe", nfc));
    }

    #[test]
    fn credential_names_are_unique_per_workspace_and_component() {
        let s = sample();
        let acme = s.workspace_by_name("acme").unwrap().clone();
        let globex = s.workspace_by_name("globex").unwrap().clone();
        assert!(matches!(
            s.check_credential_name(&acme, "stripe", "main", None),
            Err(RuleError::CredentialExists { .. })
        ));
        // same name, other component: allowed (postgresql/main already coexists)
        assert!(s
            .check_credential_name(&acme, "github", "main", None)
            .is_ok());
        // same name, other workspace: allowed
        assert!(s
            .check_credential_name(&globex, "stripe", "main", None)
            .is_ok());
        // editing the credential itself keeps its name
        assert!(s
            .check_credential_name(&acme, "stripe", "main", Some(&id("c1")))
            .is_ok());
    }

    #[test]
    fn ambiguous_names_need_a_component() {
        let s = sample();
        let acme = s.workspace_by_name("acme").unwrap();
        assert!(matches!(
            s.credential_by_name(acme, "main", None),
            Err(RuleError::AmbiguousCredential { .. })
        ));
        assert_eq!(
            s.credential_by_name(acme, "main", Some("postgresql"))
                .unwrap()
                .id,
            id("c2")
        );
    }

    #[test]
    fn flows_only_use_their_workspace_and_component() {
        let s = sample();
        assert!(s.check_flow_steps(&s.flows[0]).is_ok());
        let cross_workspace = flow("f9", "w1", "x", true, &[("stripe", "c3")]);
        let err = s.check_flow_steps(&cross_workspace).unwrap_err();
        assert!(err.to_string().contains("workspace 'globex'"), "{err}");
        let wrong_component = flow("f9", "w1", "x", true, &[("salesforce", "c2")]);
        let err = s.check_flow_steps(&wrong_component).unwrap_err();
        assert!(err.to_string().contains("postgresql credential"), "{err}");
        let missing = flow("f9", "w1", "x", true, &[("stripe", "nope")]);
        assert!(s.check_flow_steps(&missing).is_err());
        let empty = flow("f9", "w1", "x", true, &[]);
        assert_eq!(s.check_flow_steps(&empty), Err(RuleError::EmptyFlow));
    }

    #[test]
    fn delete_guard_names_only_active_flows() {
        let s = sample();
        let err = s.check_credential_delete(&s.credentials[0]).unwrap_err();
        assert_eq!(
            err,
            RuleError::CredentialInUse {
                credential: "main".into(),
                flows: "'billing-sync', 'crm-sync'".into()
            }
        );
        // c4 is used by an inactive flow and an active one: only the active one is named
        let err = s.check_credential_delete(&s.credentials[3]).unwrap_err();
        assert!(err.to_string().contains("'crm-sync'"));
        assert!(!err.to_string().contains("old-sync"));
        // c3 is used by nothing
        assert!(s.check_credential_delete(&s.credentials[2]).is_ok());
    }

    #[test]
    fn deleting_a_non_empty_workspace_needs_force() {
        let s = sample();
        let acme = s.workspace_by_name("acme").unwrap();
        assert!(matches!(
            s.check_workspace_delete(acme, false),
            Err(RuleError::WorkspaceNotEmpty {
                credentials: 3,
                flows: 3,
                ..
            })
        ));
        assert!(s.check_workspace_delete(acme, true).is_ok());
        let mut empty = sample();
        empty.workspaces.push(ws("w3", "empty"));
        let e = empty.workspace_by_name("empty").unwrap();
        assert!(empty.check_workspace_delete(e, false).is_ok());
    }

    #[test]
    fn active_flows_need_working_credentials() {
        let mut s = sample();
        assert!(s.check_flow_ready(&s.flows[0]).is_ok());
        s.credentials[1].record_verification(Verification {
            status: Status::Rejected,
            reason: "bad password".into(),
            detail: None,
            latency_ms: None,
            at: Timestamp(5),
            run: None,
            tls: None,
        });
        let err = s.check_flow_ready(&s.flows[0]).unwrap_err();
        assert!(err.to_string().contains("rejected"), "{err}");
        assert_eq!(s.failing_steps(&s.flows[0]), vec![1]);
        let missing = flow("f9", "w1", "x", true, &[("stripe", "gone")]);
        assert!(s.check_flow_ready(&missing).is_err());
        assert_eq!(s.failing_steps(&missing), vec![0]);
    }

    #[test]
    fn promotion_picks_the_only_candidate_and_asks_otherwise() {
        let mut s = sample();
        let mut prod = cred("p1", "w1", "stripe", "live");
        prod.environment = Environment::Production;
        s.credentials.push(prod);
        let mut prod_pg_a = cred("p2", "w1", "postgresql", "a");
        prod_pg_a.environment = Environment::Production;
        let mut prod_pg_b = cred("p3", "w1", "postgresql", "b");
        prod_pg_b.environment = Environment::Production;
        s.credentials.push(prod_pg_a);
        s.credentials.push(prod_pg_b);
        // a production stripe credential of another workspace is never offered
        let mut foreign = cred("p4", "w2", "salesforce", "theirs");
        foreign.environment = Environment::Production;
        s.credentials.push(foreign);
        let plan = s.plan_promotion(&s.flows[0], &Environment::Production);
        assert_eq!(plan[0].choice, PromotionChoice::Automatic(id("p1")));
        assert_eq!(
            plan[1].choice,
            PromotionChoice::Ask(vec![id("p2"), id("p3")])
        );
        let plan = s.plan_promotion(&s.flows[2], &Environment::Production);
        assert_eq!(plan[0].choice, PromotionChoice::NoCredential);
    }

    #[test]
    fn counts_by_component_are_per_workspace() {
        let s = sample();
        let counts = s.counts_by_component(&id("w1"));
        assert_eq!(counts.get("stripe"), Some(&1));
        assert_eq!(counts.get("postgresql"), Some(&1));
        assert_eq!(s.counts_by_component(&id("w2")).get("stripe"), Some(&1));
    }
}
