// Source: grafana/k6 examples/custom_metrics.js at commit 87883075ccd5e3d3fb961a860b3d6e422bbc353b
// Licence: GNU AGPL-3.0-only (grafana/k6 LICENSE.md). Copyright Grafana Labs and contributors.
// Changed: the URL is the demo target (BASE) instead of httpbin.org, alternating between two
// of its paths whose names tag the custom metrics (`page`), a time Trend beside the
// example's plain one, bounded load (options), no console.log, and thresholds on
// submetrics so that k6's --summary-export carries the per-tag figures.
import http from "k6/http";
import { Counter, Gauge, Rate, Trend } from "k6/metrics";
import { check } from "k6";

let myCounter = new Counter("my_counter");
let myGauge = new Gauge("my_gauge");
let myRate = new Rate("my_rate");
let myTrend = new Trend("my_trend");
let myTime = new Trend("my_waiting", true);

export const options = {
    vus: 2,
    iterations: 30,
    thresholds: {
        'my_counter{page:health}': ['count>0'],
        'my_gauge{page:ready}': ['value>=0'],
        'my_rate{page:health}': ['rate>0'],
        'my_trend{page:ready}': ['p(95)>=0'],
        'my_waiting{page:health}': ['p(95)<5000'],
    },
};

let maxResponseTime = 0.0;

export default function () {
    const page = __ITER % 3 === 0 ? "ready" : "health";
    let res = http.get(`${__ENV.BASE}/${page}`);
    let passed = check(res, { "status is 200": (r) => r.status === 200 });
    const tags = { page: page };

    // Add one for number of requests
    myCounter.add(1, tags);

    // Set max response time seen
    maxResponseTime = Math.max(maxResponseTime, res.timings.duration);
    myGauge.add(maxResponseTime, tags);

    // Add check success or failure to keep track of rate
    myRate.add(passed && __ITER % 4 !== 0, tags);

    // Keep track of TCP-connecting and TLS handshaking part of the response time
    myTrend.add(res.timings.connecting + res.timings.tls_handshaking + __ITER, tags);
    myTime.add(res.timings.waiting, tags);
}
