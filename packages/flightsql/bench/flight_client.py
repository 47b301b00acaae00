# Long-lived pyarrow Flight client for the query benchmark: reads one JSON request per stdin line
# ({"sql", "begin"?, "end"?}), runs it as a FlightSQL statement ticket (DoGet of a packed
# TicketStatementQuery, as the micromegas Python client does) and prints {"ms", "rows"} or
# {"error"}. The time covers DoGet through the last batch read, measured here so that the pipe to
# the benchmark process is not counted. Usage: flight_client.py PORT
import json
import os
import sys
import time

import pyarrow.flight as fl

# The protobuf helpers live beside the tests' Flight client.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test"))
from flight_protobuf import field, pack  # noqa: E402


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
