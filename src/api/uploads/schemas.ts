import { z } from "@hono/zod-openapi";
import { ID_PATTERN } from "../../ids.js";
import { uploadMetadataSchema } from "../../uploads/metadata.js";
import { uploadRecordSchema, uploadSummarySchema } from "../../uploads/record.js";

/** The API's names for the domain schemas, registered as OpenAPI components. */
export const UploadRecord = uploadRecordSchema.openapi("UploadRecord");
export const UploadSummary = uploadSummarySchema.openapi("UploadSummary");
export const UploadMetadata = uploadMetadataSchema.openapi("UploadMetadata");

export const UploadAccepted = z
  .object({
    id: z.string().openapi({ example: "upl_01JD3Q4Z8N6W0K2M5R7T9V1X3Y" }),
    status: UploadRecord.shape.status,
    links: z.object({ self: z.string() }),
  })
  .openapi("UploadAccepted");

export const uploadIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "upl_01JD3Q4Z8N6W0K2M5R7T9V1X3Y" }),
});

export const isUploadId = (id: string) => id.startsWith("upl_") && ID_PATTERN.test(id);
