import { createHash } from "node:crypto";
import { type AudioFormat, CONTENT_TYPES } from "../../audio/format.js";
import { buildCoseSign1 } from "./cose.js";
import { c2paMimeType, UnsupportedProvenanceFormatError } from "./formats.js";
import { describeC2paError, type ManifestStoreJson, type ProvenanceRead, readProvenance } from "./read.js";
import { c2paSettings, type TrustConfig } from "./settings.js";
import { RemoteSignerError, type Signer } from "./signer.js";
import { TimeStampError, type TimeStamper, type TimeStampToken } from "./timestamp.js";
import { BytesBlob, loadC2pa, withC2pa } from "./wasm.js";

/** One assertion of a manifest definition (c2pa-rs `ManifestDefinition.assertions[]`). */
export interface AssertionDefinition {
  label: string;
  data: unknown;
}

/** An action as c2pa-rs takes it in a `c2pa.actions` assertion. */
export interface ActionDefinition {
  action: string;
  digitalSourceType?: string;
  softwareAgent?: { name: string; version?: string };
  parameters?: Record<string, unknown>;
  [key: string]: unknown;
}

/** What Earmark states in a manifest: c2pa-rs's `ManifestDefinition`, the parts used here. */
export interface ManifestDefinition {
  title: string;
  claimGenerator: { name: string; version: string };
  assertions: AssertionDefinition[];
}

export class ProvenanceSigningError extends Error {
  constructor(
    message: string,
    readonly readBack?: ProvenanceRead,
  ) {
    super(message);
    this.name = "ProvenanceSigningError";
  }
}

const PARENT_ID = "earmark-parent";

/**
 * Bytes c2pa-rs reserves for the COSE signature: the certificate chain, the largest signature (RSA-4096 or
 * P-521 both fit in 512 bytes), the CBOR around them, and room for a time-stamp token (RFC 3161) later.
 */
function reserveSizeFor(signer: Signer): number {
  const chain = signer.certChainDer.reduce((n, c) => n + c.length + 4, 0);
  return chain + 512 + 256 + 6144;
}

/**
 * When the audio already carries a manifest it becomes the `parentOf` ingredient, and the inception action
 * becomes `c2pa.opened` of that ingredient: C2PA requires an opened action to name its ingredient, and
 * c2pa-rs resolves `ingredientIds` to the ingredient's hashed URI.
 */
function withParent(assertions: AssertionDefinition[]): AssertionDefinition[] {
  return assertions.map((a) => {
    if (a.label !== "c2pa.actions") return a;
    const data = a.data as { actions: ActionDefinition[] };
    const actions = data.actions.map((act, i) =>
      i === 0 && act.action === "c2pa.created"
        ? { ...act, action: "c2pa.opened", parameters: { ...act.parameters, ingredientIds: [PARENT_ID] } }
        : act,
    );
    return { ...a, data: { ...data, actions } };
  });
}

export interface SignedAudio {
  bytes: Uint8Array;
  /** The C2PA manifest store (JUMBF) embedded in `bytes`, byte for byte: what a sidecar `.c2pa` holds. */
  manifestStore: Uint8Array;
  /** The signed file as read back and validated. */
  readBack: ProvenanceRead;
  store: ManifestStoreJson;
  /** Whether a `parentOf` ingredient was attached (the given parent, or the input's own manifest). */
  parent: boolean;
  /** The RFC 3161 time stamp of the signature, when a time-stamp authority was asked. */
  timeStamp: TimeStampToken | null;
}

/** The asset a signed file was made from, attached as its `parentOf` ingredient (with its manifest, if any). */
export interface ParentAsset {
  bytes: Uint8Array;
  format: AudioFormat;
  title: string;
}

/**
 * Embeds a signed C2PA manifest in a WAV, MP3, FLAC or M4A file and returns the new bytes. With `parent`,
 * that asset becomes the `parentOf` ingredient (and the inception action `c2pa.opened` of it); without,
 * the input itself does when it already carries a manifest. Every signed file is
 * read back and validated before it is returned: c2pa-rs does not notice a wrong signature length at sign
 * time, only when the file is read, so a file that does not read back as trusted (or valid, when the
 * signer's root is not among the trust anchors) is an error here and never leaves.
 *
 * @example
 * const signed = await signAudio(bytes, "flac", manifest, signer, { anchorsPem });
 */
export async function signAudio(
  bytes: Uint8Array,
  format: AudioFormat,
  manifest: ManifestDefinition,
  signer: Signer,
  trust: TrustConfig,
  opts: { parent?: ParentAsset; timeStamper?: TimeStamper | null } = {},
): Promise<SignedAudio> {
  const mime = c2paMimeType(format);
  if (!mime) throw new UnsupportedProvenanceFormatError(format);
  const { WasmBuilder } = loadC2pa();
  const settings = c2paSettings(trust);
  // Without a parent given, the input's own manifest (if any) becomes it; that takes one read of the input.
  let parentAsset: ParentAsset | null = opts.parent ?? null;
  if (!parentAsset) {
    const incoming = await readProvenance(bytes, format, trust);
    if (incoming.signal.problem) {
      throw new ProvenanceSigningError(`cannot sign: ${incoming.signal.problem.detail}`, incoming.signal);
    }
    if (incoming.signal.present) parentAsset = { bytes, format, title: `${manifest.title} (as received)` };
  }
  const parentMime = parentAsset ? c2paMimeType(parentAsset.format) : null;
  const parent = parentAsset !== null;
  const definition = {
    title: manifest.title,
    format: mime,
    claim_generator_info: [manifest.claimGenerator],
    assertions: parent ? withParent(manifest.assertions) : manifest.assertions,
  };
  let timeStamp: TimeStampToken | null = null;
  // c2pa-rs turns an exception of the signing callback into a string; keep the original's own words.
  let callbackError: Error | null = null;
  const { asset: signed, manifest: manifestStore } = await withC2pa(async () => {
    const builder = WasmBuilder.fromJson(JSON.stringify(definition), settings);
    try {
      if (parentAsset && parentMime) {
        await builder.addIngredientFromBlob(
          JSON.stringify({ title: parentAsset.title, relationship: "parentOf", label: PARENT_ID }),
          parentMime,
          new BytesBlob(parentAsset.bytes),
        );
      } else if (parentAsset) {
        // A container c2pa-rs cannot open (Ogg, ADTS AAC) carries no manifest to inherit: the ingredient is
        // described, not read, and named by the SHA-256 of its bytes.
        builder.addIngredient(
          JSON.stringify({
            title: parentAsset.title,
            format: CONTENT_TYPES[parentAsset.format],
            relationship: "parentOf",
            label: PARENT_ID,
            instance_id: `sha256:${createHash("sha256").update(parentAsset.bytes).digest("hex")}`,
          }),
        );
      }
      const reserveSize = reserveSizeFor(signer);
      // The manifest store comes back beside the asset: the exact bytes embedded, kept as a sidecar `.c2pa`.
      return (await builder.signAndGetManifestBytes(
        {
          alg: signer.alg,
          reserveSize,
          sign: async (claim) =>
            (await buildCoseSign1({
              alg: signer.alg,
              certChainDer: signer.certChainDer,
              claim,
              sign: (b) => signer.sign(b),
              reserveSize,
              timeStamper: opts.timeStamper ?? null,
              onTimeStamp: (t) => {
                timeStamp = t;
              },
            }).catch((err) => {
              if (err instanceof TimeStampError || err instanceof RemoteSignerError) callbackError = err;
              throw err;
            })) as Uint8Array<ArrayBuffer>,
        },
        [],
        mime,
        new BytesBlob(bytes),
      )) as { asset: Uint8Array; manifest: Uint8Array };
    } catch (err) {
      if (callbackError) throw new ProvenanceSigningError(`cannot sign: ${(callbackError as Error).message}`);
      throw new ProvenanceSigningError(
        `c2pa-rs could not sign the ${format} file: ${describeC2paError(err)}`,
      );
    } finally {
      builder.free();
    }
  });
  const back = await readProvenance(signed, format, trust);
  const stamp = back.signal.activeManifest?.timeStamp ?? null;
  const acceptable =
    (back.signal.state === "trusted" ||
      (back.signal.state === "valid" &&
        back.signal.statusCodes.every((c) => c === "signingCredential.untrusted"))) &&
    // A time stamp that was asked for must be there and match (its TSA may be one only others trust).
    (!opts.timeStamper || stamp?.state === "trusted" || stamp?.state === "untrusted");
  if (!back.store || !acceptable) {
    throw new ProvenanceSigningError(
      `the signed ${format} file does not validate (state ${back.signal.state ?? "none"}` +
        `${back.signal.statusCodes.length ? `: ${back.signal.statusCodes.join(", ")}` : ""}` +
        `${back.signal.problem ? `; ${back.signal.problem.detail}` : ""}` +
        `${opts.timeStamper ? `; time stamp ${stamp?.state ?? "missing"}` : ""}); it was not used`,
      back.signal,
    );
  }
  return { bytes: signed, manifestStore, readBack: back.signal, store: back.store, parent, timeStamp };
}
