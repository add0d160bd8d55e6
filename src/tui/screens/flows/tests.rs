//! The flows screen's state, driven without a terminal.
