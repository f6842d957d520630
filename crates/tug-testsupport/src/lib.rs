//! tug-testsupport
