import { createRequire } from "node:module";
import type { Logger } from "pino";
import type { PolicyEngine } from "../pipeline/decide.js";
import type { RenderInput, RenderStep } from "../pipeline/render.js";
import { c2paMimeType } from "./c2pa/formats.js";
import { FINGERPRINT_SOFT_BINDING } from "./c2pa/settings.js";
import type { AssertionDefinition, ManifestDefinition } from "./c2pa/sign.js";
import { signAudio } from "./c2pa/sign.js";
import { disclosureToAssertions } from "./mapping.js";
import { type Provenance, readAll } from "./service.js";

const { version } = createRequire(import.meta.url)("../../package.json") as { version: string };

/** Who made the claim, as written into every manifest Earmark signs. */
export const CLAIM_GENERATOR = { name: "Earmark", version };

/** Earmark's custom assertion with the decision and the listener labels it applied. */
export const DECISION_ASSERTION = "org.earmark.decision";

export { FINGERPRINT_SOFT_BINDING };

/**
 * What Earmark states about a rendition: title, the creator's disclosure in C2PA terms (actions with the
 * IPTC source type and tools, training-mining, the disclosure itself), the decision and its labels, and the
 * fingerprint as a soft binding. The labels' texts are the policy bundle's (`labelTexts`, id → text). The upload
 * as received is attached as the `parentOf` ingredient by {@link signAudio}, with its own manifest when it
 * had one.
 */
export function renditionManifest(
  input: Pick<RenderInput, "upload" | "decision" | "softBindings">,
  labelTexts: Readonly<Record<string, string>>,
): ManifestDefinition {
  const { upload, decision } = input;
  const decisionAssertion: AssertionDefinition = {
    label: DECISION_ASSERTION,
    data: {
      uploadId: upload.id,
      action: decision.action,
      labels: decision.labels.map((label) => ({ label, text: labelTexts[label] ?? null })),
      policyRevision: decision.policyRevision,
    },
  };
  const bindings = [
    ...input.softBindings,
    { alg: FINGERPRINT_SOFT_BINDING, value: Buffer.from(upload.id).toString("base64") },
  ];
  const softBindings: AssertionDefinition[] = bindings.map((b) => ({
    label: "c2pa.soft-binding",
    data: { alg: b.alg, blocks: [{ scope: {}, value: b.value }] },
  }));
  return {
    title: upload.metadata.title ?? upload.id,
    claimGenerator: CLAIM_GENERATOR,
    assertions: [...disclosureToAssertions(upload.metadata.disclosure), decisionAssertion, ...softBindings],
  };
}

/**
 * A WAV from a streaming recorder leaves the RIFF and data sizes at 0xFFFFFFFF (or 0): Earmark's decoder
 * reads it (the data runs to the end), c2pa-rs refuses the container. The rendition gets the real sizes,
 * which every player reads the same way, so it can carry a manifest. Any other WAV is left as it is.
 */
export function sealStreamedWav(format: string, bytes: Uint8Array): Uint8Array {
  if (format !== "wav" || bytes.length < 12) return bytes;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riff = view.getUint32(4, true);
  if (riff !== 0xffffffff && riff !== 0) return bytes;
  const out = bytes.slice();
  const outView = new DataView(out.buffer);
  outView.setUint32(4, out.length - 8, true);
  for (let at = 12; at + 8 <= out.length; ) {
    const id = String.fromCharCode(...out.subarray(at, at + 4));
    const size = outView.getUint32(at + 4, true);
    if (id === "data") {
      if (size === 0xffffffff || size === 0) outView.setUint32(at + 4, out.length - at - 8, true);
      break;
    }
    at += 8 + size + (size & 1);
  }
  return out;
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/**
 * The render step that signs renditions of WAV, MP3, FLAC and M4A in place (see {@link renditionManifest}).
 * Every signed file is read back and validated before it is handed on. Ogg and ADTS AAC cannot carry an
 * embedded manifest and pass through unsigned: their sidecar `.c2pa` is not built yet.
 */
export function c2paSigningStep(
  provenance: Provenance,
  policy: Pick<PolicyEngine, "labels">,
  logger?: Logger,
): RenderStep {
  return {
    name: "c2pa-sign",
    version: "c2pa-sign-1",
    async apply(input) {
      if (!c2paMimeType(input.format)) {
        logger?.info(
          { uploadId: input.upload.id, format: input.format },
          "C2PA: format cannot embed a manifest; not signed",
        );
        return { bytes: input.source.stream(), format: input.format };
      }
      for (const [what, source] of [
        ["rendition", input.source],
        ["original upload", input.original],
      ] as const) {
        if (source.size > provenance.maxBytes) {
          throw new Error(
            `the ${what} is ${source.size} bytes; C2PA signing is bounded by EARMARK_C2PA_MAX_BYTES (${provenance.maxBytes})`,
          );
        }
      }
      const bytes = sealStreamedWav(input.format, await readAll(input.source));
      const original = input.original === input.source ? bytes : await readAll(input.original);
      const signed = await signAudio(
        bytes,
        input.format,
        renditionManifest(input, policy.labels()),
        provenance.signer,
        provenance.trust,
        {
          parent: {
            bytes: original,
            format: input.upload.probe.format,
            title: `${input.upload.metadata.title ?? input.upload.id} (as uploaded)`,
          },
          timeStamper: provenance.timeStamper,
        },
      );
      return { bytes: once(signed.bytes), format: input.format, manifestStore: signed.manifestStore };
    },
  };
}
