// Old vs new pipeline over time: polls rollout-status and appends points to small SVG line charts.
import { el } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 120, PAD = 26;
const METRICS = [
  ["successRate", "Success rate", (v) => `${(v * 100).toFixed(1)}%`],
  ["errorRate", "Error rate", (v) => `${(v * 100).toFixed(1)}%`],
  ["p95Ms", "p95 latency (ms)", (v) => `${Math.round(v)} ms`],
  ["fallbacks", "Fallbacks", (v) => String(Math.round(v))],
];
const MAX_POINTS = 120;
const history = new Map(); // flag -> [{ t, old, new }]

const svg = (tag, attrs) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

/** Records one rollout-status answer. */
export function record(status) {
  const t = Date.parse(status.at);
  for (const f of status.flags) {
    const h = history.get(f.key) ?? [];
    h.push({ t, old: f.old, new: f.new, decision: f.lastDecision });
    if (h.length > MAX_POINTS) h.shift();
    history.set(f.key, h);
  }
}

function line(points, pick, x, y, cls) {
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(p.t).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(" ");
  return svg("path", { d, fill: "none", stroke: "currentColor", "stroke-width": 2, class: cls });
}

function chart(points, key, title, fmt) {
  const vals = points.flatMap((p) => [p.old?.[key], p.new?.[key]]).map((v) => Number(v ?? 0));
  const max = Math.max(key.endsWith("Rate") ? 1 : 1e-9, ...vals);
  const t0 = points[0].t, t1 = Math.max(points[points.length - 1].t, t0 + 1);
  const x = (t) => PAD + ((t - t0) / (t1 - t0)) * (W - PAD - 6);
  const y = (v) => H - 16 - (Number(v ?? 0) / max) * (H - 28);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  s.append(svg("line", { x1: PAD, y1: H - 16, x2: W - 6, y2: H - 16, stroke: "#9aa4b2" }));
  const top = svg("text", { x: 2, y: 14, "font-size": 10, fill: "#555" });
  top.textContent = fmt(max);
  s.append(top);
  s.append(line(points, (p) => p.old?.[key], x, y, "old"), line(points, (p) => p.new?.[key], x, y, "new"));
  const last = points[points.length - 1];
  const cap = el(
    "figcaption",
    {},
    title,
    " — old ",
    fmt(Number(last.old?.[key] ?? 0)),
    ", new ",
    fmt(Number(last.new?.[key] ?? 0)),
  );
  return el("figure", {}, cap, s);
}

/** Draws the charts and the latest decision of `flag` into the given containers. */
export function draw(flag, box, decisionBox, statusFlag) {
  const points = history.get(flag) ?? [];
  if (points.length === 0) {
    box.replaceChildren(el("p", {}, "No data yet."));
  } else {
    box.replaceChildren(
      ...METRICS.map(([k, title, fmt]) => chart(points, k, title, fmt)),
      el(
        "p",
        { className: "legend" },
        el("span", { className: "old" }, "━ old pipeline"),
        el("span", { className: "new" }, "━ new pipeline"),
        el(
          "span",
          {},
          `${points.length} samples; calls old ${statusFlag?.old?.calls ?? 0}, new ${statusFlag?.new?.calls ?? 0}`,
        ),
      ),
    );
  }
  const d = statusFlag?.lastDecision;
  decisionBox.replaceChildren(
    d
      ? el(
        "p",
        {},
        el("strong", {}, "Latest decision: "),
        `${d.action} (${d.fromRollout ?? "–"}% → ${d.toRollout ?? "–"}%) at ${new Date(d.at).toLocaleString()}`,
        el(
          "ul",
          {},
          ...(Array.isArray(d.reasons) ? d.reasons : [d.reasons]).filter((r) => r !== null && r !== undefined)
            .map((r) => el("li", {}, typeof r === "string" ? r : JSON.stringify(r))),
        ),
      )
      : el("p", {}, "No guard decision recorded for this flag yet."),
  );
}
