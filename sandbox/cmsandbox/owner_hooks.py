"""The server owners' side of maintenance notices, for the sandbox: a webhook receiver on
127.0.0.1 that checks each delivery's signature, writes it to ``.sandbox/hooks/deliveries.jsonl``
and, for the servers listed in ``.sandbox/hooks/owners.json``, answers the way their owners would:

    {"ack_after_s": {"db-01": 3}, "defer_s": {"cache-01": 30}, "fail": {"data-lab": 500}}

``ack_after_s``: acknowledge the event that many seconds after it arrived (the owner's own
credentials, through the Compute API, as a real owner would); ``defer_s``: ask for a deferral;
``fail``: answer this HTTP status to every delivery for the project (a broken receiver).
The file is read at every delivery, so tests and demos can change it while the sandbox runs.

Each delivery is checked as docs/notices.md tells owners to (written here from the documented
scheme, not with the collection's code): the signature with the project's secret derived from
the operator's, the signed recipient (this receiver's URL and the project), ``sent_at`` within
five minutes of now, and the delivery id. A delivery already handled is answered 200 and not
acted on again; the same signed body a second time (a replay) is refused with 409.
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
TOLERANCE_S = 300      # sent_at this far from now, either way, is refused
MAX_BODY = 1 << 20
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


def project_secret(secret, project_id):
    """The project's secret: HMAC-SHA256 of ``cloudmaint-webhook:<project id>`` keyed with the
    operator's secret, in hex (the operator hands it to the project's owner)."""
    return hmac.new(secret.encode(), b"cloudmaint-webhook:" + project_id.encode(), hashlib.sha256).hexdigest()


def signature_ok(secret, body, header):
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, (header or "").strip())


class Deliveries(object):
    """The deliveries seen in the last ``2 * TOLERANCE_S`` seconds (older ones are refused as
    stale anyway), per URL of this receiver: ``(delivery id, sent_at)`` of every signed body
    accepted, and the ids handled."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bodies = {}      # (delivery, sent_at) -> when seen
        self.handled = {}     # delivery -> when handled

    def see(self, url, delivery, sent_at, now):
        """'new', 'retry' (a new attempt of a delivery already handled) or 'replay'."""
        with self.lock:
            for table in (self.bodies, self.handled):
                for key in [k for k, at in table.items() if at < now - 2 * TOLERANCE_S]:
                    del table[key]
            if (url, delivery, sent_at) in self.bodies:
                return "replay"
            self.bodies[(url, delivery, sent_at)] = now
            return "retry" if (url, delivery) in self.handled else "new"

    def handle(self, url, delivery, now):
        with self.lock:
            self.handled[(url, delivery)] = now


def check(secret, body, headers, own_url, now):
    """``(None, payload)`` for a genuine delivery meant for ``own_url``, ``(reason, payload)`` otherwise."""
    try:
        payload = json.loads(body)
    except ValueError:
        return "body is not JSON", None
    if not isinstance(payload, dict):
        return "body is not a JSON object", None
    recipient = payload.get("recipient") if isinstance(payload.get("recipient"), dict) else {}
    project_id = recipient.get("project_id")
    if not isinstance(project_id, str) or not project_id:
        return "no recipient project", payload
    if not signature_ok(project_secret(secret, project_id), body, headers.get("X-Cloudmaint-Signature")):
        return "bad signature", payload
    if recipient.get("url") != own_url:
        return "signed for %r, not this URL" % recipient.get("url"), payload
    if (payload.get("server") or {}).get("project_id") != project_id:
        return "recipient project is not the server's", payload
    sent_at = payload.get("sent_at")
    if not isinstance(sent_at, int) or isinstance(sent_at, bool) \
            or str(sent_at) != (headers.get("X-Cloudmaint-Timestamp") or "").strip():
        return "sent_at missing or not the timestamp header", payload
    if sent_at < now - TOLERANCE_S:
        return "stale: sent %d s ago" % (now - sent_at), payload
    if sent_at > now + TOLERANCE_S:
        return "sent_at %d s in the future" % (sent_at - now), payload
    if not payload.get("delivery") or payload.get("delivery") != headers.get("X-Cloudmaint-Delivery"):
        return "delivery id missing or not the header's", payload
    return None, payload


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
    deliveries = Deliveries()

    def do_POST(self):  # noqa: N802 - http.server's name
        length = self.headers.get("Content-Length") or "0"
        length = int(length) if length.isdigit() else -1
        if not 0 <= length <= MAX_BODY:
            self._answer(413)
            return
        body = self.rfile.read(length)
        project = self.path.rstrip("/").rsplit("/", 1)[-1]
        now = int(time.time())
        url = layout.url("hooks", self.path)
        problem, payload = check(self.secret, body, self.headers, url, now)
        seen = None
        if problem is None:
            seen = self.deliveries.see(url, payload["delivery"], payload["sent_at"], now)
            if seen == "replay":
                problem = "replay of delivery %s" % payload["delivery"]
        behaviour = owners()
        if problem is not None:
            status = 409 if seen == "replay" else 401
        else:
            status = int(behaviour.get("fail", {}).get(project, 200))
        record({"path": self.path, "project": project, "accepted": problem is None, "problem": problem,
                "seen": seen, "status": status, "type": self.headers.get("X-Cloudmaint-Event"),
                "payload": payload})
        self._answer(status)
        if status != 200 or seen != "new":
            return
        self.deliveries.handle(url, payload["delivery"], now)
        self._act(payload, behaviour)

    def _answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    @staticmethod
    def _act(payload, behaviour):
        if payload.get("type") != "scheduled" or "answer" not in payload:
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
