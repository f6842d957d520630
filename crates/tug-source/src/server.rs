//! The artifact HTTP server: serves the storage directory read-only, as Flux's
//! source-controller does on `--storage-addr`, so `status.artifact.url` can be downloaded.
//!
//! Deliberately small (GET and HEAD of files, one request per connection): consumers only
//! download whole artifacts. In-progress temporary files and paths leaving the root are never
//! served; a file appears only once it was renamed into place, complete.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// The address advertised in artifact URLs, as Flux derives it: `--storage-adv-addr` when
/// set; otherwise `--storage-addr` with an empty host as `localhost` and `0.0.0.0` as this
/// machine's hostname (`$HOSTNAME`, then the kernel's).
pub fn advertised_address(storage_addr: &str, adv_addr: Option<&str>) -> Result<String, String> {
    if let Some(adv) = adv_addr.filter(|a| !a.is_empty()) {
        return Ok(adv.to_string());
    }
    let (host, port) = storage_addr
        .rsplit_once(':')
        .ok_or_else(|| format!("invalid storage address {storage_addr:?}: missing port"))?;
    let host = match host {
        "" => "localhost".to_string(),
        "0.0.0.0" => std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .ok_or_else(|| {
                "0.0.0.0 specified in storage addr but the hostname is unknown".to_string()
            })?,
        h => h.to_string(),
    };
    Ok(format!("{host}:{port}"))
}

/// Binds `addr` (`:9090` means all interfaces) and serves `root` until the task is dropped.
pub async fn serve(root: PathBuf, addr: &str) -> std::io::Result<()> {
    let addr = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    let listener = TcpListener::bind(&addr).await?;
    serve_on(listener, root).await
}

/// Serves `root` on an already bound listener (tests bind port 0).
pub async fn serve_on(listener: TcpListener, root: PathBuf) -> std::io::Result<()> {
    loop {
        let (stream, peer) = listener.accept().await?;
        let root = root.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &root).await {
                tracing::debug!(%peer, error = %e, "artifact request failed");
            }
        });
    }
}

async fn handle(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    // Read the request head; bodies are not expected.
    let head_end = loop {
        let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut chunk))
            .await
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::TimedOut, "request head timeout")
            })??;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 16 * 1024 {
            return respond(
                &mut stream,
                431,
                "Request Header Fields Too Large",
                None,
                false,
            )
            .await;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let is_head = method == "HEAD";
    if method != "GET" && !is_head {
        return respond(&mut stream, 405, "Method Not Allowed", None, false).await;
    }
    match resolve(root, target) {
        Some(path) => match tokio::fs::File::open(&path).await {
            Ok(file) if file.metadata().await.map(|m| m.is_file()).unwrap_or(false) => {
                respond(&mut stream, 200, "OK", Some((file, &path)), is_head).await
            }
            _ => respond(&mut stream, 404, "Not Found", None, false).await,
        },
        None => respond(&mut stream, 404, "Not Found", None, false).await,
    }
}

/// The file for a request target, or `None` when it is not a servable file path.
fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = target.split(['?', '#']).next()?.trim_start_matches('/');
    let path = percent_decode(path)?;
    let rel = Path::new(&path);
    let safe = !path.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
    let temporary = rel
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'));
    (safe && !temporary).then(|| root.join(rel))
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

async fn respond(
    stream: &mut TcpStream,
    code: u16,
    text: &str,
    file: Option<(tokio::fs::File, &Path)>,
    head_only: bool,
) -> std::io::Result<()> {
    let (len, content_type) = match &file {
        Some((f, path)) => {
            let gz = path.to_string_lossy().ends_with(".tar.gz");
            (
                f.metadata().await?.len(),
                if gz {
                    "application/gzip"
                } else {
                    "application/octet-stream"
                },
            )
        }
        None => (text.len() as u64 + 1, "text/plain; charset=utf-8"),
    };
    let header = format!("HTTP/1.1 {code} {text}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
    stream.write_all(header.as_bytes()).await?;
    if !head_only {
        match file {
            Some((mut f, _)) => {
                tokio::io::copy(&mut f, stream).await?;
            }
            None => stream.write_all(format!("{text}\n").as_bytes()).await?,
        }
    }
    stream.shutdown().await
}

/// Where the server listens, for logs.
pub fn describe(addr: &SocketAddr, root: &Path) -> String {
    format!("serving artifacts from {} on http://{addr}", root.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advertised_address_as_flux() {
        assert_eq!(
            advertised_address(":9090", Some("sc.flux-system.svc.cluster.local.")).unwrap(),
            "sc.flux-system.svc.cluster.local."
        );
        assert_eq!(advertised_address(":9090", None).unwrap(), "localhost:9090");
        assert_eq!(
            advertised_address("127.0.0.1:9090", None).unwrap(),
            "127.0.0.1:9090"
        );
        assert!(!advertised_address("0.0.0.0:9090", None)
            .unwrap()
            .starts_with("0.0.0.0"));
        assert!(advertised_address("9090", None).is_err());
    }

    #[test]
    fn resolves_only_safe_files() {
        let root = Path::new("/data");
        assert_eq!(
            resolve(root, "/gitrepository/ns/n/ab.tar.gz"),
            Some(PathBuf::from("/data/gitrepository/ns/n/ab.tar.gz"))
        );
        assert_eq!(
            resolve(root, "/a%20b.tar.gz?x=1"),
            Some(PathBuf::from("/data/a b.tar.gz"))
        );
        for bad in [
            "/../etc/passwd",
            "/a/%2e%2e/%2e%2e/x",
            "/",
            "/a/.tmp-123.tar.gz",
        ] {
            assert_eq!(resolve(root, bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn serves_stored_artifacts() {
        let dir = tempfile::tempdir().unwrap();
        let storage = crate::Storage::new(dir.path(), "x").unwrap();
        let a = storage
            .store("gitrepository/ns/app", "main@sha1:00", |w| {
                w.write_all(b"tarball")
                    .map_err(|e| crate::Error::storage("t", e))
            })
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(serve_on(listener, dir.path().to_path_buf()));
        let get = |path: String| async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(format!("GET /{path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).await.unwrap();
            out
        };
        let ok = get(a.path.clone()).await;
        assert!(
            ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("\r\n\r\ntarball"),
            "{ok}"
        );
        assert!(get("gitrepository/ns/app/missing.tar.gz".into())
            .await
            .starts_with("HTTP/1.1 404"));
        assert!(get("../../etc/passwd".into())
            .await
            .starts_with("HTTP/1.1 404"));
        server.abort();
    }
}
