//! The unlock screen's state, driven without a terminal.
