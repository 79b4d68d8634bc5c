import { describe, expect, it } from "vitest";
import { buildPolicyInput } from "./input.js";
import { NEUTRAL_FACTS } from "./test-runner.js";

describe("the c2pa part of the policy input", () => {
  it("is neutral without a provenance signal", () => {
    expect(buildPolicyInput(NEUTRAL_FACTS).c2pa).toMatchObject({
      available: false,
      present: false,
      problem: "",
    });
  });

  it("carries the provenance signal, with why a file could not be checked", () => {
    const facts = {
      ...NEUTRAL_FACTS,
      signals: {
        ...NEUTRAL_FACTS.signals,
        provenance: {
          present: false,
          state: null,
          statusCodes: [],
          activeManifest: null,
          problem: { code: "unreadable", detail: "the wav container cannot be parsed" },
        },
      },
    };
    expect(buildPolicyInput(facts).c2pa).toMatchObject({
      available: true,
      present: false,
      state: "",
      problem: "unreadable",
    });
    const trusted = {
      ...NEUTRAL_FACTS,
      signals: {
        ...NEUTRAL_FACTS.signals,
        provenance: {
          present: true,
          state: "trusted",
          statusCodes: [],
          activeManifest: {
            claimGenerator: "Suno/4",
            signer: "Suno signer",
            digitalSourceTypes: ["http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"],
            actions: ["c2pa.created"],
            assertions: ["c2pa.actions.v2"],
          },
          problem: null,
        },
      },
    };
    expect(buildPolicyInput(trusted).c2pa).toMatchObject({
      available: true,
      present: true,
      state: "trusted",
      claimGenerator: "Suno/4",
      signer: "Suno signer",
      problem: "",
    });
  });
});
