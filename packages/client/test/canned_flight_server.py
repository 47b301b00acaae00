# A FlightSQL server that is not micromegas: pyarrow's Flight server answering GetFlightInfo
# (CommandStatementQuery) and DoGet with canned Arrow data, and recording the headers it receives.
# Prints its port on stdout, then serves until stdin closes.
import sys, threading
import pyarrow as pa
import pyarrow.flight as fl

def fields(buf):
    """(number, bytes) of the length-delimited fields of a protobuf message."""
    out, i = {}, 0
    def varint():
        nonlocal i
        n, shift = 0, 0
        while True:
            b = buf[i]; i += 1
            n |= (b & 0x7F) << shift; shift += 7
            if b < 0x80: return n
    while i < len(buf):
        tag = varint()
        if tag & 7 == 2:
            n = varint(); out[tag >> 3] = buf[i:i + n]; i += n
        elif tag & 7 == 0:
            varint()
        else:
            raise ValueError("unexpected wire type")
    return out

TS = pa.timestamp("ns", tz="UTC")
SCHEMA = pa.schema([
    ("ts", TS), ("s", pa.string()), ("d", pa.dictionary(pa.int32(), pa.string())), ("l", pa.list_(pa.int64())),
    ("n", pa.int64()), ("f", pa.float64()), ("b", pa.bool_()), ("st", pa.struct([("a", pa.int32()), ("b", pa.string())])),
])

def batch(rows):
    cols = list(zip(*rows))
    return pa.record_batch([
        pa.array(cols[0], TS), pa.array(cols[1], pa.string()), pa.array(cols[2], pa.string()).dictionary_encode(),
        pa.array(cols[3], pa.list_(pa.int64())), pa.array(cols[4], pa.int64()), pa.array(cols[5], pa.float64()),
        pa.array(cols[6], pa.bool_()), pa.array(cols[7], SCHEMA.field("st").type),
    ], schema=SCHEMA)

CANNED = [
    batch([(1700000000123456789, "alpha", "x", [1, 2], 1, 1.5, True, {"a": 1, "b": "one"}),
           (None, None, None, None, None, None, None, None)]),
    batch([(-1, "é ü 😀", "y", [], 2 ** 62, -0.25, False, {"a": None, "b": "two"}),
           (0, "", "x", [None, 3], -(2 ** 63), 0.0, None, None)]),
]

calls = []
lock = threading.Lock()

class Recorder(fl.ServerMiddleware):
    pass

class RecorderFactory(fl.ServerMiddlewareFactory):
    def start_call(self, info, headers):
        with lock:
            for name, values in headers.items():
                for v in values:
                    calls.append((str(info.method).split(".")[-1], name, v if isinstance(v, str) else v.decode("utf8", "replace")))
        return Recorder()

def statement(cmd):
    any_ = fields(cmd)
    type_url = any_[1].decode()
    if not type_url.endswith("arrow.flight.protocol.sql.CommandStatementQuery"):
        raise pa.ArrowInvalid("unsupported command " + type_url)
    return fields(any_[2])[1].decode()

class Server(fl.FlightServerBase):
    def get_flight_info(self, context, descriptor):
        sql = statement(descriptor.command)
        if sql == "SELECT canned":
            # Two endpoints: the client must read both, in order.
            eps = [fl.FlightEndpoint(b"canned:0", []), fl.FlightEndpoint(b"canned:1", [])]
            return fl.FlightInfo(SCHEMA, descriptor, eps, -1, -1)
        if sql == "SELECT headers":
            return fl.FlightInfo(pa.schema([("method", pa.string()), ("name", pa.string()), ("value", pa.string())]), descriptor, [fl.FlightEndpoint(b"headers", [])], -1, -1)
        if sql == "SELECT empty":
            return fl.FlightInfo(SCHEMA, descriptor, [fl.FlightEndpoint(b"empty", [])], -1, -1)
        raise pa.ArrowInvalid("canned server: no such statement: " + sql)

    def do_get(self, context, ticket):
        t = ticket.ticket
        if t.startswith(b"canned:"):
            return fl.RecordBatchStream(pa.Table.from_batches([CANNED[int(t[7:])]]))
        if t == b"empty":
            return fl.RecordBatchStream(SCHEMA.empty_table())
        if t == b"headers":
            with lock:
                rows = list(calls)
            return fl.RecordBatchStream(pa.table({"method": [r[0] for r in rows], "name": [r[1] for r in rows], "value": [r[2] for r in rows]}))
        raise pa.ArrowInvalid("bad ticket")

server = Server("grpc://127.0.0.1:0", middleware={"recorder": RecorderFactory()})
print(server.port, flush=True)
threading.Thread(target=server.serve, daemon=True).start()
sys.stdin.read()
server.shutdown()
