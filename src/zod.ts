/**
 * The one `z` for schemas that the API documents. Zod 4 gives each schema its methods when it is created,
 * so `.openapi()` must be installed before the first schema exists: importing `z` from here guarantees it,
 * whichever module loads first.
 */
import { extendZodWithOpenApi } from "@hono/zod-openapi";
import { z } from "zod";

extendZodWithOpenApi(z);

export { z };
