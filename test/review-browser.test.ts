/**
 * The review dashboard in a real browser: Debian's Chromium (/usr/bin/chromium) driven by playwright-core
 * against a real server on a socket, with a held upload. Screenshots of the queue and of an item at 1280×800
 * are kept in EARMARK_SCREENSHOT_DIR/<driver> when it is set (otherwise taken in a temporary directory and deleted).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UploadRecord } from "../src/api/uploads/schemas.js";
import { loadConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import { encodeWav, makeMusic } from "./harness/audio.js";
import { DRIVERS, freshPostgresDatabase } from "./harness/deps.js";
import { eventually, multipart } from "./harness/http.js";
import { HOLD_RULE, shippedBundleWith } from "./harness/policy.js";
import { makeReviewer, PASSWORD } from "./harness/review.js";

const CHROMIUM = "/usr/bin/chromium";

describe.each(DRIVERS)("review dashboard in Chromium (%s)", (driver) => {
  let dir: string;
  let policyDir: string;
  let shots: string;
  let server: RunningServer;
  let browser: Browser;
  let key = "";
  let dropDatabase: (() => Promise<void>) | undefined;
  let uploadId = "";
  const pageErrors: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM))
      throw new Error(
        `${CHROMIUM} is missing: install Debian's Chromium (apt-get install chromium); .ci/run does.`,
      );
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-browser-"));
    shots = path.join(process.env.EARMARK_SCREENSHOT_DIR ?? path.join(dir, "screenshots"), driver);
    await mkdir(shots, { recursive: true });
    policyDir = await shippedBundleWith({ "test-hold.yaml": HOLD_RULE });
    let databaseUrl = "";
    if (driver === "postgres") {
      const pg = await freshPostgresDatabase();
      databaseUrl = pg.url;
      dropDatabase = pg.drop;
    }
    const lines: string[] = [];
    server = await startServer(
      loadConfig({
        EARMARK_DATA_DIR: path.join(dir, "data"),
        DATABASE_URL: databaseUrl,
        PORT: "0",
        LOG_LEVEL: "silent",
        EARMARK_POLICY_DIR: policyDir,
      }),
      { worker: true, command: "start", print: (l) => lines.push(l) },
    );
    key = /^EARMARK_API_KEY=(\S+)$/m.exec(lines.join("\n"))?.[1] ?? "";
    const db = server.deps.database.db;
    await makeReviewer(db, "alice@example.org", "reviewer");
    await makeReviewer(db, "bob@example.org", "admin");

    const res = await fetch(`${server.url}/v1/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      body: multipart(encodeWav(makeMusic({ seconds: 4, seed: 77 })), {
        metadata: { title: "hold me: Browser song", artist: "Test Artist", kind: "music" },
      }),
    });
    expect(res.status).toBe(202);
    uploadId = ((await res.json()) as { id: string }).id;
    await eventually(
      async () => ((await record()).status === "held" ? true : undefined),
      "the upload to be held",
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--no-sandbox", "--disable-background-networking"],
    });
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await dropDatabase?.();
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function record() {
    const res = await fetch(`${server.url}/v1/uploads/${uploadId}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.status).toBe(200);
    return UploadRecord.parse(await res.json());
  }

  async function signIn(email: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(`${email}: ${err.message}`));
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) pageErrors.push(`${email}: ${m.text()}`);
    });
    await page.goto(`${server.url}/review`);
    expect(new URL(page.url()).pathname).toBe("/review/login");
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Review queue" }).waitFor();
    return page;
  }

  it("signs in, opens the held upload from the queue by keyboard, plays it, approves it, and the audit shows it", async () => {
    const alice = await signIn("alice@example.org");
    const link = alice.getByRole("link", { name: "hold me: Browser song" });
    await expect(link.isVisible()).resolves.toBe(true);
    await alice.screenshot({ path: path.join(shots, "queue.png") });

    // j focuses the first item, Enter opens it (and claims it).
    await alice.keyboard.press("j");
    await expect(link.evaluate((el) => el === document.activeElement)).resolves.toBe(true);
    await alice.keyboard.press("Enter");
    await alice.getByRole("heading", { name: "hold me: Browser song" }).waitFor();
    expect(new URL(alice.url()).pathname).toBe(`/review/items/${uploadId}`);
    await alice.getByText("Claimed by you until").waitFor();
    const waveform = alice.getByRole("img", { name: /^Waveform of the whole upload/ });
    await expect
      .poll(() => waveform.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth))
      .toBe(800);
    await alice.screenshot({ path: path.join(shots, "item.png"), fullPage: false });

    // The player does not start by itself; it loads and plays the original when asked.
    const audio = alice.locator(`audio[src="/review/items/${uploadId}/audio"]`);
    expect(
      await audio.evaluate((a: HTMLAudioElement) => ({ autoplay: a.autoplay, paused: a.paused })),
    ).toEqual({
      autoplay: false,
      paused: true,
    });
    // Play it as a person does: a click on the player's play button (a user gesture, so its audio graph runs).
    const box = (await audio.boundingBox())!;
    await audio.click({ position: { x: 24, y: box.height / 2 } });
    const played = await audio.evaluate(async (a: HTMLAudioElement) => {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(
          () => reject(new Error(`still at ${a.currentTime} s, paused: ${a.paused}`)),
          15_000,
        );
        const check = () => {
          if (a.currentTime <= 0.2) return void setTimeout(check, 50);
          clearTimeout(t);
          resolve();
        };
        check();
      });
      a.pause();
      return { duration: a.duration, error: a.error?.message ?? null, gain: Number(a.dataset.normalised) };
    });
    expect(played.error).toBeNull();
    // Played at −23 LUFS: the gain is what the measured loudness calls for (boosts capped at +12 dB).
    const lufs = (await record()).signals.stats!.data.integratedLoudnessLufs!;
    expect(played.gain).toBeCloseTo(10 ** (Math.min(12, -23 - lufs) / 20), 2);
    expect(played.duration).toBeCloseTo(4, 1);

    // A click halfway along the waveform plays from the middle.
    const wave = (await waveform.boundingBox())!;
    await waveform.click({ position: { x: wave.width / 2, y: wave.height / 2 } });
    await expect.poll(() => audio.evaluate((a: HTMLAudioElement) => a.currentTime)).toBeGreaterThan(1.9);
    await audio.evaluate((a: HTMLAudioElement) => a.pause());

    // A second reviewer sees the claim and cannot decide.
    const bob = await signIn("bob@example.org");
    await bob.goto(`${server.url}/review/items/${uploadId}`);
    await bob.getByText("Claimed by alice@example.org until").waitFor();
    expect(await bob.getByRole("button", { name: "Approve" }).isDisabled()).toBe(true);

    // A form post without the CSRF token is refused, even with a valid session cookie.
    const forged = await alice.evaluate(async (id) => {
      const res = await fetch(`/review/items/${id}/escalate`, {
        method: "POST",
        body: new URLSearchParams({ note: "x" }),
      });
      return { status: res.status, text: await res.text() };
    }, uploadId);
    expect(forged.status).toBe(403);
    expect(forged.text).toContain("security token (CSRF)");

    // `a` takes the focus to the approval form (Chromium keeps keys pressed on a focused player to the player,
    // so the focus leaves it first, as a click elsewhere does); tick a label and approve.
    await alice.getByRole("heading", { name: "Decide" }).click();
    await alice.keyboard.press("a");
    await expect(alice.evaluate(() => document.activeElement?.closest("form")?.id ?? null)).resolves.toBe(
      "approve",
    );
    await alice.getByLabel("AI-assisted voice").check();
    await alice.getByRole("button", { name: "Approve" }).click();
    await alice.getByText("Approved: the upload is decided").waitFor();

    const after = await record();
    expect(after.status).toBe("decided");
    expect(after.decision).toMatchObject({
      action: "label",
      labels: ["ai-assisted-voice"],
      decidedBy: "reviewer:alice@example.org",
    });
    expect(after.rendition).not.toBeNull();

    // The audit log is for admins: alice is refused, bob sees the approval.
    const denied = await alice.goto(`${server.url}/review/audit`);
    expect(denied?.status()).toBe(403);
    await alice.getByRole("heading", { name: "Admins only" }).waitFor();
    await bob.goto(`${server.url}/review/audit?action=approve`);
    const row = bob.getByRole("row").filter({ hasText: uploadId });
    await expect(row.textContent()).resolves.toMatch(
      /alice@example\.org.*approve.*held → decided: label \(ai-assisted-voice\)/,
    );
    await bob.screenshot({ path: path.join(shots, "audit.png") });
    await bob.goto(`${server.url}/review/decisions`);
    await bob.getByRole("heading", { name: "Decisions", exact: true }).waitFor();
    await bob.screenshot({ path: path.join(shots, "decisions.png") });

    expect(pageErrors).toEqual([]);
  }, 180_000);
});
