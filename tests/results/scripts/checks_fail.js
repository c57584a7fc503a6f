// Half the checks fail, every request succeeds and the script has no thresholds:
// k6 exits 0, and so must junit.xml agree (a failed check is not a failed test).
import http from 'k6/http';
import { check } from 'k6';
import exec from 'k6/execution';

export const options = { vus: 2, iterations: 40 };

export default function () {
  const r = http.get(`${__ENV.BASE}/index`);
  check(r, { 'is 200': (x) => x.status === 200, 'odd iteration': () => exec.scenario.iterationInTest % 2 === 1 });
}

export function handleSummary(data) {
  return { [__ENV.HANDLE]: JSON.stringify(data) };
}
