"""link_h2: just enough HTTP/2, HPACK, gRPC framing and protobuf to play a
tokiame on the agent port by hand, for the link tests (garbage, floods,
a thousand idle agents) where a real gRPC stack is either too polite or
too heavy. Standard library only (Debian's /usr/bin/python3).

HPACK: we only ENCODE, with "literal header field without indexing, new
name" and no Huffman (RFC 7541 6.2.2): every header costs its bytes, and
the server's decoder state never depends on ours. We never decode the
server's header blocks; the tests look at frame types, flags, stream ids
and the DATA payloads, which is all they need.
"""
import socket
import ssl
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, \
    WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE",
               "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"]
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4

PATH_CONNECT = "/tokilake.v1.AgentLink/Connect"
PATH_SERVE = "/tokilake.v1.AgentLink/Serve"


# ---- HPACK (encoding only) --------------------------------------------------

def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def hpack_literal(name, value):
    if isinstance(name, str):
        name = name.encode()
    if isinstance(value, str):
        value = value.encode()
    return (b"\x00" + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value)


def header_block(headers):
    return b"".join(hpack_literal(n, v) for n, v in headers)


def grpc_request_headers(path, authority="localhost", namespace=None, token=None, extra=()):
    h = [(":method", "POST"), (":scheme", "http"), (":path", path),
         (":authority", authority), ("content-type", "application/grpc"),
         ("te", "trailers"), ("user-agent", "link-tests/1")]
    if namespace is not None:
        h.append(("tokilake-namespace", namespace))
    if token is not None:
        h.append(("authorization", "Bearer " + token))
    h.extend(extra)
    return h


# ---- frames ------------------------------------------------------------------

def frame(ftype, flags, stream_id, payload=b""):
    n = len(payload)
    return struct.pack(">BHBBI", (n >> 16) & 0xFF, n & 0xFFFF, ftype, flags,
                       stream_id & 0x7FFFFFFF) + payload


def settings_frame(pairs=(), ack=False):
    return frame(SETTINGS, ACK if ack else 0, 0,
                 b"".join(struct.pack(">HI", k, v) for k, v in pairs))


def headers_frame(stream_id, headers, end_stream=False):
    return frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream_id,
                 header_block(headers))


def data_frame(stream_id, payload, end_stream=False):
    return frame(DATA, END_STREAM if end_stream else 0, stream_id, payload)


def rst_frame(stream_id, code=8):
    return frame(RST_STREAM, 0, stream_id, struct.pack(">I", code))


def window_update_frame(stream_id, inc):
    return frame(WINDOW_UPDATE, 0, stream_id, struct.pack(">I", inc))


def ping_frame(opaque=b"\0" * 8, ack=False):
    return frame(PING, ACK if ack else 0, 0, opaque)


def grpc_message(msg, flag=0):
    return struct.pack(">BI", flag, len(msg)) + msg


# ---- protobuf (encoding) -----------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def pb_bytes(field, value):
    if isinstance(value, str):
        value = value.encode()
    return varint(field << 3 | 2) + varint(len(value)) + value


def pb_varint(field, value):
    return varint(field << 3) + varint(value)


def model_msg(model_id, kind=1, backend="raw"):
    return pb_bytes(1, model_id) + pb_varint(2, kind) + pb_bytes(4, backend)


def register_msg(namespace, agent_id, models=(), capacity=4, version="raw-h2"):
    """AgentMessage{register: Register{...}}"""
    r = (pb_bytes(1, namespace) + pb_bytes(2, agent_id) + pb_bytes(3, version) +
         b"".join(pb_bytes(4, model_msg(m)) for m in models) + pb_varint(5, capacity))
    return pb_bytes(1, r)


def heartbeat_msg(in_flight=0, capacity=4):
    return pb_bytes(3, pb_varint(1, in_flight) + pb_varint(2, capacity))


def pb_fields(buf):
    """Decode one protobuf message level: [(field, wiretype, value)]."""
    out, i = [], 0
    while i < len(buf):
        key, i = _read_varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _read_varint(buf, i)
        elif wt == 2:
            n, i = _read_varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 5:
            v = buf[i:i + 4]
            i += 4
        elif wt == 1:
            v = buf[i:i + 8]
            i += 8
        else:
            raise ValueError("wire type %d" % wt)
        out.append((field, wt, v))
    return out


def _read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i


def registered_agent_id(server_message):
    """The agent id of ServerMessage{registered}, or None."""
    for f, _, v in pb_fields(server_message):
        if f == 1:
            for g, _, w in pb_fields(v):
                if g == 1:
                    return w.decode()
            return ""
    return None


# ---- a blocking connection ---------------------------------------------------

def dial(addr, tls=False, ca=None, server_name="localhost", timeout=5.0):
    host, port = addr.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if tls:
        ctx = ssl.create_default_context(cafile=ca)
        ctx.set_alpn_protocols(["h2"])
        sock = ctx.wrap_socket(sock, server_hostname=server_name)
        if sock.selected_alpn_protocol() != "h2":
            raise RuntimeError("server did not select ALPN h2")
    return sock


class Conn:
    """One HTTP/2 client connection driven by hand: send bytes, read frames.
    PINGs and SETTINGS from the server are acknowledged as they are read
    (unless auto_ack is off), like any live agent would."""

    def __init__(self, sock, auto_ack=True):
        self.sock = sock
        self.buf = b""
        self.auto_ack = auto_ack
        self.closed = None      # None while open, else why ("eof", "reset: ...")
        self.frames = []        # every frame read: (type, flags, sid, payload)
        self.grpc = {}          # stream id -> bytes of DATA received

    def send(self, data):
        try:
            self.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError) as e:
            if self.closed is None:
                self.closed = "send failed: %s" % e
            return False

    def start(self, settings=((3, 100), (4, 1 << 20))):
        return self.send(PREFACE + settings_frame(settings))

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            b = self.sock.recv(65536)
        except socket.timeout:
            return None
        except ssl.SSLError as e:
            if "timed out" in str(e):
                return None
            self.closed = "tls error: %s" % e
            return b""
        except ConnectionResetError:
            self.closed = "reset"
            return b""
        except OSError as e:
            self.closed = "error: %s" % e
            return b""
        if not b:
            self.closed = "eof"
        return b

    def _frames_from_buf(self):
        out = []
        while len(self.buf) >= 9:
            n = int.from_bytes(self.buf[0:3], "big")
            if len(self.buf) < 9 + n:
                break
            ftype, flags = self.buf[3], self.buf[4]
            sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            payload = self.buf[9:9 + n]
            self.buf = self.buf[9 + n:]
            f = (ftype, flags, sid, payload)
            self.frames.append(f)
            out.append(f)
            if ftype == DATA:
                self.grpc[sid] = self.grpc.get(sid, b"") + payload
            if self.auto_ack and self.closed is None:
                if ftype == PING and not flags & ACK:
                    self.send(ping_frame(payload, ack=True))
                elif ftype == SETTINGS and not flags & ACK:
                    self.send(settings_frame(ack=True))
        return out

    def read_frames(self, timeout):
        """Frames that arrive within timeout seconds (returns early on close)."""
        got = []
        end = time.monotonic() + timeout
        while self.closed is None:
            left = end - time.monotonic()
            if left <= 0:
                break
            b = self._recv(left)
            if b is None:
                break
            self.buf += b
            got += self._frames_from_buf()
        return got

    def wait_for(self, pred, timeout):
        """Read until pred(frame) holds for a frame; that frame or None."""
        end = time.monotonic() + timeout
        for f in self.frames:
            if pred(f):
                return f
        while self.closed is None:
            left = end - time.monotonic()
            if left <= 0:
                return None
            b = self._recv(left)
            if b is None:
                return None
            self.buf += b
            for f in self._frames_from_buf():
                if pred(f):
                    return f
        return None

    def wait_closed(self, timeout):
        """Read (and ack) until the server closes; True if it did in time."""
        self.read_frames(timeout)
        return self.closed is not None

    def messages(self, sid):
        """The complete gRPC messages received on stream sid."""
        b, out = self.grpc.get(sid, b""), []
        while len(b) >= 5:
            n = int.from_bytes(b[1:5], "big")
            if len(b) < 5 + n:
                break
            out.append(b[5:5 + n])
            b = b[5 + n:]
        return out

    def goaway(self):
        """(last_stream_id, error_code, debug) of the first GOAWAY, or None."""
        for t, _, _, p in self.frames:
            if t == GOAWAY and len(p) >= 8:
                return (int.from_bytes(p[0:4], "big") & 0x7FFFFFFF,
                        int.from_bytes(p[4:8], "big"), p[8:])
        return None

    def summary(self):
        kinds = {}
        for t, _, _, _ in self.frames:
            name = FRAME_NAMES[t] if t < len(FRAME_NAMES) else "type%d" % t
            kinds[name] = kinds.get(name, 0) + 1
        g = self.goaway()
        return "frames=%s goaway=%s closed=%s" % (
            ",".join("%s:%d" % kv for kv in sorted(kinds.items())),
            "none" if g is None else "last=%d,code=%d" % g[:2], self.closed)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def link(addr, namespace, token, agent_id, models=(), tls=False, ca=None,
         server_name="localhost", timeout=5.0):
    """Dial, authenticate and register; (Conn, agent id the server gave).
    Raises RuntimeError if the server does not answer Registered."""
    c = Conn(dial(addr, tls, ca, server_name, timeout))
    c.start()
    c.send(headers_frame(1, grpc_request_headers(PATH_CONNECT, namespace=namespace,
                                                 token=token)) +
           data_frame(1, grpc_message(register_msg(namespace, agent_id, models))))
    if c.wait_for(lambda f: f[0] == DATA and f[2] == 1 and c.messages(1), timeout) is None:
        raise RuntimeError("no Registered: " + c.summary())
    aid = registered_agent_id(c.messages(1)[0])
    if aid is None:
        raise RuntimeError("first message is not Registered")
    return c, aid
