// trimtab admin dashboard: sign-in (session.js), flags + staged ramps, emergency rollback, overrides,
// audit, alerts, old-vs-new charts from the server's hourly views and "who is in?". Plain modules, no
// build step.
import { loadAlerts } from "./alerts.js";
import { api, ApiError, el, pct } from "./api.js";
import * as session from "./session.js";
import { drawFlag } from "./charts.js";
import { whoIsIn } from "./who.js";

const $ = (id) => document.getElementById(id);
const POLL_MS = Number(new URLSearchParams(location.search).get("poll") ?? 5000);
let flags = [];
let pollTimer = null;

const say = (text) => {
  $("status").textContent = text;
};
const fail = (e) => say(`Error: ${e instanceof ApiError ? `${e.code}: ${e.message}` : e.message}`);

// ---------------------------------------------------------------- sign-in

async function enter() {
  try {
    await api("/flags-admin/flags");
  } catch (e) {
    await session.signOut();
    $("signin-msg").textContent = e.status === 401 || e.status === 403
      ? "That token is not an admin token (or it expired)."
      : `Could not sign in: ${e.message}`;
    return;
  }
  $("signin").hidden = true;
  $("dash").hidden = false;
  $("signout").hidden = false;
  $("signin-msg").textContent = "";
  await refreshAll();
  poll();
  $("flags").querySelector("button")?.focus();
}

function leave() {
  clearTimeout(pollTimer);
  $("dash").hidden = true;
  $("signout").hidden = true;
  $("signin").hidden = false;
}

$("signin-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const t = $("token").value.trim();
  $("token").value = "";
  session.signInWithToken(t);
  enter();
});
$("password-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    await session.signInWithPassword($("email").value.trim(), $("password").value);
  } catch (e) {
    $("signin-msg").textContent = `Could not sign in: ${e.message}`;
    return;
  } finally {
    $("password").value = "";
  }
  enter();
});
$("settings-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  try {
    session.saveSettings({ url: $("project-url").value, publishableKey: $("project-key").value });
    $("settings-msg").textContent = `Saved: ${session.settings().url}`;
  } catch (e) {
    $("settings-msg").textContent = e.message;
  }
});
$("project-url").value = session.settings().url;
$("project-key").value = session.settings().publishableKey;
session.onSignedOut(() => {
  leave();
  $("signin-msg").textContent = "Your session ended; sign in again.";
});
$("signout").addEventListener("click", async () => {
  await session.signOut();
  leave();
  $("token").focus();
});

// ---------------------------------------------------------------- flags and ramps

/** The rollout the engine serves now: a schedule's latest elapsed step wins over the stored one. */
const effective = (f) => f.effectiveRollout ?? f.rollout;

function stageOf(f) {
  if (!f.stages?.length) return null;
  let index = -1;
  f.stages.forEach((s, i) => {
    if (s <= effective(f)) index = i;
  });
  return { index, total: f.stages.length };
}

function stateOf(f) {
  if (f.adminOverride === "off") return ["off (rolled back)", "off"];
  if (f.adminOverride === "on") return ["on (forced)", "on"];
  return f.enabled ? ["enabled", "on"] : ["disabled", "off"];
}

function renderFlags() {
  const body = $("flags").tBodies[0];
  body.replaceChildren(...flags.map((f) => {
    const st = stageOf(f);
    const [state, cls] = stateOf(f);
    const next = st && st.index + 1 < st.total ? f.stages[st.index + 1] : null;
    const ramp = el("td");
    if (f.stages?.length) {
      const sel = el(
        "select",
        { "aria-label": `target stage for ${f.key}`, name: "target" },
        ...f.stages.map((s) => el("option", { value: String(s), selected: s === effective(f) }, `${s}%`)),
      );
      ramp.append(
        el(
          "div",
          { className: "row" },
          el("button", {
            type: "button",
            className: "primary",
            disabled: next === null,
            "data-action": "next",
            "aria-label": `Next stage for ${f.key}`,
            onclick: () => ramp_(f, next, false),
          }, next === null ? "Last stage" : `Next stage → ${next}%`),
          sel,
          el("button", {
            type: "button",
            "data-action": "set",
            "aria-label": `Set ${f.key} to the selected stage`,
            onclick: () => ramp_(f, Number(sel.value), false),
          }, "Set"),
        ),
      );
    } else ramp.append("no stages");
    return el(
      "tr",
      { "data-flag": f.key },
      el("td", {}, el("code", {}, f.key)),
      el("td", { className: cls }, state),
      el("td", {}, !st ? "–" : st.index < 0 ? `before 1 / ${st.total}` : `${st.index + 1} / ${st.total}`),
      el(
        "td",
        {
          className: "pct",
          title: effective(f) === f.rollout ? "" : `stored ${pct(f.rollout)}; a schedule step governs`,
        },
        effective(f) === f.rollout ? pct(f.rollout) : `${pct(effective(f))} (schedule)`,
      ),
      ramp,
      el(
        "td",
        {},
        el("button", {
          type: "button",
          className: "danger",
          "data-action": "rollback",
          "aria-label": `Emergency rollback of ${f.key}`,
          onclick: () => rollback({ flag: f.key }),
        }, "Roll back"),
      ),
    );
  }));
  const keys = flags.map((f) => f.key);
  for (const [id, first] of [["audit-flag", [["", "all flags"]]], ["chart-flag", []]]) {
    const s = $(id), cur = s.value;
    s.replaceChildren(
      ...first.map(([v, t]) => el("option", { value: v }, t)),
      ...keys.map((k) => el("option", { value: k }, k)),
    );
    s.value = keys.includes(cur) || (cur === "" && first.length)
      ? cur
      : (keys.includes("phoenix_pipeline_enabled") ? "phoenix_pipeline_enabled" : keys[0] ?? "");
  }
  const of = $("ov-form").elements.flag, curOv = of.value;
  of.replaceChildren(...keys.map((k) => el("option", { value: k }, k)));
  if (keys.includes(curOv)) of.value = curOv;
}

async function loadFlags() {
  const out = await api("/flags-admin/flags");
  flags = out.flags;
  renderFlags();
  say(`Config version ${out.version}, ${flags.length} flags.`);
}

async function ramp_(f, to, force, reason) {
  const msg = $("ramp-msg");
  msg.replaceChildren();
  try {
    const out = await api(`/flags-admin/flags/${encodeURIComponent(f.key)}`, {
      method: "PATCH",
      body: { rollout: to, ...(force ? { force: true, reason } : {}) },
    });
    msg.append(
      el("p", {}, `${f.key}: ${pct(effective(f))} → ${pct(effective(out.flag))}${out.forced ? " (forced)" : ""}.`),
    );
    await Promise.all([loadFlags(), loadAudit()]);
  } catch (e) {
    if (e instanceof ApiError && e.code === "RAMP_SKIPS_STAGE") return refusedSkip(f, to, e);
    msg.append(el("p", {}, `Ramp of ${f.key} failed: ${e.code ?? ""} ${e.message}`));
  }
}

function refusedSkip(f, to, e) {
  const skipped = e.body.skipped;
  const reason = el("input", {
    name: "force-reason",
    required: true,
    autocomplete: "off",
    "aria-label": "Reason for forcing",
  });
  const form = el(
    "form",
    { className: "row", id: "force-form" },
    el("label", {}, "Reason (required to force)", reason),
    el("button", { type: "submit", className: "danger" }, `Force ${f.key} to ${to}%`),
    el("button", { type: "button", onclick: () => $("ramp-msg").replaceChildren() }, "Cancel"),
  );
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    if (!reason.value.trim()) {
      reason.focus();
      return;
    }
    ramp_(f, to, true, reason.value.trim());
  });
  $("ramp-msg").replaceChildren(
    el(
      "p",
      { id: "skip-explain" },
      el("strong", {}, "Refused: "),
      `moving ${f.key} from ${pct(effective(f))} to ${pct(to)} skips the ${
        skipped === undefined ? "intermediate" : pct(skipped)
      } stage. `,
      "Ramps move one stage at a time; use “Next stage”, or force the jump with a reason (it is audited).",
    ),
    form,
  );
  reason.focus();
}

// ---------------------------------------------------------------- emergency rollback

const dialog = $("confirm");
function confirmWithReason(text) {
  return new Promise((resolve) => {
    $("confirm-text").textContent = text;
    $("confirm-reason").value = "";
    $("confirm-msg").textContent = "";
    const done = (v) => {
      cleanup();
      dialog.close();
      resolve(v);
    };
    const onSubmit = (ev) => {
      ev.preventDefault();
      const r = $("confirm-reason").value.trim();
      if (!r) {
        $("confirm-msg").textContent = "A reason is required.";
        $("confirm-reason").focus();
        return;
      }
      done(r);
    };
    const onCancel = () => done(null);
    const onEsc = (ev) => {
      ev.preventDefault();
      done(null);
    };
    const cleanup = () => {
      $("confirm-form").removeEventListener("submit", onSubmit);
      $("confirm-cancel").removeEventListener("click", onCancel);
      dialog.removeEventListener("cancel", onEsc);
    };
    $("confirm-form").addEventListener("submit", onSubmit);
    $("confirm-cancel").addEventListener("click", onCancel);
    dialog.addEventListener("cancel", onEsc);
    dialog.showModal();
    $("confirm-reason").focus();
  });
}

async function rollback(target) {
  const what = target.all ? "EVERY flag" : target.flag;
  const reason = await confirmWithReason(`Emergency rollback: turn ${what} off for everyone now?`);
  if (reason === null) return;
  try {
    const out = await api("/flags-admin/rollback", { method: "POST", body: { ...target, reason } });
    say(`Rolled back: ${out.flags.length ? out.flags.join(", ") : "nothing was on"} (config version ${out.version}).`);
    await Promise.all([loadFlags(), loadAudit()]);
  } catch (e) {
    fail(e);
  }
}
$("rollback-all").addEventListener("click", () => rollback({ all: true }));

// ---------------------------------------------------------------- overrides

async function loadOverrides() {
  const out = await api("/flags-admin/overrides");
  $("overrides").tBodies[0].replaceChildren(
    ...out.overrides.map((o) =>
      el(
        "tr",
        { "data-unit": o.unit, "data-flag": o.flag },
        el("td", {}, el("code", {}, o.flag)),
        el("td", {}, o.unit),
        el("td", { className: o.enabled ? "on" : "off" }, o.enabled ? "on" : "off"),
        el("td", {}, o.expiresAt ? new Date(o.expiresAt).toLocaleString() : "never"),
        el("td", {}, o.reason ?? ""),
        el(
          "td",
          {},
          el("button", {
            type: "button",
            "aria-label": `Delete override of ${o.flag} for ${o.unit}`,
            onclick: async () => {
              try {
                await api(
                  `/flags-admin/overrides?flag=${encodeURIComponent(o.flag)}&unit=${encodeURIComponent(o.unit)}`,
                  { method: "DELETE" },
                );
                await Promise.all([loadOverrides(), loadAudit()]);
              } catch (e) {
                fail(e);
              }
            },
          }, "Delete"),
        ),
      )
    ),
  );
}

$("ov-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target.elements;
  const body = {
    flag: f.flag.value,
    unit: f.unit.value.trim(),
    enabled: f.enabled.value === "true",
    reason: f.reason.value.trim(),
  };
  if (f.expires.value) body.expiresAt = new Date(f.expires.value).toISOString();
  try {
    await api("/flags-admin/overrides", { method: "PUT", body });
    ev.target.reset();
    await Promise.all([loadOverrides(), loadAudit()]);
    say(`Override of ${body.flag} for ${body.unit} saved.`);
  } catch (e) {
    fail(e);
  }
});

// ---------------------------------------------------------------- audit

function change(e) {
  const b = e.before ?? {}, a = e.after ?? {};
  const from = b.rollout ?? b.rollout_percentage, to = a.rollout ?? a.rollout_percentage;
  const parts = [];
  if (to !== undefined && from !== to) parts.push(`${pct(from)} → ${pct(to)}`);
  if (a.skipped !== undefined && a.skipped !== null) parts.push(`skipped ${pct(a.skipped)}`);
  if ((a.admin_override ?? null) !== (b.admin_override ?? null)) {
    parts.push(`override ${b.admin_override ?? "none"} → ${a.admin_override ?? "none"}`);
  }
  if (e.unit) parts.push(`unit ${e.unit}`);
  return parts.join("; ");
}

async function loadAudit() {
  const flag = $("audit-flag").value;
  const out = await api(`/flags-admin/audit?limit=50${flag ? `&flag=${encodeURIComponent(flag)}` : ""}`);
  $("audit").tBodies[0].replaceChildren(
    ...out.entries.map((e) =>
      el(
        "tr",
        { "data-action": e.action },
        el("td", {}, new Date(e.at).toLocaleString()),
        el("td", {}, e.actor),
        el("td", {}, e.action),
        el("td", {}, e.flag ?? ""),
        el("td", {}, change(e)),
        el("td", {}, e.reason ?? ""),
      )
    ),
  );
}
$("audit-flag").addEventListener("change", () => loadAudit().catch(fail));

// ---------------------------------------------------------------- charts (polling)

const drawCharts = () => drawFlag($("chart-flag").value, $("charts"), $("decision"));
const refreshAlerts = () => loadAlerts($("alerts-filter"), $("alerts").tBodies[0], fail);
async function pollOnce() {
  await Promise.all([drawCharts(), refreshAlerts()]);
}
function poll() {
  clearTimeout(pollTimer);
  pollTimer = setTimeout(async () => {
    if (!session.signedIn()) return;
    try {
      await pollOnce();
    } catch (e) {
      fail(e);
    }
    poll();
  }, POLL_MS);
}
$("chart-flag").addEventListener("change", () => drawCharts().catch(fail));
$("alerts-filter").addEventListener("change", () => refreshAlerts().catch(fail));

// ---------------------------------------------------------------- who is in?

$("who-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  whoIsIn(ev.target, $("who").tBodies[0], $("who-status")).catch(fail);
});

async function refreshAll() {
  await loadFlags();
  await Promise.all([
    loadOverrides(),
    loadAudit(),
    pollOnce(),
    whoIsIn($("who-form"), $("who").tBodies[0], $("who-status")),
  ]);
}

// Every handler is installed: say so (the module ran after its imports, the Wasm included, had
// loaded, which can be after the page's load event).
document.documentElement.dataset.app = "ready";
session.restore().then((kept) => (kept ? enter() : $("token").focus()));
