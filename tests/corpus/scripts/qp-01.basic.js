// Source: https://github.com/grafana/quickpizza/blob/75485936dfea5e969b8159b06adee762da6c5799/k6/foundations/01.basic.js
// Licence: Apache-2.0; see tests/corpus/NOTICE.md.
// Changed for the corpus: URLs point at the loopback stand-in at run time (tests/corpus/standin.py); duration: '5s' -> duration: '2s'; sleep(1) -> sleep(0.5).
import http from "k6/http";
import { check, sleep } from "k6";

const BASE_URL = __ENV.BASE_URL || 'http://localhost:3333';

export const options = {
  vus: 5,
  duration: '2s',
};

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
