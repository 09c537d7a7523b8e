//! Every environment setting the edge functions read, declared once with its default. No other
//! edge module calls Deno.env: they call `env`, `envPositive`, `envNonNegative` or `envSwitch` with
//! a declared name (tests/deno/layers_test.ts checks this). Values are read at each call, so a
//! changed variable (a test, a new secret) applies without a restart; without --allow-env every
//! setting has its default.
//!
//! Names starting with SUPABASE_ are set by Supabase itself (they cannot be set as function
//! secrets); everything trimtab-specific is TRIMTAB_*, or the provider's own name.

/** A declared setting: its default (undefined: unset) and what it is for. */
export interface Setting {
  readonly default?: string;
  readonly doc: string;
}

/** Every setting, by name. */
export const SETTINGS = {
  // ------------------------------------------------------------ set by Supabase for every function
  SUPABASE_URL: { doc: "the project's API URL; the JWKS is at <url>/auth/v1/.well-known/jwks.json" },
  SUPABASE_DB_URL: { doc: "Postgres URL the functions connect to (postgres.js)" },
  SUPABASE_JWKS: { doc: "the project's JSON Web Key Set ({keys:[...]} or [...]): verifies user tokens" },
  SUPABASE_PUBLISHABLE_KEYS: { doc: 'publishable keys as JSON ({"default":"sb_publishable_..."})' },
  SUPABASE_SECRET_KEYS: { doc: 'secret keys as JSON ({"default":"sb_secret_..."}): the service role' },
  SUPABASE_ANON_KEY: { doc: "the legacy anon key (a JWT), accepted verbatim as anon" },
  SUPABASE_SERVICE_ROLE_KEY: { doc: "the legacy service_role key (a JWT), accepted verbatim as service" },
  SB_EXECUTION_ID: { doc: "set on hosted Supabase (the isolate's id)" },
  // ------------------------------------------------------------ auth (trimtab's own)
  TRIMTAB_JWKS_URL: { doc: "JWKS URL instead of <SUPABASE_URL>/auth/v1/.well-known/jwks.json" },
  TRIMTAB_JWT_ISSUER: { doc: "expected iss instead of <SUPABASE_URL>/auth/v1" },
  TRIMTAB_LEGACY_JWT_SECRET: { doc: "the project's legacy JWT secret: only then are HS256 tokens accepted" },
  TRIMTAB_PUBLISHABLE_KEYS: { doc: "more publishable keys (JSON object or comma-separated)" },
  TRIMTAB_SECRET_KEYS: { doc: "more secret keys (JSON object or comma-separated)" },
  TRIMTAB_JWKS_COOLDOWN_MS: { default: "30000", doc: "least time between two JWKS fetches" },
  TRIMTAB_JWKS_MAX_AGE_MS: { default: "600000", doc: "a JWKS older than this is fetched again" },
  TRIMTAB_JWKS_TIMEOUT_MS: { default: "3000", doc: "JWKS fetch timeout" },
  // ------------------------------------------------------------ platform
  TRIMTAB_CORS_ORIGINS: { doc: "allowed browser origins (comma-separated); unset: *" },
  TRIMTAB_ADMIN_ORIGINS: { doc: "browser origins the admin functions answer (comma-separated); unset: SUPABASE_URL's" },
  LOG_LEVEL: { default: "info", doc: "debug | info | warn | error" },
  TRIMTAB_DB_CONNECT_TIMEOUT_S: { default: "2", doc: "postgres.js connect timeout (s)" },
  TRIMTAB_DB_QUERY_TIMEOUT_MS: { default: "10000", doc: "longest statement (Postgres statement_timeout)" },
  // ------------------------------------------------------------ flags
  TRIMTAB_CONFIG_TTL_MS: { default: "1000", doc: "how long a confirmed snapshot is served without asking" },
  TRIMTAB_DB_TIMEOUT_MS: { default: "1500", doc: "slower database answers serve the last good snapshot" },
  // ------------------------------------------------------------ safety loop
  TRIMTAB_GUARD_WINDOW_MS: { default: "900000", doc: "usage window the guard decides on" },
  TRIMTAB_GUARD_INTERVAL_MS: { default: "60000", doc: "local stack's guard timer (0 or off: never)" },
  TRIMTAB_PURGE_INTERVAL_MS: { default: "3600000", doc: "local stack's retention purges (0 or off: never)" },
  TRIMTAB_CUTOVER_WINDOW_MS: { default: "86400000", doc: "shadow comparisons the cutover check reads" },
  AI_PIPELINE: { default: "auto", doc: "legacy: every AI path uses the old pipeline (auto: the flags decide)" },
  // ------------------------------------------------------------ alerts
  TRIMTAB_ALERT_DEDUP_MS: { default: "3600000", doc: "one alert per flag and reason within this" },
  TRIMTAB_ALERT_RETRY_BASE_MS: { default: "30000", doc: "first retry delay of a failed delivery (doubles)" },
  TRIMTAB_ALERT_RETRY_MAX_MS: { default: "3600000", doc: "longest delay between delivery attempts" },
  TRIMTAB_ALERT_MAX_ATTEMPTS: { default: "8", doc: "delivery attempts before giving up" },
  TRIMTAB_ALERT_TIMEOUT_MS: { default: "5000", doc: "timeout of one delivery" },
  TRIMTAB_ALERT_SECRETS: { doc: 'secrets alert destinations name, JSON {"name":"value"} (else Vault)' },
  TRIMTAB_ALERT_WEBHOOK_URL: { doc: "a webhook destination set here (works with the database down)" },
  TRIMTAB_ALERT_WEBHOOK_SECRET: { doc: "its Standard Webhooks secret (whsec_...)" },
  TRIMTAB_ALERT_SLACK_URL: { doc: "a Slack incoming-webhook destination set here" },
  TRIMTAB_ALERT_HOSTS: {
    doc: "the only hosts alert destinations may name (comma-separated; .example.com: subdomains)",
  },
  TRIMTAB_ALERT_MIN_SEVERITY: { default: "warning", doc: "least severity the destinations set here get" },
  TRIMTAB_STALE_ALERT_MS: { default: "60000", doc: "serving a stale flag snapshot this long alerts" },
  AI_PRICES: { doc: "USD per million tokens by model, JSON, over the built-in table" },
  AGENT_SHADOW_SAMPLE: { default: "0", doc: "share of legacy-served messages also asked of the model" },
  AGENT_CACHE_TTL_MS: { default: "600000", doc: "response cache entry lifetime" },
  AGENT_CACHE_FRONT_MAX: { default: "500", doc: "per-isolate response cache entries" },
  AGENT_CACHE_FRONT_TTL_MS: { default: "30000", doc: "per-isolate response cache trust time" },
  AGENT_BREAKER_WINDOW_MS: { doc: "circuit breaker window (core default when unset)" },
  AGENT_BREAKER_MIN_CALLS: { doc: "circuit breaker minimum volume (core default when unset)" },
  AGENT_BREAKER_ERROR_THRESHOLD: { doc: "circuit breaker error share (core default when unset)" },
  AGENT_BREAKER_RESET_MS: { doc: "circuit breaker half-open delay (core default when unset)" },
  OPENAI_API_KEY: { doc: "OpenAI key; without it the legacy pipeline serves" },
  OPENAI_API_BASE: { default: "https://api.openai.com", doc: "OpenAI API base URL" },
  OPENAI_MODEL: { default: "gpt-4o-mini", doc: "chat model" },
  OPENAI_REALTIME_MODEL: { default: "gpt-realtime", doc: "model of accepted voice calls" },
  OPENAI_TIMEOUT_MS: { default: "8000", doc: "OpenAI request timeout" },
  // ------------------------------------------------------------ migration toolkit
  TRIMTAB_DATA_MIGRATION_BATCH: { default: "1000", doc: "rows per batch of a data migration (1-50000)" },
  TRIMTAB_DATA_MIGRATION_BUDGET_MS: {
    default: "20000",
    doc: "longest a POST /data-migrations/<name>/run works before answering (the next call resumes)",
  },
  TRIMTAB_LEGACY_FEATURE_STATUS_DEPRECATED_AT: {
    default: "2026-12-06T00:00:00Z",
    doc: "when GET /api/feature-status was deprecated (RFC 3339; its Deprecation header)",
  },
  TRIMTAB_LEGACY_FEATURE_STATUS_SUNSET: {
    default: "2027-06-30T00:00:00Z",
    doc: "when GET /api/feature-status answers 410 Gone (RFC 3339; its Sunset header)",
  },
  MEMORY_TIMEOUT_MS: { default: "2000", doc: "the memory example's new read path time limit" },
  // ------------------------------------------------------------ agent
  AGENT_PROMPT_TOKEN_BUDGET: { default: "4000", doc: "prompt token budget (truncatePrompt)" },
  AGENT_STAFF_PHONES: { default: "", doc: "phones allowed to create and void vouchers (comma-separated)" },
  AGENT_RATE_LIMIT_PER_MIN: { default: "10", doc: "messages per customer and minute" },
  TRIMTAB_EVENTS_PER_MIN: { default: "120", doc: "tracking events (POST /flags/events) per user and minute" },
  AGENT_LLM_TIMEOUT_MS: { default: "8000", doc: "new pipeline's model timeout" },
  AGENT_VOICE_INSTRUCTIONS: { doc: "instructions of accepted voice calls" },
  WEBHOOK_DEDUP_CAPACITY: { default: "10000", doc: "in-isolate dedup window size" },
  WEBHOOK_DEDUP_TTL_MS: { default: "600000", doc: "in-isolate dedup window time" },
  WEBHOOK_RETENTION_DAYS: { default: "7", doc: "webhook_events retention" },
  WEBHOOK_MAX_ATTEMPTS: { default: "5", doc: "processing attempts of a webhook event before giving up" },
  WEBHOOK_LEASE_MS: { default: "60000", doc: "an event processing longer than this is taken up again" },
  WEBHOOK_RETRY_BASE_MS: { default: "30000", doc: "first retry delay of a failed event (doubles)" },
  WEBHOOK_RETRY_MAX_MS: { default: "3600000", doc: "longest delay between two attempts" },
  WEBHOOK_RETRY_INTERVAL_MS: { default: "30000", doc: "local stack's webhook retry timer (0 or off: never)" },
  VOUCHER_MAX_AMOUNT_MINOR: { default: "10000000", doc: "largest voucher (minor units)" },
  VOUCHER_CURRENCIES: { default: "RWF,USD,KES", doc: "voucher currencies" },
  VOUCHER_TTL_DAYS: { default: "30", doc: "voucher lifetime when none is given" },
  WHATSAPP_APP_SECRET: { doc: "Meta app secret (X-Hub-Signature-256)" },
  WHATSAPP_VERIFY_TOKEN: { doc: "webhook verification token" },
  WHATSAPP_ACCESS_TOKEN: { doc: "Cloud API token for replies" },
  WHATSAPP_PHONE_NUMBER_ID: { doc: "Cloud API sender id" },
  WHATSAPP_API_BASE: { default: "https://graph.facebook.com", doc: "Graph API base URL" },
  WHATSAPP_API_VERSION: { default: "v21.0", doc: "Graph API version" },
  WHATSAPP_SEND_TIMEOUT_MS: { default: "5000", doc: "send-message timeout" },
  OPENAI_WEBHOOK_SECRET: { doc: "Standard Webhooks secret of OpenAI's webhooks (whsec_...)" },
  FEATURE_AGENT_CHAT: { default: "false", doc: "master switch of the chat agent" },
  FEATURE_AGENT_VOICE: { default: "false", doc: "master switch of the voice agent" },
  FEATURE_AGENT_VOUCHERS: { default: "false", doc: "master switch of the voucher tools" },
  FEATURE_AGENT_CUSTOMER_LOOKUP: { default: "false", doc: "master switch of the lookup tool" },
} as const satisfies Record<string, Setting>;

/** A declared setting's name. */
export type SettingName = keyof typeof SETTINGS;

function raw(name: SettingName): string | undefined {
  try {
    return Deno.env.get(name)?.trim() || undefined;
  } catch {
    return undefined; // no --allow-env: the default
  }
}

/** The variable's value (trimmed), else its declared default, else undefined. */
export function env(name: SettingName): string | undefined {
  return raw(name) ?? (SETTINGS[name] as Setting).default;
}

function number(name: SettingName, ok: (v: number) => boolean, integer: boolean): number {
  const check = (s: string | undefined) => {
    const v = Number(s);
    return s !== undefined && Number.isFinite(v) && ok(v) && (!integer || Number.isSafeInteger(v)) ? v : undefined;
  };
  return check(raw(name)) ?? check((SETTINGS[name] as Setting).default) ?? NaN;
}

/** A positive number (an integer when `integer`), else the declared default (NaN when none). */
export function envPositive(name: SettingName, opts: { integer?: boolean } = {}): number {
  return number(name, (v) => v > 0, opts.integer ?? false);
}

/** A number ≥ 0, else the declared default. */
export function envNonNegative(name: SettingName): number {
  return number(name, (v) => v >= 0, false);
}

/** A switch: on for "true" or "1" (case-insensitive), else off. */
export function envSwitch(name: SettingName): boolean {
  const v = env(name)?.toLowerCase();
  return v === "true" || v === "1";
}
