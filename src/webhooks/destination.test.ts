import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { blockedReason, WebhookDestinationError, webhookFetch, webhookUrlProblem } from "./destination.js";

describe("webhook destinations", () => {
  it("names the special-purpose range of an address, and lets public addresses through", () => {
    const cases: [string, RegExp | null][] = [
      ["127.0.0.1", /^loopback \(127\.0\.0\.0\/8\)$/],
      ["127.255.0.9", /^loopback/],
      ["10.1.2.3", /^private \(10\.0\.0\.0\/8\)$/],
      ["172.16.0.1", /^private \(172\.16\.0\.0\/12\)$/],
      ["172.31.255.255", /^private/],
      ["192.168.1.1", /^private/],
      ["169.254.169.254", /^link-local \(cloud metadata\)/],
      ["100.64.0.1", /^shared address space/],
      ["0.0.0.0", /^this network/],
      ["224.0.0.1", /^multicast/],
      ["255.255.255.255", /^reserved/],
      ["::1", /^loopback \(::1\/128\)$/],
      ["::", /^unspecified/],
      ["fd00::1", /^unique local/],
      ["fe80::1", /^link-local/],
      ["::ffff:127.0.0.1", /^loopback \(127/],
      ["::ffff:a9fe:a9fe", /^link-local/],
      ["93.184.215.14", null],
      ["172.32.0.1", null],
      ["2606:4700::6810:85e5", null],
      ["not-an-address", null],
    ];
    for (const [address, expected] of cases) {
      const reason = blockedReason(address);
      if (expected) expect(reason, address).toMatch(expected);
      else expect(reason, address).toBeNull();
    }
  });

  it("refuses URLs whose host is a private literal or localhost, unless private destinations are allowed", () => {
    const strict = { allowPrivate: false };
    expect(webhookUrlProblem("http://127.0.0.1:5432/", strict)).toMatch(/loopback/);
    expect(webhookUrlProblem("http://[::1]:8080/hook", strict)).toMatch(/loopback/);
    expect(webhookUrlProblem("http://169.254.169.254/latest/meta-data/", strict)).toMatch(/link-local/);
    expect(webhookUrlProblem("http://localhost:9000/hook", strict)).toMatch(/localhost/);
    expect(webhookUrlProblem("http://api.localhost/hook", strict)).toMatch(/localhost/);
    expect(webhookUrlProblem("http://2130706433/", strict)).toMatch(/loopback/); // 127.0.0.1 as one number
    expect(webhookUrlProblem("ftp://example.org/", strict)).toMatch(/http or https/);
    expect(webhookUrlProblem("https://example.org/hook", strict)).toBeNull();
    expect(webhookUrlProblem("http://127.0.0.1:5432/", { allowPrivate: true })).toBeNull();
  });

  describe("delivery", () => {
    let url: string;
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end("ok");
    });
    beforeAll(async () => {
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("never connects to a private address, given as a literal or through a name that resolves to it", async () => {
      const strict = webhookFetch({ allowPrivate: false });
      await expect(strict(url, { method: "POST", body: "{}" })).rejects.toThrow(WebhookDestinationError);
      // `localhost` is caught by name; a name the resolver maps to 127.0.0.1 is caught after resolution.
      const port = new URL(url).port;
      await expect(strict(`http://localhost:${port}/hook`, { method: "POST" })).rejects.toThrow(/localhost/);
      // A name whose DNS answers 127.0.0.1 (or is re-pointed there after registration: DNS rebinding).
      const rebinding = webhookFetch({
        allowPrivate: false,
        lookup: ((
          _host: string,
          _opts: unknown,
          cb: (e: null, a: { address: string; family: number }[]) => void,
        ) => cb(null, [{ address: "127.0.0.1", family: 4 }])) as never,
      });
      const err = await rebinding(`http://hooks.example.test:${port}/hook`, { method: "POST" }).catch(
        (e: Error) => e,
      );
      expect(err).toBeInstanceOf(Error);
      expect(String((err as Error & { cause?: Error }).cause ?? err)).toMatch(
        /resolves to 127\.0\.0\.1, a loopback/,
      );
      expect(hits).toBe(0);
    });

    it("connects to the address its own resolution checked (the path every real delivery takes)", async () => {
      // A resolver that answers 127.0.0.1 for a made-up name, with nothing refused: the request must go
      // through the checking Agent and reach the server, whichever way the connection asks for addresses.
      const port = new URL(url).port;
      const before = hits;
      const resolving = webhookFetch({
        allowPrivate: false,
        blocked: () => null,
        lookup: ((
          _host: string,
          _opts: unknown,
          cb: (e: null, a: { address: string; family: number }[]) => void,
        ) => cb(null, [{ address: "127.0.0.1", family: 4 }])) as never,
      });
      const res = await resolving(`http://hooks.example.test:${port}/hook`, { method: "POST", body: "{}" });
      expect(res.status).toBe(200);
      expect(await res.text()).toBe("ok");
      expect(hits).toBe(before + 1);
    });

    it("connects when private destinations are allowed", async () => {
      const res = await webhookFetch({ allowPrivate: true })(url, { method: "POST", body: "{}" });
      expect(res.status).toBe(200);
    });
  });
});
