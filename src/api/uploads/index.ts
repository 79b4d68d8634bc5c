import type { App } from "../context.js";
import { registerCreateUpload } from "./create-upload.js";
import { registerDeleteUpload } from "./delete-upload.js";
import { registerGetManifest } from "./get-manifest.js";
import { registerGetManifestFile } from "./get-manifest-file.js";
import { registerGetRendition } from "./get-rendition.js";
import { registerGetUpload } from "./get-upload.js";
import { registerListUploads } from "./list-uploads.js";

/** The upload resource: one file per operation. */
export function registerUploadRoutes(app: App) {
  registerCreateUpload(app);
  registerListUploads(app);
  registerGetUpload(app);
  registerGetRendition(app);
  registerGetManifest(app);
  registerGetManifestFile(app);
  registerDeleteUpload(app);
}
