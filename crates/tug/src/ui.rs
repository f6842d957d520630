//! Terminal output in the flux CLI's style: progress and results go to stderr with a
//! leading symbol (► action, ✔ success, ✗ failure, ◎ waiting), data goes to stdout.
//!
//! Data lines go through [`outln!`], which returns the write's error: a closed stdout
//! (`tug get all | head -1`) ends the command through `main` instead of a panic.
//! Messages on stderr ignore write errors; there is nowhere left to report them.

use std::io::Write;

/// `println!` that returns the `std::io::Result` of the write instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)
    }};
}
/// `print!` that returns the `std::io::Result` of the write instead of panicking.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)
    }};
}
pub(crate) use {out, outln};

/// A line on stderr, as is.
pub fn note(msg: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{msg}");
}

pub fn action(msg: &str) {
    note(&format!("► {msg}"));
}

pub fn success(msg: &str) {
    note(&format!("✔ {msg}"));
}

pub fn failure(msg: &str) {
    note(&format!("✗ {msg}"));
}

pub fn waiting(msg: &str) {
    note(&format!("◎ {msg}"));
}

/// An error and its causes on one line, outermost first, each cause once. Many libraries
/// (kube's config errors among them) put their source's text into their own message *and*
/// return it as `source()`; printing every link of such a chain repeats each cause (three
/// times for a missing kubeconfig). A cause whose text the line already holds is skipped.
pub fn error_chain(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
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
        let mut err = std::io::stderr();
        let _ = write!(err, "\r{} {}", FRAMES[self.frame], self.message);
        let _ = err.flush();
    }
}

impl Drop for Spinner {
    /// Clears the spinning line, so the result printed next starts clean.
    fn drop(&mut self) {
        if self.live {
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
