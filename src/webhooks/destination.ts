import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { Agent, fetch as undiciFetch } from "undici";

/**
 * Where webhooks may not go: an account registering `http://127.0.0.1:5432/` or the cloud metadata address
 * would otherwise have Earmark's workers send requests inside the operator's network (SSRF). Ranges from the
 * IANA special-purpose address registries (IPv4 and IPv6).
 */
const RANGES: [string, number, "ipv4" | "ipv6", string][] = [
  ["0.0.0.0", 8, "ipv4", "this network"],
  ["10.0.0.0", 8, "ipv4", "private"],
  ["100.64.0.0", 10, "ipv4", "shared address space"],
  ["127.0.0.0", 8, "ipv4", "loopback"],
  ["169.254.0.0", 16, "ipv4", "link-local (cloud metadata)"],
  ["172.16.0.0", 12, "ipv4", "private"],
  ["192.0.0.0", 24, "ipv4", "IETF protocol assignments"],
  ["192.168.0.0", 16, "ipv4", "private"],
  ["198.18.0.0", 15, "ipv4", "benchmarking"],
  ["224.0.0.0", 4, "ipv4", "multicast"],
  ["240.0.0.0", 4, "ipv4", "reserved"],
  ["::", 128, "ipv6", "unspecified"],
  ["::1", 128, "ipv6", "loopback"],
  ["64:ff9b:1::", 48, "ipv6", "local-use NAT64"],
  ["fc00::", 7, "ipv6", "unique local"],
  ["fe80::", 10, "ipv6", "link-local"],
  ["ff00::", 8, "ipv6", "multicast"],
];

const blocked = RANGES.map(([address, prefix, type, name]) => {
  const list = new BlockList();
  list.addSubnet(address, prefix, type);
  return { list, name, cidr: `${address}/${prefix}` };
});

/** Why an address may not receive webhooks (`"loopback (127.0.0.0/8)"`), or null when it may. */
export function blockedReason(address: string): string | null {
  const family = isIP(address);
  if (family === 0) return null;
  const type = family === 4 ? "ipv4" : "ipv6";
  // IPv4-mapped IPv6 (::ffff:127.0.0.1) is checked against the IPv4 ranges by BlockList itself.
  const hit = blocked.find((b) => b.list.check(address, type));
  return hit ? `${hit.name} (${hit.cidr})` : null;
}

export class WebhookDestinationError extends Error {
  override name = "WebhookDestinationError";
}

/**
 * Checks what can be checked without DNS: the scheme, and a host that is an address literal or `localhost`.
 * Returns the problem in words, or null. Names are checked again at every delivery, after resolution.
 */
export function webhookUrlProblem(url: string, opts: { allowPrivate: boolean }): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return "is not a URL";
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return "must be an http or https URL";
  if (opts.allowPrivate) return null;
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  if (host === "localhost" || host.endsWith(".localhost"))
    return "points at this machine (localhost); webhooks go to public addresses";
  const reason = blockedReason(host);
  return reason ? `points at a ${reason} address; webhooks go to public addresses` : null;
}

/**
 * `fetch` for webhook deliveries. Unless private destinations are allowed, the connection is checked after
 * DNS resolution, on the address actually connected to: a name that resolves to 127.0.0.1 (or is re-pointed
 * there after registration) is refused, not fetched.
 */
export function webhookFetch(opts: {
  allowPrivate: boolean;
  /** The resolver (`dns.lookup` by default; tests give one that answers what a hostile DNS would). */
  lookup?: typeof dnsLookup;
  /** Which resolved addresses are refused ({@link blockedReason} by default; tests may refuse none). */
  blocked?: (address: string) => string | null;
}): typeof fetch {
  if (opts.allowPrivate) return fetch;
  const resolve = opts.lookup ?? dnsLookup;
  const blocked = opts.blocked ?? blockedReason;
  const agent = new Agent({
    connect: {
      lookup(hostname, options, callback) {
        resolve(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
          if (err) return callback(err, "", 0);
          const bad = addresses.map((a) => [a.address, blocked(a.address)] as const).find(([, r]) => r);
          if (bad)
            return callback(
              new WebhookDestinationError(`${hostname} resolves to ${bad[0]}, a ${bad[1]} address`),
              "",
              0,
            );
          if (options.all) return callback(null, addresses as never, 0);
          const first = addresses[0]!;
          callback(null, first.address, first.family);
        });
      },
    },
  });
  return (async (input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    // Address literals never reach `lookup`: check them here.
    const problem = webhookUrlProblem(url.toString(), { allowPrivate: false });
    if (problem) throw new WebhookDestinationError(`${url.host} ${problem}`);
    return undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Response;
  }) as typeof fetch;
}
