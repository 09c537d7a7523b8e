// Admin API calls to the configured project (session.js: URL, publishable key, the signed-in
// user's current access token); no secret is ever part of the page's source.
import { apiBase, authHeaders } from "./session.js";

export class ApiError extends Error {
  constructor(status, body) {
    super(body?.error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.error?.code ?? "HTTP_ERROR";
    this.body = body?.error ?? {};
  }
}

/** Calls `path` (e.g. "/flags-admin/flags"); resolves with the JSON body or throws ApiError. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = await authHeaders();
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(apiBase() + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** A DOM element: el("td", { className: "on" }, "text", child...). */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  e.append(...children.filter((c) => c !== null && c !== undefined).map((c) => (c instanceof Node ? c : String(c))));
  return e;
}

export const pct = (n) => (n === null || n === undefined ? "–" : `${Number(n)}%`);
