export * from "./accounts.js";
export * from "./fingerprints.js";
export * from "./jobs.js";
export * from "./pipeline.js";
export * from "./policies.js";
export * from "./rate-limits.js";
export * from "./uploads.js";
export * from "./webhooks.js";
