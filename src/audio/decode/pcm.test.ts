import { describe, expect, it } from "vitest";
import type { WavEncoding } from "../probe/wav.js";
import { pcmToFloat } from "./pcm.js";

/** Little-endian words written with DataView, independently of the converter. */
function words(encoding: WavEncoding, values: readonly number[], offset: number): Uint8Array {
  const width = { s16: 2, s32: 4, f32: 4, f64: 8 }[encoding as "s16"];
  const bytes = new Uint8Array(offset + values.length * width);
  const dv = new DataView(bytes.buffer);
  values.forEach((v, i) => {
    const at = offset + i * width;
    if (encoding === "s16") dv.setInt16(at, v, true);
    else if (encoding === "s32") dv.setInt32(at, v, true);
    else if (encoding === "f32") dv.setFloat32(at, v, true);
    else dv.setFloat64(at, v, true);
  });
  return bytes.subarray(offset);
}

describe("pcmToFloat", () => {
  const cases: { encoding: WavEncoding; values: number[]; floats: number[] }[] = [
    {
      encoding: "s16",
      values: [-32768, -16384, 0, 16384, 32767, 1],
      floats: [-1, -0.5, 0, 0.5, 32767 / 32768, 1 / 32768],
    },
    {
      encoding: "s32",
      values: [-2147483648, 1073741824, 0, -1, 2147483647, 65536],
      floats: [-1, 0.5, 0, -1 / 2147483648, Math.fround(2147483647 / 2147483648), 1 / 32768],
    },
    { encoding: "f32", values: [-1, 0.25, 0, 0.75, -0.125, 0.5], floats: [-1, 0.25, 0, 0.75, -0.125, 0.5] },
    {
      encoding: "f64",
      values: [-1, 0.1, 0, 0.75, -0.125, 0.5],
      floats: [-1, Math.fround(0.1), 0, 0.75, -0.125, 0.5],
    },
  ];
  for (const { encoding, values, floats } of cases) {
    for (const channels of [1, 2, 3]) {
      // Offset 0 reads through a typed-array view; an odd offset cannot, and takes the DataView path.
      for (const offset of [0, 1]) {
        it(`${encoding}, ${channels} channel(s), byte offset ${offset}: planar floats in order`, () => {
          const out = pcmToFloat(words(encoding, values, offset), encoding, channels);
          expect(out).toHaveLength(channels);
          const frames = values.length / channels;
          for (let c = 0; c < channels; c++) {
            expect(Array.from(out[c]!)).toEqual(
              Array.from({ length: frames }, (_, i) => floats[i * channels + c]),
            );
          }
        });
      }
    }
  }

  it("drops a partial frame at the end", () => {
    const bytes = words("s16", [16384, -16384, 8192], 0);
    const out = pcmToFloat(bytes, "s16", 2);
    expect(Array.from(out[0]!)).toEqual([0.5]);
    expect(Array.from(out[1]!)).toEqual([-0.5]);
  });
});
