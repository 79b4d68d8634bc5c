import type { FC } from "hono/jsx";
import type { App } from "./context.js";

type Doc = ReturnType<App["getOpenAPI31Document"]>;
type Json = Record<string, unknown>;

const METHODS = ["get", "post", "put", "patch", "delete"] as const;

/** Minimal inline markdown: `code`, **bold**, blank-line paragraphs. Input is our own text, escaped by JSX. */
const Text: FC<{ text?: string }> = ({ text }) => {
  if (!text) return null;
  return (
    <>
      {text.split(/\n\s*\n/).map((para) => (
        <p>
          {para
            .split(/(`[^`]+`|\*\*[^*]+\*\*)/)
            .map((part) =>
              part.startsWith("`") ? (
                <code>{part.slice(1, -1)}</code>
              ) : part.startsWith("**") ? (
                <b>{part.slice(2, -2)}</b>
              ) : (
                part
              ),
            )}
        </p>
      ))}
    </>
  );
};

function refName(schema: Json | undefined): string | null {
  const ref = schema?.$ref;
  return typeof ref === "string" ? ref.split("/").pop()! : null;
}

function typeOf(schema: Json | undefined): string {
  if (!schema) return "";
  const ref = refName(schema);
  if (ref) return ref;
  if (Array.isArray(schema.enum)) return schema.enum.map((e) => JSON.stringify(e)).join(" | ");
  if (Array.isArray(schema.anyOf)) return (schema.anyOf as Json[]).map(typeOf).join(" | ");
  if (schema.type === "array") return `${typeOf(schema.items as Json)}[]`;
  const t = Array.isArray(schema.type) ? schema.type.join(" | ") : String(schema.type ?? "any");
  return schema.format ? `${t} (${schema.format})` : t;
}

const Schema: FC<{ schema?: Json; depth?: number }> = ({ schema, depth = 0 }) => {
  if (!schema) return null;
  const props = schema.properties as Record<string, Json> | undefined;
  if (!props || refName(schema)) return <code>{typeOf(schema)}</code>;
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return (
    <ul class="schema">
      {Object.entries(props).map(([name, s]) => (
        <li>
          <code>{name}</code>
          {required.has(name) ? <span class="req">required</span> : null}{" "}
          <span class="type">{typeOf(s)}</span>
          {s.description ? <span class="desc"> — {String(s.description)}</span> : null}
          {depth < 3 && s.properties ? <Schema schema={s} depth={depth + 1} /> : null}
        </li>
      ))}
    </ul>
  );
};

const Operation: FC<{ method: string; path: string; op: Json }> = ({ method, path, op }) => {
  const params = (op.parameters as Json[] | undefined) ?? [];
  const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
  const responses = (op.responses as Record<string, Json> | undefined) ?? {};
  const id = `${method}-${path}`.replace(/[^\w]+/g, "-");
  return (
    <section class="op" id={id}>
      <h3>
        <span class={`m ${method}`}>{method.toUpperCase()}</span> <code>{path}</code>
      </h3>
      <p class="summary">{String(op.summary ?? "")}</p>
      <Text text={op.description as string | undefined} />
      {params.length > 0 ? (
        <>
          <h4>Parameters</h4>
          <table>
            <tbody>
              {params.map((p) => (
                <tr>
                  <td>
                    <code>{String(p.name)}</code>
                  </td>
                  <td>{String(p.in)}</td>
                  <td>{typeOf(p.schema as Json)}</td>
                  <td>
                    {String((p.description ?? (p.schema as Json | undefined)?.description ?? "") as string)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {body ? (
        <>
          <h4>Request body</h4>
          {Object.entries(body).map(([type, c]) => (
            <div>
              <code class="ctype">{type}</code> <Schema schema={c.schema as Json} />
            </div>
          ))}
        </>
      ) : null}
      <h4>Responses</h4>
      <table>
        <tbody>
          {Object.entries(responses).map(([status, r]) => (
            <tr>
              <td class={`status s${status[0]}`}>{status}</td>
              <td>{String(r.description ?? "")}</td>
              <td>
                {Object.entries((r.content as Record<string, Json> | undefined) ?? {}).map(([type, c]) => (
                  <div>
                    <code class="ctype">{type}</code> {typeOf(c.schema as Json)}
                  </div>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
};

const CSS = `body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d1d1f;display:flex}
nav{width:260px;flex:none;height:100vh;position:sticky;top:0;overflow:auto;background:#f5f5f7;padding:16px;box-sizing:border-box;font-size:13px}
nav a{display:block;color:#1d1d1f;text-decoration:none;padding:2px 0}nav h2{font-size:13px;text-transform:uppercase;color:#666;margin:16px 0 4px}
main{max-width:980px;padding:24px 40px}code{background:#f0f0f3;padding:1px 4px;border-radius:3px;font-size:13px}
.m{font:bold 12px monospace;padding:2px 6px;border-radius:3px;color:#fff}.get{background:#2b7a0b}.post{background:#0b5cad}.delete{background:#b00020}.put,.patch{background:#8a5a00}
.op{border-top:1px solid #ddd;padding-top:8px;margin-top:24px}.summary{font-weight:600}table{border-collapse:collapse;margin:4px 0}
td{border-bottom:1px solid #eee;padding:4px 10px 4px 0;vertical-align:top}.status{font-weight:bold}.s2{color:#2b7a0b}.s4{color:#b00020}.s5{color:#b00020}
.req{color:#b00020;font-size:11px;margin-left:4px}.type{color:#555;font-family:monospace;font-size:12px}.schema{margin:2px 0 2px 0}.desc{color:#555}`;

const Page: FC<{ doc: Doc }> = ({ doc }) => {
  const paths = (doc.paths ?? {}) as Record<string, Json>;
  const ops = Object.entries(paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ path, method: m, op: item[m] as Json })),
  );
  const tags = [...new Set(ops.map((o) => ((o.op.tags as string[] | undefined) ?? ["Other"])[0]!))];
  const schemas = ((doc.components as Json | undefined)?.schemas ?? {}) as Record<string, Json>;
  const server = (doc.servers?.[0]?.url as string | undefined) ?? "";
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>{`${doc.info.title} API reference`}</title>
        <style>{CSS}</style>
      </head>
      <body>
        <nav aria-label="Operations">
          <b>
            {doc.info.title} {doc.info.version}
          </b>
          {tags.map((tag) => (
            <>
              <h2>{tag}</h2>
              {ops
                .filter((o) => ((o.op.tags as string[] | undefined) ?? ["Other"])[0] === tag)
                .map((o) => (
                  <a href={`#${`${o.method}-${o.path}`.replace(/[^\w]+/g, "-")}`}>
                    {o.method.toUpperCase()} {o.path}
                  </a>
                ))}
            </>
          ))}
          <h2>Schemas</h2>
          {Object.keys(schemas).map((name) => (
            <a href={`#schema-${name}`}>{name}</a>
          ))}
        </nav>
        <main>
          <h1>{doc.info.title} API reference</h1>
          <Text text={doc.info.description} />
          <p>
            Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI {doc.openapi}).
          </p>
          <h2>Quick start</h2>
          <pre>
            <code>{`curl -H "Authorization: Bearer $EARMARK_API_KEY" \\
  -F "file=@track.mp3" -F 'metadata={"title":"My track","kind":"music"};type=application/json' \\
  ${server}/v1/uploads
curl -H "Authorization: Bearer $EARMARK_API_KEY" ${server}/v1/uploads/upl_…`}</code>
          </pre>
          {tags.map((tag) => (
            <>
              <h2>{tag}</h2>
              {ops
                .filter((o) => ((o.op.tags as string[] | undefined) ?? ["Other"])[0] === tag)
                .map((o) => (
                  <Operation method={o.method} path={o.path} op={o.op} />
                ))}
            </>
          ))}
          <h2>Schemas</h2>
          {Object.entries(schemas).map(([name, s]) => (
            <section class="op" id={`schema-${name}`}>
              <h3>{name}</h3>
              {s.description ? <Text text={String(s.description)} /> : null}
              <Schema schema={s} />
            </section>
          ))}
        </main>
      </body>
    </html>
  );
};

/** `/docs`: a readable API reference rendered on the server from the same OpenAPI document. */
export function registerDocs(app: App, document: (origin: string) => Doc) {
  app.get("/docs", (c) =>
    c.html(`<!doctype html>${(<Page doc={document(new URL(c.req.url).origin)} />).toString()}`),
  );
}
