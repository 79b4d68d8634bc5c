import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./api/context.js";
import { registerDocs } from "./api/docs.js";
import { rateLimit, requestContext, requireApiKey } from "./api/middleware.js";
import { registerPolicyRoutes } from "./api/policies/get-policies.js";
import { notFound, onError, validationHook } from "./api/problem.js";
import { registerSystemRoutes } from "./api/system.js";
import { registerUploadRoutes } from "./api/uploads/index.js";
import { registerVerifyAudio } from "./api/verify/verify-audio.js";
import { registerWebhookRoutes } from "./api/webhooks/index.js";
import type { Deps } from "./deps.js";
import { createReviewApp } from "./review/routes.js";

export const API_VERSION = "0.1.0";

/**
 * The HTTP application. No I/O happens here: everything it touches comes in `deps`, so tests call
 * `createApp(deps).request(...)` and the server only adds a socket.
 *
 * @example
 * const app = createApp(await buildDeps(loadConfig(process.env)));
 * const res = await app.request("/healthz");
 */
export function createApp(deps: Deps) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.onError(onError);
  app.notFound(notFound(() => app.routes));
  app.use("*", requestContext(deps));
  app.use("/v1/*", requireApiKey, rateLimit);

  registerSystemRoutes(app);
  registerUploadRoutes(app);
  registerVerifyAudio(app);
  registerWebhookRoutes(app);
  registerPolicyRoutes(app);
  // The review dashboard: HTML pages behind reviewer sessions; API keys do not open it.
  app.route("/review", createReviewApp());

  app.openAPIRegistry.registerComponent("securitySchemes", "apiKey", {
    type: "http",
    scheme: "bearer",
    description: "An API key: `earmark keys create --account NAME`, or the one printed on first start.",
  });
  const document = (origin: string) =>
    app.getOpenAPI31Document({
      openapi: "3.1.0",
      info: {
        title: "Earmark",
        version: API_VERSION,
        description:
          "Ingestion gateway for AI-era audio. Every error is `application/problem+json` (RFC 9457) with a stable `code`.",
      },
      servers: [{ url: deps.config.publicUrl ?? origin }],
    });
  app.get("/openapi.json", (c) => c.json(document(new URL(c.req.url).origin)));
  registerDocs(app, document);
  return app;
}
