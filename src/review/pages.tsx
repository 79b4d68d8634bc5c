import type { FC } from "hono/jsx";
import type { AuditRow, Reviewer } from "../db/schema/index.js";
import { AUDIT_ACTIONS } from "../db/schema/index.js";
import type { ClassifierSignal, ProvenanceSignal, WatermarkSignal } from "../pipeline/signals.js";
import { UPLOAD_KINDS } from "../uploads/metadata.js";
import type { ClaimState, RejectReason } from "./actions.js";
import type { AuditFilter } from "./audit.js";
import type { Override, RecentDecision, RuleHits } from "./decisions.js";
import type { ItemView } from "./item.js";
import { Csrf, Layout } from "./layout.js";
import { formatAge, type loadQueue, type QueueFilter } from "./queue.js";

/** Every item plays at this loudness (EBU R128's −23 LUFS), quiet ones raised by at most MAX_BOOST_DB. */
const LISTENING_LUFS = -23;
const MAX_BOOST_DB = 12;

const fmt = (v: number | null | undefined, digits: number, unit = "") =>
  v === null || v === undefined ? "—" : `${v.toFixed(digits)}${unit}`;
const pct = (v: number | null | undefined) =>
  v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)} %`;
const time = (d: Date) => `${d.toISOString().replace("T", " ").slice(0, 16)} UTC`;
const show = (v: unknown): string =>
  v === null || v === undefined ? "absent" : typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v);

export const LoginPage: FC<{ csrf: string; email?: string; error?: string; next?: string }> = (p) => (
  <Layout title="Sign in">
    <form class="login" method="post" action="/review/login">
      <h1>Sign in to review</h1>
      {p.error ? (
        <p class="banner err" role="alert">
          {p.error}
        </p>
      ) : null}
      <Csrf token={p.csrf} />
      {p.next ? <input type="hidden" name="next" value={p.next} /> : null}
      <label for="email">Email</label>
      <input
        id="email"
        name="email"
        type="email"
        autocomplete="username"
        required
        value={p.email ?? ""}
        autofocus
      />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required />
      <button class="primary" type="submit">
        Sign in
      </button>
      <p class="muted">
        Accounts are made with <code>earmark reviewers create</code>.
      </p>
    </form>
  </Layout>
);

type Queue = Awaited<ReturnType<typeof loadQueue>>;

const Select: FC<{ name: string; label: string; value?: string; options: [string, string][] }> = (p) => (
  <label>
    {p.label}
    <select name={p.name}>
      <option value="">any</option>
      {p.options.map(([v, text]) => (
        <option value={v} selected={p.value === v}>
          {text}
        </option>
      ))}
    </select>
  </label>
);

export const QueuePage: FC<{
  reviewer: Reviewer;
  csrf: string;
  queue: Queue;
  filter: QueueFilter;
  slaS: number;
  flash?: string;
}> = ({ reviewer, csrf, queue, filter, slaS, flash }) => {
  const { counts } = queue;
  const escalated = filter.view === "escalated";
  return (
    <Layout title={escalated ? "Escalated items" : "Review queue"} reviewer={reviewer} csrf={csrf}>
      <h1>{escalated ? "Escalated items" : "Review queue"}</h1>
      {flash ? (
        <p class="banner ok" role="status">
          {flash}
        </p>
      ) : null}
      <p class="counts">
        <span>
          <b>{counts.inView}</b> {escalated ? "escalated" : "waiting"}
        </span>
        <span>
          <b>{counts.overdue}</b> overdue (SLA {formatAge(slaS)})
        </span>
        <span>
          <b>{counts.shown}</b> shown
        </span>
        {reviewer.role === "admin" ? (
          <span>
            <b>{counts.escalated}</b> escalated to admins
          </span>
        ) : null}
      </p>
      <form class="filters" method="get" action="/review">
        {escalated ? <input type="hidden" name="view" value="escalated" /> : null}
        <Select
          name="rule"
          label="Rule / reason"
          value={filter.rule}
          options={counts.byRule.map(([r, n]) => [r, `${r} (${n})`])}
        />
        <Select
          name="label"
          label="Label"
          value={filter.label}
          options={counts.byLabel.map(([l, n]) => [l, `${l} (${n})`])}
        />
        <Select
          name="kind"
          label="Kind"
          value={filter.kind}
          options={UPLOAD_KINDS.map((k) => [k, `${k} (${counts.byKind.find(([x]) => x === k)?.[1] ?? 0})`])}
        />
        <Select
          name="age"
          label="Age"
          value={filter.age}
          options={[
            ["1h", "older than 1 h"],
            ["4h", "older than 4 h"],
            ["overdue", `overdue (older than ${formatAge(slaS)})`],
          ]}
        />
        <button class="secondary" type="submit">
          Filter
        </button>
        <a href={escalated ? "/review?view=escalated" : "/review"}>Clear</a>
      </form>
      {queue.items.length === 0 ? (
        <p>Nothing to review{counts.inView > 0 ? " with these filters" : ""}.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Upload</th>
              <th>Why held</th>
              <th>Account</th>
              <th class="num">Priority</th>
              <th>Waiting</th>
              <th>Claim</th>
            </tr>
          </thead>
          <tbody>
            {queue.items.map((i) => (
              <tr>
                <td>
                  <a href={`/review/items/${i.uploadId}`} data-queue-item>
                    {i.title}
                  </a>
                  {i.artist ? <span class="muted"> — {i.artist}</span> : null}
                  <div class="muted">{i.kind}</div>
                </td>
                <td>
                  {i.rules.map((r) => (
                    <span class="pill" title={r.message}>
                      {r.ruleId}
                    </span>
                  ))}
                  {i.labels.map((l) => (
                    <span class="pill">label: {l}</span>
                  ))}
                </td>
                <td>
                  {i.accountName}
                  {i.pastRejections > 0 ? (
                    <div class="muted">
                      {i.pastRejections} earlier rejection{i.pastRejections === 1 ? "" : "s"}
                    </div>
                  ) : null}
                </td>
                <td class="num">{i.priority}</td>
                <td>
                  {formatAge(i.ageS)} {i.overdue ? <span class="pill overdue">overdue</span> : null}
                </td>
                <td>
                  {i.claimedBy ? (
                    <span class={`pill ${i.claimedBy === reviewer.email ? "mine" : "claimed"}`}>
                      {i.claimedBy === reviewer.email ? "claimed by you" : `claimed by ${i.claimedBy}`}
                    </span>
                  ) : (
                    <span class="muted">free</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p class="keys">
        Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous item, <kbd>Enter</kbd> open it; on an item: <kbd>j</kbd>
        /<kbd>k</kbd> next/previous, <kbd>a</kbd> approve, <kbd>r</kbd> reject, <kbd>e</kbd> escalate.
      </p>
    </Layout>
  );
};

const Dl: FC<{ rows: [string, unknown][] }> = ({ rows }) => (
  <dl>
    {rows.map(([k, v]) => (
      <>
        <dt>{k}</dt>
        <dd>{v === null || v === undefined || v === "" ? "—" : (v as string)}</dd>
      </>
    ))}
  </dl>
);

export const ItemPage: FC<{
  reviewer: Reviewer;
  csrf: string;
  item: ItemView;
  claim: ClaimState;
  labels: Record<string, string>;
  reasons: RejectReason[];
  prev: string | null;
  next: string | null;
  slaS: number;
  flash?: string;
}> = ({ reviewer, csrf, item, claim, labels, reasons, prev, next, slaS, flash }) => {
  const u = item.upload;
  const { stats, account, fingerprint, decode, provenance, watermark, classifier } = item.signals;
  const d = u.metadata.disclosure;
  const task = claim.task;
  const open = task?.status === "open" && u.status === "held";
  const blockedByClaim = open && claim.claimedBy !== null && !claim.mine;
  const blockedByRole = open && task?.escalatedAt !== null && reviewer.role !== "admin";
  const canAct = open && !blockedByClaim && !blockedByRole;
  const title = u.metadata.title ?? `Untitled (${u.id})`;
  const proposed = new Set(item.policy?.decision.labels ?? []);
  // The reject form starts on the rule that held the upload.
  const heldFor = item.policy?.decision.reasons.find((r) => reasons.some((x) => x.id === r.ruleId))?.ruleId;
  // Playback at the same loudness for every item: gain towards the target, boosts capped (see layout.tsx).
  const lufs = stats?.integratedLoudnessLufs ?? null;
  const gainDb = lufs === null ? 0 : Math.min(MAX_BOOST_DB, LISTENING_LUFS - lufs);
  const ageS = task ? (Date.now() - task.createdAt.getTime()) / 1000 : 0;
  const trace = item.policy?.trace;
  const matched = trace?.rules.filter((r) => r.matched) ?? [];
  return (
    <Layout title={title} reviewer={reviewer} csrf={csrf}>
      <p class="muted">
        <a href="/review">← Review queue</a>
        {prev ? (
          <>
            {" · "}
            <a href={`/review/items/${prev}`} rel="prev">
              previous (k)
            </a>
          </>
        ) : null}
        {next ? (
          <>
            {" · "}
            <a href={`/review/items/${next}`} rel="next">
              next (j)
            </a>
          </>
        ) : null}
      </p>
      <h1>{title}</h1>
      {flash ? (
        <p class="banner ok" role="status">
          {flash}
        </p>
      ) : null}
      {!open ? (
        <p class="banner warn" role="status">
          This upload is {u.status}; {task ? "its review task is closed" : "it has no review task"}.
        </p>
      ) : blockedByRole ? (
        <p class="banner warn" role="status">
          Escalated to admins: only an admin can decide it.
        </p>
      ) : claim.mine ? (
        <p class="banner ok" role="status">
          Claimed by you until {time(claim.claimedBy!.until)}.{" "}
          {task?.escalatedAt ? "Escalated to admins." : null}
        </p>
      ) : claim.claimedBy ? (
        <p class="banner warn" role="status">
          Claimed by {claim.claimedBy.email} until {time(claim.claimedBy.until)}. You can look, but not
          decide.
        </p>
      ) : null}
      <div class="grid">
        <div>
          <section class="card">
            <h2>Listen</h2>
            {/* biome-ignore lint/a11y/useMediaCaption: uploads come without a transcript to caption from */}
            <audio
              controls
              preload="none"
              src={`/review/items/${u.id}/audio`}
              data-gain-db={gainDb.toFixed(2)}
            />
            {decode ? (
              <img
                class="waveform"
                src={`/review/items/${u.id}/waveform.svg`}
                alt={`Waveform of the whole upload, ${decode.durationS.toFixed(1)} s; click to play from a point`}
                data-duration={decode.durationS}
              />
            ) : null}
            {decode && classifier?.applicable && classifier.segments.length > 0 ? (
              <SegmentStrip durationS={decode.durationS} segments={classifier.segments} />
            ) : null}
            <p class="muted">
              The original upload, played at {LISTENING_LUFS} LUFS:{" "}
              {lufs === null
                ? "no loudness was measured, so it plays as it is."
                : `measured ${lufs.toFixed(1)} LUFS, so ${gainDb >= 0 ? "+" : ""}${gainDb.toFixed(1)} dB${gainDb === MAX_BOOST_DB ? " (the most it is raised)" : ""}, with a limiter below full scale.`}
            </p>
          </section>
          <section class="card">
            <h2>Why it was held — policy trace</h2>
            {item.policy ? (
              <>
                <p>
                  Policy decided <b>{item.policy.decision.action}</b> with bundle revision{" "}
                  <code>{item.policy.decision.policyRevision}</code>
                  {trace?.gitCommit ? (
                    <>
                      {" "}
                      (git <code>{trace.gitCommit.slice(0, 12)}</code>)
                    </>
                  ) : null}
                  .
                </p>
                <ul>
                  {item.policy.decision.reasons.map((r) => (
                    <li>
                      <code>{r.ruleId}</code>: {r.message}
                    </li>
                  ))}
                </ul>
                {matched.length ? (
                  <table>
                    <thead>
                      <tr>
                        <th>Rule that fired</th>
                        <th>Condition</th>
                        <th>Values it read</th>
                      </tr>
                    </thead>
                    <tbody>
                      {matched.map((r) => {
                        const def = item.policy!.rules.get(r.id);
                        return (
                          <tr class="rule-matched">
                            <td>
                              <code>{r.id}</code>
                              <div class="muted">
                                {r.mode}
                                {def ? `, ${def.action}, priority ${def.priority}` : ""}
                              </div>
                            </td>
                            <td>
                              {def ? <code>{def.when}</code> : <span class="muted">not on record</span>}
                            </td>
                            <td>
                              {Object.entries(r.values).map(([k, v]) => (
                                <div>
                                  <code>{k}</code> = {show(v)}
                                </div>
                              ))}
                            </td>
                          </tr>
                        );
                      })}
                    </tbody>
                  </table>
                ) : (
                  <p>No rule matched.</p>
                )}
                <p class="muted">
                  {trace
                    ? `${trace.rules.length - matched.length} other rules were evaluated and did not match.`
                    : ""}
                  {trace?.rules.some((r) => r.error)
                    ? ` Failed at run time: ${trace.rules
                        .filter((r) => r.error)
                        .map((r) => r.id)
                        .join(", ")}.`
                    : ""}
                </p>
              </>
            ) : (
              <p>The policy has not decided on this upload.</p>
            )}
          </section>
          <section class="card">
            <h2>Fingerprint matches</h2>
            {fingerprint?.matches.length ? (
              <table>
                <thead>
                  <tr>
                    <th>Matched upload</th>
                    <th>Verdict</th>
                    <th class="num">Score</th>
                    <th class="num">Coverage here / there</th>
                    <th class="num">Speed</th>
                  </tr>
                </thead>
                <tbody>
                  {fingerprint.matches.map((m) => (
                    <tr>
                      <td>
                        <a href={`/review/items/${m.uploadId}`}>
                          {item.matchTitles.get(m.uploadId) ?? m.uploadId}
                        </a>
                        <div class="muted">
                          {m.accountId === u.accountId ? "same account" : `account ${m.accountId}`}; at{" "}
                          {m.queryOffsetS.toFixed(1)} s here, {m.referenceOffsetS.toFixed(1)} s there
                        </div>
                        {/* biome-ignore lint/a11y/useMediaCaption: uploads come without a transcript to caption from */}
                        <audio
                          controls
                          preload="none"
                          aria-label={`Matched upload from ${m.referenceOffsetS.toFixed(1)} s`}
                          src={`/review/items/${m.uploadId}/audio#t=${m.referenceOffsetS.toFixed(2)}`}
                        />
                      </td>
                      <td>{m.verdict}</td>
                      <td class="num">{m.score.toFixed(2)}</td>
                      <td class="num">
                        {pct(m.queryCoverage)} / {pct(m.referenceCoverage)}
                      </td>
                      <td class="num">{m.speedRatio.toFixed(3)}×</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p>{fingerprint ? "No earlier upload matches." : "Not fingerprinted."}</p>
            )}
          </section>
          <section class="card">
            <h2>Decisions</h2>
            <ul>
              {item.decisions.map((x) => (
                <li>
                  {time(x.createdAt)} — <b>{x.action}</b>
                  {x.labels.length ? ` (${x.labels.join(", ")})` : ""} by {x.decidedBy}
                  {x.reasons.map((r) => (
                    <div class="muted">
                      {r.ruleId}: {r.message}
                    </div>
                  ))}
                </li>
              ))}
            </ul>
          </section>
        </div>
        <div>
          <section class="card actions">
            <h2>Decide</h2>
            {canAct ? null : (
              <p class="muted">
                {open
                  ? "Actions are disabled: see the note above."
                  : "Nothing to decide: the task is closed."}
              </p>
            )}
            <form id="approve" method="post" action={`/review/items/${u.id}/approve`}>
              <Csrf token={csrf} />
              <fieldset disabled={!canAct}>
                <legend>Approve (a)</legend>
                <div class="muted">Labels listeners will see (the policy's proposal is ticked):</div>
                <div class="labels">
                  {Object.entries(labels).map(([id, text]) => (
                    <label title={id}>
                      <input type="checkbox" name="labels" value={id} checked={proposed.has(id)} /> {text}
                    </label>
                  ))}
                </div>
                <label for="approve-note">Note (optional, kept with the decision)</label>
                <textarea id="approve-note" name="note" maxlength={1000} />
                <button class="primary" type="submit">
                  Approve
                </button>
              </fieldset>
            </form>
            <form id="reject" method="post" action={`/review/items/${u.id}/reject`}>
              <Csrf token={csrf} />
              <fieldset disabled={!canAct}>
                <legend>Reject (r)</legend>
                <label for="reject-reason">Reason</label>
                <select id="reject-reason" name="reason" required>
                  {reasons.map((r) => (
                    <option value={r.id} selected={r.id === heldFor}>
                      {r.id === "other" ? r.text : `${r.id}: ${r.text}`}
                    </option>
                  ))}
                </select>
                <label for="reject-note">Note shown to the creator</label>
                <textarea id="reject-note" name="note" maxlength={1000} />
                <button class="danger" type="submit">
                  Reject
                </button>
              </fieldset>
            </form>
            <form id="escalate" method="post" action={`/review/items/${u.id}/escalate`}>
              <Csrf token={csrf} />
              <fieldset disabled={!canAct || task?.escalatedAt !== null}>
                <legend>Escalate to admins (e)</legend>
                <label for="escalate-note">Note for the admins</label>
                <textarea id="escalate-note" name="note" maxlength={1000} />
                <button class="secondary" type="submit">
                  Escalate
                </button>
              </fieldset>
            </form>
            <p class="keys">
              Keys: <kbd>j</kbd>/<kbd>k</kbd> next/previous item, <kbd>a</kbd> approve, <kbd>r</kbd> reject,{" "}
              <kbd>e</kbd> escalate (each moves the focus to its form; <kbd>Enter</kbd> on the button
              submits).
            </p>
          </section>
          <section class="card">
            <h2>Upload</h2>
            <Dl
              rows={[
                ["Id", u.id],
                ["Status", u.status],
                ["Title", u.metadata.title],
                ["Artist", u.metadata.artist],
                ["Kind", u.metadata.kind],
                ["Account", item.accountName],
                ["Uploaded", time(u.createdAt)],
                ...(task
                  ? ([
                      [
                        "Held for",
                        `${formatAge(ageS)}${task.status === "open" && ageS > slaS ? " — overdue" : ""}`,
                      ],
                    ] as [string, string][])
                  : []),
                ["File", `${u.filename ?? "—"}, ${(u.sizeBytes / 1e6).toFixed(2)} MB`],
                [
                  "Audio",
                  `${u.probe.format} / ${u.probe.codec}, ${u.probe.sampleRate} Hz, ${u.probe.channels} ch, ${fmt(decode?.durationS ?? u.probe.durationS, 1, " s")}`,
                ],
                ["SHA-256", u.sha256],
              ]}
            />
          </section>
          <section class="card">
            <h2>Creator's AI disclosure</h2>
            {d ? (
              <Dl
                rows={[
                  ...Object.entries(d.roles ?? {}).map(([role, v]) => [role, v] as [string, string]),
                  [
                    "Tools",
                    (d.tools ?? []).map((t) => `${t.name}${t.version ? ` ${t.version}` : ""}`).join(", "),
                  ],
                  [
                    "Voice clone",
                    d.voiceClone
                      ? d.voiceClone.isClone
                        ? `yes${d.voiceClone.of ? `, of ${d.voiceClone.of}` : ""}${d.voiceClone.consentRef ? `; consent: ${d.voiceClone.consentRef}` : "; no consent reference"}`
                        : "no"
                      : null,
                  ],
                  ["Training / mining", d.trainingMining],
                ]}
              />
            ) : (
              <p>No disclosure was sent with the upload.</p>
            )}
          </section>
          <section class="card">
            <h2>Audio statistics</h2>
            {stats ? (
              <Dl
                rows={[
                  ["Loudness", fmt(stats.integratedLoudnessLufs, 1, " LUFS")],
                  ["Loudness range", fmt(stats.loudnessRangeLu, 1, " LU")],
                  ["True peak", fmt(stats.truePeakDbtp, 1, " dBTP")],
                  ["Silence", pct(stats.silenceRatio)],
                  [
                    "Leading / trailing silence",
                    `${stats.leadingSilenceS.toFixed(1)} s / ${stats.trailingSilenceS.toFixed(1)} s`,
                  ],
                  ["Clipping", pct(stats.clippingRatio)],
                  ["Spectral flatness", fmt(stats.spectralFlatness, 3)],
                  ["Stage version", item.signalVersions.stats],
                ]}
              />
            ) : (
              <p>No statistics.</p>
            )}
          </section>
          <section class="card">
            <h2>Account at upload time</h2>
            {account ? (
              <Dl
                rows={[
                  ["Account age", `${account.ageDays.toFixed(1)} days`],
                  ["Uploads in the hour / day", `${account.uploadsLastHour} / ${account.uploadsLastDay}`],
                  ["Earlier identical files", String(account.sameFileUploads)],
                  ["Earlier rejections", String(account.pastRejections)],
                ]}
              />
            ) : (
              <p>No account context.</p>
            )}
          </section>
          <section class="card">
            <h2>AI-likeness</h2>
            {classifier ? (
              <ClassifierPanel signal={classifier} version={item.signalVersions.classifier} />
            ) : (
              <p>Not scored (the upload was analysed before the classifier stage existed).</p>
            )}
          </section>
          <section class="card">
            <h2>Watermark</h2>
            {watermark ? (
              <WatermarkPanel
                signal={watermark}
                accountId={u.accountId}
                version={item.signalVersions.watermark}
              />
            ) : (
              <p>Not checked (the upload was analysed before the watermark stage existed).</p>
            )}
          </section>
          <section class="card">
            <h2>Content Credentials (C2PA)</h2>
            {provenance ? (
              <ProvenancePanel signal={provenance} version={item.signalVersions.provenance} />
            ) : (
              <p>Not checked (the upload was analysed before the provenance stage existed).</p>
            )}
          </section>
        </div>
      </div>
    </Layout>
  );
};

/**
 * The classifier's per-window scores as a strip under the waveform, same width and time axis: the redder a
 * window, the more machine-made it sounds. Drawn with SVG attributes (the page's CSP allows no inline style).
 */
const SegmentStrip: FC<{ durationS: number; segments: ClassifierSignal["segments"] }> = ({
  durationS,
  segments,
}) => {
  const width = Math.max(durationS, 1e-3);
  const top = [...segments].sort((a, b) => b.score - a.score)[0];
  return (
    <svg
      class="heat"
      role="img"
      aria-label={`AI-likeness per ${(segments[0]!.endS - segments[0]!.startS).toFixed(0)} s window; highest ${pct(top?.score)} at ${top?.startS.toFixed(0)}–${top?.endS.toFixed(0)} s`}
      viewBox={`0 0 ${width} 1`}
      preserveAspectRatio="none"
      width="100%"
      height="14"
    >
      <rect x="0" y="0" width={width} height="1" fill="#f5f6f8" />
      {segments.map((seg) => (
        <rect
          x={seg.startS}
          y="0"
          width={Math.max(0, Math.min(seg.endS, width) - seg.startS)}
          height="1"
          fill="#c0392b"
          fill-opacity={seg.score.toFixed(3)}
        >
          <title>{`${seg.startS.toFixed(0)}–${seg.endS.toFixed(0)} s: ${pct(seg.score)}`}</title>
        </rect>
      ))}
    </svg>
  );
};

/** The AI-likeness verdict: the calibrated score, whether the model covers this audio, the loudest windows. */
const ClassifierPanel: FC<{ signal: ClassifierSignal; version: string | undefined }> = ({
  signal,
  version,
}) => {
  const top = [...signal.segments].sort((a, b) => b.score - a.score).slice(0, 3);
  return (
    <>
      {signal.applicable ? null : (
        <p>
          Not applicable: the model covers speech, and this sounds like music or other audio. The score is
          shown for reference; the policy does not use it.
        </p>
      )}
      <Dl
        rows={[
          ["Score", pct(signal.score)],
          [
            "Highest windows",
            top.map((w) => `${w.startS.toFixed(0)}–${w.endS.toFixed(0)} s: ${pct(w.score)}`).join("; ") ||
              null,
          ],
          ["Model", signal.modelVersion],
          ["Stage version", version ?? null],
        ]}
      />
      <p class="muted">
        A score, not a verdict: the model was trained on classic, statistical and vocoder speech synthesis,
        not on modern neural TTS. The strip under the waveform shows it per window.
      </p>
    </>
  );
};

/** Earmark's own watermark in the upload: audio Earmark distributed before, and whose it was. */
const WatermarkPanel: FC<{ signal: WatermarkSignal; accountId: string; version: string | undefined }> = ({
  signal,
  accountId,
  version,
}) => {
  if (!signal.found)
    return (
      <p>
        No Earmark watermark: this is not audio Earmark distributed (or the mark did not survive).{" "}
        <span class="muted">Stage version {version ?? "unknown"}.</span>
      </p>
    );
  const whose = !signal.linkedUploadId
    ? "no rendition in this database carries this id"
    : signal.linkedAccountId === accountId
      ? "this account's own distributed audio"
      : "another account's distributed audio";
  return (
    <Dl
      rows={[
        ["Found", `yes — ${whose}`],
        ["Watermark id", signal.payload],
        ["Distributed as upload", signal.linkedUploadId],
        ["Confidence", pct(signal.confidence)],
        ["Stage version", version ?? null],
      ]}
    />
  );
};

/** The C2PA report the upload arrived with: whether it had a manifest, its state, who made and signed it. */
const ProvenancePanel: FC<{ signal: ProvenanceSignal; version: string | undefined }> = ({
  signal,
  version,
}) => {
  if (signal.problem) {
    return (
      <p>
        Could not be checked ({signal.problem.code}): {signal.problem.detail}
      </p>
    );
  }
  if (!signal.present) return <p>The upload carries no C2PA manifest.</p>;
  const m = signal.activeManifest;
  return (
    <Dl
      rows={[
        ["State", signal.state ?? "not validated"],
        ["Failures", signal.statusCodes.join(", ") || null],
        ["Made by", m?.claimGenerator ?? null],
        ["Signed by", m?.signer ?? null],
        ["Actions", m?.actions.join(", ") || null],
        ["Source types", m?.digitalSourceTypes.map((t) => t.split("/").pop()).join(", ") || null],
        ["Stage version", version ?? null],
      ]}
    />
  );
};

export const AuditPage: FC<{
  reviewer: Reviewer;
  csrf: string;
  rows: AuditRow[];
  filter: AuditFilter;
  query: string;
  limit: number;
}> = ({ reviewer, csrf, rows, filter, query, limit }) => (
  <Layout title="Audit log" reviewer={reviewer} csrf={csrf}>
    <h1>Audit log</h1>
    <form class="filters" method="get" action="/review/audit">
      <label>
        Who (email)
        <input name="actor" value={filter.actor ?? ""} />
      </label>
      <Select name="action" label="Action" value={filter.action} options={AUDIT_ACTIONS.map((a) => [a, a])} />
      <label>
        Upload id
        <input name="upload" value={filter.uploadId ?? ""} />
      </label>
      <label>
        From (date)
        <input type="date" name="since" value={filter.since?.toISOString().slice(0, 10) ?? ""} />
      </label>
      <label>
        Until (date, exclusive)
        <input type="date" name="until" value={filter.until?.toISOString().slice(0, 10) ?? ""} />
      </label>
      <button class="secondary" type="submit">
        Filter
      </button>
      <a href={`/review/audit.csv${query}`}>Export CSV</a>
    </form>
    <p class="muted">
      {rows.length} entries
      {rows.length === limit ? ` (the newest ${limit}; narrow the filters or export CSV for all)` : ""}. The
      log is append-only: the database refuses to change or delete entries.
    </p>
    <table>
      <thead>
        <tr>
          <th>When</th>
          <th>Who</th>
          <th>Action</th>
          <th>Upload</th>
          <th>Why</th>
          <th>Before → after</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr>
            <td>{time(r.at)}</td>
            <td>{r.actor}</td>
            <td>{r.action}</td>
            <td>{r.uploadId ? <a href={`/review/items/${r.uploadId}`}>{r.uploadId}</a> : "—"}</td>
            <td>
              {r.reason ?? ""}
              {r.note ? <div class="muted">{r.note}</div> : null}
            </td>
            <td>
              {r.fromState ?? "—"} → {r.toState ?? "—"}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  </Layout>
);

export const DecisionsPage: FC<{
  reviewer: Reviewer;
  csrf: string;
  hits: RuleHits[];
  recent: RecentDecision[];
  overrides: Override[];
  filter: { rule?: string; revision?: string; by?: "policy" | "reviewer" };
  activeRevision: string;
}> = ({ reviewer, csrf, hits, recent, overrides, filter, activeRevision }) => {
  const flows = new Map<string, number>();
  for (const o of overrides) {
    const k = `${o.policyAction} → ${o.reviewerAction}`;
    flows.set(k, (flows.get(k) ?? 0) + 1);
  }
  return (
    <Layout title="Decisions" reviewer={reviewer} csrf={csrf}>
      <h1>Decisions</h1>
      <h2>Reviewer decisions against the policy</h2>
      <p class="muted">
        The policy's decision beside the latest reviewer decision on the same upload — the pairs{" "}
        <code>earmark policy replay</code> measures agreement on, and{" "}
        <code>earmark policy cases --from-overrides</code> turns into test cases.
      </p>
      {overrides.length === 0 ? (
        <p>No reviewer has decided an upload yet.</p>
      ) : (
        <>
          <p class="counts">
            {[...flows.entries()].map(([k, n]) => (
              <span>
                <b>{n}</b> {k}
              </span>
            ))}
          </p>
          <table>
            <thead>
              <tr>
                <th>Upload</th>
                <th>Policy</th>
                <th>Reviewer</th>
                <th>When</th>
              </tr>
            </thead>
            <tbody>
              {overrides.map((o) => (
                <tr>
                  <td>
                    <a href={`/review/items/${o.uploadId}`}>{o.title ?? o.uploadId}</a>
                  </td>
                  <td>
                    <b>{o.policyAction}</b> ({o.policyRules.join(", ") || "no rule"}){" "}
                    <code>{o.policyRevision}</code>
                  </td>
                  <td>
                    <b>{o.reviewerAction}</b>
                    {o.reviewerLabels.length ? ` (${o.reviewerLabels.join(", ")})` : ""} by {o.decidedBy}
                  </td>
                  <td>{time(o.decidedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <h2>Rule hits by bundle revision</h2>
      {hits.length === 0 ? <p>No rule has matched yet.</p> : null}
      {hits.map((h) => (
        <section class="card">
          <p>
            Revision <code>{h.revision}</code>
            {h.revision === activeRevision ? " (active)" : ""}
            {h.gitCommit ? (
              <>
                {" "}
                git <code>{h.gitCommit.slice(0, 12)}</code>
              </>
            ) : null}
            {h.revisionCreatedAt ? `, first decided ${time(h.revisionCreatedAt)}` : ""} —{" "}
            <a href={`/review/decisions?revision=${h.revision}`}>its decisions</a>
          </p>
          <table>
            <thead>
              <tr>
                <th>Rule</th>
                <th>Mode</th>
                <th class="num">Hits</th>
              </tr>
            </thead>
            <tbody>
              {h.rules.map((r) => (
                <tr>
                  <td>
                    <a href={`/review/decisions?rule=${r.ruleId}`}>{r.ruleId}</a>
                  </td>
                  <td>
                    {r.mode === "shadow" ? <span class="pill">shadow (never enforced)</span> : "enforced"}
                  </td>
                  <td class="num">{r.hits}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
      <h2>Recent decisions</h2>
      <form class="filters" method="get" action="/review/decisions">
        <label>
          Rule
          <input name="rule" value={filter.rule ?? ""} />
        </label>
        <label>
          Revision
          <input name="revision" value={filter.revision ?? ""} />
        </label>
        <Select
          name="by"
          label="Decided by"
          value={filter.by}
          options={[
            ["policy", "the policy"],
            ["reviewer", "a reviewer"],
          ]}
        />
        <button class="secondary" type="submit">
          Filter
        </button>
        <a href="/review/decisions">Clear</a>
      </form>
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Upload</th>
            <th>Decision</th>
            <th>By</th>
            <th>Rules that matched</th>
            <th>Revision</th>
          </tr>
        </thead>
        <tbody>
          {recent.map((d) => (
            <tr>
              <td>{time(d.createdAt)}</td>
              <td>
                <a href={`/review/items/${d.uploadId}`}>{d.title ?? d.uploadId}</a>
              </td>
              <td>
                <b>{d.action}</b>
                {d.labels.length ? ` (${d.labels.join(", ")})` : ""}
              </td>
              <td>{d.decidedBy}</td>
              <td>{d.matched.join(", ") || "—"}</td>
              <td>
                <code>{d.policyRevision}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Layout>
  );
};
