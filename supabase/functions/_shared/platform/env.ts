// Environment settings for the edge functions, read safely (no --allow-env: defaults).

/** The variable's value, or undefined when unset, empty or unreadable. */
export function env(name: string): string | undefined {
  try {
    return Deno.env.get(name)?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/** A positive number from the environment (an integer when `integer`), else `fallback`. */
export function envPositive(name: string, fallback: number, opts: { integer?: boolean } = {}): number {
  const raw = env(name);
  const v = Number(raw);
  const ok = raw !== undefined && Number.isFinite(v) && v > 0 && (!opts.integer || Number.isSafeInteger(v));
  return ok ? v : fallback;
}
