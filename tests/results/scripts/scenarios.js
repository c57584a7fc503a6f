// Two scenarios (constant VUs + shared iterations), nested groups, a threshold on a
// scenario submetric.
import http from 'k6/http';
import { check, group, sleep } from 'k6';

const B = __ENV.BASE;

export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: 2, duration: '2s', exec: 'browse' },
    buy: { executor: 'shared-iterations', vus: 2, iterations: 40, exec: 'buy', startTime: '500ms' },
  },
  thresholds: {
    'http_req_duration{scenario:buy}': ['p(90)<2000'],
    'iterations{scenario:browse}': ['count>1'],
    'checks': ['rate>0.5'],
  },
};

export function browse() {
  group('list', () => {
    group('page', () => {
      const r = http.get(`${B}/api/items`);
      check(r, { 'list ok': (x) => x.status === 200, 'list fast': (x) => x.timings.duration < 0.0001 });
    });
  });
  sleep(0.01);
}

export function buy() {
  const r = http.post(`${B}/status/201`, 'x');
  check(r, { 'created': (x) => x.status === 201 });
  http.get(`${B}/status/503`);
}

export function handleSummary(data) {
  return { [__ENV.HANDLE]: JSON.stringify(data) };
}
