//! The job board at `/admin/jobs`: queues and the latest failures, refreshed
//! every five seconds.

use minijinja::{Environment, context};
use tasker_jobs::JobStats;

const BOARD: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="5">
<title>tasker · jobs</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2937; }
table { border-collapse: collapse; margin-bottom: 2rem; }
th, td { border: 1px solid #d1d5db; padding: .35rem .7rem; text-align: right; }
th:first-child, td:first-child, td.text { text-align: left; }
th { background: #f3f4f6; }
td.failed { color: #b91c1c; font-weight: 600; }
code { font-size: 12px; }
</style>
</head>
<body>
<h1>Jobs</h1>
<p>Queue backend: <strong>{{ stats.backend }}</strong> · JSON: <a href="/admin/jobs/stats">/admin/jobs/stats</a></p>
<table>
<tr><th>queue</th><th>slots</th><th>pending</th><th>running</th><th>retrying</th><th>done</th><th>failed</th></tr>
{% for q in stats.queues %}
<tr><td>{{ q.queue }}</td><td>{{ q.capacity }}</td><td>{{ q.pending }}</td><td>{{ q.running }}</td><td>{{ q.retrying }}</td><td>{{ q.done }}</td><td class="{{ 'failed' if q.failed else '' }}">{{ q.failed }}</td></tr>
{% endfor %}
</table>
<h2>Latest failures</h2>
{% if stats.failed %}
<table>
<tr><th>job</th><th>queue</th><th>kind</th><th>attempts</th><th>last error</th></tr>
{% for run in stats.failed %}
<tr><td><code>{{ run.jobId }}</code></td><td class="text">{{ run.queue }}</td><td class="text">{{ run.kind }}</td><td>{{ run.attempts }}</td><td class="text">{{ run.lastError }}</td></tr>
{% endfor %}
</table>
{% else %}
<p>None.</p>
{% endif %}
</body>
</html>
"#;

/// The board as HTML; every value is escaped.
pub(crate) fn render(stats: &JobStats) -> Result<String, minijinja::Error> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.add_template("board.html", BOARD)?;
    env.get_template("board.html")?
        .render(context! { stats => minijinja::Value::from(minijinja::value::Serde(stats)) })
}
