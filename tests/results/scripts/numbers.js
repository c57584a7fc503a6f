// Values in every range where Go's number formats differ: k6 1.x writes the JSON output's
// values with strconv 'g' (1.234567e+06), k6 2.x in plain decimals (1234567).
import { Counter, Trend, Gauge } from 'k6/metrics';

const big = new Counter('big_counter');
const wide = new Trend('wide_trend');
const tiny = new Gauge('tiny_gauge');

export const options = {
  iterations: 7,
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(99.99)', 'count'],
};

export default function () {
  big.add(1234567);
  for (const v of [2500000.5, 123456789012, 0.000000123, 100000, 1e21, 12.5, 999999.9999]) wide.add(v);
  tiny.add(0.0000001);
}
