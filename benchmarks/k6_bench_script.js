// The benchmark's k6 scenario against the novaload demo target: named endpoints,
// a group, checks and a 404 every 5th iteration, so the ingested file looks like a
// real run (many tag sets, failed requests, Metric lines with submetrics).
import http from 'k6/http';
import { check, group } from 'k6';

const BASE = __ENV.BASE;

export const options = {
  vus: Number(__ENV.VUS || 20),
  duration: __ENV.DURATION || '10s',
  thresholds: {
    http_req_failed: ['rate<0.5'],
    'http_req_duration{name:cluster}': ['p(95)<500'],
    'http_req_duration{name:item}': ['p(99)<800', 'avg<300'],
  },
};

export default function () {
  group('browse', () => {
    const r = http.get(`${BASE}/api/v1/cluster/status`, { tags: { name: 'cluster' } });
    check(r, { 'cluster 200': (x) => x.status === 200 });
    http.get(`${BASE}/api/v1/items?limit=5`, { tags: { name: 'items' } });
  });
  const r = http.get(`${BASE}/api/v1/items/${(__ITER % 20) + 1}`, { tags: { name: 'item' } });
  check(r, { 'item 200': (x) => x.status === 200 });
  if (__ITER % 5 === 0) {
    http.get(`${BASE}/api/v1/vms/missing-${__VU}`, { tags: { name: 'missing' } });
  }
}
