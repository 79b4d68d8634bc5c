import { createHash } from "node:crypto";
import { raw } from "hono/html";
import type { Child, FC } from "hono/jsx";
import type { Reviewer } from "../db/schema/index.js";
import { CSRF_FIELD } from "./auth.js";

const CSS = `*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{display:flex;gap:16px;align-items:center;background:#1d2a3a;color:#fff;padding:8px 20px}
header a{color:#fff}header .brand{font-weight:700;margin-right:12px}header .who{margin-left:auto;font-size:13px}
header form{display:inline;margin:0}header button{background:none;border:1px solid #8aa;color:#fff;padding:2px 8px;border-radius:4px;cursor:pointer}
main{max-width:1240px;margin:0 auto;padding:16px 20px}h1{font-size:22px;margin:8px 0 12px}h2{font-size:17px;margin:18px 0 6px}
a{color:#0b5cad}a:focus,button:focus,select:focus,input:focus,textarea:focus{outline:3px solid #f5a623;outline-offset:1px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e3e3e8;vertical-align:top;font-size:14px}
th{background:#f0f0f3;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.pill{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;background:#e8eef7;margin:1px 2px}
.overdue{background:#b00020;color:#fff}.claimed{background:#8a5a00;color:#fff}.mine{background:#2b7a0b;color:#fff}
.counts{display:flex;gap:18px;flex-wrap:wrap;margin:6px 0 10px;font-size:14px}.counts b{font-size:17px}
form.filters{display:flex;gap:10px;align-items:end;flex-wrap:wrap;background:#fff;padding:8px;border:1px solid #e3e3e8;margin-bottom:10px}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#555}
.grid{display:grid;grid-template-columns:minmax(0,1.35fr) minmax(0,1fr);gap:18px}
.card{background:#fff;border:1px solid #e3e3e8;border-radius:6px;padding:10px 14px;margin-bottom:12px}
.card h2{margin-top:0}dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0;font-size:14px}dt{color:#555}dd{margin:0;word-break:break-word}
.banner{padding:8px 12px;border-radius:6px;margin:8px 0;font-weight:600}.banner.warn{background:#fff3cd;border:1px solid #e0c060}.banner.ok{background:#e6f4ea;border:1px solid #8c8}.banner.err{background:#fde8ea;border:1px solid #d88}
.actions form{margin-bottom:12px}.actions fieldset{border:1px solid #ddd;border-radius:6px;padding:8px 10px;min-width:0}.actions select{width:100%}
.labels{display:grid;grid-template-columns:1fr 1fr;gap:0 10px;font-size:14px;margin:4px 0 6px}
button.primary{background:#0b5cad;color:#fff;border:0;padding:6px 14px;border-radius:4px;font-size:15px;cursor:pointer}
button.danger{background:#b00020;color:#fff;border:0;padding:6px 14px;border-radius:4px;font-size:15px;cursor:pointer}
button.secondary{background:#555;color:#fff;border:0;padding:6px 14px;border-radius:4px;font-size:15px;cursor:pointer}
button:disabled{opacity:.45;cursor:not-allowed}textarea{width:100%;min-height:48px;font:inherit}select{font:inherit;max-width:100%}
.keys{font-size:13px;color:#444}kbd{border:1px solid #aaa;border-bottom-width:2px;border-radius:3px;padding:0 4px;font-size:12px;background:#fff}
.rule-matched{background:#fff8e1}code{background:#f0f0f3;padding:0 3px;border-radius:3px;font-size:13px}audio{width:100%}
.login{max-width:380px;margin:60px auto;background:#fff;border:1px solid #e3e3e8;border-radius:8px;padding:20px 24px}
.login label{display:block;margin:10px 0 2px}.login input{width:100%;padding:6px;font:inherit}.login button{margin-top:14px;width:100%}
.muted{color:#666;font-size:13px}img.waveform{display:block;width:100%;height:96px;margin-top:6px;cursor:pointer;border-radius:4px}svg.heat{display:block;margin-top:2px}`;

/** j/k move through the queue, a/r/e jump to the actions; typing in a field is left alone. */
const KEYS_SCRIPT = `
const items = [...document.querySelectorAll("a[data-queue-item]")];
document.addEventListener("keydown", (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.target.closest("input,textarea,select")) return;
  if (e.key === "j" || e.key === "k") {
    if (items.length) {
      const i = items.indexOf(document.activeElement);
      const next = e.key === "j" ? (i < 0 ? 0 : Math.min(i + 1, items.length - 1)) : Math.max(i - 1, 0);
      items[next].focus();
    } else {
      const link = document.querySelector(e.key === "j" ? "a[rel=next]" : "a[rel=prev]");
      if (link) location.href = link.href;
    }
    e.preventDefault();
    return;
  }
  const target = { a: "approve", r: "reject", e: "escalate" }[e.key];
  const form = target && document.getElementById(target);
  if (!form) return;
  form.scrollIntoView({ block: "center" });
  form.querySelector("input:not([type=hidden]),select,textarea,button:not([disabled])")?.focus();
  e.preventDefault();
});
// A click on the waveform plays the item from that point.
for (const img of document.querySelectorAll("img.waveform")) {
  img.addEventListener("click", (e) => {
    const audio = img.closest("section")?.querySelector("audio");
    if (!audio) return;
    audio.currentTime = (e.offsetX / img.clientWidth) * Number(img.dataset.duration);
    audio.play();
  });
}
// Loudness: the upload's measured loudness brought to the target by a gain (at most +12 dB), then a limiter
// so peaks stay below full scale. Built on the first play, which is a user gesture, so the AudioContext runs.
for (const audio of document.querySelectorAll("audio[data-gain-db]")) {
  audio.addEventListener("play", () => {
    if (audio.dataset.normalised) return;
    const ctx = new AudioContext();
    const gain = ctx.createGain();
    gain.gain.value = 10 ** (Number(audio.dataset.gainDb) / 20);
    const limiter = ctx.createDynamicsCompressor();
    limiter.threshold.value = -1;
    limiter.knee.value = 0;
    limiter.ratio.value = 20;
    limiter.attack.value = 0.002;
    limiter.release.value = 0.1;
    ctx.createMediaElementSource(audio).connect(gain).connect(limiter).connect(ctx.destination);
    ctx.resume();
    audio.dataset.normalised = gain.gain.value.toFixed(3);
  });
}
`;

const sha256 = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/**
 * The dashboard's Content-Security-Policy: only its own inline style and script (by hash), media and forms
 * from this origin, and no framing — a page with Approve buttons must not be clickjacked.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(KEYS_SCRIPT)}`,
  `style-src ${sha256(CSS)}`,
  "media-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join("; ");

export const Csrf: FC<{ token: string }> = ({ token }) => (
  <input type="hidden" name={CSRF_FIELD} value={token} />
);

export const Layout: FC<{ title: string; reviewer?: Reviewer; csrf?: string; children?: Child }> = ({
  title,
  reviewer,
  csrf,
  children,
}) => (
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>{title} · Earmark review</title>
      <style>{raw(CSS)}</style>
    </head>
    <body>
      <header>
        <span class="brand">Earmark review</span>
        {reviewer ? (
          <nav aria-label="Dashboard">
            <a href="/review">Queue</a>
            {" · "}
            <a href="/review/decisions">Decisions</a>
            {reviewer.role === "admin" ? (
              <>
                {" · "}
                <a href="/review?view=escalated">Escalated</a>
                {" · "}
                <a href="/review/audit">Audit log</a>
              </>
            ) : null}
          </nav>
        ) : null}
        {reviewer && csrf ? (
          <span class="who">
            {reviewer.email} ({reviewer.role}){" "}
            <form method="post" action="/review/logout">
              <Csrf token={csrf} />
              <button type="submit">Sign out</button>
            </form>
          </span>
        ) : null}
      </header>
      <main>{children}</main>
      <script type="module">{raw(KEYS_SCRIPT)}</script>
    </body>
  </html>
);

export const ErrorPage: FC<{
  status: number;
  title: string;
  message: string;
  reviewer?: Reviewer;
  csrf?: string;
}> = (p) => (
  <Layout title={p.title} reviewer={p.reviewer} csrf={p.csrf}>
    <h1>{p.title}</h1>
    <p class="banner err" role="alert">
      {p.message}
    </p>
    <p class="muted">HTTP {p.status}</p>
    <p>
      <a href="/review">Back to the review queue</a>
    </p>
  </Layout>
);

export const html = (node: unknown) => `<!doctype html>${String(node)}`;
