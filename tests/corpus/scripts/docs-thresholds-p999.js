// Source: https://github.com/grafana/k6-docs/blob/587199f5c28d7a2cff9b540808390e6c471d6de7/docs/sources/k6/next/using-k6/thresholds.md (code block 8)
// Licence: grafana/k6-docs ships no licence file; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py); sleep(1) -> sleep(0.2).
import http from 'k6/http';
import { sleep } from 'k6';

export const options = {
  thresholds: {
    // 90% of requests must finish within 400ms, 95% within 800, and 99.9% within 2s.
    http_req_duration: ['p(90) < 400', 'p(95) < 800', 'p(99.9) < 2000'],
  },
};

export default function () {
  const res1 = http.get('https://quickpizza.grafana.com');
  sleep(0.2);
}
