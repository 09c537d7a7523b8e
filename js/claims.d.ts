/** The evaluation context for a JWT payload: userId = sub, email, app_metadata.trimtab's attributes. */
export function contextFromClaims(claims: unknown): Record<string, unknown>;
