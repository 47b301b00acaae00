# Long-lived pyarrow Flight client for the query benchmark: reads one JSON request per stdin line
# ({"sql", "begin"?, "end"?}), runs it as a FlightSQL statement ticket (DoGet of a packed
# TicketStatementQuery, as the micromegas Python client does) and prints {"ms", "rows"} or
# {"error"}. The time covers DoGet through the last batch read, measured here so that the pipe to
# the benchmark process is not counted. Usage: flight_client.py PORT
import json
import sys
import time

import pyarrow.flight as fl

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def field(num, value):
    return varint((num << 3) | 2) + varint(len(value)) + value


def pack(name, value):
    return field(1, (PREFIX + name).encode()) + field(2, value)


def main():
    client = fl.FlightClient(f"grpc://127.0.0.1:{sys.argv[1]}")
    for line in sys.stdin:
        req = json.loads(line)
        headers = []
        if "begin" in req:
            headers.append((b"query_range_begin", req["begin"].encode()))
            headers.append((b"query_range_end", req["end"].encode()))
        opts = fl.FlightCallOptions(headers=headers)
        ticket = fl.Ticket(pack("TicketStatementQuery", field(1, req["sql"].encode())))
        try:
            t0 = time.perf_counter()
            table = client.do_get(ticket, opts).read_all()
            ms = (time.perf_counter() - t0) * 1000
            out = {"ms": ms, "rows": table.num_rows}
        except Exception as e:  # noqa: BLE001 - reported to the benchmark
            out = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


main()
