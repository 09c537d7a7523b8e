// The evaluation context of a caller, from the claims of its (verified) access token: the one
// definition the edge functions (through supabase/functions/_shared/platform/trimtab.ts) and the
// browser client (www/trimtab-flags.js) both use, so a user is evaluated alike on both sides.
//
//   userId  = sub (absent for anonymous callers: sticky flags are then MISSING_UNIT)
//   email   = email
//   ...     = the attributes in app_metadata.trimtab, which only admins and the service role can
//             set (never user_metadata, which users edit), without `now` or `userId`

const isObject = (v) => typeof v === "object" && v !== null && !Array.isArray(v);

/** The evaluation context for `claims` (a JWT payload; anything else gives {}). */
export function contextFromClaims(claims) {
  const c = isObject(claims) ? claims : {};
  const extra = isObject(c.app_metadata) && isObject(c.app_metadata.trimtab) ? c.app_metadata.trimtab : {};
  const ctx = { ...extra };
  delete ctx.now;
  delete ctx.userId;
  if (typeof c.sub === "string" && c.sub) ctx.userId = c.sub;
  if (typeof c.email === "string" && c.email) ctx.email = c.email;
  return ctx;
}
