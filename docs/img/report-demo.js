// The run behind docs/img/report.png (`make docs-screenshot`) and the report layout tests:
// seven endpoints of the demo target at different weights. The slow usage report is also
// the least busy, and fails its own threshold: the report has to show it first anyway.
import http from 'k6/http';
import { check, sleep } from 'k6';

const BASE = __ENV.NOVALOAD_BASE_URL;

export const options = {
  vus: 4,
  duration: '8s',
  thresholds: {
    http_req_duration: ['p(95)<1000'],
    http_req_failed: ['rate<0.05'],
    checks: ['rate>0.95'],
    'http_req_duration{name:list_items}': ['p(95)<800'],
    'http_req_duration{name:usage_report}': ['p(95)<100'],
  },
};

// name, method, path, weight
const ENDPOINTS = [
  ['list_items', 'GET', '/api/v1/items', 6],
  ['get_item', 'GET', '/api/v1/items/42', 5],
  ['search', 'GET', '/api/v1/search?q=vm', 4],
  ['health', 'GET', '/health', 3],
  ['cluster_status', 'GET', '/api/v1/cluster/status', 3],
  ['create_item', 'POST', '/api/v1/items', 2],
  ['usage_report', 'GET', '/api/v1/reports/usage', 1],
];
const BAG = ENDPOINTS.flatMap((e) => Array(e[3]).fill(e));

export default function () {
  // round-robin over the weighted bag: the same mix on every run
  const [name, method, path] = BAG[(__VU * 5 + __ITER) % BAG.length];
  const body = method === 'POST' ? JSON.stringify({ name: 'report-demo', kind: 'demo' }) : null;
  const res = http.request(method, `${BASE}${path}`, body, {
    tags: { name },
    headers: { 'Content-Type': 'application/json' },
  });
  check(res, { 'status is 2xx': (r) => r.status >= 200 && r.status < 300 });
  sleep(0.05);
}
