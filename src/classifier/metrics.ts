/**
 * Detection metrics over scores with labels (1 = synthetic, 0 = human): ROC AUC, equal error rate, and the
 * false- and true-positive rates at a threshold.
 *
 * @module
 */

export interface Scored {
  score: number;
  label: 0 | 1;
}

/** Area under the ROC curve (the probability a random synthetic item outscores a random human one; ties ½). */
export function auc(items: readonly Scored[]): number {
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let pos = 0;
  let neg = 0;
  let rankSum = 0;
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j < sorted.length && sorted[j]?.score === sorted[i]?.score) j++;
    const avgRank = (i + 1 + j) / 2;
    for (let k = i; k < j; k++) if (sorted[k]?.label === 1) rankSum += avgRank;
    i = j;
  }
  for (const it of items) it.label === 1 ? pos++ : neg++;
  if (pos === 0 || neg === 0) return Number.NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Rates at a threshold: an item is flagged when its score is ≥ the threshold. */
export function ratesAt(items: readonly Scored[], threshold: number): { fpr: number; tpr: number } {
  let fp = 0;
  let tp = 0;
  let neg = 0;
  let pos = 0;
  for (const it of items) {
    if (it.label === 1) {
      pos++;
      if (it.score >= threshold) tp++;
    } else {
      neg++;
      if (it.score >= threshold) fp++;
    }
  }
  return { fpr: neg ? fp / neg : Number.NaN, tpr: pos ? tp / pos : Number.NaN };
}

/** Equal error rate: where the false-positive rate meets the miss rate (the mean of the two at the closest point). */
export function eer(items: readonly Scored[]): number {
  const thresholds = [...new Set(items.map((i) => i.score))].sort((a, b) => a - b);
  let best = { gap: Infinity, rate: Number.NaN };
  for (const t of thresholds) {
    const { fpr, tpr } = ratesAt(items, t);
    const fnr = 1 - tpr;
    const gap = Math.abs(fpr - fnr);
    if (gap < best.gap) best = { gap, rate: (fpr + fnr) / 2 };
  }
  return best.rate;
}
