//! A Git repository served over HTTP on loopback (the project's real `git http-backend`
//! behind lighttpd), to push commits to as a user does.

use tug_testsupport::git::{GitRepo, HttpGitServer, RepoRoot};

/// The repository `app`, its `main` branch served over HTTP.
pub struct Git {
    /// Declared first so the server stops before its repositories are removed.
    pub server: HttpGitServer,
    pub repo: GitRepo,
    pub repos: RepoRoot,
}

impl Git {
    /// A repository whose first commit on `main` holds `files` (path, contents), served.
    pub fn serve(files: &[(&str, &str)]) -> Git {
        let repos = RepoRoot::new().unwrap();
        let repo = repos.repo("app").unwrap();
        repo.commit(files, "initial").unwrap();
        repo.push(&["main"]).unwrap();
        let server = HttpGitServer::start(&repos).unwrap();
        Git {
            server,
            repo,
            repos,
        }
    }

    /// The URL a GitRepository clones.
    pub fn url(&self) -> String {
        self.server.url("git", "app")
    }

    /// The revision of `main`'s head as Flux writes it: `main@sha1:<sha>`.
    pub fn revision(&self) -> String {
        format!("main@sha1:{}", self.repo.head().unwrap())
    }

    /// Removes `removed`, writes `files`, commits and pushes `main`; returns the new revision.
    pub fn push(&self, files: &[(&str, &str)], removed: &[&str], message: &str) -> String {
        for path in removed {
            std::fs::remove_file(self.repo.work.join(path)).unwrap();
        }
        self.repo.commit(files, message).unwrap();
        self.repo.push(&["main"]).unwrap();
        self.revision()
    }
}
