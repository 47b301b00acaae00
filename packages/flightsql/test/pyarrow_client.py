# pyarrow's Flight client against our server, the way the micromegas Python package talks to it:
# commands and tickets are google.protobuf.Any messages packed here by hand. Prints JSON results.
# Usage: pyarrow_client.py PORT '[["scenario", {args}], ...]' (one process for many calls: importing
# pyarrow is the slow part). Prints a JSON list with one result per scenario.
import hashlib
import json
import sys

import pyarrow as pa
import pyarrow.flight as fl

from flight_protobuf import PREFIX, field, pack, read_fields


def table_json(table):
    """Schema as strings; timestamps as their integer nanoseconds in strings (exact in JSON)."""
    schema = [f"{f.name}:{f.type}" for f in table.schema]
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            table = table.set_column(i, f.name, table.column(i).cast(pa.int64()).cast(pa.string()))
    return {"schema": schema, "rows": table.to_pylist()}


def error_json(fn):
    try:
        fn()
        return {"ok": True}
    except Exception as e:  # noqa: BLE001 - the class name is what the test checks
        return {"error": type(e).__name__, "message": str(e)}


def run(client, scenario, args):
    headers = [(b"x-client-type", b"python")]
    if args.get("key"):
        headers.append((b"authorization", f"Bearer {args['key']}".encode()))
    for name in ("query_range_begin", "query_range_end", "limit", "preserve_dictionary"):
        if name in args:
            headers.append((name.encode(), args[name].encode()))
    opts = fl.FlightCallOptions(headers=headers)
    sql = args.get("sql", "").encode()
    result = {}
    if scenario in ("doget", "dictionary", "hydrated"):
        ticket = fl.Ticket(pack("TicketStatementQuery", field(1, sql)))
        table = client.do_get(ticket, opts).read_all()
        result = table_json(table)
        result["chunks"] = table.column(0).num_chunks
        if scenario != "doget":  # large results: ten rows and a digest of all of them
            result["digest"] = hashlib.sha256(json.dumps(result["rows"]).encode()).hexdigest()
            result["rows"] = result["rows"][:10]
    elif scenario == "flightinfo":
        desc = fl.FlightDescriptor.for_command(pack("CommandStatementQuery", field(1, sql)))
        info = client.get_flight_info(desc, opts)
        result = {"endpoints": len(info.endpoints), "ticket": info.endpoints[0].ticket.ticket.hex()}
        result.update(table_json(client.do_get(info.endpoints[0].ticket, opts).read_all()))
    elif scenario == "prepare":
        action = fl.Action("CreatePreparedStatement", pack("ActionCreatePreparedStatementRequest", field(1, sql)))
        [res] = list(client.do_action(action, opts))
        any_fields = read_fields(res.body.to_pybytes())
        assert any_fields[1].decode() == PREFIX + "ActionCreatePreparedStatementResult"
        prepared = read_fields(any_fields[2])
        schema = pa.ipc.open_stream(prepared[2]).schema
        result = {"handle": prepared[1].decode(), "schema": [f"{f.name}:{f.type}" for f in schema]}
    elif scenario == "tables":
        cmd = pack("CommandGetTables", b"\x28\x01")  # include_schema = true (field 5, varint)
        info = client.get_flight_info(fl.FlightDescriptor.for_command(cmd), opts)
        table = client.do_get(info.endpoints[0].ticket, opts).read_all()
        rows = table.to_pylist()
        result = {
            "info_schema": [f"{f.name}:{f.type}" for f in info.schema],
            "tables": [
                {
                    "name": r["table_name"],
                    "type": r["table_type"],
                    "schema": [f"{f.name}:{f.type}" for f in pa.ipc.read_schema(pa.py_buffer(r["table_schema"]))],
                }
                for r in rows
            ],
        }
    elif scenario == "sqlinfo":
        cmd = pack("CommandGetSqlInfo", b"")
        table = client.do_get(fl.Ticket(cmd), opts).read_all()
        result = {"rows": {str(r["info_name"]): r["value"] for r in table.to_pylist()}}
    elif scenario == "errors":
        good = fl.Ticket(pack("TicketStatementQuery", field(1, b"select 1")))
        bad_sql = fl.Ticket(pack("TicketStatementQuery", field(1, b"selec nothing")))
        result = {
            "no_auth": error_json(lambda: client.do_get(good).read_all()),
            "bad_sql": error_json(lambda: client.do_get(bad_sql, opts).read_all()),
            "unknown_any": error_json(lambda: client.do_get(fl.Ticket(field(1, b"type.googleapis.com/foo.Bar") + field(2, b"")), opts).read_all()),
            "unimplemented": error_json(lambda: list(client.list_flights(options=opts))),
        }
    elif scenario == "ingest":
        cmd = pack("CommandStatementIngest", field(2, b"processes"))
        table = pa.table({"process_id": ["p"]})
        def put():
            writer, reader = client.do_put(fl.FlightDescriptor.for_command(cmd), table.schema, opts)
            writer.write_table(table)
            writer.done_writing()
            reader.read()
            writer.close()
        result = error_json(put)
    return result


def main():
    port, scenarios = sys.argv[1], json.loads(sys.argv[2])
    client = fl.FlightClient(f"grpc://127.0.0.1:{port}")
    results = []
    for scenario, args in scenarios:
        try:
            results.append(run(client, scenario, args))
        except Exception as e:  # noqa: BLE001 - reported to the test that expected a result
            results.append({"scenario_failed": f"{type(e).__name__}: {e}"})
    print(json.dumps(results))


main()
