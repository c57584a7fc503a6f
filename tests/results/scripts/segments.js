// shared-iterations so that execution segments split the work exactly.
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

const B = __ENV.BASE;

export const options = {
  scenarios: {
    work: { executor: 'shared-iterations', vus: 4, iterations: 101 },
  },
};

export default function () {
  const r = http.get(`${B}/api/items/${__ITER % 3}`, { tags: { name: 'item' } });
  check(r, { 'ok': (x) => x.status === 200 });
  // iterationInTest is unique across execution segments; __ITER (per VU) would make the
  // number of 404s depend on how iterations happened to spread over VUs.
  if (exec.scenario.iterationInTest % 4 === 0) http.get(`${B}/status/404`);
}

export function handleSummary(data) {
  return { [__ENV.HANDLE]: JSON.stringify(data) };
}
