// groups, checks, all four custom metric types, submetric thresholds (with the
// spaces and quotes k6 allows), setup/teardown, 404/500 and a refused connection.
import http from 'k6/http';
import { check, group } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';

const B = __ENV.BASE;
const myCounter = new Counter('my_counter');
const myGauge = new Gauge('my_gauge');
const myRate = new Rate('my_rate');
const myTrend = new Trend('my_trend', true);

export const options = {
  vus: 3,
  duration: '2s',
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'p(99.9)'],
  thresholds: {
    'http_req_duration{name:index}': ['p(95)<500', 'p(99.5)<1000'],
    'http_req_duration{ name : "api" , method:GET}': ['avg<1000'],
    "http_req_waiting{status:'500'}": ['max<0.000001'],
    'my_trend{kind:a}': ['p(99)<1000', 'med>100'],
    'my_rate{kind:b}': ['rate>0.1'],
    'http_req_failed': [{ threshold: 'rate<0.01', abortOnFail: false }],
    'my_counter': ['count>0', 'rate>1'],
    'my_gauge': ['value>=0'],
    'checks{check:never}': ['rate>0.5'],
  },
};

export function setup() { http.get(`${B}/index`); }

export default function () {
  group('g1', () => {
    const r = http.get(`${B}/index`, { tags: { name: 'index' } });
    check(r, { 'is 200': (x) => x.status === 200 });
    group('inner', () => { http.get(`${B}/api/items`); });
  });
  http.get(`${B}/api/items/${__ITER}`, { tags: { name: 'api' } });
  if (__ITER % 5 === 0) http.get(`${B}/status/404`);
  if (__ITER % 9 === 0) http.get(`${B}/status/500`);
  if (__ITER % 7 === 0) http.get('http://127.0.0.1:9/closed');
  myCounter.add(2, { kind: 'a' });
  myGauge.add(__ITER * 1.5);
  myRate.add(__ITER % 3 === 0, { kind: __ITER % 2 ? 'a' : 'b' });
  myTrend.add(Math.random() * 10, { kind: __ITER % 2 ? 'a' : 'b' });
}

export function teardown() { http.get(`${B}/index`); }

export function handleSummary(data) {
  return { [__ENV.HANDLE]: JSON.stringify(data) };
}
