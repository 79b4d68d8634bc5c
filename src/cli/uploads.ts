import type { Command } from "commander";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { MAX_REASON_LENGTH, removeUpload } from "../uploads/remove.js";
import { CliError, configFromEnv, json, withDatabase } from "./context.js";

/** `earmark uploads remove`: what an operator does to an upload (a takedown). */
export function registerUploadCommands(program: Command): void {
  const uploads = program.command("uploads").description("Act on uploads as an operator");

  uploads
    .command("remove <uploadId>")
    .description(
      "Take an upload down: delete its audio and fingerprint, keep its record (status `removed`) and decisions",
    )
    .requiredOption(
      "-r, --reason <text>",
      `why, in words (kept with the upload's decisions; ≤ ${MAX_REASON_LENGTH} characters)`,
    )
    .action(async (uploadId: string, opts: { reason: string }) => {
      const reason = opts.reason.trim();
      if (reason === "") throw new CliError("--reason must say why the upload is removed; it is empty.", 2);
      if (reason.length > MAX_REASON_LENGTH)
        throw new CliError(
          `--reason is ${reason.length} characters long; shorten it to ${MAX_REASON_LENGTH} or fewer.`,
          2,
        );
      const config = configFromEnv();
      await withDatabase(config, "uploads remove", async (database) => {
        const result = await removeUpload({ database, blobs: new FsBlobStore(config.blobDir) }, uploadId, {
          reason,
          by: "operator",
        });
        switch (result.outcome) {
          case "not-found":
            throw new CliError(`No upload ${uploadId} (check the id: it starts with upl_).`);
          case "in-progress":
            throw new CliError(
              `The upload ${uploadId} is still ${result.status}; run this again once it is decided (\`earmark policy explain ${uploadId}\` shows its status).`,
            );
          case "removed":
            json({ id: uploadId, status: "removed", previousStatus: result.from, alreadyRemoved: false });
            return;
          case "already-removed":
            json({ id: uploadId, status: "removed", alreadyRemoved: true });
            return;
        }
      });
    });
}
