// Every metric type k6 has, with values whose formatting tells rounding from truncation.
import http from 'k6/http';
import { check } from 'k6';
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
const c = new Counter('my_counter'); const g = new Gauge('my_gauge'); const r = new Rate('my_rate');
const t = new Trend('my_trend', true); const tn = new Trend('my_plain_trend'); 
export const options = { iterations: 40, vus: 2, thresholds: { my_rate: ['rate>0.1'], 'http_req_duration': ['p(95)<5000'] } };
export default function () {
  const res = http.get(__ENV.BASE);
  check(res, { ok: (x) => x.status === 200, odd: () => Math.random() < 0.3 });
  c.add(Math.random() * 3.3); g.add(Math.random() * 100); r.add(Math.random() < 0.37);
  t.add(Math.random() * 2000 + 0.0004); tn.add(Math.random() * 17.123456789);
}
