//! Bytes → a packaged chart (`.tgz`) → the chart loader → a full render (values, dependencies,
//! templates, the release manifest). Any panic, hang, stack overflow or runaway allocation is a
//! bug: a bad archive or chart must come back as a `LoadError` or `RenderError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tug_helm::install::{render_chart, RenderOptions};

fuzz_target!(|data: &[u8]| {
    let _ = tug_helm::template::with_render_stack(|| {
        let Ok(chart) = tug_helm::load_archive(data) else {
            return;
        };
        let opts = RenderOptions::new("rel", "ns");
        let _ = render_chart(&chart, &opts);
    });
});
