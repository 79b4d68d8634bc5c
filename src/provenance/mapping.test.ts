import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { audioIn, devTrust } from "../../test/harness/c2pa.js";
import { signAudio } from "./c2pa/sign.js";
import type { Disclosure } from "./disclosure.js";
import {
  aiUseOf,
  DISCLOSURE_ASSERTION,
  DISCLOSURE_TABLE,
  disclosureLabels,
  disclosureToAssertions,
  manifestToDisclosure,
} from "./mapping.js";

const GENERATED = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia";
const COMPOSITE = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia";

const createdAction = (d: Disclosure | undefined) => {
  const actions = disclosureToAssertions(d).find((a) => a.label === "c2pa.actions")?.data as {
    actions: { action: string; digitalSourceType?: string }[];
    softwareAgents?: unknown[];
  };
  return actions;
};

describe("disclosure → C2PA and labels", () => {
  it.each([
    [
      "every stated role generated",
      { roles: { voice: "generated", lyrics: "generated" } },
      "generated",
      GENERATED,
    ],
    ["one role assisted", { roles: { voice: "generated", production: "assisted" } }, "partly", COMPOSITE],
    ["AI only for mastering", { roles: { voice: "none", production: "assisted" } }, "partly", COMPOSITE],
    ["no AI in any stated role", { roles: { voice: "none", lyrics: "none" } }, "none", undefined],
    ["nothing stated", {}, "unstated", undefined],
  ] as const)("%s", (_name, disclosure, use, sourceType) => {
    expect(aiUseOf(disclosure as Disclosure)).toBe(use);
    const { actions } = createdAction(disclosure as Disclosure);
    expect(actions).toHaveLength(1);
    expect(actions[0]?.action).toBe("c2pa.created");
    expect(actions[0]?.digitalSourceType).toBe(sourceType);
  });

  it("lists the tools as software agents and the preference in every training-mining entry", () => {
    const d: Disclosure = {
      roles: { voice: "generated" },
      tools: [{ name: "SomeTTS", version: "2" }, { name: "MixBot" }],
      trainingMining: "notAllowed",
    };
    expect(createdAction(d).softwareAgents).toEqual([{ name: "SomeTTS", version: "2" }, { name: "MixBot" }]);
    const tm = disclosureToAssertions(d).find((a) => a.label === "c2pa.training-mining");
    expect(tm?.data).toEqual({
      entries: {
        "c2pa.ai_generative_training": { use: "notAllowed" },
        "c2pa.ai_inference": { use: "notAllowed" },
        "c2pa.ai_training": { use: "notAllowed" },
        "c2pa.data_mining": { use: "notAllowed" },
      },
    });
    expect(disclosureToAssertions(d).find((a) => a.label === DISCLOSURE_ASSERTION)?.data).toEqual(d);
    expect(disclosureToAssertions(undefined).map((a) => a.label)).toEqual(["c2pa.actions"]);
  });

  it("gives listener labels per AI role and for a cloned voice", () => {
    const labels = disclosureLabels({
      roles: { voice: "generated", lyrics: "none", production: "assisted" },
      voiceClone: { isClone: true, of: "A. Singer", consentRef: "contract-7" },
    });
    expect(labels).toEqual([
      { label: "ai-generated-voice", text: "AI-generated voice" },
      { label: "ai-assisted-production", text: "AI-assisted production" },
      { label: "voice-clone", text: "Cloned voice" },
    ]);
  });

  it("uses exactly the label ids and texts the policy bundle declares", async () => {
    const declared = parse(await readFile("policies/labels.yaml", "utf8")).labels as Record<string, string>;
    const ours = [
      ...Object.values(DISCLOSURE_TABLE.roles).flatMap((r) => [r.generated, r.assisted]),
      DISCLOSURE_TABLE.work.generated,
      DISCLOSURE_TABLE.work.partly,
      DISCLOSURE_TABLE.voiceClone,
    ];
    for (const { label, text } of ours) expect(declared[label], label).toBe(text);
  });
});

describe("C2PA manifest → what it discloses", () => {
  it.each<[string, Disclosure]>([
    [
      "an AI podcast with a cloned voice",
      {
        roles: { voice: "generated", lyrics: "generated" },
        tools: [{ name: "SomeTTS", version: "2" }],
        voiceClone: { isClone: true, of: "The Host", consentRef: "consent-2026-11" },
        trainingMining: "notAllowed",
      },
    ],
    [
      "a song with AI-assisted production",
      {
        roles: { voice: "none", composition: "none", production: "assisted" },
        tools: [{ name: "MasterAI" }, { name: "StemSplit", version: "4.1" }],
        trainingMining: "constrained",
      },
    ],
  ])("round trip through a signed file: %s", async (_name, disclosure) => {
    const { signer, trust } = await devTrust();
    const signed = await signAudio(
      await audioIn("mp3"),
      "mp3",
      {
        title: "t",
        claimGenerator: { name: "Earmark test", version: "1" },
        assertions: disclosureToAssertions(disclosure),
      },
      signer,
      trust,
    );
    expect(signed.readBack.state).toBe("trusted");
    const active = signed.store.manifests?.[signed.store.active_manifest ?? ""];
    const back = manifestToDisclosure(active ?? {});
    expect(back.disclosure).toEqual(disclosure);
    expect(back.aiUse).toBe(aiUseOf(disclosure));
    expect(back.tools).toEqual(disclosure.tools);
    expect(back.trainingMining).toBe(disclosure.trainingMining);
    expect(back.labels).toEqual(disclosureLabels(disclosure));
  });

  it("reads a foreign manifest with only a source type as the whole-work label", () => {
    const foreign = {
      assertions: [
        {
          label: "c2pa.actions.v2",
          data: {
            actions: [
              { action: "c2pa.created", digitalSourceType: GENERATED, softwareAgent: { name: "Suno" } },
            ],
          },
        },
        {
          label: "c2pa.training-mining",
          data: {
            entries: { "c2pa.ai_training": { use: "allowed" }, "c2pa.data_mining": { use: "notAllowed" } },
          },
        },
      ],
    };
    expect(manifestToDisclosure(foreign)).toEqual({
      aiUse: "generated",
      disclosure: null,
      tools: [{ name: "Suno" }],
      trainingMining: "mixed",
      labels: [{ label: "ai-generated", text: "AI-generated" }],
    });
    const composite = {
      assertions: [
        {
          label: "c2pa.actions",
          data: { actions: [{ action: "c2pa.created", digitalSourceType: COMPOSITE }] },
        },
      ],
    };
    expect(manifestToDisclosure(composite).labels).toEqual([
      { label: "ai-assisted", text: "Made with AI assistance" },
    ]);
    expect(manifestToDisclosure({ assertions: [] })).toMatchObject({ aiUse: "not-stated", labels: [] });
  });

  it("ignores a malformed Earmark disclosure assertion instead of trusting it", () => {
    const m = { assertions: [{ label: DISCLOSURE_ASSERTION, data: { roles: { voice: "mostly" } } }] };
    expect(manifestToDisclosure(m).disclosure).toBeNull();
  });
});
