//! The used_by screen's state, driven without a terminal.
