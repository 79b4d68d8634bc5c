import type { Stage } from "../stage.js";

/**
 * Reads the C2PA manifest the upload arrived with (WAV, MP3, FLAC, M4A) and validates it against the
 * configured trust anchors. No manifest is `present: false`; a changed file is `state: "invalid"` with its
 * status codes; a container c2pa-rs cannot parse, or a format that cannot carry a manifest, is a `problem`
 * in the signal — never a failed stage.
 */
export const provenanceStage: Stage<"provenance"> = {
  name: "provenance",
  version: "c2pa-1",
  async run({ upload, source }, ctx) {
    const { signal } = await ctx.provenance.read(source, upload.probe.format);
    return signal;
  },
};
