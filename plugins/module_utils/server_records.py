# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Where a campaign keeps what it did to each server: in the cloud, out of tenants' reach.

Tenants write their servers' names, metadata and tags; a record kept there could be forged to
steer restore (move my server to the host I name, skip me at the reboot check). Records are
kept in the metadata of host aggregates that hold no hosts instead, which Nova's default policy
lets only administrators read or change: one aggregate per campaign and origin host, one key per
server id, one short value (see ``campaign_metadata.encode``). Any controller, or a fresh AWX
container, reads them back.

Size: an aggregate holds the records of one host's servers, and restore deletes it once it
is empty, so at any time only the hosts of a campaign in progress have one: a 20,000-server
campaign never lists more than the records of the hosts between drain and restore.
"""

from __future__ import annotations

import hashlib
import threading

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError

AGGREGATE_PREFIX = 'cloudmaint-ledger:'
KEY_CAMPAIGN = cm.PREFIX + 'campaign'
KEY_HOST = cm.PREFIX + 'host'


def aggregate_name(campaign: str, host: str) -> str:
    """Readable; a name too long for Nova (255) is cut and made unique again with a digest. The
    campaign and host themselves are in the aggregate's metadata."""
    name = '%s%s:%s' % (AGGREGATE_PREFIX, campaign, host)
    if len(name) <= cm.MAX_LEN:
        return name
    digest = hashlib.sha256(name.encode('utf-8')).hexdigest()[:16]
    return '%s~%s' % (name[:cm.MAX_LEN - len(digest) - 1], digest)


def ledger_of(aggregate: dict) -> tuple | None:
    """``(campaign, host)`` of one of our record aggregates, or None for any other aggregate."""
    metadata = aggregate.get('metadata') or {}
    if not str(aggregate.get('name') or '').startswith(AGGREGATE_PREFIX) or aggregate.get('hosts'):
        return None
    campaign, host = metadata.get(KEY_CAMPAIGN), metadata.get(KEY_HOST)
    if not campaign or not host:
        return None
    return campaign, host


def records_in(aggregate: dict) -> tuple:
    """``(records by server id, notes)`` of one record aggregate."""
    campaign, host = ledger_of(aggregate)
    records, notes = {}, []
    for key, value in (aggregate.get('metadata') or {}).items():
        if key.startswith(cm.PREFIX):
            continue
        rec, note = cm.decode(value, host, campaign)
        if note:
            notes.append('%s: %s' % (key, note))
        if rec is not None:
            records[key] = rec
    return records, notes


class RecordStore(object):
    """Campaign records in admin-only aggregates, shared by the threads of one module run."""

    def __init__(self, nova):
        self.nova = nova
        self._lock = threading.Lock()
        self._ids = {}

    def _ledgers(self, host=None, campaign=None):
        found = []
        for aggregate in self.nova.aggregates():
            owner = ledger_of(aggregate)
            if owner is None:
                continue
            self._ids[owner] = aggregate['id']
            if (campaign is None or owner[0] == campaign) and (host is None or owner[1] == host):
                found.append(aggregate)
        return found

    def campaigns(self, host) -> set:
        """The campaigns that hold records of what they did to servers from ``host`` (a notice's
        announcement alone is nothing to restore)."""
        return {ledger_of(a)[0] for a in self._ledgers(host)
                if any(rec.state != cm.STATE_ANNOUNCED for rec in records_in(a)[0].values())}

    def records(self, host=None, campaign=None) -> tuple:
        """``({server id: [records, newest first]}, notes)`` for ``host`` and/or ``campaign``."""
        by_server, notes = {}, []
        for aggregate in self._ledgers(host, campaign):
            records, problems = records_in(aggregate)
            notes.extend('%s: %s' % (aggregate['name'], p) for p in problems)
            for sid, rec in records.items():
                by_server.setdefault(sid, []).append(rec)
        for recs in by_server.values():
            recs.sort(key=lambda r: r.at.timestamp() if r.at else 0, reverse=True)
        return by_server, notes

    def _aggregate_id(self, campaign, host):
        key = (campaign, host)
        with self._lock:
            if key not in self._ids:
                self._ledgers()
            if key not in self._ids:
                try:
                    created = self.nova.create_aggregate(aggregate_name(campaign, host))
                except NovaError as exc:
                    # 409: a same-named aggregate exists (another run created it a moment ago).
                    if exc.status != 409:
                        raise
                    created = next(a for a in self.nova.aggregates()
                                   if a['name'] == aggregate_name(campaign, host))
                    if ledger_of(created) not in (None, key):
                        raise NovaError(409, 'aggregate %s holds the records of %s, not of %s'
                                        % (created['name'], ledger_of(created), key)) from exc
                self.nova.set_aggregate_metadata(created['id'], {KEY_CAMPAIGN: campaign, KEY_HOST: host})
                self._ids[key] = created['id']
            return self._ids[key]

    def put(self, server_id: str, rec: cm.CampaignRecord):
        aggregate = self._aggregate_id(rec.campaign, rec.origin_host)
        self.nova.set_aggregate_metadata(aggregate, {server_id: cm.encode(rec)})

    def remove(self, server_id: str, rec: cm.CampaignRecord):
        aggregate = self._ids.get((rec.campaign, rec.origin_host))
        if aggregate is None:
            self._ledgers()
            aggregate = self._ids.get((rec.campaign, rec.origin_host))
        if aggregate is not None:
            self.nova.set_aggregate_metadata(aggregate, {server_id: None})

    def prune(self, host=None, campaign=None) -> int:
        """Deletes the record aggregates left without records; returns how many."""
        pruned = 0
        for aggregate in self._ledgers(host, campaign):
            if not any(not key.startswith(cm.PREFIX) for key in aggregate.get('metadata') or {}):
                self.nova.delete_aggregate(aggregate['id'])
                self._ids.pop(ledger_of(aggregate), None)
                pruned += 1
        return pruned
