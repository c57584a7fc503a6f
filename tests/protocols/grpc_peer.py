"""A loopback gRPC server for k6's gRPC examples: k6's ``route_guide.proto`` served by
grpcio (the services of ``examples/grpc_server`` in grafana/k6, rewritten in Python).

Run as a script: it compiles the proto into a temp folder, listens on 127.0.0.1 on a
free port, prints ``PORT <n>`` and serves until terminated. GetFeature at latitude 0
answers NOT_FOUND, so a run has two status codes to break down.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
from concurrent import futures
from pathlib import Path

import grpc
from grpc_tools import protoc

PROTO = Path(__file__).resolve().parent / "scripts" / "route_guide.proto"


def _compile(out: Path) -> tuple[object, object]:
    args = ["protoc", f"-I{PROTO.parent}", f"--python_out={out}", f"--grpc_python_out={out}", str(PROTO)]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed")
    sys.path.insert(0, str(out))
    return importlib.import_module("route_guide_pb2"), importlib.import_module("route_guide_pb2_grpc")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="grpc-peer-") as tmp:
        pb, rpc = _compile(Path(tmp))
        features = [
            pb.Feature(
                name=f"feature {i}", location=pb.Point(latitude=400000000 + i * 1000, longitude=-750000000)
            )
            for i in range(5)
        ]

        class Explorer(rpc.FeatureExplorerServicer):
            def GetFeature(self, request, context):
                if request.latitude == 0:
                    context.abort(grpc.StatusCode.NOT_FOUND, "no feature at latitude 0")
                return pb.Feature(name="Berkshire Valley Management Area Trail", location=request)

            def ListFeatures(self, request, context):
                yield from features

        class Guide(rpc.RouteGuideServicer):
            def RecordRoute(self, request_iterator, context):
                start, points = time.monotonic(), 0
                for _ in request_iterator:
                    points += 1
                return pb.RouteSummary(point_count=points, elapsed_time=int(time.monotonic() - start))

            def RouteChat(self, request_iterator, context):
                yield from request_iterator

        server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        rpc.add_FeatureExplorerServicer_to_server(Explorer(), server)
        rpc.add_RouteGuideServicer_to_server(Guide(), server)
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        print(f"PORT {port}", flush=True)
        server.wait_for_termination()


if __name__ == "__main__":
    main()
