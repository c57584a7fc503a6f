// Requests without a name tag: k6 names each by its URL, so ids in URLs make one
// endpoint per id (k6's docs, "URL grouping"). Item i is requested 30 - i times; the
// least requested item has a threshold of its own (a submetric k6 reports).
import http from 'k6/http';

const BASE = __ENV.BASE;
export const options = {
  iterations: 1,
  vus: 1,
  thresholds: {
    [`http_reqs{name:${BASE}/api/items/29}`]: ['count==1'],
    http_req_failed: ['rate==0'],
  },
};

export default function () {
  for (let i = 0; i < 30; i++) {
    for (let j = 0; j < 30 - i; j++) {
      http.get(`${BASE}/api/items/${i}`);
    }
  }
}
