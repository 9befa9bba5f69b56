"""API faults for tests: a WSGI middleware that answers some requests with an error, or late.

The faults file (``.sandbox/api_faults.json`` by default) maps a service to a fault::

    {"nova": {"status": 503, "count": 5}}                  the next 5 requests get a 503
    {"nova": {"status": 500, "until": 1795262400}}         every request until that epoch time
    {"nova": {"delay_s": 30, "count": 2}}                  answered 30 s late (a client timeout)
    {"nova": {"status": 503, "count": 3, "methods": ["GET"], "paths": ["/v2.1/servers"]}}
    {"nova": {"status": 503, "count": 1, "forward": true}}  the request goes through, its answer
                                                           is lost: the client gets a 503

``count`` is consumed across processes (gunicorn workers) under a file lock; a fault with
neither ``count`` nor ``until`` stays until cleared. ``methods`` and ``paths`` (prefixes of the
request path) narrow it. Injected answers carry ``X-Sandbox-Fault: injected``. The file is read
again when it changes, so arming and clearing need no restart.

``proxy(target)`` is a forwarding WSGI app: wrapped in the middleware and served on a port of
its own (``serve``), it puts faults in front of a shared API without touching that API.
"""
import fcntl
import json
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from socketserver import ThreadingMixIn
from wsgiref import simple_server

from cmsandbox import layout

FAULTS_PATH = os.path.join(layout.ROOT, "api_faults.json")
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
           504: "Gateway Timeout", 429: "Too Many Requests", 409: "Conflict"}


def _locked(path, change):
    """Applies ``change(faults) -> (faults, result)`` to the file under an exclusive lock."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                with open(path) as handle:
                    faults = json.load(handle)
            except (IOError, ValueError):
                faults = {}
            faults, result = change(faults)
            tmp = path + ".tmp"
            with open(tmp, "w") as handle:
                json.dump(faults, handle)
            os.replace(tmp, path)
            return result
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def arm(service, status=503, count=None, seconds=None, delay_s=None, methods=None, paths=None,
        forward=False, path=FAULTS_PATH):
    """Arms a fault for ``service``; see the module docstring."""
    fault = {}
    if delay_s:
        fault["delay_s"] = float(delay_s)
    else:
        fault["status"] = int(status)
        if forward:
            fault["forward"] = True
    if count is not None:
        fault["count"] = int(count)
    if seconds is not None:
        fault["until"] = time.time() + float(seconds)
    if methods:
        fault["methods"] = [m.upper() for m in methods]
    if paths:
        fault["paths"] = list(paths)

    def change(faults):
        faults[service] = fault
        return faults, fault
    return _locked(path, change)


def clear(service=None, path=FAULTS_PATH):
    def change(faults):
        if service is None:
            return {}, None
        faults.pop(service, None)
        return faults, None
    _locked(path, change)


def armed(path=FAULTS_PATH):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, ValueError):
        return {}


def _applies(fault, method, path_info, now):
    if fault.get("methods") and method not in fault["methods"]:
        return False
    if fault.get("paths") and not any(path_info.startswith(p) for p in fault["paths"]):
        return False
    if "until" in fault and now >= fault["until"]:
        return False
    return True


def take(service, method, path_info, path=FAULTS_PATH, now=None):
    """The fault this request gets (consuming one of its ``count``), or None."""
    if not os.path.exists(path):
        return None
    now = time.time() if now is None else now
    fault = armed(path).get(service)
    if not fault or not _applies(fault, method, path_info, now):
        return None
    if "count" not in fault:
        return fault

    def change(faults):
        current = faults.get(service)
        if not current or not _applies(current, method, path_info, now) or \
                current.get("count", 0) <= 0:
            return faults, None
        current["count"] -= 1
        if current["count"] <= 0:
            faults.pop(service)
        return faults, dict(current)
    return _locked(path, change)


class FaultMiddleware(object):
    """Wraps a service's WSGI app; records what it injected in ``<faults file>.log``."""

    def __init__(self, service, app, path=FAULTS_PATH, sleep=time.sleep):
        self.service = service
        self.app = app
        self.path = path
        self.sleep = sleep

    def _log(self, method, path_info, what):
        with open(self.path + ".log", "a") as handle:
            handle.write(json.dumps({"at": time.time(), "service": self.service,
                                     "method": method, "path": path_info, "fault": what}) + "\n")

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        path_info = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        fault = take(self.service, method, path_info, self.path)
        if fault is None:
            return self.app(environ, start_response)
        if fault.get("delay_s"):
            self._log(method, path_info, "delay %ss" % fault["delay_s"])
            self.sleep(fault["delay_s"])
            return self.app(environ, start_response)
        status = int(fault.get("status", 503))
        if fault.get("forward"):
            self._log(method, path_info, "%d after forwarding" % status)
            self._forward_and_drop(environ)
        else:
            self._log(method, path_info, status)
        body = json.dumps({"computeFault" if self.service == "nova" else "error": {
            "code": status, "message": "injected by the sandbox (api_faults)"}}).encode()
        start_response("%d %s" % (status, REASONS.get(status, "Error")), [
            ("Content-Type", "application/json"), ("Content-Length", str(len(body))),
            ("X-Sandbox-Fault", "injected")])
        return [body]

    def _forward_and_drop(self, environ):
        """The request reaches the service and is carried out; its answer never leaves."""
        answer = self.app(environ, lambda status, headers, exc_info=None: (lambda data: None))
        try:
            for _chunk in answer:
                pass
        finally:
            if hasattr(answer, "close"):
                answer.close()


def wrap(service, app, path=FAULTS_PATH):
    return FaultMiddleware(service, app, path)


# -- a forwarding front, for faults in front of a shared API -------------------------------

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
              "trailers", "transfer-encoding", "upgrade", "host", "content-length"}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def proxy(target):
    """A WSGI app forwarding every request to ``target`` (``http://127.0.0.1:38774``)."""
    target = target.rstrip("/")

    def app(environ, start_response):
        url = target + urllib.parse.quote(environ.get("SCRIPT_NAME", "") + environ.get(
            "PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")
        if environ.get("QUERY_STRING"):
            url += "?" + environ["QUERY_STRING"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        headers = {}
        for key, value in environ.items():
            if key.startswith("HTTP_"):
                name = key[5:].replace("_", "-").title()
                if name.lower() not in HOP_BY_HOP:
                    headers[name] = value
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        request = urllib.request.Request(url, data=body, headers=headers,
                                         method=environ.get("REQUEST_METHOD", "GET"))
        try:
            response = _OPENER.open(request, timeout=300)
        except urllib.error.HTTPError as exc:
            response = exc
        payload = response.read()
        out = [(k, v) for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP]
        out.append(("Content-Length", str(len(payload))))
        status = getattr(response, "status", None) or response.code
        start_response("%d %s" % (status, response.reason or ""), out)
        return [payload]
    return app


class _Server(ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


def serve(app, port=0, host="127.0.0.1"):
    """Serves ``app`` in a background thread; returns the server (``server_port``,
    ``shutdown()``)."""
    server = simple_server.make_server(host, port, app, server_class=_Server,
                                       handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server
