// The alerts view: GET /flags-admin/alerts (newest first, filtered by level and acknowledgement),
// each with where it was delivered, and an Acknowledge button (POST /flags-admin/alerts/<id>/ack).
import { api, el } from "./api.js";

function delivered(a) {
  if (!a.deliveries.length) return "no destination";
  return a.deliveries.map((d) =>
    d.deliveredAt
      ? `${d.name}: delivered`
      : d.givenUpAt
      ? `${d.name}: gave up (${d.lastError ?? "error"})`
      : `${d.name}: retrying (${d.attempts} tries${d.lastError ? `, ${d.lastError}` : ""})`
  ).join("; ");
}

/** Loads the alerts the form `filters` asks for into `body` (a tbody); `onError` reports failures. */
export async function loadAlerts(filters, body, onError) {
  const f = filters.elements;
  const q = new URLSearchParams({ limit: "50" });
  if (f.level.value) q.set("level", f.level.value);
  if (f.open.checked) q.set("acknowledged", "false");
  const out = await api(`/flags-admin/alerts?${q}`);
  body.replaceChildren(
    ...out.alerts.map((a) =>
      el(
        "tr",
        { "data-alert": a.id, "data-kind": a.kind, className: a.severity },
        el("td", {}, new Date(a.at).toLocaleString()),
        el("td", { className: a.severity === "critical" ? "off" : "" }, a.severity),
        el("td", {}, el("code", {}, a.kind)),
        el("td", {}, a.flag ?? ""),
        el("td", {}, a.message),
        el("td", {}, delivered(a)),
        el(
          "td",
          {},
          a.acknowledgedAt ? `${a.acknowledgedBy} ${new Date(a.acknowledgedAt).toLocaleString()}` : el("button", {
            type: "button",
            "data-action": "ack",
            "aria-label": `Acknowledge alert ${a.id} (${a.kind})`,
            onclick: async () => {
              try {
                await api(`/flags-admin/alerts/${a.id}/ack`, { method: "POST", body: {} });
                await loadAlerts(filters, body, onError);
              } catch (e) {
                onError(e);
              }
            },
          }, "Acknowledge"),
        ),
      )
    ),
  );
  if (!out.alerts.length) body.append(el("tr", {}, el("td", { colSpan: 7 }, "No alerts.")));
}
