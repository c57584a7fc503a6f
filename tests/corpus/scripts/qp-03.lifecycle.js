// Source: https://github.com/grafana/quickpizza/blob/75485936dfea5e969b8159b06adee762da6c5799/k6/foundations/03.lifecycle.js
// Licence: Apache-2.0; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py); { duration: '5s', target: 5 }, { duration: '10s', target: 5 }, { duration: '5s', target: 0 }, -> { duration: '1s', target: 5 }, { duration: '1s', target: 5 }, { duration: '1s', target: 0 },; sleep(1) -> sleep(0.5).
import http from "k6/http";
import { check, sleep } from "k6";

const BASE_URL = __ENV.BASE_URL || 'http://localhost:3333';

export const options = {
  stages: [
    { duration: '1s', target: 5 },
    { duration: '1s', target: 5 },
    { duration: '1s', target: 0 },
  ],
};

export function setup() {
  let res = http.get(BASE_URL)
  if (res.status !== 200) {
    throw new Error(`Got unexpected status code ${res.status} when trying to setup. Exiting.`)
  }
}

export default function () {
  let restrictions = {
    maxCaloriesPerSlice: 500,
    mustBeVegetarian: false,
    excludedIngredients: ["pepperoni"],
    excludedTools: ["knife"],
    maxNumberOfToppings: 6,
    minNumberOfToppings: 2
  }
  let res = http.post(`${BASE_URL}/api/pizza`, JSON.stringify(restrictions), {
    headers: {
      'Content-Type': 'application/json',
      'Authorization': 'token abcdef0123456789',
    },
  });
  check(res, { "status is 200": (res) => res.status === 200 });
  console.log(`${res.json().pizza.name} (${res.json().pizza.ingredients.length} ingredients)`);
  sleep(0.5);
}

export function teardown(){
  // TODO: Send notification to Slack
  console.log("That's all folks!")
}
