// Every threshold form k6 accepts: strings, the object form with abortOnFail and
// delayAbortEval, several per metric, submetric selectors with spaces and colons.
import http from 'k6/http';
import { check, group } from 'k6';

export const options = {
  iterations: 6,
  vus: 2,
  thresholds: {
    http_req_duration: [{ threshold: 'p(99) < 60000', abortOnFail: true, delayAbortEval: '10s' }, 'avg<60000'],
    'http_req_duration{name:index page,method:GET}': [{ threshold: 'max<60000', abortOnFail: false }],
    'checks{check:status is 200: yes}': ['rate==1'],
    'group_duration{group:::outer::inner}': ['min>=0'],
    iterations: [{ threshold: 'count<3', abortOnFail: false }],
  },
};

export default function () {
  group('outer', () => {
    group('inner', () => {
      const res = http.get(`${__ENV.BASE}/index`, { tags: { name: 'index page' } });
      check(res, { 'status is 200: yes': (r) => r.status === 200 });
    });
  });
}
