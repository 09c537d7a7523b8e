//! The data migration of the plans' AI management area: its old usage log
//! (trimtab_examples.usage_logs) into trimtab.ai_usage_logs, in tracked batches
//! (safety/data_migration.ts), each copied row keeping its source id in
//! `metadata.original_id`. Copied rows are `pipeline: "old"` with no flag (history, not a
//! rollout's traffic); a failed call's error text becomes an error code (upper case, `_` for
//! anything else, at most 100 characters; `ERROR` when none is left); the user id is not copied (usage rows hold no
//! identifiers). Retention applies to them like to any usage row: by their original time.
//!
//! `DATA_MIGRATIONS` is what the CLI (scripts/migrate-data.ts) and the `data-migrations` function
//! know; add a spec there to migrate another table.
import { checkSpec, type DataMigrationSpec } from "../safety/data_migration.ts";

export const USAGE_LOGS_MIGRATION: DataMigrationSpec = checkSpec({
  name: "usage_logs_to_ai_usage_logs",
  description: "the AI management area's usage_logs into trimtab.ai_usage_logs",
  source: { table: "trimtab_examples.usage_logs", id: "id" },
  target: { table: "trimtab.ai_usage_logs", id: "id" },
  columns: {
    at: "s.created_at::timestamptz",
    feature: "left(coalesce(nullif(s.feature, ''), 'unknown'), 100)::text",
    pipeline: "'old'::text",
    provider: "left(coalesce(nullif(s.provider, ''), 'unknown'), 64)::text",
    model: "left(s.model, 200)::text",
    tokens_in: "greatest(s.prompt_tokens, 0)::integer",
    tokens_out: "greatest(s.completion_tokens, 0)::integer",
    latency_ms: "greatest(s.latency_ms, 0)::integer",
    cost_usd: "greatest(s.cost, 0)::numeric",
    status: "(case when s.success then 'ok' else 'error' end)::text",
    error_code: `(case when s.success then null
      else coalesce(nullif(left(upper(trim(both '_' from
        regexp_replace(coalesce(s.error, ''), '[^A-Za-z0-9]+', '_', 'g'))), 100), ''), 'ERROR')
      end)::text`,
  },
});

/** Every data migration the CLI and the edge function can run, by name. */
export const DATA_MIGRATIONS: ReadonlyMap<string, DataMigrationSpec> = new Map([
  [USAGE_LOGS_MIGRATION.name, USAGE_LOGS_MIGRATION],
]);
