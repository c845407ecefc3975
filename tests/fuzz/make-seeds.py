#!/usr/bin/python3
"""make-seeds.py: write the seed corpora of tests/fuzz/corpus/ (python3,
no packages). Each seed is a small meaningful input of its target: valid
messages, their usual variants, and the edge cases the code has to refuse.
Run it from anywhere; it rewrites the generated seeds and leaves other
files (crash reproducers added by hand) alone.

    /usr/bin/python3 tests/fuzz/make-seeds.py
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# protobuf and gRPC encoding: the integration tests' own helpers
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(TOP, "tests", "integration"))
from link_h2 import grpc_message as grpc, pb_bytes as ld, pb_varint as vi  # noqa: E402


def model(mid, kind=1, ctx=0, backend=""):
    m = ld(1, mid) + vi(2, kind)
    if ctx:
        m += vi(3, ctx)
    if backend:
        m += ld(4, backend)
    return m


REGISTER = ld(1, ld(1, "my-lan") + ld(2, "gpu-1") + ld(3, "0.1.0") +
              ld(4, model("qwen3:0.6b", 1, 40960, "ollama")) +
              ld(4, model("nomic-embed", 3)) + vi(5, 8) + vi(6, 1))
MODELS = ld(2, ld(1, model("llama3")) + ld(1, model("whisper", 4)))
HEARTBEAT = ld(3, vi(1, 2) + vi(2, 8))
GOODBYE = ld(4, ld(1, "shutting down"))
REGISTERED = ld(1, ld(1, "gpu-1#7") + ld(2, "node-a") + vi(3, 10000))
OFFER = ld(2, vi(1, 42) + ld(2, "req-abc") + ld(3, "POST") +
           ld(4, "/v1/chat/completions") + ld(5, ld(1, "content-type") +
                                               ld(2, "application/json")) +
           vi(6, 27) + vi(7, 30000) + ld(8, "qwen3:0.6b") + vi(9, 1) +
           ld(10, '{"model":"qwen3:0.6b"}'))
DRAIN = ld(3, ld(1, ld(1, "node restarting")))
ACCEPT = ld(1, vi(1, 42))
HEAD = ld(2, vi(1, 200) + ld(2, ld(1, "content-type") + ld(2, "text/event-stream")))
CHUNK = ld(3, b"data: {\"choices\":[]}\n\n")
END = ld(4, b"")
ERROR = ld(5, vi(1, 502) + ld(2, "api_error") + ld(3, "backend_error") + ld(4, "refused"))
BODY = ld(1, b'{"model":"x","messages":[]}')
BODY_END = ld(2, b"")


def seeds_grpc():
    put("grpc", "one-register", b"\x00\x00" + grpc(REGISTER))
    put("grpc", "two-messages", b"\x00\x07" + grpc(HEARTBEAT) + grpc(MODELS))
    put("grpc", "empty-message", b"\x00\x01" + grpc(b"") + grpc(b""))
    put("grpc", "cut-in-prefix", b"\x00\x02" + grpc(HEARTBEAT) + b"\x00\x00")
    put("grpc", "cut-in-body", b"\x00\x03" + grpc(REGISTER)[:20])
    put("grpc", "compressed", b"\x00\x04" + grpc(HEARTBEAT, 1))
    put("grpc", "bad-flags", b"\x00\x05" + grpc(HEARTBEAT, 0x80))
    put("grpc", "over-max", b"\x03\x06" + grpc(b"0123456789"))
    put("grpc", "at-max", b"\x04\x06" + grpc(b"012345678901"))
    put("grpc", "huge-length", b"\x00\x08\x00\xff\xff\xff\xff")
    put("grpc", "many-small", b"\x00\x09" + grpc(b"a") * 40)
    put("grpc", "chunks", b"\x00\x0a" + b"".join(grpc(CHUNK) for _ in range(8)) + grpc(END))
    put("grpc", "timeout-ms", b"100m")
    put("grpc", "timeout-hours", b"99999999H")
    put("grpc", "timeout-nanos", b"1n")
    put("grpc", "timeout-bad-unit", b"10x")
    put("grpc", "message-encoded", b"bad%20token%3A%E2%9C%93%")
    put("grpc", "message-truncated-escape", b"end%4")


def seeds_pb():
    for name, sel, msg in [
            ("agent-register", 0, REGISTER), ("agent-models", 0, MODELS),
            ("agent-heartbeat", 0, HEARTBEAT), ("agent-goodbye", 0, GOODBYE),
            ("agent-empty", 0, b""), ("agent-two-oneofs", 0, HEARTBEAT + GOODBYE),
            ("agent-unknown-field", 0, vi(15, 1) + ld(16, "x") + HEARTBEAT),
            ("taskup-accept", 1, ACCEPT), ("taskup-head", 1, HEAD),
            ("taskup-chunk", 1, CHUNK), ("taskup-end", 1, END), ("taskup-error", 1, ERROR),
            ("server-registered", 2, REGISTERED), ("server-offer", 2, OFFER),
            ("server-drain", 2, DRAIN), ("server-control-empty", 2, ld(3, b"")),
            ("taskdown-body", 3, BODY), ("taskdown-body-end", 3, BODY_END),
            ("taskdown-empty-body", 3, ld(1, b"")),
            ("bad-wire-type", 0, b"\x0f\x01"), ("bad-truncated-len", 2, b"\x12\x80"),
            ("bad-utf8-string", 0, ld(4, ld(1, b"\xff\xfe"))),
            ("big-offer", 2, ld(2, ld(10, b"x" * 9000) + ld(8, "m"))),
    ]:
        put("pb", name, bytes([sel]) + msg)


def seeds_task_up():
    for name, msg in [
            ("chunk", CHUNK), ("chunk-empty", ld(3, b"")), ("chunk-200", ld(3, b"y" * 200)),
            ("chunk-long-varint", b"\x1a\x85\x80\x80\x80\x00" + b"abcde"),
            ("chunk-varint-6", b"\x1a\x81\x80\x80\x80\x80\x00" + b"z"),
            ("chunk-short", b"\x1a\x05ab"), ("chunk-then-end", CHUNK + END),
            ("two-chunks", CHUNK + ld(3, b"second")), ("end", END),
            ("end-not-empty", ld(4, vi(1, 1))), ("end-long-len", b"\x22\x80\x00"),
            ("accept", ACCEPT), ("head", HEAD), ("error", ERROR), ("empty", b""),
            ("unknown-then-chunk", vi(9, 3) + CHUNK),
    ]:
        put("task_up", name, msg)


def seeds_request_json():
    for name, body in [
            ("chat", '{"model":"my-lan:llama3","messages":[{"role":"user","content":"hi"}]}'),
            ("stream", '{"model":"ns:m","stream":true,"messages":[]}'),
            ("stream-false", '{"stream":false,"model":"ns:m"}'),
            ("stream-string", '{"model":"ns:m","stream":"yes"}'),
            ("escaped-ns", '{"model":"\\u006ey-lan:llama3","x":1}'),
            ("escaped-colon", '{"model":"ns\\u003amodel"}'),
            ("escaped-quote", '{"model":"ns:we\\"ird\\\\name","n":2}'),
            ("unicode", '{"model":"ns:mod\\u00e9le-\\ud83d\\ude00","t":0.5}'),
            ("lone-surrogate", '{"model":"ns:\\ud800x"}'),
            ("nested-model", '{"a":{"model":1},"model":"ns:m"}'),
            ("spaces", '{ "model" :\t"ns:m" , "n" : [1, 2e10, -0.0, null, true] }'),
            ("empty-model", '{"model":""}'), ("colon-only", '{"model":":"}'),
            ("no-namespace", '{"model":"llama3"}'), ("model-number", '{"model":3}'),
            ("model-twice", '{"model":"a:b","model":"c:d"}'), ("missing", '{"x":1}'),
            ("array", '[{"model":"ns:m"}]'), ("truncated", '{"model":"ns:m"'),
            ("trailing", '{"model":"ns:m"} x'), ("deep", '{"model":"a:b","x":' + '[' * 70 + ']' * 70 + '}'),
            ("control-char", '{"model":"ns:a\\u0001b"}'),
            ("nul-key", '{"model\\u0000":"x:y","model":"ns:m"}'),
            ("big-number", '{"model":"ns:m","n":123456789012345678901234567890}'),
    ]:
        put("request_json", name, body)


def seeds_multipart():
    def mp(b, parts, end=True):
        out = ""
        for hdr, val in parts:
            out += "--" + b + "\r\n" + hdr + "\r\n\r\n" + val + "\r\n"
        if end:
            out += "--" + b + "--\r\n"
        return out

    ct = "multipart/form-data; boundary=XyZ\n"
    put("multipart", "audio", ct + mp("XyZ", [
        ('Content-Disposition: form-data; name="file"; filename="a.wav"\r\nContent-Type: audio/wav', "RIFF\x00\x01\r\nbinary"),
        ('Content-Disposition: form-data; name="model"', "my-lan:whisper"),
    ]))
    put("multipart", "model-first", ct + mp("XyZ", [('Content-Disposition: form-data; name="model"', "ns:m")]))
    put("multipart", "quoted-boundary", 'multipart/form-data; boundary="a b;c"\n' +
        mp("a b;c", [('Content-Disposition: form-data; name="model"', "ns:m")]))
    put("multipart", "crlf-in-value", ct + mp("XyZ", [('Content-Disposition: form-data; name="model"', "ns:\r\nm")]))
    put("multipart", "no-model", ct + mp("XyZ", [('Content-Disposition: form-data; name="file"', "x")]))
    put("multipart", "no-boundary", "multipart/form-data\n--XyZ\r\n\r\nx\r\n--XyZ--")
    put("multipart", "long-boundary", "multipart/form-data; boundary=" + "b" * 75 + "\n--" + "b" * 75 + "\r\n")
    put("multipart", "unterminated", ct + '--XyZ\r\nContent-Disposition: form-data; name="model"\r\n\r\nns:m')
    put("multipart", "boundary-in-headers", ct + mp("XyZ", [('X-A: --XyZ\r\nContent-Disposition: form-data; name="model"', "ns:m")]))
    put("multipart", "xboundary", "multipart/form-data; xboundary=AAA; boundary=XyZ\n" +
        mp("AAA", [('Content-Disposition: form-data; name="model"', "a:b")]) +
        mp("XyZ", [('Content-Disposition: form-data; name="model"', "ns:m")]))
    put("multipart", "filename-model", ct + mp("XyZ", [
        ('Content-Disposition: form-data; name="file"; filename="model"', "evil:x"),
        ('Content-Disposition: form-data; name="model"', "ns:m")]))
    put("multipart", "empty-model", ct + mp("XyZ", [('Content-Disposition: form-data; name="model"', "")]))


def seeds_config():
    def read(p):
        with open(os.path.join(TOP, p), "rb") as f:
            return f.read()

    put("config", "tl-example", b"\x00" + read("etc/tokilake.yaml"))
    put("config", "tl-full", b"\x00" + read("tests/unit/config/full.yaml"))
    put("config", "tl-reload", b"\x00" + read("tests/unit/config/reload-old.yaml"))
    put("config", "tm-example", b"\x01" + read("etc/tokiame.yaml"))
    put("config", "tm-full", b"\x01" + read("tests/unit/config/tm-full.yaml"))
    for name, sel, text in [
            ("tl-empty", 0, ""), ("tl-comment", 0, "# nothing\n"),
            ("tl-anchor", 0, "workers: &a 2\nhttp: *a\n"),
            ("tl-dup", 0, "workers: 2\nworkers: 3\n"),
            ("tl-tag", 0, "workers: !!int 2\n"),
            ("tl-two-docs", 0, "workers: 2\n---\nworkers: 3\n"),
            ("tl-deep", 0, "a:\n" + "".join("  " * i + "- \n" for i in range(1, 40))),
            ("tl-sizes", 0, "http:\n  max_body_size: 18446744073709551615\n  idle_timeout: 99999999999h\n"),
            ("tl-quoted", 0, 'namespaces:\n  "we\\"ird\\u0000":\n    tokens: []\n'),
            ("tl-listen", 0, 'http:\n  listen: ["[::1]:0", "host:99999", ":80"]\n'),
            ("tm-backends", 1, "backends:\n  - name: a\n    url: http://[::1]:1/v1\n    models: [x, x]\n"),
            ("tm-bad-url", 1, "server: '[::1'\nbackends: [ftp://x]\n"),
            ("tm-token", 1, "token: \"\\t\"\nnamespace: \"\"\n"),
    ]:
        put("config", name, bytes([sel]) + text.encode())


def seeds_discover():
    for name, body in [
            ("openai", '{"object":"list","data":[{"id":"gpt-x","object":"model"},{"id":"b"}]}'),
            ("ollama", '{"object":"list","data":[{"id":"qwen3:0.6b","object":"model","created":1,"owned_by":"library"}]}'),
            ("dups", '{"data":[{"id":"b"},{"id":"a"},{"id":"b"},{"id":""},{"id":3},{}]}'),
            ("no-data", '{"models":[]}'), ("data-object", '{"data":{}}'),
            ("not-json", "<html>502</html>"), ("empty", ""),
            ("deep", '{"data":' + "[" * 40 + "]" * 40 + "}"),
            ("comment", '/* list */ {"data":[{"id":"a"}]} // end'),
            ("escapes", '{"data":[{"id":"a\\"b\\\\c\\u00e9"}]}'),
            ("long-id", '{"data":[{"id":"' + "x" * 600 + '"},{"id":"ok"}]}'),
            ("brackets-in-string", '{"data":[{"id":"[[[[{{{{"}]}'),
    ]:
        put("discover", name, body)


def seeds_token():
    put("token", "token", "tlk_" + "0123456789abcdef" * 4)
    put("token", "hash", "sha256:2344b38f1a4212ba735ff8ae31c19c8b15d57f9ad5a783dd62b0723b2ddd74b5")
    put("token", "hash-upper", "sha256:56EEFF5DA2059398AE31558ECC0109B4FBCE14E476D1B3C0F5531EAAA2457B52")
    put("token", "hash-short", "sha256:abc")
    put("token", "empty", "")
    put("token", "nul", b"tlk_\x00abc")


def seeds_apikey():
    # the pattern, a newline, the model id
    put("apikey", "star", "*\nlab:llama3")
    put("apikey", "ns", "lab:*\nlab:llama3")
    put("apikey", "family", "*:llama3*\nhome:llama3:8b")
    put("apikey", "miss", "lab:*\nlabs:x")
    put("apikey", "stars", "a*a*a*a*a*a*b\n" + "a" * 200)
    put("apikey", "exact", "lab:x\nlab:x")
    put("apikey", "empty", "\n")
    put("apikey", "nul", b"lab:*\nlab:\x00x")
    put("apikey", "nosep", "***")


seeds_grpc()
seeds_pb()
seeds_task_up()
seeds_request_json()
seeds_multipart()
seeds_config()
seeds_discover()
seeds_token()
seeds_apikey()
