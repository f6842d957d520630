//! The controller's probe and metrics endpoints, as Flux's controllers expose them:
//! `/healthz` and `/readyz` on `--health-addr` (kubelet probes), `/metrics` on
//! `--metrics-addr` (Prometheus scrapes).
//!
//! Probes and scrapes are short GETs; a minimal HTTP/1.1 responder serves them without a
//! web framework.

use crate::metrics::Metrics;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the endpoints report on.
pub struct State {
    pub metrics: Arc<Metrics>,
    /// Set once the process reached the API server and started its work (leading or
    /// standing by): until then `/readyz` answers 503.
    pub ready: AtomicBool,
}

impl State {
    pub fn new(metrics: Arc<Metrics>) -> Arc<Self> {
        Arc::new(State {
            metrics,
            ready: AtomicBool::new(false),
        })
    }
}

/// Serves the paths of `routes` ("health" → /healthz, /readyz; "metrics" → /metrics) on
/// `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, state: Arc<State>, metrics: bool, health: bool) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let _ = tokio::time::timeout(
                Duration::from_secs(10),
                answer(stream, &state, metrics, health),
            )
            .await;
        });
    }
}

async fn answer(
    mut stream: TcpStream,
    state: &State,
    metrics: bool,
    health: bool,
) -> std::io::Result<()> {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&request);
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let (status, content_type, body) = match (method, path) {
        ("GET" | "HEAD", "/metrics") if metrics => (
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            state.metrics.render(),
        ),
        ("GET" | "HEAD", "/healthz") if health => ("200 OK", "text/plain", "ok".to_string()),
        ("GET" | "HEAD", "/readyz") if health => {
            if state.ready.load(Ordering::Relaxed) {
                ("200 OK", "text/plain", "ok".to_string())
            } else {
                (
                    "503 Service Unavailable",
                    "text/plain",
                    "not ready".to_string(),
                )
            }
        }
        _ => ("404 Not Found", "text/plain", "not found".to_string()),
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes()).await?;
    }
    stream.shutdown().await
}
