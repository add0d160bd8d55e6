//! A TCP relay on loopback between keyway and a real server, written for the liveness tests:
//! it forwards every byte both ways until told to go silent, and then forwards nothing while
//! keeping both sockets open (no FIN, no RST), which is what a hung proxy or a stuck peer
//! looks like to a client: its kernel still acknowledges every byte, nothing ever answers.
//! Told to resume, it forwards what it held and carries on. A connection can also be made to
//! go silent by what its client sends (a statement's text, as PostgreSQL's wire protocol
//! carries it in clear with sslmode=disable), so a test can stop one chosen connection at one
//! chosen moment without racing a timer.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    /// Everything is held (`go_silent`), new connections included.
    all_silent: bool,
    /// Connections (by accept order) held on their own.
    silent: Vec<usize>,
    /// The next connection whose client sends these bytes is held from that moment (the
    /// chunk holding them is not forwarded).
    silent_when_sent: Option<Vec<u8>>,
    /// Connections accepted so far.
    accepted: usize,
    /// Connections that went silent because of `silent_when_sent`.
    triggered: Vec<usize>,
    /// Every byte the clients sent (forwarded or held), for `wait_sent`.
    sent: Vec<u8>,
    closing: bool,
}

pub struct Relay {
    pub addr: SocketAddr,
    shared: Arc<(Mutex<State>, Condvar)>,
}

impl Relay {
    /// Starts relaying 127.0.0.1:PORT (`addr`) to `upstream`.
    pub fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
        let addr = listener.local_addr().expect("relay addr");
        let shared = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let accepting = shared.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let number = {
                    let mut state = accepting.0.lock().unwrap();
                    if state.closing {
                        break;
                    }
                    state.accepted += 1;
                    state.accepted - 1
                };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (up, down) = (accepting.clone(), accepting.clone());
                std::thread::spawn(move || forward(client, server, number, true, &up));
                std::thread::spawn(move || forward(s2, c2, number, false, &down));
            }
        });
        Relay { addr, shared }
    }

    /// Stops forwarding on every connection, present and future.
    pub fn go_silent(&self) {
        self.shared.0.lock().unwrap().all_silent = true;
    }

    /// Forwards again, what was held first.
    pub fn resume(&self) {
        let mut state = self.shared.0.lock().unwrap();
        state.all_silent = false;
        state.silent.clear();
        state.silent_when_sent = None;
        self.shared.1.notify_all();
    }

    /// The next connection whose client sends `bytes` goes silent at that moment.
    pub fn go_silent_when_sent(&self, bytes: &[u8]) {
        self.shared.0.lock().unwrap().silent_when_sent = Some(bytes.to_vec());
    }

    /// Waits (at most `within`) until a connection went silent by `go_silent_when_sent`.
    pub fn wait_triggered(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut state = self.shared.0.lock().unwrap();
        while state.triggered.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.shared.1.wait_timeout(state, left).unwrap().0;
        }
        true
    }

    /// Waits (at most `within`) until the clients have sent `bytes` `times` times in all.
    pub fn wait_sent(&self, bytes: &[u8], times: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut state = self.shared.0.lock().unwrap();
        while state
            .sent
            .windows(bytes.len())
            .filter(|w| *w == bytes)
            .count()
            < times
        {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            state = self.shared.1.wait_timeout(state, left).unwrap().0;
        }
        true
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.0.lock().unwrap().accepted
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let mut state = self.shared.0.lock().unwrap();
        state.closing = true;
        self.shared.1.notify_all();
    }
}

/// Copies `from` to `to` (`upward`: client to server), holding each chunk while its
/// connection is silent.
fn forward(
    mut from: TcpStream,
    mut to: TcpStream,
    number: usize,
    upward: bool,
    shared: &(Mutex<State>, Condvar),
) {
    let mut buf = vec![0u8; 16 * 1024];
    // The tail of what the client sent before, so a trigger split across chunks matches.
    let mut seen: Vec<u8> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut state = shared.0.lock().unwrap();
        if upward {
            state.sent.extend_from_slice(&buf[..n]);
            shared.1.notify_all();
            seen.extend_from_slice(&buf[..n]);
            if let Some(trigger) = &state.silent_when_sent {
                if seen.windows(trigger.len()).any(|w| w == trigger.as_slice()) {
                    state.silent_when_sent = None;
                    state.silent.push(number);
                    state.triggered.push(number);
                    shared.1.notify_all();
                }
            }
            let keep = seen.len().min(4096);
            seen.drain(..seen.len() - keep);
        }
        while !state.closing && (state.all_silent || state.silent.contains(&number)) {
            state = shared.1.wait(state).unwrap();
        }
        if state.closing {
            break;
        }
        drop(state);
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let closing = shared.0.lock().unwrap().closing;
    if !closing {
        let _ = to.shutdown(Shutdown::Write);
    }
}
