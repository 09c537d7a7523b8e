import type { Evaluation, EvaluationContext, Snapshot } from "../js/trimtab-flags.d.ts";

/** The part of a supabase-js client the flag client uses (its session and its auth events). */
export interface SupabaseAuthLike {
  auth: {
    getSession(): Promise<{ data: { session: { access_token: string } | null } }>;
    onAuthStateChange(
      callback: (event: string, session: { access_token: string } | null) => void,
    ): { data: { subscription: { unsubscribe(): void } } };
  };
}

export interface FlagClientOptions {
  /** The Supabase project URL (or the local stack), e.g. "https://xyz.supabase.co". */
  url: string;
  /** The project's publishable key (sb_publishable_...), sent as `apikey` (and as the bearer when
   *  nobody is signed in). */
  publishableKey?: string;
  /** A supabase-js client: its session's access token is read for every fetch, and its auth
   *  events are followed (a refreshed token is used on the next fetch; SIGNED_OUT drops the
   *  user's overrides and stored snapshot). */
  supabase?: SupabaseAuthLike;
  /** Returns the access token for the next request (takes precedence over `supabase`). */
  getToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** A fixed access token (when neither `supabase` nor `getToken` is given). */
  token?: string;
  /** Extra attributes, merged over the ones the token carries (userId = sub, email, app_metadata.trimtab). */
  context?: EvaluationContext;
  /** Where the last good snapshot + ETag are kept (default localStorage; key per url + user). */
  storage?: Pick<Storage, "getItem" | "setItem"> & Partial<Pick<Storage, "removeItem">> | null;
  /** Background refresh interval in ms once ready (default 30000; 0 turns it off). */
  refreshMs?: number;
  /** Backoff of the retries before the first snapshot: base (default 500 ms) doubling to max
   *  (default 30000 ms), each delay drawn between half and all of it. */
  retry?: { baseMs?: number; maxMs?: number };
  fetch?: typeof fetch;
}

export type FlagClientEvent = "ready" | "change" | "stale" | "error" | "auth";
export interface ReadyDetail {
  version: string | null;
  source: "network" | "storage" | null;
}
export interface ChangeDetail {
  changed: string[];
  version: string | null;
  context?: boolean;
}
export interface StaleDetail {
  stale: boolean;
  reason: "server" | "unreachable" | null;
}
export interface ErrorDetail {
  error: Error & { code?: string; status?: number };
}
export interface AuthDetail {
  /** The signed-in user (sub), or null after sign-out. */
  userId: string | null;
}

export interface FlagClient {
  /** Resolves once a snapshot is usable (the server answered, or storage while it cannot be
   *  reached). Never rejects: failures are "error" events and the client retries. */
  readonly ready: Promise<void>;
  /** Settles after the first fetch attempt, whatever its outcome. */
  readonly settled: Promise<void>;
  evaluate(key: string): Evaluation;
  evaluateAll(): Record<string, Evaluation>;
  setContext(ctx: EvaluationContext): void;
  readonly context: EvaluationContext;
  on(event: "ready", fn: (d: ReadyDetail) => void): () => void;
  on(event: "change", fn: (d: ChangeDetail) => void): () => void;
  on(event: "stale", fn: (d: StaleDetail) => void): () => void;
  on(event: "error", fn: (d: ErrorDetail) => void): () => void;
  on(event: "auth", fn: (d: AuthDetail) => void): () => void;
  off(event: FlagClientEvent, fn: (d: never) => void): void;
  /** Queues a tracking event (name: 1-64 of A-Z a-z 0-9 _ . : -; details: ≤ 16 flat values). */
  track(name: string, details?: { value?: number; [key: string]: string | number | boolean | undefined }): void;
  /** Sends queued tracking events now (POST /functions/v1/flags/events). */
  flushEvents(): Promise<{ sent: number }>;
  /** True when the server is unreachable or answered x-trimtab-stale: true. */
  readonly stale: boolean;
  /** loading: no answer yet; ready: a snapshot serves; error: no snapshot and the last try failed. */
  readonly status: "loading" | "ready" | "error";
  readonly version: string | null;
  readonly etag: string | null;
  readonly lastStatus: number | null;
  readonly source: "network" | "storage" | null;
  readonly snapshot: Snapshot | null;
  readonly userId: string | null;
  /** Fetches now (deduplicated); never rejects. */
  refresh(): Promise<void>;
  close(): void;
}

export declare function createFlagClient(options: FlagClientOptions): FlagClient;
/** The (unverified) payload of a JWT, or {}. */
export declare function claimsOf(token: string | null | undefined): Record<string, unknown>;
/** The delay before retry `attempt` (0-based). */
export declare function backoffMs(
  attempt: number,
  opts?: { baseMs?: number; maxMs?: number },
  random?: () => number,
): number;
