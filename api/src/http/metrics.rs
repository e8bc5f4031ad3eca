//! Prometheus metrics: request counts and latency by route template and status.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};

/// Metrics of one running app (not global, so tests can run many apps at once).
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let labels = &["method", "route", "status"];
        let requests = IntCounterVec::new(
            Opts::new("pingjia_http_requests_total", "HTTP requests served"),
            labels,
        )
        .expect("static metric definition");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "pingjia_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            labels,
        )
        .expect("static metric definition");
        registry
            .register(Box::new(requests.clone()))
            .expect("metric registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("metric registered once");
        Self {
            registry,
            requests,
            latency,
        }
    }

    /// Adds metrics kept elsewhere (the answer writer's) to the exposition.
    pub fn register(&self, collector: Box<dyn prometheus::core::Collector>) {
        if let Err(e) = self.registry.register(collector) {
            tracing::error!(error = %e, "metric not registered");
        }
    }

    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let status = status.to_string();
        let labels = [method, route, status.as_str()];
        self.requests.with_label_values(&labels).inc();
        self.latency.with_label_values(&labels).observe(seconds);
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "cannot encode metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }
}

/// Maps request paths to route templates (`/api/v1/agencies/{id}`), so metrics
/// labels stay few and carry no identifiers.
#[derive(Debug, Clone, Default)]
pub struct RouteTemplates {
    /// Templates by their number of segments; within each, most literal segments
    /// first, so the first match is the best one.
    by_length: Vec<Vec<Template>>,
}

/// One template's segments (`None` for a `{param}`) and its label.
#[derive(Debug, Clone)]
struct Template {
    segments: Vec<Option<String>>,
    label: std::sync::Arc<str>,
}

/// The most segments a path is matched on; longer paths are `unmatched`.
const MAX_SEGMENTS: usize = 16;

impl RouteTemplates {
    pub fn new<I: IntoIterator<Item = String>>(paths: I) -> Self {
        let mut by_length: Vec<Vec<Template>> = Vec::new();
        for path in paths {
            let segments: Vec<Option<String>> = path
                .split('/')
                .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                .collect();
            if segments.len() > MAX_SEGMENTS {
                continue;
            }
            if by_length.len() <= segments.len() {
                by_length.resize(segments.len() + 1, Vec::new());
            }
            by_length[segments.len()].push(Template {
                segments,
                label: path.into(),
            });
        }
        for templates in &mut by_length {
            templates.sort_by_key(|t| std::cmp::Reverse(t.segments.iter().flatten().count()));
        }
        Self { by_length }
    }

    /// The best-matching template (most literal segments), or `unmatched`. Called on
    /// every request: the path is split once, only templates of its length are tried,
    /// and nothing is allocated.
    pub fn label(&self, path: &str) -> std::sync::Arc<str> {
        let mut parts = [""; MAX_SEGMENTS];
        let mut count = 0;
        for part in path.split('/') {
            if count == MAX_SEGMENTS {
                return "unmatched".into();
            }
            parts[count] = part;
            count += 1;
        }
        let parts = &parts[..count];
        self.by_length
            .get(count)
            .into_iter()
            .flatten()
            .find(|t| {
                t.segments.iter().zip(parts).all(|(t, s)| match t {
                    Some(literal) => literal == s,
                    None => !s.is_empty(),
                })
            })
            .map_or_else(|| "unmatched".into(), |t| t.label.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_prefer_literal_segments() {
        let t = RouteTemplates::new([
            "/a/{id}".to_owned(),
            "/a/search".to_owned(),
            "/b".to_owned(),
        ]);
        assert_eq!(&*t.label("/a/7"), "/a/{id}");
        assert_eq!(&*t.label("/a/search"), "/a/search");
        assert_eq!(&*t.label("/b"), "/b");
        assert_eq!(&*t.label("/nope"), "unmatched");
        assert_eq!(&*t.label("/a/"), "unmatched");
        assert_eq!(&*t.label("/a/7/x"), "unmatched");
        assert_eq!(&*t.label(&"/a".repeat(40)), "unmatched");
    }
}
