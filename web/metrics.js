// Reading the Prometheus text format (/metrics) in the page: samples by
// name, and quantiles from a histogram's cumulative buckets the way
// Prometheus' histogram_quantile() estimates them (linear within a bucket).

// Text -> Map(name -> [{labels, value}]).
export function parsePrometheus(text) {
  const samples = new Map();
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const l of m[3].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
        labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
      }
    }
    const value = m[4] === "+Inf" ? Infinity : m[4] === "-Inf" ? -Infinity : Number(m[4]);
    if (!samples.has(m[1])) samples.set(m[1], []);
    samples.get(m[1]).push({ labels, value });
  }
  return samples;
}

// The first sample's value of `name` whose labels include `match`, or NaN.
export function value(samples, name, match = {}) {
  for (const s of samples.get(name) || []) {
    if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) return s.value;
  }
  return NaN;
}

// A histogram's cumulative buckets: [{le, count}] in ascending order, +Inf last.
// Only the server-wide series: per-model ones carry a `model` label.
export function buckets(samples, name) {
  return (samples.get(name + "_bucket") || [])
    .filter((s) => s.labels.model === undefined)
    .map((s) => ({ le: s.labels.le === "+Inf" ? Infinity : Number(s.labels.le), count: s.value }))
    .sort((a, b) => a.le - b.le);
}

// The buckets observed between `before` and `after` (both cumulative).
export function bucketDelta(after, before) {
  if (!before || before.length !== after.length) return after;
  return after.map((b, i) => ({ le: b.le, count: b.count - before[i].count }));
}

// The q-quantile (0..1) of cumulative buckets, or NaN with no observations.
export function quantile(q, cumulative) {
  if (cumulative.length === 0) return NaN;
  const total = cumulative[cumulative.length - 1].count;
  if (!(total > 0)) return NaN;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const b of cumulative) {
    if (b.count >= rank) {
      // In the +Inf bucket the best estimate is the highest finite bound.
      if (b.le === Infinity) return lower;
      const inBucket = b.count - below;
      return inBucket > 0 ? lower + ((b.le - lower) * (rank - below)) / inBucket : b.le;
    }
    lower = b.le;
    below = b.count;
  }
  return lower;
}
