// The server page: polls /metrics and /health each second, shows the
// numbers now, latency percentiles over the last five minutes (from the
// histograms' buckets) and charts of the same window.
import { apiFetch } from "./api.js";
import { drawChart } from "./charts.js";
import { bucketDelta, buckets, parsePrometheus, quantile, value } from "./metrics.js";

const $ = (id) => document.getElementById(id);
const WINDOW_MS = 5 * 60 * 1000;
const history = [];  // [{t, tpsIn, tpsOut, running, queued, kvUsed, kvCached, memory, ttft, itl}]

function bytes(n) {
  if (!Number.isFinite(n)) return "–";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

function number(n, digits = 0) {
  return Number.isFinite(n) ? n.toFixed(digits) : "–";
}

function seconds(s) {
  if (!Number.isFinite(s)) return "–";
  return s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 1 : 0)} ms` : `${s.toFixed(2)} s`;
}

function duration(s) {
  if (!Number.isFinite(s)) return "–";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${sec}s` : `${sec}s`;
}

function setText(id, text) {
  const node = $(id);
  if (node.textContent !== text) node.textContent = text;
}

// Percentiles of what a histogram observed since the oldest kept sample.
function showLatency(prefix, now, oldest) {
  const observed = bucketDelta(now, oldest);
  const count = observed.length ? observed[observed.length - 1].count : 0;
  setText(prefix + "-p50", seconds(quantile(0.5, observed)));
  setText(prefix + "-p90", seconds(quantile(0.9, observed)));
  setText(prefix + "-p99", seconds(quantile(0.99, observed)));
  setText(prefix + "-n", String(count));
}

function show(samples, health) {
  const now = Date.now();
  const point = {
    t: now,
    tpsIn: value(samples, "pensieve_prefill_tokens_per_second"),
    tpsOut: value(samples, "pensieve_decode_tokens_per_second"),
    running: value(samples, "pensieve_sequences_running"),
    queued: value(samples, "pensieve_sequences_queued"),
    kvUsed: value(samples, "pensieve_kv_blocks_used"),
    kvCached: value(samples, "pensieve_kv_blocks_cached"),
    kvTotal: value(samples, "pensieve_kv_blocks_capacity"),
    memory: value(samples, "process_resident_memory_bytes"),
    ttft: buckets(samples, "pensieve_time_to_first_token_seconds"),
    itl: buckets(samples, "pensieve_inter_token_latency_seconds"),
  };
  history.push(point);
  while (history.length && now - history[0].t > WINDOW_MS) history.shift();

  const info = (samples.get("pensieve_build_info") || [{ labels: {} }])[0].labels;
  setText("model", info.model || health.model || "–");
  setText("kernels", info.kernels || "–");
  setText("version", [info.version, info.commit].filter(Boolean).join(" · ") || "–");
  setText("context", `${number(value(samples, "pensieve_context_tokens"))} tokens × ` +
    `${number(value(samples, "pensieve_parallel_sequences"))} sequences`);
  setText("uptime", duration(value(samples, "pensieve_uptime_seconds")));

  setText("tps-in", number(point.tpsIn, 1));
  setText("tps-out", number(point.tpsOut, 1));
  setText("running", number(point.running));
  setText("queued", number(point.queued));
  setText("kv-used", `${number(point.kvUsed)} / ${number(point.kvTotal)}`);
  setText("kv-cached", number(point.kvCached));
  setText("memory", bytes(point.memory));
  setText("generated", number(value(samples, "pensieve_generated_tokens_total")));

  // The oldest sample in the window (not this one, unless it is alone) is
  // the baseline the percentiles count from.
  const oldest = history.length > 1 ? history[0] : null;
  setText("latency-window", oldest
    ? `over the last ${duration(Math.round((now - oldest.t) / 1000))}`
    : "since the server started");
  showLatency("ttft", point.ttft, oldest?.ttft);
  showLatency("itl", point.itl, oldest?.itl);

  const series = (key) => history.map((p) => [p.t, p[key]]);
  // The time axis grows with the history, from a minute up to five, so a
  // fresh page does not squeeze its first points into the right edge.
  const span = Math.min(WINDOW_MS, Math.max(60 * 1000, now - history[0].t));
  const options = { now, windowMs: span };
  const charts = [
    ["tps", [series("tpsIn"), series("tpsOut")], (v) => number(v, 1)],
    ["seq", [series("running"), series("queued")], (v) => number(v)],
    ["kv", [series("kvUsed"), series("kvCached")], (v) => number(v)],
    ["mem", [series("memory")], bytes],
  ];
  for (const [id, lines, format] of charts) {
    const max = drawChart($("chart-" + id), lines.map((points, i) => ({
      points, className: i === 0 ? "in" : "out",
    })), options);
    setText("scale-" + id, "max " + format(max));
  }
}

async function tick() {
  try {
    const [metrics, health] = await Promise.all([
      apiFetch("/metrics").then((r) => r.text()),
      apiFetch("/health").then((r) => r.json()),
    ]);
    show(parsePrometheus(metrics), health);
    $("error").hidden = true;
    setText("state", "live");
    $("state").className = "state live";
  } catch (err) {
    $("error").textContent = err.message;
    $("error").hidden = false;
    setText("state", "offline");
    $("state").className = "state offline";
  } finally {
    setTimeout(tick, 1000);
  }
}

tick();
