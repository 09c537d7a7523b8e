// `data-migrations`: batch data migrations, tracked, resumable, validated and reversible (admin or
// service role). HTTP routing only: the routes are _shared/safety/data_migration_http.ts over the
// migrations _shared/examples/usage_logs.ts lists (the CLI, scripts/migrate-data.ts, runs the same).
//   GET /data-migrations, GET /data-migrations/runs[/<id>], POST /data-migrations/<name>/run,
//   POST /data-migrations/runs/<id>/stop | validate | rollback
import { handle, serve } from "../_shared/platform/http.ts";
import { dataMigrationRoutes } from "../_shared/safety/data_migration_http.ts";
import { DATA_MIGRATIONS } from "../_shared/examples/usage_logs.ts";

const handler = handle(dataMigrationRoutes(DATA_MIGRATIONS), { name: "data-migrations", cors: "admin" });

export default handler;
serve(handler);
