//! tug-source
