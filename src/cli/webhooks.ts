import { type Command, Option } from "commander";
import { findAccountByName } from "../accounts/accounts.js";
import type { Db } from "../db/client.js";
import { WEBHOOK_EVENTS, type WebhookEndpointRow, type WebhookEventType } from "../db/schema/index.js";
import { WebhookDestinationError } from "../webhooks/destination.js";
import {
  createEndpoint,
  deliveryAttempts,
  endpointById,
  endpointOfDelivery,
  listEndpoints,
  retryDelivery,
  updateEndpoint,
} from "../webhooks/endpoints.js";
import { CliError, configFromEnv, json, withDatabase } from "./context.js";

const endpointLine = (e: WebhookEndpointRow) => ({
  id: e.id,
  accountId: e.accountId,
  url: e.url,
  events: e.events,
  enabled: e.enabled,
  disabledReason: e.disabledReason,
});

async function accountNamed(db: Db, name: string) {
  const account = await findAccountByName(db, name);
  if (!account) throw new CliError(`No account named "${name}".`);
  return account;
}

async function endpoint(db: Db, id: string): Promise<WebhookEndpointRow> {
  const row = await endpointById(db, id);
  if (!row) throw new CliError(`No webhook endpoint ${id} (\`earmark webhooks list\` shows them).`);
  return row;
}

/** `earmark webhooks add | list | enable | disable | retry`: what an operator does for an account. */
export function registerWebhookCommands(program: Command): void {
  const webhooks = program.command("webhooks").description("Manage webhook endpoints and deliveries");

  webhooks
    .command("add")
    .description("Register a webhook endpoint for an account; prints its signing secret once")
    .requiredOption("-a, --account <name>", "account name")
    .requiredOption("-u, --url <url>", "endpoint URL (http or https)")
    .addOption(new Option("-e, --events <events...>", "events to send").choices([...WEBHOOK_EVENTS]))
    .action(async (opts: { account: string; url: string; events?: WebhookEventType[] }) => {
      if (!/^https?:\/\//.test(opts.url)) throw new CliError("--url must be an http:// or https:// URL.", 2);
      const config = configFromEnv();
      await withDatabase(config, "webhooks add", async ({ db }) => {
        const account = await accountNamed(db, opts.account);
        const ep = await createEndpoint(
          db,
          account.id,
          { url: opts.url, events: opts.events },
          { allowPrivate: config.webhooks.allowPrivate },
        ).catch((err) => {
          throw err instanceof WebhookDestinationError ? new CliError(`--url ${err.message}`) : err;
        });
        json({ id: ep.id, url: ep.url, events: ep.events, secret: ep.secret });
      });
    });

  webhooks
    .command("list")
    .description("An account's endpoints as JSON lines, with whether they are enabled and why not")
    .requiredOption("-a, --account <name>", "account name")
    .action(async (opts: { account: string }) => {
      await withDatabase(configFromEnv(), "webhooks list", async ({ db }) => {
        const account = await accountNamed(db, opts.account);
        for (const e of await listEndpoints(db, account.id)) json(endpointLine(e));
      });
    });

  for (const [name, enabled] of [
    ["enable", true],
    ["disable", false],
  ] as const) {
    webhooks
      .command(`${name} <endpointId>`)
      .description(
        enabled
          ? "Turn an endpoint back on (also one disabled after repeated failed deliveries)"
          : "Stop deliveries to an endpoint (pending ones fail unsent)",
      )
      .action(async (id: string) => {
        const config = configFromEnv();
        await withDatabase(config, `webhooks ${name}`, async ({ db }) => {
          const e = await endpoint(db, id);
          const row = await updateEndpoint(
            db,
            e.accountId,
            id,
            { enabled },
            { allowPrivate: config.webhooks.allowPrivate },
          );
          json(endpointLine(row!));
        });
      });
  }

  webhooks
    .command("retry <deliveryId>")
    .description("Send a failed (or delivered) delivery again, with the same webhook-id")
    .action(async (deliveryId: string) => {
      const config = configFromEnv();
      await withDatabase(config, "webhooks retry", async ({ db }) => {
        const e = await endpointOfDelivery(db, deliveryId);
        if (!e) throw new CliError(`No webhook delivery ${deliveryId}.`);
        if (!e.enabled)
          throw new CliError(
            `The endpoint ${e.id} is disabled (${e.disabledReason ?? "no reason recorded"}); run \`earmark webhooks enable ${e.id}\` first.`,
          );
        const outcome = await retryDelivery(db, e.id, deliveryId, {
          maxAttempts: deliveryAttempts(config),
        });
        if (outcome === "pending")
          throw new CliError(`The delivery ${deliveryId} is still pending: it is being sent already.`);
        json({ id: deliveryId, endpointId: e.id, status: "pending" });
      });
    });
}
