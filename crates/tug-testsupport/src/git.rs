//! Real Git servers on loopback for tests (http-backend, git daemon, sshd, file://).
