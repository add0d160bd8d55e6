//! The workspaces screen's state, driven without a terminal.
