// Source: grafana/k6 examples/websocket.js at commit 87883075ccd5e3d3fb961a860b3d6e422bbc353b
// Licence: GNU AGPL-3.0-only (grafana/k6 LICENSE.md). Copyright Grafana Labs and contributors.
// Changed: the URL is the demo target's echo socket (WS_URL) instead of echo.websocket.org,
// pings every 200 ms and the socket closes after 1 s (instead of 1 s and 2 s), the echo's
// JSON reply is parsed for its data, bounded load (options), no console.log, and
// thresholds on submetrics so that k6's --summary-export carries per-URL figures.
import ws from "k6/ws";
import { check } from "k6";

const URL = __ENV.WS_URL;

export const options = {
  vus: 2,
  iterations: 4,
  thresholds: {
    [`ws_connecting{url:${URL}}`]: ['p(95)<5000'],
    [`ws_session_duration{url:${URL}}`]: ['max<10000'],
    [`ws_msgs_received{url:${URL}}`]: ['count>0'],
    [`ws_ping{url:${URL}}`]: ['max<5000'],
  },
};

export default function () {
    var url = URL;
    var params = { "tags": { "my_tag": "hello" } };

    var response = ws.connect(url, params, function (socket) {
        socket.on('open', function open() {
            socket.send(Date.now());

            socket.setInterval(function timeout() {
                socket.ping();
            }, 200);
        });

        socket.on('message', function incoming(data) {
            socket.setTimeout(function timeout() {
                socket.send(Date.now());
            }, 100);
        });

        socket.on('error', function (e) {
            if (e.error() != "websocket: close sent") {
                console.log('An unexpected error occurred: ', e.error());
            }
        });

        socket.setTimeout(function () {
            socket.close();
        }, 1000);
    });

    check(response, { "status is 101": (r) => r && r.status === 101 });
};
