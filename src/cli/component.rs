//! `keyway component ...`: the catalogue, with credential counts.

use serde_json::json;

use super::args::ComponentCmd;
use super::context::Context;
use super::error::CliError;
use super::output::{print_json, print_table};
use crate::core::schema::VerifySpec;

pub fn run(ctx: &Context, cmd: &ComponentCmd) -> Result<(), CliError> {
    match cmd {
        ComponentCmd::List { workspace, json } => list(ctx, workspace.as_deref(), *json),
        ComponentCmd::Show { id, json } => show(ctx, id, *json),
    }
}

fn list(ctx: &Context, workspace: Option<&str>, as_json: bool) -> Result<(), CliError> {
    let store = ctx.open_store()?;
    let s = store.snapshot();
    let mut counts = std::collections::HashMap::new();
    match workspace {
        Some(name) => {
            let w = s.workspace_by_name(name)?;
            counts = s.counts_by_component(&w.id);
        }
        None => {
            for c in &s.credentials {
                *counts.entry(c.component.as_str()).or_insert(0usize) += 1;
            }
        }
    }
    let components = ctx.catalog.all();
    if as_json {
        print_json(&serde_json::Value::Array(
            components
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id, "name": c.name, "kind": c.kind.as_str(), "icon": c.icon,
                        "credentials": counts.get(c.id.as_str()).copied().unwrap_or(0),
                    })
                })
                .collect(),
        ))?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = components
        .iter()
        .map(|c| {
            vec![
                c.icon.clone(),
                c.id.clone(),
                c.name.clone(),
                c.kind.as_str().to_string(),
                counts.get(c.id.as_str()).copied().unwrap_or(0).to_string(),
            ]
        })
        .collect();
    print_table(&["", "ID", "NAME", "KIND", "CREDENTIALS"], &rows)?;
    Ok(())
}

fn show(ctx: &Context, id: &str, as_json: bool) -> Result<(), CliError> {
    let c = ctx.catalog.get(id).ok_or_else(|| {
        CliError::Usage(format!(
            "unknown component '{id}' (see `keyway component list`)"
        ))
    })?;
    let verify = match &c.verify {
        VerifySpec::Http { method, path, .. } => format!("{method} {{base_url}}{path}"),
        VerifySpec::Oauth2 { userinfo_path, .. } => {
            format!("token grant at {{token_url}}, or GET {{base_url}}{userinfo_path} with the access token")
        }
        VerifySpec::Database { .. } => "connect, then SELECT version()".to_string(),
    };
    if as_json {
        print_json(&json!({
            "id": c.id, "name": c.name, "kind": c.kind.as_str(), "icon": c.icon,
            "description": c.description, "docs_url": c.docs_url, "verify": verify,
            "source": c.source.as_ref().map(|p| p.display().to_string()),
            "overrides_builtin": c.overrides_builtin(),
            "env": c.env,
            "fields": c.fields.iter().map(|f| json!({
                "name": f.name, "label": f.label, "secret": f.secret, "required": f.required,
                "default": f.default, "choices": f.choices, "help": f.help,
                "choice_help": f.choice_help,
            })).collect::<Vec<_>>(),
        }))?;
        return Ok(());
    }
    say!("{} {} ({}, {})", c.icon, c.name, c.id, c.kind.as_str())?;
    if !c.description.is_empty() {
        say!("{}", c.description)?;
    }
    if let Some(file) = &c.source {
        say!(
            "Defined by your file {}{}",
            file.display(),
            if c.overrides_builtin() {
                ", which replaces keyway's built-in definition (override = true)"
            } else {
                ""
            }
        )?;
    }
    say!("Verified by: {verify}\n")?;
    let rows: Vec<Vec<String>> = c
        .fields
        .iter()
        .map(|f| {
            vec![
                f.name.clone(),
                f.label.clone(),
                if f.required { "required" } else { "optional" }.to_string(),
                if f.secret {
                    "secret".to_string()
                } else {
                    f.default.clone().unwrap_or_default()
                },
            ]
        })
        .collect();
    print_table(&["FIELD", "LABEL", "", "DEFAULT"], &rows)?;
    // What each word of a field of choices means (sslmode's libpq words).
    for f in c.fields.iter().filter(|f| !f.choice_help.is_empty()) {
        say!("\n{}: {}", f.name, f.help.as_deref().unwrap_or(&f.label))?;
        let width = f
            .choices
            .iter()
            .map(|w| w.chars().count())
            .max()
            .unwrap_or(0);
        for word in &f.choices {
            if let Some(meaning) = f.choice_help.get(word) {
                say!("  {word:<width$}  {meaning}")?;
            }
        }
    }
    if !c.env.is_empty() {
        let names: Vec<String> = c
            .env
            .iter()
            .map(|(name, field)| match field.as_str() {
                crate::core::schema::ENV_URL => format!("{name} (connection URL)"),
                field => format!("{name} ({field})"),
            })
            .collect();
        say!(
            "\nkeyway run sets: {} and KEYWAY_{}_<FIELD>",
            names.join(", "),
            crate::core::env::env_form(&c.id)
        )?;
    }
    Ok(())
}
