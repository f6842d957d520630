pub mod overlays;
