//! The scriptable face through the real binary: commands, JSON shapes, exit codes, flows,
//! logins, export and import, and "nothing invalid is saved" against loopback servers.

mod support;

mod cli {
    mod commands;
    mod components;
    mod concurrent;
    mod core_dumps;
    mod crafted;
    mod disk_full;
    mod echo;
    mod engines;
    mod exit_codes;
    mod files;
    mod flow;
    mod imports;
    mod kdf_bomb;
    mod login;
    mod messages;
    mod metrics;
    mod names;
    mod output;
    mod revisions;
    mod rotate;
    mod run;
    mod session;
    mod team_live;
    mod team_log;
    mod team_members;
    mod team_net;
    mod team_schema2;
    mod team_vault;
    mod terminal;
    mod tls;
    mod transfer;
    mod vault_paths;
    mod verify;
}
