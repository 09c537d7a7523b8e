// Old vs new pipeline, drawn from the server's data: GET /rollout-status?flag=KEY&hours=24 answers
// requests, errors, p95 and cost per conversation per hour and pipeline (from ai_usage_logs), the
// top error codes, every guard threshold with its measured value and state, the cutover check and
// the guard's last decision. Nothing is kept between polls: a reload shows the same charts.
import { api, el } from "./api.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 300, H = 120, PAD = 26;
const HOURS = 24;
const pct = (v) => `${(v * 100).toFixed(1)}%`;
const METRICS = [
  ["calls", "Requests per hour", (p) => p.calls, (v) => String(Math.round(v))],
  ["errorRate", "Error rate", (p) => (p.calls ? p.errors / p.calls : 0), pct],
  ["p95Ms", "p95 latency (ms)", (p) => p.p95Ms, (v) => `${Math.round(v)} ms`],
  ["cost", "Cost per conversation (USD)", (p) => p.costPerConversation, (v) => `$${v.toFixed(4)}`],
];

const svg = (tag, attrs) => {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
};

function line(points, pick, x, y, cls) {
  const d = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(" ");
  return svg("path", { d, fill: "none", stroke: "currentColor", "stroke-width": 2, class: cls });
}

function chart(hourly, title, pick, fmt, rate) {
  const vals = hourly.flatMap((h) => [pick(h.old), pick(h.new)]).map((v) => Number(v ?? 0));
  const max = Math.max(rate ? 1 : 1e-9, ...vals);
  const x = (i) => PAD + (i / Math.max(hourly.length - 1, 1)) * (W - PAD - 6);
  const y = (v) => H - 16 - (Number(v ?? 0) / max) * (H - 28);
  const s = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title });
  s.append(svg("line", { x1: PAD, y1: H - 16, x2: W - 6, y2: H - 16, stroke: "#9aa4b2" }));
  const top = svg("text", { x: 2, y: 14, "font-size": 10, fill: "#555" });
  top.textContent = fmt(max);
  s.append(top, line(hourly, (h) => pick(h.old), x, y, "old"), line(hourly, (h) => pick(h.new), x, y, "new"));
  const last = hourly[hourly.length - 1];
  return el(
    "figure",
    {},
    el("figcaption", {}, title, " — this hour: old ", fmt(pick(last.old)), ", new ", fmt(pick(last.new))),
    s,
  );
}

function fmtThreshold(code, v) {
  if (v === null || v === undefined) return "–";
  if (/RATE/.test(code) && code !== "ERROR_RATE_VS_OLD") return pct(v);
  if (code === "ERROR_RATE_VS_OLD") return `${(v * 100).toFixed(1)} pts`;
  if (/COST_PER/.test(code)) return `$${v.toFixed(3)}`;
  if (/P95/.test(code)) return `${Math.round(v)} ms`;
  return String(Math.round(v * 1000) / 1000);
}

function thresholdsTable(checks) {
  return el(
    "table",
    { id: "thresholds" },
    el("thead", {}, el("tr", {}, ...["Check", "Measured", "Warning", "Critical", "State"].map((h) => el("th", {}, h)))),
    el(
      "tbody",
      {},
      ...checks.map((c) =>
        el(
          "tr",
          { "data-check": c.code, "data-state": c.state },
          el("td", {}, c.code),
          el("td", {}, c.state === "no_data" ? "–" : fmtThreshold(c.code, c.value)),
          el("td", {}, fmtThreshold(c.code, c.warning)),
          el("td", {}, fmtThreshold(c.code, c.critical)),
          el("td", { className: c.state === "ok" ? "on" : c.state === "no_data" ? "" : "off" }, c.state),
        )
      ),
    ),
  );
}

/** Fetches `flag`'s status and views and draws them into the given containers. */
export async function drawFlag(flag, box, decisionBox) {
  if (!flag) return;
  const status = await api(`/rollout-status?flag=${encodeURIComponent(flag)}&hours=${HOURS}`);
  const f = status.flags[0];
  const hourly = status.views.hourly;
  const calls = (p) => hourly.reduce((n, h) => n + h[p].calls, 0);
  box.replaceChildren(
    ...METRICS.map(([, title, pick, fmt]) => chart(hourly, title, pick, fmt, title === "Error rate")),
    el(
      "p",
      { className: "legend" },
      el("span", { className: "old" }, "━ old pipeline"),
      el("span", { className: "new" }, "━ new pipeline"),
      el(
        "span",
        { id: "views-summary" },
        `${hourly.length} hourly points from the server; calls old ${calls("old")}, new ${calls("new")}`,
      ),
    ),
    el("h3", {}, "Thresholds (guard window)"),
    el("div", { className: "scroll" }, thresholdsTable(f.guard.checks)),
    el("h3", {}, "Top error codes"),
    status.views.topErrors.length
      ? el(
        "ul",
        { id: "top-errors" },
        ...status.views.topErrors.map((e) => el("li", {}, el("code", {}, e.code), ` ${e.pipeline}: ${e.count}`)),
      )
      : el("p", { id: "top-errors" }, "No errors in the last 24 hours."),
    el(
      "p",
      { id: "cutover" },
      el("strong", {}, "Cutover check: "),
      !f.cutover.required
        ? "not required (no shadow comparisons)"
        : f.cutover.ok
        ? `passes on ${f.cutover.summary.samples} comparisons`
        : `fails: ${f.cutover.reasons.map((r) => r.message).join("; ")}`,
    ),
  );
  const d = f.lastDecision;
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
            .map((r) =>
              el("li", {}, typeof r === "string" ? r : `${r.code}${r.level ? ` (${r.level})` : ""}: ${r.message}`)
            ),
        ),
      )
      : el("p", {}, "No guard decision recorded for this flag yet."),
  );
}
