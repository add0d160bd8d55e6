//! The detail screen's state, driven without a terminal.
