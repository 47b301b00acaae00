# The few protobuf pieces our Python Flight clients need (tests and the query benchmark): Flight SQL
# commands packed by hand into google.protobuf.Any, the way the micromegas Python package does it.

PREFIX = "type.googleapis.com/arrow.flight.protocol.sql."


def varint(n):
    out = b""
    while n >= 0x80:
        out += bytes([(n & 0x7F) | 0x80])
        n >>= 7
    return out + bytes([n])


def field(num, value):
    """A length-delimited protobuf field."""
    return varint((num << 3) | 2) + varint(len(value)) + value


def pack(name, value):
    """An Any holding the Flight SQL message `name` (its encoded bytes `value`)."""
    return field(1, (PREFIX + name).encode()) + field(2, value)


def read_varint(data, i):
    """The varint at `i` and the position after it."""
    n, shift = 0, 0
    while True:
        b = data[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return n, i


def read_fields(data):
    """Length-delimited fields of a protobuf message, as {number: bytes}."""
    out, i = {}, 0
    while i < len(data):
        key, i = read_varint(data, i)
        assert key & 7 == 2, "only length-delimited fields expected"
        n, i = read_varint(data, i)
        out[key >> 3] = data[i : i + n]
        i += n
    return out
