"""The Python SDK (`from scheduler_script import http, check, data`):
Locust- and k6-like functions over the `scheduler:script/sdk` imports.
`script build` puts it beside the script."""

import json as _json
from urllib.parse import urlencode as _urlencode

from wit_world.imports import sdk as _raw


class Response:
    """What a request returned: `status`, `headers` (lower-case names),
    `text`, `content` (bytes), `json()`, `error` (None: a response arrived)."""

    def __init__(self, r):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.headers}
        self.content = bytes(r.body)
        self.error = r.error
        self.duration_ms = r.duration_ms

    @property
    def text(self):
        return self.content.decode("utf-8", "replace")

    def json(self):
        return _json.loads(self.content)


def _text(value, what, optional=False):
    """`value` as the SDK takes it: a wrong type raises here, in the script
    (the bindings would trap the user's instance instead)."""
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, not {type(value).__name__}")
    return value


def _int(value, what):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"{what} must be a whole number of milliseconds, not {value!r}")
    return value


def _request(method, url, headers=None, json=None, form=None, body=None, query=None,
             name=None, timeout=None, max_redirects=None, max_body=None):
    url = _text(url, f"http.{method.lower()}: url")
    name = _text(name, "name", optional=True)
    timeout = _int(timeout, "timeout")
    max_redirects = _int(max_redirects, "max_redirects")
    max_body = _int(max_body, "max_body")
    pairs = [(k, str(v)) for k, v in (headers or {}).items()]
    has = lambda n: any(k.lower() == n for k, _ in pairs)
    data = None
    if json is not None:
        data = _json.dumps(json).encode()
        if not has("content-type"):
            pairs.append(("Content-Type", "application/json"))
    elif form is not None:
        data = _urlencode(form).encode()
        if not has("content-type"):
            pairs.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif body is not None:
        data = body.encode() if isinstance(body, str) else bytes(body)
    if query is not None:
        url += ("&" if "?" in url else "?") + _urlencode(query)
    return Response(_raw.http(_raw.HttpRequest(
        method=method, url=url, headers=pairs, body=data, name=name,
        timeout_ms=timeout, max_redirects=max_redirects, max_body=max_body)))


class _Http:
    def get(self, url, **kw):
        return _request("GET", url, **kw)

    def post(self, url, **kw):
        return _request("POST", url, **kw)

    def put(self, url, **kw):
        return _request("PUT", url, **kw)

    def patch(self, url, **kw):
        return _request("PATCH", url, **kw)

    def delete(self, url, **kw):
        return _request("DELETE", url, **kw)

    def request(self, method, url, **kw):
        return _request(method, url, **kw)


http = _Http()


def check(value, predicates):
    """k6's check: each named predicate is a check (one that raises fails);
    True when all passed."""
    passed_all = True
    for name, predicate in predicates.items():
        try:
            passed = bool(predicate(value))
        except Exception:
            passed = False
        _raw.check(str(name), passed)
        passed_all = passed_all and passed
    return passed_all


def sleep(seconds):
    """Think time, in seconds."""
    _raw.sleep(max(0, round(seconds * 1000)))


class _Data:
    def row(self, source):
        """The next row of data source `source`, as {column: value}."""
        return dict(_raw.data_row(_text(source, "data.row: source")))


data = _Data()


def env(name):
    return _raw.env(_text(name, "env: name"))


def vu():
    return _raw.vu()


def iteration():
    return _raw.iteration()


def setup_data():
    """What the script's `setup` returned, as {name: value}."""
    return dict(_raw.setup_values())


class _Metrics:
    def counter(self, name, value=1.0):
        _raw.counter(_text(name, "metrics.counter: name"), float(value))

    def trend(self, name, value):
        _raw.trend(_text(name, "metrics.trend: name"), float(value))


metrics = _Metrics()


class group:
    """`with group("checkout"):` reports the requests inside as `checkout/…`."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        _raw.group(_text(self.name, "group: name"))

    def __exit__(self, *exc):
        _raw.group(None)
        return False


def _bytes(v):
    return v.encode() if isinstance(v, str) else (None if v is None else bytes(v))


class Exchanged:
    """What a tcp or udp exchange came to (the reply stays in the action,
    checked there against `expect`)."""

    def __init__(self, r):
        self.bytes_received = r.bytes_received
        self.error = r.error
        self.duration_ms = r.duration_ms


class _Tcp:
    def exchange(self, target, payload, delimiter=None, expect=None, name=None, timeout=None):
        return Exchanged(_raw.tcp(_raw.TcpRequest(
            target=_text(target, "tcp.exchange: target"), payload=_bytes(payload), delimiter=_bytes(delimiter),
            expect=_bytes(expect), name=_text(name, "name", optional=True),
            timeout_ms=_int(timeout, "timeout"))))


class _Udp:
    def send(self, target, payload, await_reply=True, expect=None, name=None, timeout=None):
        return Exchanged(_raw.udp(_raw.UdpRequest(
            target=_text(target, "udp.send: target"), payload=_bytes(payload), await_reply=await_reply,
            expect=_bytes(expect), name=_text(name, "name", optional=True),
            timeout_ms=_int(timeout, "timeout"))))


tcp = _Tcp()
udp = _Udp()
