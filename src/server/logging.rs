//! Log lines, on standard error, filtered by `TOLLGATE_LOG`: `--log-format
//! text` for people (as before), or `json` for log collectors: one JSON
//! object a line, from the first line to the last (a panic included).
//!
//! A JSON line is flat: `timestamp` (RFC 3339, UTC), `level`, `target`,
//! `message`, the event's fields, then the fields of the spans it happened
//! in: within a request, `request_id`, `method` and `route` (see
//! [`crate::server::request_id`]). tracing-subscriber's own JSON format
//! nests span fields under `span` / `spans`; flat, a collector filters on
//! `request_id` as on `level`.

use crate::server::config::LogFormat;
use serde_json::Value;
use std::fmt::{self, Write as _};
use std::io::IsTerminal;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// What is logged when `TOLLGATE_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_http=info";

/// Installs the process's subscriber; call once, before anything logs.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env("TOLLGATE_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => {
            builder
                .with_ansi(false)
                .fmt_fields(JsonFields::new())
                .event_format(JsonLines)
                .init();
            // The default hook would write a line of text.
            std::panic::set_hook(Box::new(|info| {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let payload = info.payload_as_str().unwrap_or("(not a string)");
                tracing::error!(panic = payload, location, "panicked");
            }));
        }
    }
}

/// The flat JSON lines described above. Span fields must be recorded by
/// [`JsonFields`] (any others are left out).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let timestamp = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|_| fmt::Error)?;
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut line = Line::default();
        line.push("timestamp", Value::String(timestamp));
        line.push("level", Value::from(meta.level().as_str()));
        // Records of the `log` crate name their target in a field.
        let target = fields.log_target.take();
        line.push(
            "target",
            Value::from(target.as_deref().unwrap_or(meta.target())),
        );
        // `message` next (tracing records it first; `log` records too).
        if let Some(i) = fields.values.iter().position(|(n, _)| *n == "message") {
            let (name, value) = fields.values.remove(i);
            line.push(name, value);
        }
        for (name, value) in fields.values {
            line.push(name, value);
        }
        // The innermost span first: its fields win over its parents'.
        if let Some(scope) = ctx.event_scope() {
            for span in scope {
                let extensions = span.extensions();
                let Some(recorded) = extensions.get::<FormattedFields<N>>() else {
                    continue;
                };
                if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&recorded.fields) {
                    for (name, value) in map {
                        line.push(name, value);
                    }
                }
            }
        }
        writeln!(writer, "{}", line.finish())
    }
}

/// A JSON object written in insertion order; a name already present is
/// not written again.
#[derive(Default)]
struct Line {
    out: String,
    names: Vec<String>,
}

impl Line {
    fn push(&mut self, name: impl Into<String>, value: Value) {
        let name = name.into();
        if self.names.contains(&name) {
            return;
        }
        self.out.push(if self.names.is_empty() { '{' } else { ',' });
        // A string and a `Value` always serialize.
        let _ = write!(self.out, "{}:{}", Value::String(name.clone()), value);
        self.names.push(name);
    }

    fn finish(mut self) -> String {
        if self.names.is_empty() {
            self.out.push('{');
        }
        self.out.push('}');
        self.out
    }
}

/// An event's fields, as JSON values, in their order.
#[derive(Default)]
struct Fields {
    values: Vec<(&'static str, Value)>,
    log_target: Option<String>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        match field.name() {
            "log.target" => self.log_target = value.as_str().map(str::to_string),
            // The rest of a `log` record's metadata: its module, file and line.
            name if name.starts_with("log.") => {}
            name => self.values.push((name, value)),
        }
    }
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::from(value));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, Value::from(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, Value::from(value));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::from(value.to_string()));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::MakeWriter;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// Each line written while `log` runs: as written, and parsed.
    fn lines(log: impl FnOnce()) -> Vec<(String, serde_json::Map<String, Value>)> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(buffer.clone())
            .with_ansi(false)
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| match serde_json::from_str(l) {
                Ok(Value::Object(map)) => (l.to_string(), map),
                other => panic!("not a JSON object: {l} ({other:?})"),
            })
            .collect()
    }

    #[test]
    fn lines_are_flat_json_objects_with_the_spans_fields() {
        let lines = lines(|| {
            tracing::info!("outside");
            let outer = tracing::info_span!("request", request_id = "r-1", route = "/go/x");
            let _outer = outer.enter();
            let inner = tracing::info_span!("inner", route = "/inner", depth = 2);
            let _inner = inner.enter();
            tracing::warn!(user = "alice", n = 3, ok = true, error = %"it \"broke\"\nbadly", "in a request");
        });
        assert_eq!(lines.len(), 2);
        let (_, first) = &lines[0];
        assert_eq!(first["message"], "outside");
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], module_path!());
        assert!(first["timestamp"].as_str().unwrap().ends_with('Z'));
        assert!(!first.contains_key("request_id"));

        let (raw, second) = &lines[1];
        // The fixed names first, in this order.
        let at = |name: &str| raw.find(&format!("\"{name}\":")).unwrap();
        assert_eq!(at("timestamp"), 1);
        assert!(at("timestamp") < at("level"));
        assert!(at("level") < at("target"));
        assert!(at("target") < at("message"));
        assert!(at("message") < at("user"));
        assert!(at("user") < at("request_id"));
        assert_eq!(second["level"], "WARN");
        assert_eq!(second["message"], "in a request");
        assert_eq!(second["user"], "alice");
        assert_eq!(second["n"], 3);
        assert_eq!(second["ok"], true);
        assert_eq!(second["error"], "it \"broke\"\nbadly");
        assert_eq!(second["request_id"], "r-1");
        assert_eq!(second["depth"], 2);
        // The innermost span's value wins.
        assert_eq!(second["route"], "/inner");
    }
}
