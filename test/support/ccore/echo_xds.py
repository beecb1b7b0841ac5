"""gRPC C-core (python3-grpcio) xDS echo workload for Trellis' end-to-end tests.

Speaks the same echo service as test/support/grpc-workloads.ts (JSON messages, /trellis.test.Echo/Echo and
/Metrics) so C-core and grpc-js workloads interoperate. Driven over stdin/stdout, one JSON object per line:

  server <ip:port> <name>   xDS-enabled server (binds once the control plane sent a valid Listener)
  client <target>           client of xds:///<target>; reads requests
                            {"path": ..., "calls": n, "timeout": s, "headers": {...}} and answers
                            {"tally": {"<server name>" | "<STATUS_CODE>": count}, "details": [...]}

The bootstrap comes from GRPC_XDS_BOOTSTRAP (the file `trellis bootstrap grpc` writes).
"""
import json
import sys
import threading
from concurrent import futures

import grpc
import grpc.experimental  # noqa: F401  (insecure_channel_credentials)

METHODS = ("/trellis.test.Echo/Echo", "/trellis.test.Echo/Metrics")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def peer_uri(context):
    for key, values in (context.auth_context() or {}).items():
        if key == "x509_subject_alternative_name":
            for v in values:
                s = v.decode() if isinstance(v, bytes) else str(v)
                if s.startswith("spiffe://"):
                    return s
    return None


def serve(address, name):
    def reply(_request, context):
        return json.dumps({"server": name, "peer": peer_uri(context)}).encode()

    handlers = {m.split("/")[-1]: grpc.unary_unary_rpc_method_handler(reply) for m in METHODS}
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), xds=True)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("trellis.test.Echo", handlers),))
    server.add_secure_port(address, grpc.xds_server_credentials(grpc.insecure_server_credentials()))
    server.start()
    emit({"started": address})
    sys.stdin.read()  # until the test closes stdin
    server.stop(0)


def client(target):
    channel = grpc.secure_channel("xds:///" + target, grpc.xds_channel_credentials(grpc.experimental.insecure_channel_credentials()))
    stubs = {m: channel.unary_unary(m, request_serializer=None, response_deserializer=None) for m in METHODS}
    emit({"ready": target})
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        tally, details = {}, []
        stub = stubs.get(req.get("path", METHODS[0])) or channel.unary_unary(req["path"])
        metadata = tuple((k, v) for k, v in (req.get("headers") or {}).items())
        for _ in range(int(req.get("calls", 1))):
            try:
                body = stub(b"{}", timeout=float(req.get("timeout", 3)), metadata=metadata)
                key = json.loads(body.decode() or "null")["server"]
            except grpc.RpcError as err:
                key = err.code().name
                if len(details) < 3:
                    details.append(err.details())
            tally[key] = tally.get(key, 0) + 1
        emit({"tally": tally, "details": details})
    channel.close()


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "server":
        serve(sys.argv[2], sys.argv[3])
    elif mode == "client":
        client(sys.argv[2])
    else:
        raise SystemExit("usage: echo_xds.py server <ip:port> <name> | client <target>")
