//! Node and pod simulator.
