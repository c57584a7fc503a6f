// Source: https://github.com/grafana/k6-docs/blob/587199f5c28d7a2cff9b540808390e6c471d6de7/docs/sources/k6/next/using-k6/thresholds.md (code block 15)
// Licence: grafana/k6-docs ships no licence file; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py); vus: 50, -> vus: 5,; duration: '10s', -> duration: '2s',; sleep(1) -> sleep(0.5).
import http from 'k6/http';
import { check, sleep } from 'k6';

export const options = {
  vus: 5,
  duration: '2s',
  thresholds: {
    'checks{myTag:hola}': ['rate>0.9'],
  },
};

export default function () {
  let res;

  res = http.get('https://quickpizza.grafana.com/api/status/500');
  check(res, {
    'status is 500': (r) => r.status == 500,
  });

  res = http.get('https://quickpizza.grafana.com/api/status/200');
  check(
    res,
    {
      'status is 200': (r) => r.status == 200,
    },
    { myTag: 'hola' }
  );

  sleep(0.5);
}
