//! Helm's template engine (`pkg/engine`): every template of a chart tree parsed into one Go
//! template set, each non-partial template executed with its chart's data.
//!
//! Order matters and is Helm's: templates are parsed and executed with the most `/` in their
//! path first, then in reverse byte order of the path. Parsing in that order decides which
//! `define` wins (a later non-empty definition replaces an earlier one, so a parent chart's
//! helpers replace a subchart's), and executing in that order decides what a template sees of
//! `.Values` another one modified (all templates of a chart share one `.Values` map).

pub mod capabilities;
pub mod errors;

use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use crate::chart::Chart;
use crate::template::{ErrorKind, Lookup, Templates};
use crate::value::Value;

pub use capabilities::{Capabilities, HelmVersion, KubeVersion, KubeVersionError};

/// How many distinct template sets (one per set of enabled subcharts) an [`Engine`] keeps.
const MAX_CACHED_SETS: usize = 16;

/// A template failed to parse or execute; the message is Helm's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EngineError(pub String);

/// The data shared by every template of a render: `.Release`, `.Capabilities` and the root
/// chart's `.Values`.
#[derive(Debug, Clone)]
pub struct TopValues {
    pub release: Value,
    pub capabilities: Value,
    pub values: Value,
}

/// One template to parse, and to execute unless it is a partial.
struct Renderable<'a> {
    /// The template's source, converted to text only when parsed.
    source: &'a [u8],
    /// The data of its chart (`.Values`, `.Chart`, `.Files`, ...), shared by the chart's
    /// templates; `.Template` is set in it before each execution.
    data: Value,
    base_path: String,
}

/// Renders charts, keeping parsed template sets so that rendering the same chart again (with
/// other values) does not parse again.
pub struct Engine {
    lookup: Option<Arc<dyn Lookup>>,
    /// Parsed sets by the names of the templates they were parsed from, in parse order: the
    /// texts of a chart never change, so the names (which follow from the enabled subcharts and
    /// their aliases) identify the set.
    cache: Mutex<HashMap<String, Templates>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine whose `lookup` finds nothing, as Helm's client-only rendering.
    pub fn new() -> Engine {
        Engine {
            lookup: None,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Answers `lookup` from `lookup` (the controller serves it from the cluster).
    pub fn with_lookup(lookup: Arc<dyn Lookup>) -> Engine {
        Engine {
            lookup: Some(lookup),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Renders every template of `chart` (dependencies already processed) with `top`: the
    /// rendered text of each non-partial template by its name (`<chart>/templates/x.yaml`),
    /// `<no value>` removed.
    pub fn render(
        &self,
        chart: &Chart,
        top: &TopValues,
    ) -> Result<BTreeMap<String, String>, EngineError> {
        let mut renderables = BTreeMap::new();
        collect_templates(chart, None, None, top, &mut renderables);
        let order = parse_order(&renderables);
        let templates = self.template_set(&order, &renderables)?;

        let mut rendered = BTreeMap::new();
        for name in &order {
            if base_name(name).starts_with('_') {
                continue;
            }
            let r = &renderables[name.as_str()];
            if let Some(m) = r.data.as_map() {
                let mut template = BTreeMap::new();
                template.insert("Name".to_string(), Value::str(name));
                template.insert("BasePath".to_string(), Value::str(&r.base_path));
                m.borrow_mut()
                    .insert("Template".to_string(), Value::map(template));
            }
            let out = templates.execute(name, &r.data).map_err(|e| {
                EngineError(match e.kind() {
                    ErrorKind::Exec => errors::exec_error(name, e.message()),
                    ErrorKind::Parse => errors::parse_error(name, e.message()),
                    _ => e.message().to_string(),
                })
            })?;
            rendered.insert(name.clone(), out.replace("<no value>", ""));
        }
        Ok(rendered)
    }

    /// How many parsed template sets the engine keeps (one per set of enabled subcharts).
    pub fn cached_sets(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }

    /// The parsed set for these templates, from the cache or parsed now.
    fn template_set(
        &self,
        order: &[String],
        renderables: &BTreeMap<String, Renderable<'_>>,
    ) -> Result<Templates, EngineError> {
        let key = order.join("\n");
        if let Some(set) = self.cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
            return Ok(set);
        }
        let mut set = Templates::new(crate::funcs::all());
        if let Some(lookup) = &self.lookup {
            set.set_lookup(lookup.clone());
        }
        for name in order {
            let text = String::from_utf8_lossy(renderables[name.as_str()].source);
            set.parse(name, &text)
                .map_err(|e| EngineError(errors::parse_error(name, e.message())))?;
        }
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= MAX_CACHED_SETS {
                cache.clear();
            }
            cache.insert(key, set.clone());
        }
        Ok(set)
    }
}

/// Helm's parse and execution order: most `/` first, then reverse byte order.
fn parse_order(renderables: &BTreeMap<String, Renderable<'_>>) -> Vec<String> {
    let mut names: Vec<String> = renderables.keys().cloned().collect();
    names.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    names
}

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Helm's `recAllTpls`: builds the data of `chart` and its subcharts, collects their templates,
/// and returns the chart's data (which its parent sees as `.Subcharts.<name>`).
fn collect_templates<'a>(
    chart: &'a Chart,
    parent_path: Option<&str>,
    parent_data: Option<&Value>,
    top: &TopValues,
    out: &mut BTreeMap<String, Renderable<'a>>,
) -> Value {
    let is_root = parent_path.is_none();
    let values = match parent_data {
        None => top.values.clone(),
        Some(parent) => subchart_values(parent, chart.name()),
    };
    let subcharts = Value::empty_map();
    let mut data = BTreeMap::new();
    data.insert("Chart".to_string(), chart.chart_object(is_root));
    data.insert(
        "Files".to_string(),
        Value::Object(Rc::new(chart.files_object())),
    );
    data.insert("Release".to_string(), top.release.clone());
    data.insert("Capabilities".to_string(), top.capabilities.clone());
    data.insert("Values".to_string(), values);
    data.insert("Subcharts".to_string(), subcharts.clone());
    let data = Value::map(data);

    let full_path = chart.full_path(parent_path);
    for child in &chart.dependencies {
        let child_data = collect_templates(child, Some(&full_path), Some(&data), top, out);
        if let Some(m) = subcharts.as_map() {
            m.borrow_mut().insert(child.name().to_string(), child_data);
        }
    }
    for template in &chart.templates {
        if !chart.renders_template(template) {
            continue;
        }
        out.insert(
            chart.template_path(parent_path, template),
            Renderable {
                source: &template.data,
                data: data.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    data
}

/// Helm's `Table("Values.<name>")` on the parent's data: the subchart's values map, shared with
/// the parent's, or a new empty map when there is none (the name is a dotted path, as in Helm).
fn subchart_values(parent_data: &Value, name: &str) -> Value {
    let mut table = parent_data
        .as_map()
        .and_then(|m| m.borrow().get("Values").cloned());
    for part in name.split('.') {
        table = table.and_then(|t| {
            t.as_map()
                .and_then(|m| m.borrow().get(part).cloned())
                .filter(|v| v.as_map().is_some())
        });
    }
    table.unwrap_or_else(Value::empty_map)
}
