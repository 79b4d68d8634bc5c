/** The review dashboard in tests: reviewers, a browser-like session over app.request (cookies + CSRF). */

import type { Db } from "../../src/db/client.js";
import type { ReviewerRole } from "../../src/db/schema/index.js";
import { createReviewer } from "../../src/review/reviewers.js";

export const PASSWORD = "correct horse battery staple";

export async function makeReviewer(db: Db, email: string, role: ReviewerRole = "reviewer") {
  return createReviewer(db, { email, role, password: PASSWORD, by: "test" });
}

type Fetch = (path: string, init?: RequestInit) => Response | Promise<Response>;

/** The `_csrf` value of the first form on a page. */
export function csrfOf(html: string): string {
  const m = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!m) throw new Error("no CSRF field on the page");
  return m[1]!;
}

/** Keeps cookies like a browser (one origin, no expiry handling beyond Max-Age=0 deletions). */
export class ReviewSession {
  readonly cookies = new Map<string, string>();
  csrf = "";
  constructor(private readonly fetch: Fetch) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async request(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set("cookie", this.cookieHeader());
    const res = await this.fetch(path, { ...init, headers, redirect: "manual" });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(";");
      const i = pair!.indexOf("=");
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (/max-age=0/i.test(c) || value === "") this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  async get(path: string): Promise<{ res: Response; html: string }> {
    const res = await this.request(path);
    const html = await res.text();
    const m = /name="_csrf" value="([^"]+)"/.exec(html);
    if (m) this.csrf = m[1]!;
    return { res, html };
  }

  /** Posts a form with this session's CSRF token (unless `csrf: null`). */
  post(path: string, fields: Record<string, string | string[]> = {}, opts: { csrf?: string | null } = {}) {
    const body = new URLSearchParams();
    const token = opts.csrf === undefined ? this.csrf : opts.csrf;
    if (token !== null) body.append("_csrf", token);
    for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) body.append(k, x);
    return this.request(path, { method: "POST", body });
  }

  /** Opens the sign-in form and signs in; returns the answer to the POST. */
  async login(email: string, password = PASSWORD): Promise<Response> {
    await this.get("/review/login");
    const res = await this.post("/review/login", { email, password });
    if (res.status === 303) await this.get("/review");
    return res;
  }
}
