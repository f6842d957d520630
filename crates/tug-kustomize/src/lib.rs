//! tug-kustomize
