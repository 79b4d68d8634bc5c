import { FINGERPRINT_ALGORITHM } from "../../fingerprint/extract.js";
import { WATERMARK_ALGORITHM } from "../../watermark/index.js";
import { SIGNING_EKUS } from "./certs.js";

/** What Earmark trusts and which soft-binding algorithms it names; turned into c2pa-rs settings below. */
export interface TrustConfig {
  /** PEM bundle of trust anchors (root certificates): the C2PA trust list, the operator's own, or both. */
  anchorsPem: string;
}

/**
 * The soft-binding algorithm Earmark names: its audio fingerprint. The value is the upload id the fingerprint
 * index resolves to, so a copy whose manifest was stripped can be looked up by its fingerprint.
 */
export const FINGERPRINT_SOFT_BINDING = `org.earmark.fingerprint.${FINGERPRINT_ALGORITHM}`;

/** The soft-binding algorithm of Earmark's watermark. The value is the rendition's 64-bit watermark id. */
export const WATERMARK_SOFT_BINDING = `org.earmark.watermark.${WATERMARK_ALGORITHM}`;

/**
 * Soft-binding algorithms Earmark writes into `c2pa.soft-binding` assertions. Newer c2pa-rs refuses an
 * algorithm that is not listed in its `soft_binding.soft_binding_algorithms` setting.
 */
export const SOFT_BINDING_ALGORITHMS = [WATERMARK_SOFT_BINDING, FINGERPRINT_SOFT_BINDING] as const;

/**
 * c2pa-rs settings as the WASM builder and reader take them: **snake_case** keys (camelCase or unknown keys
 * are silently ignored, and files then read as untrusted). Network fetches (OCSP, remote manifests) are off:
 * validation must not depend on, or leak to, third parties.
 */
export function c2paSettings(trust: TrustConfig): string {
  return JSON.stringify({
    trust: {
      user_anchors: trust.anchorsPem,
      trust_config: Object.values(SIGNING_EKUS).join("\n"),
    },
    verify: { verify_trust: true, ocsp_fetch: false, remote_manifest_fetch: false },
    soft_binding: { soft_binding_algorithms: [...SOFT_BINDING_ALGORITHMS] },
  });
}
