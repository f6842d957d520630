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

/// A waiting line that spins while the caller polls: on a terminal its symbol turns at each
/// [`Spinner::tick`] and the line is cleared at the end; elsewhere (logs, CI) it is printed
/// once, as [`waiting`] does, so captured output stays plain.
pub struct Spinner {
    message: String,
    frame: usize,
    live: bool,
}

const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

impl Spinner {
    pub fn start(message: &str) -> Spinner {
        use std::io::IsTerminal;
        let live = std::io::stderr().is_terminal();
        let spinner = Spinner {
            message: message.to_string(),
            frame: 0,
            live,
        };
        if live {
            spinner.draw();
        } else {
            waiting(message);
        }
        spinner
    }

    pub fn tick(&mut self) {
        if self.live {
            self.frame = (self.frame + 1) % FRAMES.len();
            self.draw();
        }
    }

    fn draw(&self) {
        use std::io::Write;
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{} {}", FRAMES[self.frame], self.message);
        let _ = err.flush();
    }
}

impl Drop for Spinner {
    /// Clears the spinning line, so the result printed next starts clean.
    fn drop(&mut self) {
        if self.live {
            use std::io::Write;
            let mut err = std::io::stderr();
            let _ = write!(err, "\r\x1b[2K");
            let _ = err.flush();
        }
    }
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
