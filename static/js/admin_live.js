// The admin Live page: polls the JSON snapshot and updates the tiles, the chart and the tables.
// Everything is written with textContent / setAttribute: no HTML is ever built from data.

const SVG_NS = "http://www.w3.org/2000/svg";
// gettext/interpolate come from the JavaScript catalog (/jsi18n/) the page loads first.
const { gettext, interpolate } = globalThis;

function show(root, name, text) {
  const el = root.querySelector(`[data-live="${name}"]`);
  if (el) el.textContent = text;
}

const dash = (value, format = (v) => String(v)) => (value === null || value === undefined ? "—" : format(value));

function renderChart(svg, chart) {
  svg.setAttribute("viewBox", `0 0 ${chart.width} ${chart.height}`);
  svg.replaceChildren(
    ...chart.bars.map((bar) => {
      const rect = document.createElementNS(SVG_NS, "rect");
      for (const attr of ["x", "y", "width", "height"]) rect.setAttribute(attr, String(bar[attr]));
      const title = document.createElementNS(SVG_NS, "title");
      title.textContent = String(bar.matches);
      rect.append(title);
      return rect;
    }),
  );
}

function row(cells, colspan) {
  const tr = document.createElement("tr");
  for (const text of cells) {
    const td = document.createElement("td");
    td.textContent = text;
    if (colspan && cells.length === 1) td.colSpan = colspan;
    tr.append(td);
  }
  return tr;
}

function render(root, data) {
  show(root, "updated", new Date(data.generated_at * 1000).toLocaleTimeString());
  for (const name of ["online", "waiting", "in_call", "matches_last_minute", "matches_last_hour", "failed_tasks", "open_reports"]) {
    show(root, name, dash(data[name]));
  }
  show(root, "median_wait_seconds", dash(data.median_wait_seconds, (v) => `${v.toFixed(1)} s`));
  show(root, "cache_hit_ratio", dash(data.cache_hit_ratio, (v) => `${Math.round(v * 100)} %`));
  show(root, "celery_queued", dash(data.celery && data.celery.queued));
  show(root, "celery_unacked", dash(data.celery && data.celery.unacked));
  show(root, "chart_peak", String(data.chart.peak));
  const svg = root.querySelector('[data-live="chart"]');
  if (svg) renderChart(svg, data.chart);

  const redis = root.querySelector('[data-live="redis"]');
  if (redis) {
    redis.replaceChildren(
      ...Object.entries(data.redis_memory).map(([role, info]) =>
        info ? row([role, info.used_human, info.max_human, info.policy]) : row([role, gettext("down")]),
      ),
    );
  }
  const failures = root.querySelector('[data-live="failures"]');
  if (failures) {
    const rows = data.recent_failures.map((f) =>
      row([f.task, f.error, new Date(f.at * 1000).toLocaleString()]),
    );
    failures.replaceChildren(...(rows.length ? rows : [row([gettext("none")], 3)]));
  }
}

async function poll(root) {
  try {
    const response = await fetch(root.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    render(root, await response.json());
    show(root, "error", "");
  } catch (error) {
    show(root, "error", interpolate(gettext("(refresh failed: %(reason)s)"), { reason: error.message }, true));
  }
}

const root = document.getElementById("live");
if (root) {
  const every = Math.max(1, Number(root.dataset.refresh || 5)) * 1000;
  setInterval(() => poll(root), every);
}
