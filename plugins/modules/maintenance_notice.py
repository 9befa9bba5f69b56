#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r'''
module: maintenance_notice
short_description: Tell guests and owners that maintenance is coming, and wait for their answer or the notice's end
version_added: 0.1.0
author: cloudmaint.openstack contributors (@cloudmaint)
description:
  - O(state=present) gives every affected server a maintenance notice. The guest sees a small JSON event in the
    server's metadata, key C(cloudmaint:event), through the metadata service (C(/openstack/latest/meta_data.json),
    key C(meta)), saying what will happen (C(live_migration), C(cold_migration), C(shelve), C(stop), C(suspend),
    C(reboot), C(rebuild), C(delete)), not before when, and how to answer. The owner gets the same event in a
    signed HTTP POST (HMAC-SHA256, with a secret derived per project by default) to their webhook. See
    C(docs/notices.md) for what guests and owners see.
  - What will happen comes from the maintenance policy O(policy) (the action it decides for the server), or from
    O(action). Without O(action), servers for which the policy decides nothing (action C(none), e.g. shelved and
    offloaded) get no notice. O(policy) is read with O(state=present) only.
  - The notice period is the one of the server's SLA class (C(notice.period_s) in the policy), or O(notice_s). An
    owner may ask for another one with the server metadata C(cloudmaint:notice_s) (seconds, or C(15m), C(1h)), up to
    the class's C(notice.max_period_s). O(not_before) makes the notice end no earlier than a given time.
  - The owner answers in the server's metadata. C(cloudmaint:ack) set to the event id means the action may go ahead
    now. C(cloudmaint:defer) set to seconds postpones it, up to the class's C(notice.max_defer_s); more is clamped,
    and a class with C(max_defer_s) 0 honours none. An acknowledgement beats a deferral.
  - With O(wait=true) the module returns when every server is ready, that is acknowledged or at the end of its
    notice (deferral included), whichever comes first. It reads all servers with one request per poll per host
    (or one per server when they are on different hosts), not one per server and poll.
  - A re-run with the same O(campaign) and action keeps the event already posted (the notice is not restarted
    and the webhook is not sent again). An event of another campaign or action is replaced.
  - With O(campaign), what each new notice announces (the policy's whole chain of actions for the server) is
    recorded where only administrators write (the campaign's host aggregate), and M(cloudmaint.openstack.host_drain)
    of that campaign does what was announced. A label the owner changes afterwards counts only with a new notice
    (a re-run of this module gives one when the action changes).
  - 'Owners can write their servers'' metadata, so an event found there may be forged: one whose terms go beyond
    the policy (a C(not_before) later than a full notice from now plus the longest deferral, or a C(max_defer_s)
    or C(deferred_s) over the class''s C(max_defer_s)) is re-issued with a new id and terms clamped to the policy,
    and said so in the server''s RV(servers[].notes). An unreadable event (bad JSON, times outside the years
    1970 to 2999, numbers out of range) is replaced. Neither fails the module.'
  - O(state=absent) removes the event and the owner's answers (C(cloudmaint:event), C(cloudmaint:ack),
    C(cloudmaint:defer)) and posts a C(done) webhook. The owner's settings C(cloudmaint:notice_s) and
    C(cloudmaint:notify_url) are kept.
  - 'Webhooks: the owner''s URL (server metadata C(cloudmaint:notify_url)) is called only if its host is in
    O(webhook_allow) and it is https (or O(webhook_allow_http) is set); the host name is resolved once, every
    address it resolves to must be allowed (a listed network, or a public address of a listed host name; an IPv6
    address wrapping an IPv4 one, IPv4-mapped, NAT64 C(64:ff9b::/96) or 6to4 C(2002::/16), counts as that IPv4
    address), and the connection goes to that address. A refused URL is reported and never connected to; the
    operator''s URL for the project (O(project_webhooks)) is used instead when there is one. No redirects, no
    proxies.'
  - 'Each delivery attempt ends O(webhook_timeout) seconds after it started, whatever the receiver does (the
    connection is closed); the answer read is bounded (64 header lines, 16 KiB of headers, 4 interim C(1xx)
    answers, 4 KiB of an error body). Deliveries are retried (connection errors, timeouts, HTTP 408, 425, 429, 5xx)
    with exponential backoff, at most O(webhook_retries) times and never past the end of the server''s notice. A
    failed webhook is reported and warned about; it does not fail the module or hold the action back.'
extends_documentation_fragment:
  - cloudmaint.openstack.cloud
  - cloudmaint.openstack.policy
options:
  servers:
    description: Names or ids of the servers to notify. Mutually exclusive with O(host).
    type: list
    elements: str
  host:
    description: Notify every server on this compute host. Mutually exclusive with O(servers).
    type: str
  state:
    description: C(present) posts the notice, C(absent) clears it and posts a C(done) webhook.
    type: str
    choices: [present, absent]
    default: present
  campaign:
    description:
      - Campaign identifier carried by the event. Letters, digits, V(.), V(_) and V(-), starting with a letter or
        digit, at most 56 characters (the event must fit in 255).
      - With O(state=absent), only events of this campaign are cleared; when omitted, any event is.
      - Defaults to C(manual) with O(state=present).
    type: str
  action:
    description:
      - What will happen, for every server, instead of the action the policy decides. An event action or a policy
        action (C(live_migrate) means C(live_migration), C(leave) means C(reboot)).
    type: str
    choices: [live_migration, cold_migration, shelve, stop, suspend, reboot, rebuild, delete,
              live_migrate, cold_migrate, shelve_partial, leave]
  planned_actions:
    description:
      - Per server name or id, the fallback of its policy chain the campaign plan starts its handling at, as given to
        M(cloudmaint.openstack.host_drain)'s O(cloudmaint.openstack.host_drain#module:planned_actions). The notice
        announces that action (a cold migration, not the live one the policy prefers). Ignored with O(action) and
        for a server whose chain does not hold that action.
    type: dict
    default: {}
  notice_s:
    description:
      - Notice period in seconds for every server, instead of its class's C(notice.period_s). Owner annotations
        still apply within the class's C(max_period_s).
    type: int
  not_before:
    description:
      - No notice ends before this time (ISO-8601, e.g. C(2026-11-22T02:00:00Z); UTC when no offset is given).
    type: str
  project_webhooks:
    description:
      - Webhook URL per project (key a project id or name), for servers without an owner URL in their metadata
        (C(cloudmaint:notify_url)) or whose owner URL is refused. The operator gives these, so they are not
        checked against O(webhook_allow).
      - Names are looked up in Keystone (one request per name) only when a server's project id is not a key.
    type: dict
    default: {}
  webhook_allow:
    description:
      - Where owner-supplied webhook URLs may point. Host names (C(hooks.example.com), C(*.example.com) for its
        subdomains) and the networks or single addresses of your owners' receivers, IPv4 or IPv6, in CIDR form.
        Empty, no owner URL is called.
      - A host name allows only public addresses; to allow a private, loopback or link-local address, list its
        network and set O(webhook_allow_private).
      - 'Refused, with the index of the entry, before anything changes: networks wider than C(/16) (IPv4) or
        C(/32) (IPv6), such as C(0.0.0.0/0) or C(::/0); a wildcard over a public suffix (C(*), C(*.com),
        C(*.co.uk), C(*.github.io)); IPv6 networks of the ranges that wrap IPv4 addresses (list the IPv4 network);
        without O(webhook_allow_private), a network overlapping a non-public range (private, loopback,
        link-local, shared, documentation, multicast, reserved).'
    type: list
    elements: str
    default: []
  webhook_allow_private:
    description:
      - Let O(webhook_allow) list networks in private, loopback, link-local and other non-public ranges (for
        receivers inside your network, or a test receiver on C(127.0.0.1)). Owners whose URL points there reach
        your internal network from the controller, so list only the networks of their receivers.
    type: bool
    default: false
  webhook_allow_http:
    description:
      - Let owner-supplied webhook URLs be plain C(http) (by default only C(https) is called). Deliveries are
        signed either way, but over http anyone on the path reads them.
      - The operator's URLs in O(project_webhooks) may always be http.
    type: bool
    default: false
  webhook_secret:
    description:
      - The operator's secret for the HMAC-SHA256 signature of every delivery (header C(X-Cloudmaint-Signature),
        over the raw body). Without it no webhook is sent.
      - The signed body names its recipient (C(recipient.url), the URL as registered, and C(recipient.project_id))
        and carries C(sent_at) and the C(delivery) id, so a receiver rejects a delivery meant for another URL or
        project, an old one, and a replay (see C(docs/notices.md)).
    type: str
  webhook_secret_per_project:
    description:
      - Sign each project's deliveries with a secret derived from O(webhook_secret) and the project id
        (HMAC-SHA256 with O(webhook_secret) as key of C(cloudmaint-webhook:<project id>), hex), so one project's
        receiver cannot sign for another. Give each owner their derived secret.
      - V(false) signs every delivery with O(webhook_secret) itself, shared by every receiver, any of which can
        then forge deliveries to the others.
    type: bool
    default: true
  webhook_timeout:
    description:
      - Seconds one delivery attempt may take in all (connect, TLS, send, the whole answer). The connection is
        closed when they are over, even if the receiver is still sending.
    type: int
    default: 10
  webhook_retries:
    description: Retries after a failed attempt, at most (0 for a single attempt).
    type: int
    default: 3
  webhook_backoff:
    description: Seconds before the first retry; doubled for each further one, at most 30.
    type: float
    default: 2.0
  webhook_validate_certs:
    description: Verify the certificates of https webhook destinations.
    type: bool
    default: true
  webhook_ca_path:
    description: CA bundle for https webhook destinations, instead of the system's.
    type: path
  poll_interval:
    description: Seconds between polls for answers while waiting.
    type: int
    default: 5
  max_parallel:
    description: Compute API requests and webhook deliveries at once.
    type: int
    default: 8
  wait:
    description:
      - With O(state=present), wait until every server acknowledged or its notice (with deferral) ended.
    type: bool
    default: true
  timeout:
    description:
      - Longest wait in seconds with O(wait=true). Servers not ready when it passes make the module fail, with
        the full result.
      - When omitted, the time until the last notice can end (its end plus the longest deferral its class allows;
        every event is within the policy, see above), plus 60 s. Never unbounded.
    type: int
    default: null
notes:
  - Guests read the notice from the metadata service, which caches for C([api]metadata_cache_expiration) (15 s
    by default), so they see it that much later. A config drive is written when the server boots and never shows
    a notice.
  - Nova changes metadata only of ACTIVE, PAUSED, SUSPENDED and SHUTOFF servers with no task running. Other servers
    (shelved, in ERROR, busy) get the webhook only (C(guest_notice=false)) and are ready at the end of the notice.
  - The owner answers with their own credentials (C(openstack server set --property cloudmaint:ack=<id> <server>));
    the guest can do it for them with an application credential limited to that call.
  - Check mode reports the events and webhook destinations (allow-list checked, nothing resolved or sent) and does
    not wait.
requirements:
  - openstacksdk >= 4.0
seealso:
  - module: cloudmaint.openstack.host_drain
'''

EXAMPLES = r'''
- name: Give the servers of hv03 their notice and wait for answers or the notice's end
  cloudmaint.openstack.maintenance_notice:
    cloud: production-admin
    host: hv03
    campaign: patch-2026-11
    policy: "{{ cloudmaint_policy }}"
    webhook_allow: [hooks.example.com, "*.hooks.example.net"]
    webhook_secret: "{{ vault_cloudmaint_webhook_secret }}"
    project_webhooks:
      analytics: https://ops.example.com/hooks/analytics
  register: notice

- name: A lab whose owners' receivers are on an internal network, over plain http
  cloudmaint.openstack.maintenance_notice:
    cloud: lab-admin
    host: lab-hv1
    campaign: lab-patch-2026-11
    policy: "{{ cloudmaint_policy }}"
    webhook_allow: [10.20.30.0/24]
    webhook_allow_private: true
    webhook_allow_http: true
    webhook_secret: "{{ vault_cloudmaint_webhook_secret }}"

- name: Servers whose owner was not reached
  ansible.builtin.debug:
    msg: "{{ notice.servers | selectattr('notified.webhook', 'ne', 'delivered') | map(attribute='name') }}"

- name: Announce a reboot at a fixed time, without waiting
  cloudmaint.openstack.maintenance_notice:
    cloud: production-admin
    servers: [licence-server-1]
    action: reboot
    not_before: "2026-11-22T02:00:00Z"
    campaign: firmware-2026-11
    wait: false

- name: Maintenance over, clear the notices and tell the owners
  cloudmaint.openstack.maintenance_notice:
    cloud: production-admin
    host: hv03
    campaign: patch-2026-11
    state: absent
    webhook_allow: [hooks.example.com]
    webhook_secret: "{{ vault_cloudmaint_webhook_secret }}"
'''

RETURN = r'''
campaign:
  description: The campaign of the notices (none with O(state=absent) and no O(campaign)).
  returned: always
  type: str
servers:
  description: One entry per server.
  returned: always
  type: list
  elements: dict
  contains:
    id:
      description: Server id.
      type: str
    name:
      description: Server name.
      type: str
    project_id:
      description: The server's project.
      type: str
    host:
      description: The server's compute host when the notice was posted.
      type: str
    status:
      description: The server's status when the notice was posted.
      type: str
    sla_class:
      description: The server's SLA class (its notice terms come from it).
      type: str
    policy_action:
      description: The action the policy decided (C(none) when the server gets no notice).
      type: str
    action:
      description: The event action.
      type: str
    announced:
      description: The chain of actions recorded for the drain, when a new notice was given with O(campaign).
      type: list
      elements: str
    event:
      description: The event as posted (or found, or cleared).
      type: dict
      sample:
        {"v": 1, "id": "3f9a2c71d04e", "campaign": "patch-2026-11", "action": "live_migration",
         "not_before": "2026-11-21T12:05:00Z", "ack": "cloudmaint:ack", "defer": "cloudmaint:defer",
         "max_defer_s": 900}
    event_id:
      description: The event id, the value that acknowledges it.
      type: str
    not_before:
      description: When the notice ends, deferral included (ISO-8601 UTC).
      type: str
    notice_s:
      description: The notice period given, in seconds, and where it came from (RV(servers[].notice_source)).
      type: int
    notice_source:
      description: C(policy), C(operator) (O(notice_s)) or C(owner) (C(cloudmaint:notice_s)).
      type: str
    max_defer_s:
      description: The longest deferral the owner may ask for.
      type: int
    notified:
      description:
        - C(metadata) is what happened to the guest notice, C(posted), C(replaced), C(unchanged) (already there),
          C(not_writable) (Nova does not change this server's metadata now), C(failed), C(cleared), C(absent), or
          in check mode C(would_post), C(would_replace), C(would_clear).
        - C(metadata_error) is the Compute API error when C(failed).
        - C(webhook) is the outcome of the owner notice, C(delivered), C(failed), C(refused), C(skipped), C(none)
          (no destination), or C(not_sent) (re-run, check mode).
        - C(attempts) and C(status) are the attempts and the last HTTP status of the last delivery.
        - C(webhooks) lists every delivery tried, with url, source (C(owner) or C(project)), outcome, attempts,
          status (last HTTP status), error, address, duration_s.
      type: dict
    acknowledged:
      description: Whether the owner acknowledged the event.
      type: bool
    acknowledged_at:
      description: When the acknowledgement was first seen (ISO-8601 UTC).
      type: str
    deferred_s:
      description: The deferral honoured, in seconds.
      type: int
    defer_requested_s:
      description: The deferral the owner asked for, if any.
      type: int
    ready:
      description: Whether the action may go ahead (acknowledged, or the notice is over).
      type: bool
    ready_reason:
      description: C(acknowledged), C(notice_over), C(gone) (the server disappeared) or C(waiting).
      type: str
    waited_s:
      description: Seconds from the start of the wait until the server was ready (or the wait ended).
      type: float
    skipped:
      description: Why the server got no notice.
      type: str
    notes:
      description: What was adjusted or ignored (annotations, deferrals, replaced events, events found beyond the
        policy and re-issued).
      type: list
      elements: str
summary:
  description: Counts over the servers (notified, webhooks delivered, failed, refused, acknowledged, deferred, ready).
  returned: always
  type: dict
all_ready:
  description: Whether every notified server is ready.
  returned: when O(state=present)
  type: bool
waited_s:
  description: Seconds the module waited.
  returned: when O(state=present)
  type: float
timeout_s:
  description: The bound of the wait in seconds, O(timeout) or the one computed when it is omitted (none without a wait).
  returned: when O(state=present)
  type: float
polls:
  description: Polls made while waiting.
  returned: when O(state=present)
  type: int
requests:
  description: Number of Compute API requests the module made.
  returned: always
  type: int
started_at:
  description: When the module began (ISO-8601 UTC); the campaign report's step times come from it.
  returned: always
  type: str
  sample: "2026-12-05T08:20:00Z"
ended_at:
  description: When the module ended (ISO-8601 UTC), in a failure's result too.
  returned: always
  type: str
  sample: "2026-12-05T08:21:30Z"
'''

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import notice
from ansible_collections.cloudmaint.openstack.plugins.module_utils import webhook
from ansible_collections.cloudmaint.openstack.plugins.module_utils.notice_run import (
    NoticeRun,
    option_problems,
    project_webhooks,
    public,
    summarize,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import SDK_ERRORS, CloudmaintModule


class MaintenanceNoticeModule(CloudmaintModule):
    argument_spec = dict(
        wait=dict(type='bool', default=True),
        servers=dict(type='list', elements='str'),
        host=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'absent']),
        campaign=dict(type='str'),
        action=dict(type='str', choices=list(notice.EVENT_ACTIONS) + ['live_migrate', 'cold_migrate', 'shelve_partial',
                                                                      'leave']),
        policy=dict(type='dict', default={}),
        planned_actions=dict(type='dict', default={}),
        notice_s=dict(type='int'),
        not_before=dict(type='str'),
        project_webhooks=dict(type='dict', default={}),
        webhook_allow=dict(type='list', elements='str', default=[]),
        webhook_allow_private=dict(type='bool', default=False),
        webhook_allow_http=dict(type='bool', default=False),
        webhook_secret=dict(type='str', no_log=True),
        webhook_secret_per_project=dict(type='bool', default=True),
        webhook_timeout=dict(type='int', default=10),
        webhook_retries=dict(type='int', default=3),
        webhook_backoff=dict(type='float', default=2.0),
        webhook_validate_certs=dict(type='bool', default=True),
        webhook_ca_path=dict(type='path'),
        poll_interval=dict(type='int', default=5),
        max_parallel=dict(type='int', default=8),
        timeout=dict(type='int'),
    )
    module_kwargs = dict(
        supports_check_mode=True,
        required_one_of=[('servers', 'host')],
        mutually_exclusive=[('servers', 'host')],
    )

    def run(self):
        p = self.params
        present = p['state'] == 'present'
        campaign = p['campaign'] or ('manual' if present else None)
        problems = option_problems(p, campaign)
        if problems:
            self.fail('; '.join(problems))
        try:
            allow = notice.AllowList(p['webhook_allow'], allow_private=p['webhook_allow_private'],
                                     allow_http=p['webhook_allow_http'])
        except ValueError as exc:
            self.fail('invalid webhook_allow:\n%s' % exc)
        earliest = None
        if p['not_before']:
            earliest = cm.parse_time(p['not_before'])
            if earliest is None:
                self.fail('not_before %r is not an ISO-8601 time (e.g. 2026-11-22T02:00:00Z)' % p['not_before'])
        policy = self.load_policy(p['policy']) if present else None

        servers = self._servers()
        if p['project_webhooks'] and not p['webhook_secret']:
            self.warn('project_webhooks given without webhook_secret: no webhook is sent (deliveries are signed)')
        project_webhooks, project_names = self._project_webhooks(servers)
        engine = NoticeRun(
            self.nova, campaign=campaign, check_mode=self.check_mode, allow=allow, secret=p['webhook_secret'],
            secret_per_project=p['webhook_secret_per_project'],
            project_webhooks=project_webhooks, project_names=project_names,
            webhook_options=dict(timeout_s=p['webhook_timeout'], retries=p['webhook_retries'],
                                 backoff_s=p['webhook_backoff'], validate_certs=p['webhook_validate_certs'],
                                 ca_path=p['webhook_ca_path']),
            max_parallel=p['max_parallel'], deliver=webhook.deliver, announce=present and bool(p['campaign']))
        result = dict(campaign=campaign)
        if not present:
            entries = engine.clear(servers)
            engine.finish_webhooks()
            return self._result(result, engine, entries)

        try:
            entries = engine.plan(servers, policy, action=p['action'], operator_period_s=p['notice_s'],
                                  earliest=earliest, planned_actions=p['planned_actions'])
        except notice.NoticeError as exc:
            self.fail(str(exc))
        engine.post(entries)
        waited = 0.0
        try:
            if p['wait'] and not self.check_mode:
                waited = engine.wait(entries, timeout_s=p['timeout'], poll_s=p['poll_interval'])
            else:
                engine.evaluate(entries, engine.monotonic())
        finally:
            engine.finish_webhooks(stop=p['wait'])
        result.update(waited_s=waited, polls=engine.polls, timeout_s=engine.timeout_s)
        result = self._result(result, engine, entries)
        notified = [e for e in entries if e['event'] is not None]
        result['all_ready'] = all(e['ready'] for e in notified)
        failed = [e['name'] for e in notified if e['notified']['metadata'] == 'failed']
        if failed:
            self.fail('the notice could not be posted to %d server(s): %s' % (len(failed), ', '.join(failed)),
                      **result)
        if p['wait'] and not self.check_mode and not result['all_ready']:
            late = [e['name'] for e in notified if not e['ready']]
            self.fail('timeout: %d server(s) still in their notice after %d s: %s'
                      % (len(late), round(engine.timeout_s), ', '.join(late)), **result)
        return result

    def _servers(self):
        if self.params['host']:
            return self.nova.servers_on_host(self.params['host'])
        found, missing = self.nova.find_servers(self.params['servers'])
        if missing:
            self.fail('server(s) not found: %s' % ', '.join(missing))
        return found

    def _project_webhooks(self, servers):
        def named(name):
            try:
                return self.nova.projects_named(name)
            except (NovaError,) + SDK_ERRORS as exc:
                self.warn('project_webhooks: cannot look up project %r: %s' % (name, exc))
                return None
        hooks, names, warnings = project_webhooks(self.params['project_webhooks'], servers, named)
        for warning in warnings:
            self.warn(warning)
        return hooks, names

    def _result(self, result, engine, entries):
        result.update(changed=engine.changed, servers=public(entries), summary=summarize(entries),
                      requests=self.nova.requests)
        failed = [e for e in entries if e['notified']['webhook'] in ('failed', 'refused')]
        for entry in failed:
            last = entry['notified']['webhooks'][-1] if entry['notified']['webhooks'] else {}
            self.warn('owner of %s not reached by webhook: %s %s' % (entry['name'], entry['notified']['webhook'],
                                                                     last.get('error') or ''))
        return result


def main():
    MaintenanceNoticeModule()()


if __name__ == '__main__':
    main()
