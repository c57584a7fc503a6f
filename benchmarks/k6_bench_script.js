// The benchmark's k6 scenario: several named endpoints, a 404 every 5th
// iteration, checks and a group, so the ingested file looks like a real run.
import http from 'k6/http';
import { check, group } from 'k6';

const BASE = __ENV.BASE;

export const options = {
  vus: Number(__ENV.VUS || 20),
  duration: __ENV.DURATION || '10s',
  thresholds: {
    http_req_failed: ['rate<0.5'],
    'http_req_duration{name:index}': ['p(95)<500'],
    'http_req_duration{name:item}': ['p(99)<800', 'avg<300'],
  },
};

export default function () {
  group('browse', () => {
    const r = http.get(`${BASE}/index`, { tags: { name: 'index' } });
    check(r, { 'index 200': (x) => x.status === 200 });
    http.get(`${BASE}/api/items`, { tags: { name: 'items' } });
  });
  const r = http.get(`${BASE}/api/items/${__ITER % 50}`, { tags: { name: 'item' } });
  check(r, { 'item 200': (x) => x.status === 200 });
  if (__ITER % 5 === 0) {
    http.get(`${BASE}/status/404`, { tags: { name: 'missing' } });
  }
}
