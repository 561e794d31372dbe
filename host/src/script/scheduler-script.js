// The JavaScript SDK (`import { http, check, data } from "scheduler:script"`):
// k6-like functions over the `scheduler:script/sdk` imports. `script build`
// puts it beside the script, whose import it becomes.
import * as raw from "scheduler:script/sdk@0.1.0";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a request returned: `status`, `headers` (lower-case names),
 * `body` (text), `bytes`, `json()`, `error` (none: a response arrived). */
export class Response {
  constructor(r) {
    this.status = r.status;
    this.headers = Object.fromEntries(r.headers.map(([k, v]) => [k.toLowerCase(), v]));
    this.bytes = r.body;
    this.error = r.error ?? null;
    this.durationMs = r.durationMs;
  }
  get body() {
    return decoder.decode(this.bytes);
  }
  json() {
    return JSON.parse(this.body);
  }
}

function hasHeader(headers, name) {
  return headers.some(([k]) => k.toLowerCase() === name);
}

/** `params`: headers, json, form, body, query, name, timeout (ms),
 * maxRedirects, maxBody. */
function request(method, url, params = {}) {
  const headers = Object.entries(params.headers ?? {}).map(([k, v]) => [k, String(v)]);
  let body;
  if (params.json !== undefined) {
    body = encoder.encode(JSON.stringify(params.json));
    if (!hasHeader(headers, "content-type")) headers.push(["Content-Type", "application/json"]);
  } else if (params.form !== undefined) {
    body = encoder.encode(new URLSearchParams(params.form).toString());
    if (!hasHeader(headers, "content-type")) {
      headers.push(["Content-Type", "application/x-www-form-urlencoded"]);
    }
  } else if (params.body !== undefined && params.body !== null) {
    body = typeof params.body === "string" ? encoder.encode(params.body) : params.body;
  }
  if (params.query !== undefined) {
    url += (url.includes("?") ? "&" : "?") + new URLSearchParams(params.query).toString();
  }
  return new Response(
    raw.http({
      method,
      url,
      headers,
      body,
      name: params.name,
      timeoutMs: params.timeout,
      maxRedirects: params.maxRedirects,
      maxBody: params.maxBody === undefined ? undefined : BigInt(params.maxBody),
    }),
  );
}

export const http = {
  get: (url, params) => request("GET", url, params),
  post: (url, params) => request("POST", url, params),
  put: (url, params) => request("PUT", url, params),
  patch: (url, params) => request("PATCH", url, params),
  del: (url, params) => request("DELETE", url, params),
  delete: (url, params) => request("DELETE", url, params),
  request,
};

/** k6's `check(value, {name: predicate})`: each predicate is a named check
 * (a throwing one fails); true when all passed. */
export function check(value, predicates) {
  let all = true;
  for (const [name, predicate] of Object.entries(predicates)) {
    let passed;
    try {
      passed = Boolean(predicate(value));
    } catch {
      passed = false;
    }
    raw.check(name, passed);
    all = all && passed;
  }
  return all;
}

/** Think time, in seconds (k6's unit). */
export function sleep(seconds) {
  raw.sleep(Math.max(0, Math.round(seconds * 1000)));
}

export const data = {
  /** The next row of data source `source`, as {column: value}. */
  row(source) {
    return Object.fromEntries(raw.dataRow(source));
  },
};

export function env(name) {
  return raw.env(name);
}

export const metrics = {
  counter(name, value = 1) {
    raw.counter(name, value);
  },
  trend(name, value) {
    raw.trend(name, value);
  },
};

/** Runs `fn` with its requests reported as `name/…`. */
export function group(name, fn) {
  raw.group(name);
  try {
    return fn();
  } finally {
    raw.group(undefined);
  }
}

function bytes(v) {
  return typeof v === "string" ? encoder.encode(v) : v;
}

/** What a tcp or udp exchange came to (the reply stays in the action,
 * checked there against `expect`). */
function exchanged(r) {
  return { bytesReceived: Number(r.bytesReceived), error: r.error ?? null, durationMs: r.durationMs };
}

export const tcp = {
  /** Sends `payload`; reads until `delimiter` or the peer closes; a reply
   * that does not contain `expect` fails the request. */
  exchange(target, payload, { delimiter, expect, name, timeout } = {}) {
    return exchanged(
      raw.tcp({
        target,
        payload: bytes(payload),
        delimiter: delimiter === undefined ? undefined : bytes(delimiter),
        expect: expect === undefined ? undefined : bytes(expect),
        name,
        timeoutMs: timeout,
      }),
    );
  },
};

export const udp = {
  send(target, payload, { awaitReply = true, expect, name, timeout } = {}) {
    return exchanged(
      raw.udp({
        target,
        payload: bytes(payload),
        awaitReply,
        expect: expect === undefined ? undefined : bytes(expect),
        name,
        timeoutMs: timeout,
      }),
    );
  },
};

/** What the script's `setup` returned, as {name: value}. */
export function setupData() {
  return Object.fromEntries(raw.setupValues());
}

export function vu() {
  return raw.vu();
}

export function iteration() {
  return Number(raw.iteration());
}
