//! The audit screen's state, driven without a terminal.
