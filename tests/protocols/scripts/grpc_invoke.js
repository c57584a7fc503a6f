// Source: grafana/k6 examples/grpc_invoke.js at commit 87883075ccd5e3d3fb961a860b3d6e422bbc353b
// Licence: GNU AGPL-3.0-only (grafana/k6 LICENSE.md). Copyright Grafana Labs and contributors.
// Changed: bounded load (options), the proto path next to this file, every 4th call asks
// for latitude 0 (the loopback peer answers NOT_FOUND: two status codes), a second method
// (ListFeatures over a server stream, from examples/grpc_server_streaming.js), no
// console.log, and thresholds on submetrics so that k6's --summary-export carries the
// per-method and per-status figures the report is checked against.
import grpc from 'k6/net/grpc';
import { check } from "k6";

const GRPC_ADDR = __ENV.GRPC_ADDR || '127.0.0.1:10000';
const GRPC_PROTO_PATH = __ENV.GRPC_PROTO_PATH || './route_guide.proto';

export const options = {
  vus: 2,
  iterations: 40,
  thresholds: {
    'grpc_req_duration{name:/main.FeatureExplorer/GetFeature}': ['p(95)<5000'],
    'grpc_req_duration{status:5}': ['max<5000'],
    'grpc_req_duration{status:0}': ['max<5000'],
    'grpc_streams_msgs_received': ['count>0'],
  },
};

let client = new grpc.Client();

client.load([], GRPC_PROTO_PATH);

export default () => {
  client.connect(GRPC_ADDR, { plaintext: true });

    const response = client.invoke("main.FeatureExplorer/GetFeature", {
        latitude: __ITER % 4 === 3 ? 0 : 410248224,
        longitude: -747127767
    })

    check(response, { "status is OK": (r) => r && r.status === grpc.StatusOK });

  if (__ITER % 5 === 0) {
    const stream = new grpc.Stream(client, 'main.FeatureExplorer/ListFeatures', null);
    stream.on('end', function () {
      client.close();
    });
    stream.write({
      lo: { latitude: 400000000, longitude: -750000000 },
      hi: { latitude: 420000000, longitude: -730000000 },
    });
  } else {
    client.close()
  }
}
