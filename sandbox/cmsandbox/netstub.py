"""A stand-in for the Networking API (Neutron) that answers what Nova asks for servers booted
with ``networks: none``: every list is empty, extensions included. It does not check tokens and
holds no state; real Neutron needs agents and a data plane that this sandbox does not have.
"""
import json

from cmsandbox import layout


def _reply(start_response, status, body):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))])
    return [data]


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/").rstrip("/")
    method = environ.get("REQUEST_METHOD", "GET")
    if path in ("", "/v2.0") and method == "GET":
        href = layout.url("network", "/v2.0/")
        return _reply(start_response, "200 OK", {"versions": [
            {"id": "v2.0", "status": "CURRENT", "links": [{"rel": "self", "href": href}]}]})
    parts = [p for p in path.split("/") if p]
    if parts and parts[0] == "v2.0":
        parts = parts[1:]
    if method == "GET" and len(parts) == 1:
        resource = parts[0].split(".")[0]
        return _reply(start_response, "200 OK", {resource.replace("-", "_"): []})
    if method == "GET" and len(parts) == 2 and parts[0] == "quotas":
        return _reply(start_response, "200 OK", {"quota": {}})
    if method == "DELETE":
        start_response("204 No Content", [])
        return [b""]
    return _reply(start_response, "404 Not Found",
                  {"NeutronError": {"type": "NotFound", "message": "not simulated: %s %s"
                                    % (method, path), "detail": ""}})
