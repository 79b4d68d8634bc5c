/**
 * TensorFlow.js for the classifier (docs/adr/0011-ai-likeness-classifier.md): the native
 * `@tensorflow/tfjs-node` backend when its optional install succeeded, otherwise `@tensorflow/tfjs` with the
 * WebAssembly backend, whose binaries ship inside the npm package. Nothing here touches the network.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs";
import "@tensorflow/tfjs-backend-wasm";

export type Tf = typeof tf;

let ready: Promise<string> | null = null;

/**
 * Picks and initialises the backend once per process; resolves to its name (`tensorflow` or `wasm`).
 * `EARMARK_TF_BACKEND=cpu|wasm` forces one (the benchmark compares them).
 */
export function tfReady(forced?: string): Promise<string> {
  ready ??= (async () => {
    const want = forced ?? process.env.EARMARK_TF_BACKEND;
    if (!want) {
      try {
        // A name in a variable: TypeScript must not require the optional package to exist.
        const native = "@tensorflow/tfjs-node";
        await import(native);
        if (await tf.setBackend("tensorflow")) return "tensorflow";
      } catch {
        // Not installed, or installed without its native library: use WebAssembly.
      }
    }
    const name = want ?? "wasm";
    if (!(await tf.setBackend(name))) throw new Error(`TensorFlow.js backend ${name} is not available`);
    await tf.ready();
    return tf.getBackend();
  })();
  return ready;
}

export { tf };
