import type { Evaluation, EvaluationContext, Snapshot } from "../js/trimtab-flags.js";

export interface FlagClientOptions {
  /** Base URL of the Supabase project (or the local stack), e.g. "http://127.0.0.1:54321". */
  url: string;
  /** The caller's JWT (user access token, or the anon key). */
  token?: string;
  /** Extra attributes, merged over the ones the token carries (userId = sub, email, app_metadata.trimtab). */
  context?: EvaluationContext;
  /** Where the last good snapshot + ETag are kept (default localStorage; key per url + user). */
  storage?: Pick<Storage, "getItem" | "setItem"> | null;
  /** Background refresh interval in ms (default 30000; 0 turns it off). */
  refreshMs?: number;
  fetch?: typeof fetch;
}

export type FlagClientEvent = "change" | "stale" | "error";
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

export interface FlagClient {
  /** Resolves once a snapshot is usable (network, or storage when offline); rejects if neither. */
  readonly ready: Promise<void>;
  evaluate(key: string): Evaluation;
  evaluateAll(): Record<string, Evaluation>;
  setContext(ctx: EvaluationContext): void;
  readonly context: EvaluationContext;
  on(event: "change", fn: (d: ChangeDetail) => void): () => void;
  on(event: "stale", fn: (d: StaleDetail) => void): () => void;
  on(event: "error", fn: (d: ErrorDetail) => void): () => void;
  off(event: FlagClientEvent, fn: (d: never) => void): void;
  /** True when the server is unreachable or answered x-trimtab-stale: true. */
  readonly stale: boolean;
  readonly version: string | null;
  readonly etag: string | null;
  readonly lastStatus: number | null;
  readonly source: "network" | "storage" | null;
  readonly snapshot: Snapshot | null;
  refresh(): Promise<void>;
  close(): void;
}

export declare function createFlagClient(options: FlagClientOptions): FlagClient;
