"""The server owners' side of maintenance notices, for the sandbox: a webhook receiver on
127.0.0.1 that checks each delivery's signature, writes it to ``.sandbox/hooks/deliveries.jsonl``
and, for the servers listed in ``.sandbox/hooks/owners.json``, answers the way their owners would:

    {"ack_after_s": {"db-01": 3}, "defer_s": {"cache-01": 30}, "fail": {"data-lab": 500}}

``ack_after_s``: acknowledge the event that many seconds after it arrived (the owner's own
credentials, through the Compute API, as a real owner would); ``defer_s``: ask for a deferral;
``fail``: answer this HTTP status to every delivery for the project (a broken receiver).
The file is read at every delivery, so tests and demos can change it while the sandbox runs.
"""
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cmsandbox import layout

HOOKS_DIR = os.path.join(layout.ROOT, "hooks")
DELIVERIES = os.path.join(HOOKS_DIR, "deliveries.jsonl")
OWNERS = os.path.join(HOOKS_DIR, "owners.json")
DEFAULT_OWNERS = {"ack_after_s": {"db-01": 3, "warehouse-01": 5}, "defer_s": {}, "fail": {}}
_write_lock = threading.Lock()


def owners():
    try:
        with open(OWNERS) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return DEFAULT_OWNERS


def write_default_owners():
    os.makedirs(HOOKS_DIR, exist_ok=True)
    with open(OWNERS, "w") as handle:
        json.dump(DEFAULT_OWNERS, handle, indent=2, sort_keys=True)


def signature_ok(secret, body, header):
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, (header or "").strip())


def _owner_token(project_id):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": layout.TENANT_USER, "domain": {"id": "default"},
            "password": layout.passwords()["owner"]}}},
        "scope": {"project": {"id": project_id}}}}
    request = urllib.request.Request(layout.url("keystone", "/v3/auth/tokens"),
                                     data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.headers["X-Subject-Token"]


def answer(server_id, project_id, metadata, after_s):
    """Set metadata on the server as its owner, ``after_s`` seconds from now."""
    time.sleep(after_s)
    try:
        request = urllib.request.Request(
            layout.url("nova", "/v2.1/servers/%s/metadata" % server_id),
            data=json.dumps({"metadata": metadata}).encode(), method="POST",
            headers={"Content-Type": "application/json", "X-Auth-Token": _owner_token(project_id)})
        with urllib.request.urlopen(request, timeout=30):
            outcome = "answered"
    except Exception as exc:  # noqa: BLE001 - recorded, the receiver goes on
        outcome = "answer failed: %s" % exc
    record({"answer": metadata, "server": server_id, "outcome": outcome})


def record(entry):
    entry = dict(entry, received_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    with _write_lock, open(DELIVERIES, "a") as handle:
        handle.write(json.dumps(entry, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    secret = None

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        project = self.path.rstrip("/").rsplit("/", 1)[-1]
        valid = signature_ok(self.secret, body, self.headers.get("X-Cloudmaint-Signature"))
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        behaviour = owners()
        status = int(behaviour.get("fail", {}).get(project, 200)) if valid else 401
        record({"path": self.path, "project": project, "signature_ok": valid, "status": status,
                "type": self.headers.get("X-Cloudmaint-Event"), "payload": payload})
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()
        if status != 200 or not payload or payload.get("type") != "scheduled" \
                or "answer" not in payload:
            return
        server = payload.get("server") or {}
        name, event = server.get("name"), payload.get("event") or {}
        if name in behaviour.get("ack_after_s", {}):
            metadata = {payload["answer"]["ack"]["key"]: event.get("id")}
            delay = float(behaviour["ack_after_s"][name])
        elif name in behaviour.get("defer_s", {}) and "defer" in payload["answer"]:
            metadata = {payload["answer"]["defer"]["key"]: str(behaviour["defer_s"][name])}
            delay = 0.5
        else:
            return
        threading.Thread(target=answer, daemon=True,
                         args=(server.get("id"), server.get("project_id"), metadata, delay)).start()

    def log_message(self, *args):
        pass


def main():
    os.makedirs(HOOKS_DIR, exist_ok=True)
    if not os.path.exists(OWNERS):
        write_default_owners()
    Handler.secret = layout.passwords()["webhook"]
    server = ThreadingHTTPServer((layout.HOST, layout.PORTS["hooks"]), Handler)
    server.daemon_threads = True
    print("owner webhooks on %s:%d" % (layout.HOST, layout.PORTS["hooks"]), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
