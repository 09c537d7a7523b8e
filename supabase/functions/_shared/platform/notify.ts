//! Alert delivery on the wire: destinations, their secrets, the two payloads and one HTTP attempt.
//! The outbox, retries and dedup are in alerts.ts; this module never touches a table except to
//! read a Vault secret.
//!
//! Destinations: the rows of trimtab.alert_destinations (cached here by alerts.ts whenever it reads
//! them, so an isolate that has seen them can still deliver with the database down) and up to two
//! set in the environment, which need no database at all: TRIMTAB_ALERT_WEBHOOK_URL (+
//! TRIMTAB_ALERT_WEBHOOK_SECRET) and TRIMTAB_ALERT_SLACK_URL, both receiving alerts of at least
//! TRIMTAB_ALERT_MIN_SEVERITY. A destination receives an alert when it is enabled, the alert is at
//! least its minimum severity, and its flag list (if any) names the alert's flag.
//!
//! Secrets are named, never stored: a row's `url_secret` / `signing_secret` is looked up in
//! TRIMTAB_ALERT_SECRETS (JSON {"name": "value"}), else in Supabase Vault
//! (vault.decrypted_secrets, read with the functions' database role; values kept in memory 5
//! minutes). They never reach a log line, an API answer or a stored error.
//!
//! Payloads:
//! - `webhook`: JSON `{ type: "trimtab.alert", timestamp, data: { id, kind, flag, severity, message,
//!   details, at } }`, signed as a Standard Webhooks sender signs (the core's signStandardWebhook):
//!   `webhook-id` (the same for every attempt of one alert), `webhook-timestamp` (seconds, this
//!   attempt), `webhook-signature` (`v1,<base64>`).
//! - `slack`: an incoming-webhook message `{ text, blocks }` (a header line and a context line).
import type { Queryable } from "./db.ts";
import { env, envPositive } from "./env.ts";
import { signStandardWebhook } from "./trimtab.ts";

export type Severity = "info" | "warning" | "critical";
export const SEVERITIES: readonly Severity[] = ["info", "warning", "critical"];

/** An alert as delivered. `id` is the stored alert's id (or a message id while unstored). */
export interface AlertMessage {
  id: string;
  kind: string;
  flag: string | null;
  severity: Severity;
  message: string;
  details?: Record<string, unknown> | null;
  /** RFC 3339. */
  at: string;
}

/** Where alerts go. `id` is the row's id, or `env:webhook` / `env:slack`. */
export interface Destination {
  id: string;
  name: string;
  kind: "webhook" | "slack";
  url: string | null;
  urlSecret: string | null;
  signingSecret: string | null;
  minSeverity: Severity;
  flags: string[] | null;
  enabled: boolean;
}

/** The outcome of one attempt; `error` never holds a secret. */
export interface Attempt {
  ok: boolean;
  status: number | null;
  error: string | null;
}

const rank = (s: string) => SEVERITIES.indexOf(s as Severity);

/** Whether `d` receives `a`. */
export function receives(d: Destination, a: Pick<AlertMessage, "severity" | "flag">): boolean {
  return d.enabled && rank(a.severity) >= rank(d.minSeverity) &&
    (d.flags === null || (a.flag !== null && d.flags.includes(a.flag)));
}

/** The destinations set in the environment. */
export function envDestinations(): Destination[] {
  const min = env("TRIMTAB_ALERT_MIN_SEVERITY") as Severity;
  const minSeverity = SEVERITIES.includes(min) ? min : "warning";
  const out: Destination[] = [];
  const hook = env("TRIMTAB_ALERT_WEBHOOK_URL");
  if (hook) {
    out.push({
      id: "env:webhook",
      name: "TRIMTAB_ALERT_WEBHOOK_URL",
      kind: "webhook",
      url: hook,
      urlSecret: null,
      signingSecret: null, // TRIMTAB_ALERT_WEBHOOK_SECRET, read in `secretsOf`
      minSeverity,
      flags: null,
      enabled: true,
    });
  }
  const slack = env("TRIMTAB_ALERT_SLACK_URL");
  if (slack) {
    out.push({
      id: "env:slack",
      name: "TRIMTAB_ALERT_SLACK_URL",
      kind: "slack",
      url: slack,
      urlSecret: null,
      signingSecret: null,
      minSeverity,
      flags: null,
      enabled: true,
    });
  }
  return out;
}

// ---------------------------------------------------------------- destinations cache

let cached: Destination[] = [];

/** Remembers the table's destinations (alerts.ts, whenever it reads them). */
export function rememberDestinations(list: Destination[]): void {
  cached = list;
}

/** Every destination this isolate knows without asking the database: the environment's and the
 *  table's as last read. */
export function knownDestinations(): Destination[] {
  return [...envDestinations(), ...cached];
}

// ---------------------------------------------------------------- secrets

const vaultCache = new Map<string, { value: string | undefined; until: number }>();
const VAULT_TTL_MS = 300_000;

/** Forgets the Vault values read (tests; a rotated secret). */
export function resetSecrets(): void {
  vaultCache.clear();
}

/** A named secret: TRIMTAB_ALERT_SECRETS, else Vault through `db` (when given and Vault exists). */
export async function secret(name: string, db?: Queryable): Promise<string | undefined> {
  const raw = env("TRIMTAB_ALERT_SECRETS");
  if (raw) {
    try {
      const v = (JSON.parse(raw) as Record<string, unknown>)?.[name];
      if (typeof v === "string" && v !== "") return v;
    } catch { /* a malformed map names nothing */ }
  }
  const hit = vaultCache.get(name);
  if (hit && hit.until > Date.now()) return hit.value;
  if (!db) return hit?.value;
  try {
    const [vault] = await db.query<{ ok: unknown }>(
      "select to_regclass('vault.decrypted_secrets') is not null as ok",
    );
    const [row] = vault?.ok === true
      ? await db.query<{ s: unknown }>(
        "select decrypted_secret as s from vault.decrypted_secrets where name = $1 limit 1",
        [name],
      )
      : [];
    const value = typeof row?.s === "string" && row.s !== "" ? row.s : undefined;
    vaultCache.set(name, { value, until: Date.now() + VAULT_TTL_MS });
    return value;
  } catch {
    return hit?.value; // no access to Vault: only the environment's secrets
  }
}

/** The URL and signing secret of `d` (undefined when a named secret is missing). */
async function secretsOf(d: Destination, db?: Queryable): Promise<{ url?: string; signing?: string }> {
  const url = d.url ?? (d.urlSecret ? await secret(d.urlSecret, db) : undefined);
  const signing = d.id === "env:webhook"
    ? env("TRIMTAB_ALERT_WEBHOOK_SECRET")
    : d.signingSecret
    ? await secret(d.signingSecret, db)
    : undefined;
  return { url, signing };
}

/** Whether the secrets a destination names can be found (for the admin API; values never leave). */
export async function secretsPresent(d: Destination, db?: Queryable): Promise<{ url: boolean; signing: boolean }> {
  const s = await secretsOf(d, db);
  return { url: Boolean(s.url), signing: d.kind === "slack" || Boolean(s.signing) };
}

// ---------------------------------------------------------------- payloads

/** The Standard Webhooks message id of an alert: the same for every attempt. */
export function messageId(a: AlertMessage): string {
  const given = a.details?.messageId;
  return typeof given === "string" && /^[A-Za-z0-9_.-]{1,100}$/.test(given) ? given : `trimtab-alert-${a.id}`;
}

/** The generic webhook body. */
export function webhookBody(a: AlertMessage, nowMs: number): string {
  return JSON.stringify({
    type: "trimtab.alert",
    timestamp: new Date(nowMs).toISOString(),
    data: {
      id: a.id,
      kind: a.kind,
      flag: a.flag,
      severity: a.severity,
      message: a.message,
      details: a.details ?? null,
      at: a.at,
    },
  });
}

const ICON: Record<Severity, string> = {
  info: ":information_source:",
  warning: ":warning:",
  critical: ":rotating_light:",
};

/** The Slack incoming-webhook body (`text` is the notification fallback). */
export function slackBody(a: AlertMessage): string {
  const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  const title = `${a.severity.toUpperCase()} ${a.kind}${a.flag ? ` on ${a.flag}` : ""}`;
  return JSON.stringify({
    text: `[trimtab] ${title}: ${a.message}`,
    blocks: [
      {
        type: "section",
        text: { type: "mrkdwn", text: `${ICON[a.severity]} *${escape(title)}*\n${escape(a.message)}` },
      },
      { type: "context", elements: [{ type: "mrkdwn", text: `trimtab alert ${escape(a.id)} · ${a.at}` }] },
    ],
  });
}

// ---------------------------------------------------------------- where alerts may go

/** Whether `host` (a URL's hostname) is this machine: 127.0.0.0/8, ::1, localhost. */
function isLoopback(host: string): boolean {
  return host === "localhost" || host.endsWith(".localhost") || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

/** Whether `host` is an address literal of a private, link-local or unspecified network (the
 *  cloud metadata address 169.254.169.254 among them). Names are not resolved. */
function isPrivateLiteral(host: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.\d{1,3}\.\d{1,3}$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 0 || a === 10 || a === 127 || (a === 169 && b === 254) || (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) || (a === 100 && b >= 64 && b <= 127);
  }
  if (host.startsWith("[")) return /^\[(::1?|f[cd][0-9a-f]*:.*|fe[89ab][0-9a-f]*:.*|::ffff:.*)\]$/i.test(host);
  return false;
}

/**
 * Why an alert may not be sent to `url` (null: it may): alerts leave from inside the project, so a
 * destination an admin names must not reach the project's own network (SSRF). Rules: https only;
 * no credentials in the URL; no address literal of a private, link-local or loopback network;
 * when TRIMTAB_ALERT_HOSTS is set, only those hosts (or their subdomains: `.example.com`). The
 * one exception is the local stack (not on hosted Supabase, where SB_EXECUTION_ID is set): http
 * to this machine (127.0.0.1, localhost, [::1]), for local receivers.
 */
export function destinationUrlProblem(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "url is not a URL";
  }
  if (u.username || u.password) return "url must not carry credentials";
  const local = isLoopback(u.hostname) && !env("SB_EXECUTION_ID");
  if (u.protocol !== "https:" && !(u.protocol === "http:" && local)) {
    return "url must be https (http only to this machine, in the local stack)";
  }
  if (!local && (isLoopback(u.hostname) || isPrivateLiteral(u.hostname))) {
    return "url must not point into a private, link-local or loopback network";
  }
  const allowed = (env("TRIMTAB_ALERT_HOSTS") ?? "").split(",").map((h) => h.trim().toLowerCase()).filter(Boolean);
  if (allowed.length && !local) {
    const h = u.hostname.toLowerCase();
    if (!allowed.some((a) => (a.startsWith(".") ? h.endsWith(a) || h === a.slice(1) : h === a))) {
      return "url's host is not in TRIMTAB_ALERT_HOSTS";
    }
  }
  return null;
}

// ---------------------------------------------------------------- one attempt

const utf8 = new TextEncoder();

/** One delivery attempt of `a` to `d` at `nowMs` (the webhook timestamp). Never throws. */
export async function send(d: Destination, a: AlertMessage, nowMs: number, db?: Queryable): Promise<Attempt> {
  let s: { url?: string; signing?: string };
  try {
    s = await secretsOf(d, db);
  } catch {
    s = {};
  }
  if (!s.url) return { ok: false, status: null, error: `secret ${d.urlSecret ?? d.name} (the URL) is not set` };
  // Checked again here: a URL named by a secret is only known now. Environment destinations are
  // set by whoever deploys, and trusted.
  const refused = d.id.startsWith("env:") ? null : destinationUrlProblem(s.url);
  if (refused) return { ok: false, status: null, error: `refused: ${refused}` };
  const headers: Record<string, string> = { "content-type": "application/json", "user-agent": "trimtab-alerts/1" };
  let body: string;
  if (d.kind === "slack") body = slackBody(a);
  else {
    if (!s.signing) {
      const name = d.id === "env:webhook" ? "TRIMTAB_ALERT_WEBHOOK_SECRET" : d.signingSecret;
      return { ok: false, status: null, error: `signing secret ${name} is not set` };
    }
    body = webhookBody(a, nowMs);
    const id = messageId(a);
    const ts = Math.floor(nowMs / 1000);
    try {
      headers["webhook-signature"] = signStandardWebhook(s.signing, id, ts, utf8.encode(body));
    } catch (e) {
      return { ok: false, status: null, error: `cannot sign: ${(e as { code?: string })?.code ?? "error"}` };
    }
    headers["webhook-id"] = id;
    headers["webhook-timestamp"] = String(ts);
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), envPositive("TRIMTAB_ALERT_TIMEOUT_MS"));
  try {
    const res = await fetch(s.url, { method: "POST", headers, body, signal: ctl.signal, redirect: "manual" });
    await res.body?.cancel().catch(() => {});
    const ok = res.status >= 200 && res.status < 300;
    return { ok, status: res.status, error: ok ? null : `HTTP ${res.status}` };
  } catch (e) {
    const aborted = ctl.signal.aborted;
    return { ok: false, status: null, error: aborted ? "timeout" : `network error (${(e as Error)?.name ?? "Error"})` };
  } finally {
    clearTimeout(timer);
  }
}
