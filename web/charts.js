// Small line charts drawn as SVG by hand: one polyline per series over a
// fixed time window, scaled to the largest value seen in it.

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 300;
const HEIGHT = 80;

function svgNode(tag, attributes) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attributes)) node.setAttribute(k, String(v));
  return node;
}

// Draws `series` ([{points: [[t, v], ...], className}]) into `svg` for the
// `windowMs` milliseconds up to `now`. Returns the largest value shown, for
// a scale label outside the SVG (text inside would stretch with the chart).
export function drawChart(svg, series, { now, windowMs }) {
  let max = 0;
  for (const s of series) {
    for (const [, v] of s.points) if (Number.isFinite(v)) max = Math.max(max, v);
  }
  const top = max > 0 ? max * 1.1 : 1;
  const x = (t) => WIDTH - ((now - t) / windowMs) * WIDTH;
  const y = (v) => HEIGHT - (v / top) * (HEIGHT - 4);
  svg.replaceChildren();
  for (const frac of [0.25, 0.5, 0.75]) {
    svg.appendChild(svgNode("line", {
      x1: 0, x2: WIDTH, y1: HEIGHT * frac, y2: HEIGHT * frac, class: "grid",
    }));
  }
  for (const s of series) {
    const points = s.points
      .filter(([t, v]) => Number.isFinite(v) && now - t <= windowMs)
      .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join(" ");
    svg.appendChild(svgNode("polyline", { points, class: "line " + s.className }));
  }
  return max;
}
