//! The real binary in a pseudo-terminal.

mod support;

mod e2e {
    mod pty;
    mod sftp;
    mod team_live;
}
