//! tug-controller
