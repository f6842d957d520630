//! Re-rendering a chart whose values change, in one process, as the HelmRelease controller does:
//! the chart is loaded once, one `Renderer` keeps the parsed templates, and each render gets
//! different values. Prints the first render (which parses), the median of the next renders
//! (which reuse the parsed set), and, for comparison, the median of renders through a fresh
//! `Renderer` each time (parsing again).
//!
//!     cargo run --release -p tug-helm --example rerender_bench -- CHART_DIR [RENDERS]
//!
//! The values set `global.commonLabels.round` to the render's number, so every render's
//! manifest differs (bench/helm/gen_chart.py's charts print it in every document's labels).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use tug_helm::install::{RenderOptions, Renderer};
use tug_helm::Value;

fn values_for(round: usize) -> Value {
    let mut labels = BTreeMap::new();
    labels.insert("round".to_string(), Value::str(format!("r{round}")));
    let mut global = BTreeMap::new();
    global.insert("commonLabels".to_string(), Value::map(labels));
    let mut top = BTreeMap::new();
    top.insert("global".to_string(), Value::map(global));
    Value::map(top)
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let Some(dir) = args.get(1) else {
        return Err("usage: rerender_bench CHART_DIR [RENDERS]".into());
    };
    let renders: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(10);

    // Renders need the deep stack Helm's nesting bound allows for; run them all on it.
    tug_helm::template::with_render_stack(move || -> Result<(), String> {
        let start = Instant::now();
        let chart = tug_helm::load(Path::new(dir)).map_err(|e| e.to_string())?;
        let load = start.elapsed();
        let mut opts = RenderOptions::new("rel", "ns");
        let renderer = Renderer::new(chart.clone(), None);

        opts.values = values_for(0);
        let start = Instant::now();
        let first = renderer.render(&opts).map_err(|e| e.to_string())?;
        let first_time = start.elapsed();

        let mut reused = Vec::new();
        let mut last = String::new();
        for round in 1..=renders {
            opts.values = values_for(round);
            let start = Instant::now();
            last = renderer.render(&opts).map_err(|e| e.to_string())?.manifest;
            reused.push(start.elapsed());
        }
        if last == first.manifest {
            return Err("changed values did not change the manifest".to_string());
        }

        let mut fresh = Vec::new();
        for round in 1..=renders.min(5) {
            opts.values = values_for(round);
            let start = Instant::now();
            Renderer::new(chart.clone(), None)
                .render(&opts)
                .map_err(|e| e.to_string())?;
            fresh.push(start.elapsed());
        }

        let documents = first.manifest.matches("\n# Source: ").count() + 1;
        println!(
            "{documents} documents, {} bytes: load {load:?}, first render {first_time:?}, \
             re-render with changed values (median of {renders}) {:?}, \
             render through a fresh Renderer (median of {}) {:?}",
            first.manifest.len(),
            median(reused),
            renders.min(5),
            median(fresh),
        );
        Ok(())
    })??;
    Ok(())
}
