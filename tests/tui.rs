//! The terminal UI without a terminal: `update` driven by actions, `render` drawn on ratatui's
//! TestBackend and compared with reviewed snapshots (tests/tui/snapshots/NAME.snap).

/// Compares a drawn screen with the reviewed snapshot `tests/tui/snapshots/NAME.snap`. The
/// name alone picks the file, whichever test module draws it.
macro_rules! assert_screen {
    ($name:expr, $screen:expr) => {
        insta::with_settings!({ prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!($name, $screen)
        })
    };
}

mod tui {
    mod audit;
    mod debug;
    mod flows;
    mod harness;
    mod live;
    mod login;
    mod screens;
    mod sizes;
    mod tls;
}
