// Source: https://github.com/grafana/k6-docs/blob/587199f5c28d7a2cff9b540808390e6c471d6de7/docs/sources/k6/next/using-k6/thresholds.md (code block 9)
// Licence: grafana/k6-docs ships no licence file; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py); duration: '10s' -> duration: '2s'.
import http from 'k6/http';
import { group, sleep } from 'k6';

export const options = {
  thresholds: {
    'group_duration{group:::individualRequests}': ['avg < 400'],
    'group_duration{group:::batchRequests}': ['avg < 200'],
  },
  vus: 1,
  duration: '2s',
};

export default function () {
  group('individualRequests', function () {
    http.get('https://quickpizza.grafana.com/api/json?letter=a');
    http.get('https://quickpizza.grafana.com/api/json?letter=b');
    http.get('https://quickpizza.grafana.com/api/json?letter=c');
  });

  group('batchRequests', function () {
    http.batch([
      ['GET', 'https://quickpizza.grafana.com/api/json?letter=a'],
      ['GET', 'https://quickpizza.grafana.com/api/json?letter=b'],
      ['GET', 'https://quickpizza.grafana.com/api/json?letter=c'],
    ]);
  });

  sleep(1);
}
