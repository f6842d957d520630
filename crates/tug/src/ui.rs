//! Terminal output in the flux CLI's style: progress and results go to stderr with a
//! leading symbol (► action, ✔ success, ✗ failure, ◎ waiting), data goes to stdout.

pub fn action(msg: &str) {
    eprintln!("► {msg}");
}

pub fn success(msg: &str) {
    eprintln!("✔ {msg}");
}

pub fn failure(msg: &str) {
    eprintln!("✗ {msg}");
}

pub fn waiting(msg: &str) {
    eprintln!("◎ {msg}");
}

/// Logs go to stderr, off unless `RUST_LOG` asks for them, so command output stays clean.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
