// Trace context on every k6/http request of the script this module is imported before
// (novaload run --traces). Written for novaload; it does what k6's jslib
// http-instrumentation-tempo does, without fetching it from jslib.k6.io.
//
// Each request gets a new trace id and span id in the propagator's header. When the
// trace is sampled, its id is also the request's sample metadata "trace_id", which k6's
// JSON output writes beside every http_req_* sample of that request: novaload reads the
// exemplars (slowest and first failed requests, with their traces) from there.
//
// The run's id travels too, as W3C baggage (`baggage: testid=<run id>`): the demo target
// puts it on its spans, and Grafana's Jaeger datasource goes from a span to the run's
// logs in Loki by it. A request that has its own baggage header keeps it as it is.
//
// http's functions are replaced on the module's default object, which every module of a
// VU shares: `import http from "k6/http"`, `import { get } from "k6/http"` and
// `require("k6/http")` all see the replacement (k6 reads a named import of a Go module
// from that object on each use). A request that already carries the propagator's
// header is sent as it is.
import http from "k6/http";
import exec from "k6/execution";

const CONFIG = __NOVALOAD_TRACING__;
const HEADER = { w3c: "traceparent", jaeger: "uber-trace-id", b3: "b3" }[CONFIG.propagator];
// Sampled when bytes 8..11 of the trace id, read as a number below 2^32, fall under the
// ratio: the decision travels with the id, as OpenTelemetry's ratio sampler makes it.
const BELOW = Math.round(CONFIG.sampling * 4294967296);
const HEX = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? "0" : "") + i.toString(16));
const random = new Uint8Array(24);
const original = {
  request: http.request,
  asyncRequest: http.asyncRequest,
  batch: http.batch,
};

function hex(from, to) {
  let out = "";
  for (let i = from; i < to; i++) out += HEX[random[i]];
  return out;
}

// A trace id and the first span id from one draw of random bytes. An all-zero id is
// invalid (W3C): one bit of each is set.
function newTrace() {
  crypto.getRandomValues(random);
  random[15] |= 1;
  random[23] |= 1;
  const sampled = random[8] * 16777216 + random[9] * 65536 + random[10] * 256 + random[11] < BELOW;
  return { id: hex(0, 16), span: hex(16, 24), sampled: sampled };
}

function newSpan() {
  crypto.getRandomValues(random);
  random[23] |= 1;
  return hex(16, 24);
}

function header(trace, span) {
  if (CONFIG.propagator === "w3c") return `00-${trace.id}-${span}-${trace.sampled ? "01" : "00"}`;
  if (CONFIG.propagator === "jaeger") return `${trace.id}:${span}:0:${trace.sampled ? "1" : "0"}`;
  return `${trace.id}-${span}-${trace.sampled ? "1" : "0"}`;
}

const TESTID = __ENV.NOVALOAD_RUN_ID; // novaload sets it for every run, on every runner
const BAGGAGE = TESTID ? `testid=${encodeURIComponent(TESTID)}` : null;

function hasHeader(params, wanted) {
  const headers = params && params.headers;
  if (!headers || typeof headers !== "object") return false;
  for (const name of Object.keys(headers)) if (name.toLowerCase() === wanted) return true;
  return false;
}

function hasTrace(params) {
  return hasHeader(params, HEADER);
}

// A copy of the request's params with the headers added (the script's own object, which
// it may reuse for every request, is left as it was).
function withHeader(params, value) {
  const out = Object.assign({}, params);
  out.headers = Object.assign({}, out.headers);
  out.headers[HEADER] = value;
  if (BAGGAGE !== null && !hasHeader(params, "baggage")) out.headers.baggage = BAGGAGE;
  return out;
}

// Runs send() with the trace id as the samples' metadata when the trace is sampled; the
// metadata the VU had before is put back afterwards.
function traced(trace, send) {
  if (!trace.sampled) return send();
  const metadata = exec.vu.metrics.metadata;
  const before = metadata.trace_id;
  metadata.trace_id = trace.id;
  try {
    return send();
  } finally {
    if (before === undefined) delete metadata.trace_id;
    else metadata.trace_id = before;
  }
}

function request(method, url, body, params) {
  if (arguments.length > 4 || hasTrace(params)) return original.request.apply(http, arguments);
  const trace = newTrace();
  return traced(trace, () => original.request(method, url, body, withHeader(params, header(trace, trace.span))));
}

function asyncRequest(method, url, body, params) {
  if (arguments.length > 4 || hasTrace(params)) return original.asyncRequest.apply(http, arguments);
  const trace = newTrace();
  // k6 takes the metadata when the request is made, before the promise settles
  return traced(trace, () =>
    original.asyncRequest(method, url, body, withHeader(params, header(trace, trace.span))),
  );
}

// One trace for the batch, a span of its own for each request in it: the samples of all
// of them carry the batch's trace id.
function batchItem(item, trace) {
  if (typeof item === "string") return ["GET", item, null, withHeader(null, header(trace, newSpan()))];
  if (Array.isArray(item)) {
    if (hasTrace(item[3])) return item;
    return [item[0], item[1], item.length > 2 ? item[2] : null, withHeader(item[3], header(trace, newSpan()))];
  }
  if (item && typeof item === "object") {
    if (hasTrace(item.params)) return item;
    const out = Object.assign({}, item);
    out.params = withHeader(item.params, header(trace, newSpan()));
    return out;
  }
  return item; // k6 reports what it cannot send
}

function batch(requests) {
  if (arguments.length !== 1 || !requests || typeof requests !== "object") {
    return original.batch.apply(http, arguments);
  }
  const trace = newTrace();
  let items;
  if (Array.isArray(requests)) items = requests.map((item) => batchItem(item, trace));
  else {
    items = {};
    for (const name of Object.keys(requests)) items[name] = batchItem(requests[name], trace);
  }
  return traced(trace, () => original.batch(items));
}

http.request = request;
http.asyncRequest = asyncRequest;
http.batch = batch;
http.get = (url, params) => request("GET", url, null, params);
http.head = (url, params) => request("HEAD", url, null, params);
http.post = (url, body, params) => request("POST", url, body, params);
http.put = (url, body, params) => request("PUT", url, body, params);
http.patch = (url, body, params) => request("PATCH", url, body, params);
http.del = (url, body, params) => request("DELETE", url, body, params);
http.options = (url, body, params) => request("OPTIONS", url, body, params);
