//! An HTTP CONNECT proxy on loopback, written for the tests: it opens tunnels to the addresses
//! it is told a host name stands for (so a test can use a name that is not loopback, which
//! keyway would never proxy, while every byte stays on 127.0.0.1), and logs every byte that
//! passes through it in either direction, so a test can check what a proxy could have read.
//! Anything but CONNECT is answered 405 and logged too.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct ConnectProxy {
    pub addr: SocketAddr,
    log: Arc<Mutex<Vec<u8>>>,
    targets: Arc<Mutex<Vec<String>>>,
}

impl ConnectProxy {
    /// `http://127.0.0.1:PORT`, for HTTPS_PROXY.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every byte the proxy saw, both directions, in arrival order.
    pub fn log(&self) -> Vec<u8> {
        self.log.lock().unwrap().clone()
    }

    /// The `host:port` of each CONNECT it received.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

/// Starts the proxy; `routes` maps a CONNECT target (`host:port`) to the loopback address that
/// serves it.
pub async fn connect_proxy(routes: HashMap<String, SocketAddr>) -> ConnectProxy {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
    let addr = listener.local_addr().expect("proxy addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let targets = Arc::new(Mutex::new(Vec::new()));
    let routes = Arc::new(routes);
    let (log2, targets2) = (log.clone(), targets.clone());
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let (log, targets, routes) = (log2.clone(), targets2.clone(), routes.clone());
            tokio::spawn(async move {
                let _ = tunnel(client, &routes, &log, &targets).await;
            });
        }
    });
    ConnectProxy { addr, log, targets }
}

async fn tunnel(
    mut client: TcpStream,
    routes: &HashMap<String, SocketAddr>,
    log: &Arc<Mutex<Vec<u8>>>,
    targets: &Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    log.lock().unwrap().extend_from_slice(&head);
    let line = String::from_utf8_lossy(&head);
    let mut words = line.split_whitespace();
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method != "CONNECT" {
        client
            .write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    }
    targets.lock().unwrap().push(target.to_string());
    let Some(upstream) = routes.get(target) else {
        client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
            .await?;
        return Ok(());
    };
    let server = TcpStream::connect(upstream).await?;
    client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::join!(
        copy_logged(client_read, server_write, log),
        copy_logged(server_read, client_write, log),
    );
    Ok(())
}

async fn copy_logged(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    log: &Arc<Mutex<Vec<u8>>>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        log.lock().unwrap().extend_from_slice(&buf[..n]);
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
