import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Account } from "../db/schema/index.js";
import type { Deps } from "../deps.js";

/** What every request carries through the middleware chain. */
export interface AppEnv {
  Variables: {
    deps: Deps;
    requestId: string;
    account: Account;
    /** Route pattern of the matched handler, for metrics labels. */
    route: string;
  };
}

export type App = OpenAPIHono<AppEnv>;

/** Absolute base URL of this API as the client reached it (or as configured). */
export function baseUrlOf(c: { req: { url: string }; get(key: "deps"): Deps }): string {
  const configured = c.get("deps").config.publicUrl;
  return configured ?? new URL(c.req.url).origin;
}
