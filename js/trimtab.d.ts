/**
 * trimtab: flag evaluation, bucketing and ramps from one Wasm module, for Deno and browsers.
 * Importing the module initialises the Wasm (top-level await).
 */

/** Why an evaluation came out as it did. */
export type Reason =
  | "USER_OVERRIDE"
  | "ADMIN_OVERRIDE"
  | "DISABLED"
  | "PREREQUISITE_FAILED"
  | "RULE_MATCH"
  | "ROLLOUT"
  | "DEFAULT"
  | "NOT_FOUND"
  | "MISSING_UNIT";

/** The outcome of evaluating one flag. */
export interface Evaluation {
  flag: string;
  enabled: boolean;
  variant?: string;
  reason: Reason;
  /** Rollout bucket in ppm (0..=999999), when one was computed. */
  bucket?: number;
  ruleIndex?: number;
  version: string;
}

/** Attributes evaluation reads; `now` (RFC 3339 string, epoch ms or Date) pins the clock. */
export interface EvaluationContext {
  userId?: string;
  now?: string | number | Date;
  [attribute: string]: unknown;
}

export interface VariantDef {
  key: string;
  weight: number;
}
export interface RuleDef {
  condition: Record<string, unknown>;
  rollout?: number;
}
export interface PrerequisiteDef {
  flag: string;
  enabled?: boolean;
  variant?: string;
}
export interface ScheduleStepDef {
  at: string;
  rollout: number;
}

export interface FlagDef {
  key: string;
  enabled?: boolean;
  adminOverride?: "on" | "off" | null;
  /** Percent, 0..100, at most 4 decimals. */
  rollout?: number | null;
  salt?: string;
  stickiness?: string;
  rules?: RuleDef[];
  variants?: VariantDef[];
  prerequisites?: PrerequisiteDef[];
  stages?: number[];
  schedule?: ScheduleStepDef[];
  clientVisible?: boolean;
  [extra: string]: unknown;
}

export interface OverrideDef {
  flag: string;
  unit: string;
  enabled: boolean;
  variant?: string;
  expiresAt?: string | null;
  reason?: string;
}

export interface Snapshot {
  version: string | number;
  flags: FlagDef[];
  overrides?: OverrideDef[];
  /** Saved groups for `$inGroup` / `$notInGroup`: group id to at most 1,000 strings or numbers. */
  savedGroups?: Record<string, Array<string | number>>;
}

/** Error codes the core throws. */
export type ErrorCode =
  | "INVALID_SNAPSHOT"
  | "RAMP_SKIPS_STAGE"
  | "INVALID_PERCENT"
  | "INVALID_STAGES"
  | "INVALID_SALT"
  | "MISSING_UNIT"
  | (string & Record<never, never>);

/** An error from the core with a stable `code`. */
export declare class TrimtabError extends Error {
  constructor(code: string, message: string);
  readonly name: "TrimtabError";
  readonly code: ErrorCode;
}

/** Loads the Wasm (idempotent; already done on import with the default location). */
export declare function init(source?: URL | string | Response | BufferSource | WebAssembly.Module): Promise<void>;

/** Bytes of Wasm linear memory in use by the module (diagnostics and benchmarks). */
export declare function wasmMemoryBytes(): number;

/** The rollout bucket (0..=999999) of `unit` under `salt`. Throws INVALID_SALT / MISSING_UNIT. */
export declare function bucket(salt: string, unit: string): number;

/** The variant position (0..=999999) of `unit` under `salt`. */
export declare function variantPosition(salt: string, unit: string): number;

/** Throws RAMP_SKIPS_STAGE when `current -> next` skips one of `stages`. */
export declare function checkRamp(current: number, next: number, stages: number[]): void;

export declare class FlagEngine {
  /** Throws TrimtabError INVALID_SNAPSHOT naming the flag and field. */
  constructor(snapshot: Snapshot | object | string);
  readonly version: string;
  /** Flag keys in snapshot order. */
  readonly keys: string[];
  evaluate(flag: string, context: EvaluationContext | object): Evaluation;
  evaluateAll(context: EvaluationContext | object): Record<string, Evaluation>;
  /** Frees the Wasm memory now instead of at garbage collection. */
  free(): void;
}

// ------------------------------------------------------------------ webhooks

/** Headers of a Standard Webhooks delivery (also OpenAI's webhooks). */
export interface StandardWebhookHeaders {
  id: string | null;
  timestamp: string | null;
  signature: string | null;
}

/**
 * Checks Meta's `X-Hub-Signature-256: sha256=<hex>` (HMAC-SHA256 of the raw body with the app
 * secret), in constant time. Throws MISSING_SIGNATURE, MALFORMED_SIGNATURE or BAD_SIGNATURE.
 */
export declare function verifyMetaSignature(appSecret: string, rawBody: Uint8Array, header: string | null): void;

/**
 * Checks a Standard Webhooks v1 delivery (`webhook-id`, `webhook-timestamp`, `webhook-signature`,
 * `whsec_` secret, 5-minute tolerance both ways). Throws MISSING_HEADER, INVALID_HEADER,
 * INVALID_SECRET, TIMESTAMP_TOO_OLD, TIMESTAMP_TOO_NEW, MALFORMED_SIGNATURE or BAD_SIGNATURE.
 */
export declare function verifyStandardWebhook(
  secret: string,
  headers: StandardWebhookHeaders,
  rawBody: Uint8Array,
  nowSeconds?: number,
): void;

/** Signs like a Standard Webhooks sender: returns `v1,<base64>`. */
export declare function signStandardWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  rawBody: Uint8Array,
): string;

/** HMAC-SHA256 of `message` with `key`, lowercase hex (e.g. to sign a Meta test delivery). */
export declare function hmacSha256Hex(key: Uint8Array | string, message: Uint8Array | string): string;

/** One event of a WhatsApp Cloud API delivery; `dedupId` is what durable dedup keys on. */
export type WhatsAppEvent =
  | {
    kind: "message";
    dedupId: string;
    wamid: string;
    from: string;
    type: string;
    text?: string;
    timestamp?: string;
    phoneNumberId?: string;
  }
  | {
    kind: "status";
    dedupId: string;
    wamid: string;
    status: string;
    recipient?: string;
    timestamp?: string;
    phoneNumberId?: string;
  };

/** Every message and status of a (possibly batched) WhatsApp delivery, in order. Throws
 *  MALFORMED_PAYLOAD naming the path. */
export declare function whatsappEvents(payload: unknown): WhatsAppEvent[];

/** A bounded in-isolate dedup window with a TTL: the first line of defence before the database. */
export declare class DedupWindow {
  constructor(capacity?: number, ttlMs?: number);
  /** True the first time `id` is seen within the TTL; false for a duplicate. */
  firstSeen(id: string, nowMs?: number): boolean;
  /** Forgets `id` (its durable claim failed, so a redelivery must be processed). */
  forget(id: string): boolean;
  readonly size: number;
  free(): void;
}

// ------------------------------------------------------------------ vouchers

export type VoucherStatus = "issued" | "redeemed" | "voided";

export interface VoucherPolicy {
  /** Largest amount in minor units. */
  maxAmountMinor: number;
  /** Allowed ISO 4217 codes; empty or missing: any 3-letter code. */
  currencies?: string[];
  /** Expiry when a request gives none (days). */
  defaultTtlDays?: number;
}

export interface IssueRequest {
  amount: number;
  currency: string;
  holderPhone: string;
  expiresAt?: string | null;
}

export interface IssueChecked {
  amountMinor: number;
  currency: string;
  holderPhone: string;
  /** RFC 3339; absent when neither the request nor the policy sets an expiry. */
  expiresAt?: string;
}

export interface VoucherView {
  status: VoucherStatus | string;
  holderPhone: string;
  /** RFC 3339 string or epoch ms. */
  expiresAt: string | number;
}

/** Validates an issue request (INVALID_AMOUNT, INVALID_CURRENCY, INVALID_PHONE, INVALID_EXPIRY). */
export declare function validateIssue(policy: VoucherPolicy, request: IssueRequest, nowMs?: number): IssueChecked;

/** Throws VOUCHER_NOT_ISSUED, VOUCHER_EXPIRED, NOT_OWNER, INVALID_PHONE (or INVALID_STATUS for an
 *  unknown status name). Ownership is checked first, so a stranger learns nothing else. */
export declare function checkRedeem(voucher: VoucherView, callerPhone: string, nowMs?: number): void;

/** Throws VOUCHER_NOT_ISSUED. */
export declare function checkVoid(voucher: VoucherView): void;

/** The canonical form of a voucher code (`TT-XXXX-XXXX-C`: 8 Crockford base32 characters and a
 *  check character that catches every single substitution and adjacent transposition; case,
 *  spaces, dashes and O/I/L look-alikes are forgiven). INVALID_CODE for a bad shape or check. */
export declare function validateVoucherCode(input: string): string;

/** A new voucher code (randomness from crypto.getRandomValues). */
export declare function generateVoucherCode(): string;

/** E.164 normalisation ("+250 788 000 000" → "+250788000000"); throws INVALID_PHONE. */
export declare function normalizePhone(input: string): string;

/** Masks phone numbers (`[phone ..NN]`, the last two digits kept), emails (`[email]`) and voucher
 *  codes (`[voucher]`) in text meant for logs. */
export declare function redact(text: string): string;

/** A token bucket per key (default 10 requests per minute), bounded in memory. */
export declare class RateLimiter {
  constructor(capacity?: number, refillPerMinute?: number, maxKeys?: number);
  check(key: string, nowMs?: number): { allowed: boolean; remaining: number; retryAfterMs: number };
  free(): void;
}

// ------------------------------------------------------------------ prompts

export interface PromptMessage {
  role: "user" | "assistant";
  content: string;
}
export interface PromptTool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}
export interface PromptSection {
  name: string;
  content: string;
}

/** One provider-neutral description of a prompt. */
export interface PromptSpec {
  model: string;
  /** The system prompt (kept whatever the budget). */
  system: string;
  /** Stable instructions (Anthropic: <instructions>; OpenAI: appended to the system message). */
  instructions?: string;
  /** Retrieved or stable context sections (Anthropic: <context><section name="…">…</section></context>). */
  context?: PromptSection[];
  /** How to answer (Anthropic: <format>; OpenAI: with `responseSchema`, structured outputs). */
  format?: string;
  /** The conversation, oldest first; the last one is the latest user turn. */
  messages: PromptMessage[];
  tools?: PromptTool[];
  /** A JSON schema for the reply (OpenAI structured outputs, strict). */
  responseSchema?: { name: string; schema: Record<string, unknown> };
  maxTokens?: number;
  temperature?: number;
}

/** An OpenAI chat completions request body (`POST /v1/chat/completions`): `max_completion_tokens`,
 *  tools with `strict: true`, and `response_format: json_schema` (strict) for `responseSchema`.
 *  Throws INVALID_PROMPT naming the field. */
export declare function buildOpenAIRequest(spec: PromptSpec): Record<string, unknown>;

/** An Anthropic messages request body (`POST /v1/messages`): XML-tagged sections and at most 4
 *  `cache_control` breakpoints, at stable prefix boundaries long enough to cache. */
export declare function buildAnthropicRequest(spec: PromptSpec): Record<string, unknown>;

/** A deterministic token estimate of `text` (no tokenizer download; errs on the high side). */
export declare function estimateTokens(text: string): number;

/** `spec` cut to `budget` estimated tokens: keeps the system prompt and the latest user turn and
 *  drops the oldest turns first. Throws PROMPT_TOO_LARGE when even those do not fit. */
export declare function truncatePrompt(spec: PromptSpec, budget: number): PromptSpec & { droppedTurns: number };

/** SHA-256 (hex) of the canonical form (sorted keys, normalised whitespace): equal prompts hash
 *  equally in Deno and the browser. */
export declare function promptCacheKey(value: unknown): string;

// ------------------------------------------------------------------ safety loop

export interface BreakerConfig {
  /** Rolling window (ms), default 60000. */
  windowMs?: number;
  /** Fewest calls in the window before the breaker may open, default 10. */
  minCalls?: number;
  /** Error share (0..1) that opens it, default 0.5. */
  errorThreshold?: number;
  /** Time open before one trial call is let through (half-open), default 30000. */
  resetTimeoutMs?: number;
}

export type BreakerState = "closed" | "open" | "half_open";

/** A circuit breaker per provider (pure; the clock is passed in). */
export declare class CircuitBreaker {
  constructor(config?: BreakerConfig);
  /** May a call go out now? `trial` when it is the half-open state's one trial call. */
  allow(nowMs?: number): { allowed: boolean; trial: boolean; state: BreakerState };
  /** The outcome of a call that went out. */
  record(success: boolean, nowMs?: number): BreakerState;
  state(nowMs?: number): BreakerState;
  free(): void;
}

/** One pipeline's metrics over the window. */
export interface PipelineMetrics {
  calls: number;
  errors: number;
  /** p95 latency, ms (0 when no calls). */
  p95Ms: number;
  fallbacks?: number;
  piiLeaks?: number;
}

export interface RolloutThresholds {
  /** Roll back above this error rate of the new pipeline, default 0.10. */
  maxErrorRate?: number;
  /** ... or above the old one's plus this margin, default 0.05. */
  errorMargin?: number;
  /** Roll back when new p95 > old p95 × this, default 1.2. */
  maxLatencyRatio?: number;
  /** Advance only at success rate ≥ this, default 0.95. */
  minSuccessRate?: number;
  /** Advance only with at least this many new-pipeline calls, default 100. */
  minSample?: number;
  /** Advance only after this long at the stage (ms), default 3600000. */
  dwellMs?: number;
  /** Error and latency rollbacks need at least this many calls (each pipeline), default 20; a
   *  PII leak rolls back at any volume. */
  minRollbackSample?: number;
}

export interface RolloutReason {
  code: string;
  message: string;
}

/** advance | hold | rollback, with every reason (codes: ERROR_RATE, ERROR_RATE_VS_OLD, LATENCY,
 *  PII_LEAK, DWELL, SAMPLE, SUCCESS_RATE, HEALTHY). */
export declare function decideRollout(
  oldMetrics: PipelineMetrics,
  newMetrics: PipelineMetrics,
  thresholds: RolloutThresholds,
  stageEnteredMs: number,
  nowMs?: number,
): { action: "advance" | "hold" | "rollback"; reasons: RolloutReason[] };

/** Similarity 0..1 of two outputs: text (normalised word n-grams) or structured tool calls
 *  (name, then arguments compared field by field). */
export declare function outputSimilarity(oldOutput: unknown, newOutput: unknown): number;

/** The plan's cutover check: similarity ≥ 0.95, latency ≤ 1.1× old, error rate < 1 %. */
export declare function cutoverCheck(
  similarity: number,
  latencyRatio: number,
  errorRate: number,
): { ok: boolean; reasons: RolloutReason[] };
