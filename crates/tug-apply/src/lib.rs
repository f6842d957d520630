//! tug-apply
