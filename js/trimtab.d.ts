/**
 * trimtab, the full build (edge functions): the flag API of js/trimtab-flags.js (re-exported from
 * its declarations: one FlagEngine, one TrimtabError), plus webhooks, vouchers, prompts and the
 * safety loop. Importing the module initialises the Wasm (top-level await). The data types are
 * declared once, in Rust (src/wasm/), and generated into pkg/*.d.ts; this file declares the
 * wrapper's functions.
 */
export * from "./trimtab-flags.d.ts";

import type {
  BreakerConfig,
  BreakerPermission,
  BreakerState,
  CutoverResult,
  IssueChecked,
  IssueRequest,
  PiiScan,
  PipelineMetrics,
  PromptSpec,
  RateDecision,
  RolloutDecision,
  RolloutThresholds,
  ShadowSummary,
  StandardWebhookHeaders,
  TruncatedPrompt,
  VoucherPolicy,
  VoucherView,
  WhatsAppEvent,
} from "../pkg/trimtab.d.ts";

export type {
  BreachLevel,
  BreakerConfig,
  BreakerPermission,
  BreakerState,
  CutoverResult,
  IssueChecked,
  IssueRequest,
  PiiScan,
  PipelineMetrics,
  PromptMessage,
  PromptSection,
  PromptSpec,
  PromptTool,
  RateDecision,
  RolloutCheck,
  RolloutDecision,
  RolloutReason,
  RolloutThresholds,
  ShadowSummary,
  StandardWebhookHeaders,
  TruncatedPrompt,
  VoucherPolicy,
  VoucherStatus,
  VoucherView,
  WhatsAppEvent,
} from "../pkg/trimtab.d.ts";

// ------------------------------------------------------------------ webhooks

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

/** Masks like `redact` and counts what it masked, by kind: the detector for model outputs. */
export declare function scanPii(text: string): PiiScan;

/** A token bucket per key (default 10 requests per minute), bounded in memory. */
export declare class RateLimiter {
  constructor(capacity?: number, refillPerMinute?: number, maxKeys?: number);
  /** Takes a token for `key` (clock: `nowMs`, default performance.timeOrigin + performance.now()). */
  check(key: string, nowMs?: number): RateDecision;
  free(): void;
}

// ------------------------------------------------------------------ prompts

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
export declare function truncatePrompt(spec: PromptSpec, budget: number): TruncatedPrompt;

/** SHA-256 (hex) of the canonical form (sorted keys, normalised whitespace): equal prompts hash
 *  equally in Deno and the browser. */
export declare function promptCacheKey(value: unknown): string;

// ------------------------------------------------------------------ safety loop

/** A circuit breaker per provider. Its clock is `nowMs` when given (tests inject one), else
 *  performance.timeOrigin + performance.now(). Throws INVALID_ARGUMENT for a setting that is not
 *  a number. */
export declare class CircuitBreaker {
  constructor(config?: BreakerConfig);
  /** May a call go out now? `trial` when it is the half-open state's one trial call. */
  allow(nowMs?: number): BreakerPermission;
  /** The outcome of a call that went out. */
  record(success: boolean, nowMs?: number): BreakerState;
  state(nowMs?: number): BreakerState;
  free(): void;
}

/** advance | hold | rollback, with every reason, breach and check (breach codes: PII_LEAK,
 *  ERROR_RATE, SUCCESS_RATE, ERROR_RATE_VS_OLD, LATENCY, P95_LATENCY, COST_PER_CONVERSATION,
 *  COST_SPIKE; conditions: DWELL, SAMPLE, SUCCESS_RATE, P95_TARGET; HEALTHY). Thresholds are read
 *  leniently: a bad one takes its default. */
export declare function decideRollout(
  oldMetrics: PipelineMetrics,
  newMetrics: PipelineMetrics,
  thresholds?: RolloutThresholds,
  stageEnteredMs?: number,
  nowMs?: number,
): RolloutDecision;

/** Similarity 0..1 of two outputs: text (normalised word n-grams) or structured tool calls
 *  (name, then arguments compared field by field). */
export declare function outputSimilarity(oldOutput: unknown, newOutput: unknown): number;

/** The plan's cutover check: similarity ≥ 0.95, latency ≤ 1.1× old, error rate < 1 %. */
export declare function cutoverCheck(
  similarity: number,
  latencyRatio: number,
  errorRate: number,
): CutoverResult;

/** The cutover gate of a flag: whether the check applies (`required`) and passes on its shadow
 *  comparisons, with the flag's thresholds (reasons SAMPLES, SIMILARITY, LATENCY, ERROR_RATE). */
export declare function cutoverGate(summary: ShadowSummary, thresholds?: RolloutThresholds): CutoverResult;

/** A flag's guard settings checked strictly; returns every threshold in force. Throws
 *  INVALID_THRESHOLD naming the setting (unknown, wrong type, out of range, warning beyond
 *  critical). */
export declare function validateRolloutThresholds(settings: unknown): Required<RolloutThresholds>;
