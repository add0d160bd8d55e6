//! The one error of the domain rules and of finding records by name.

/// A rule said no. Each message is a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    BadName(String),
    #[error("workspace '{0}' already exists")]
    WorkspaceExists(String),
    #[error("no workspace named '{0}'")]
    NoSuchWorkspace(String),
    #[error("workspace '{workspace}' already has a {component} credential named '{name}'")]
    CredentialExists {
        workspace: String,
        component: String,
        name: String,
    },
    #[error("workspace '{workspace}' has no credential named '{name}'")]
    NoSuchCredential { workspace: String, name: String },
    #[error("credential name '{name}' is ambiguous in workspace '{workspace}': it exists for {components}; add --component")]
    AmbiguousCredential {
        workspace: String,
        name: String,
        components: String,
    },
    #[error("workspace '{workspace}' already has a flow named '{name}'")]
    FlowExists { workspace: String, name: String },
    #[error("workspace '{workspace}' has no flow named '{name}'")]
    NoSuchFlow { workspace: String, name: String },
    #[error("credential '{credential}' is used by active flow(s) {flows}: delete those flows or rebind them to another credential first")]
    CredentialInUse { credential: String, flows: String },
    #[error("workspace '{name}' still holds {credentials} credential(s) and {flows} flow(s): pass --force to delete it with everything in it")]
    WorkspaceNotEmpty {
        name: String,
        credentials: usize,
        flows: usize,
    },
    #[error("step {step}: {message}")]
    BadStep { step: usize, message: String },
    #[error("a flow needs at least one step")]
    EmptyFlow,
    #[error("flow '{flow}' cannot be active: {problem}; verify or rebind the credential, or save the flow inactive")]
    FlowNotReady { flow: String, problem: String },
    #[error("flow '{flow}' has no {component} step")]
    NoSuchStep { flow: String, component: String },
    #[error("flow '{flow}' is already in {environment}")]
    AlreadyInEnvironment { flow: String, environment: String },
}
