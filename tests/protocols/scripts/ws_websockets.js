// Source: grafana/k6 examples/websockets/test-echo.js at commit 87883075ccd5e3d3fb961a860b3d6e422bbc353b
// Licence: GNU AGPL-3.0-only (grafana/k6 LICENSE.md). Copyright Grafana Labs and contributors.
// Changed: the URL is the demo target's echo socket (WS_URL) instead of echo.websocket.org
// (its replies are JSON: the number is read from their "data"), pings every 200 ms and
// the socket closes after 1 s (instead of 1 s and 2 s), bounded load (options), no
// console.log, and thresholds on submetrics so that k6's --summary-export carries
// per-URL figures. The module is imported as k6/experimental/websockets: k6 v1.1.0 has it
// only under that name.
import { WebSocket } from "k6/experimental/websockets"

const CLOSED_STATE = 3
const URL = __ENV.WS_URL;

export const options = {
	vus: 2,
	iterations: 4,
	thresholds: {
		[`ws_connecting{url:${URL}}`]: ['p(95)<5000'],
		[`ws_session_duration{url:${URL}}`]: ['max<10000'],
		[`ws_msgs_sent{url:${URL}}`]: ['count>0'],
	},
};

export default function() {
	var url = URL
	var params = { "tags": { "my_tag": "hello" } };

	let ws = new WebSocket(url, null, params)
	ws.binaryType = "arraybuffer";
	ws.onopen = () => {
		ws.send(Date.now().toString())
	}

	let intervalId = setInterval(() => {
		ws.ping();
	}, 200);

	let timeout1id = setTimeout(function() {
		clearInterval(intervalId)
		ws.close()

	}, 1000);

	ws.onclose = () => {
		clearTimeout(timeout1id);
	}

	ws.onmessage = (m) => {
		let parsed = parseInt(JSON.parse(m.data).data, 10)
		if (Number.isNaN(parsed)) {
			return
		}

		let timeoutId = setTimeout(function() {
			if (ws.readyState == CLOSED_STATE) {
				clearTimeout(timeoutId);
				return;
			}

			ws.send(Date.now().toString())
		}, 100);
	}

	ws.onerror = (e) => {
		if (e.error != "websocket: close sent") {
			console.log('An unexpected error occurred: ', e.error);
		}
	};
};
