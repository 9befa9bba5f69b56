# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What Nova and Placement say about one hypervisor now: its compute service, hypervisor record,
resource provider, servers, the reboot interlock, and whether it is back in service."""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_records import RecordStore
from ansible_collections.cloudmaint.openstack.plugins.module_utils.vocabulary import TASK_KEY, reboot_blocker

HYPERVISOR_KEYS = ('id', 'hypervisor_hostname', 'state', 'status', 'host_ip', 'hypervisor_type',
                   'hypervisor_version')


def _reported(service):
    """Nova's updated_at has no zone and microseconds; compared as UTC."""
    text = (service or {}).get('updated_at')
    return cm.parse_time(text) if text else None


def is_ready(service, provider, after=None):
    """Up, reported since ``after`` (when given), and with inventory in Placement."""
    ready = (service or {}).get('state') == 'up' and bool(provider and provider.get('inventories'))
    if after is not None:
        updated = _reported(service)
        ready = ready and updated is not None and updated > after
    return ready


def not_ready_because(result, after):
    """Why a host is not ready, from a ``look()``."""
    if result.get('exists') is False:
        return 'no nova-compute service by that name'
    service = result.get('service') or {}
    reasons = []
    if service.get('state') != 'up':
        reasons.append('compute service state %s' % service.get('state'))
    elif after is not None:
        updated = _reported(service)
        if updated is None or updated <= after:
            reasons.append('compute service has not reported since %s (last: %s)'
                           % (after.strftime('%Y-%m-%dT%H:%M:%SZ'), service.get('updated_at')))
    provider = result.get('resource_provider')
    if not (provider and provider.get('inventories')):
        reasons.append('no inventory in Placement')
    return '; '.join(reasons) or 'not ready'


def look(nova, host, campaign=None, after=None, reboot_in_error=()):
    """One look at ``host`` (its service, hypervisor, provider and one server listing).
    An unknown host is ``exists: false``, with the known hosts, never an error."""
    service = nova.compute_service(host)
    if service is None:
        return dict(exists=False, service=None, hypervisor=None, resource_provider=None, servers=[],
                    reboot_blockers=[], ready=False,
                    known_hosts=sorted(s['host'] for s in nova.compute_services()))
    found = nova.hypervisor_of(host)
    hypervisor = {k: found.get(k) for k in HYPERVISOR_KEYS} if found else None
    provider = None
    if hypervisor:
        inventory = nova.provider_inventory(hypervisor['id'])
        provider = dict(inventory, uuid=hypervisor['id']) if inventory is not None else None
    servers, blockers = [], []
    by_server, _notes = RecordStore(nova).records(host, campaign)
    for server in nova.servers_on_host(host):
        record = (by_server.get(server['id']) or [None])[0]
        entry = {'id': server['id'], 'name': server['name'], 'status': server['status'],
                 'task_state': server.get(TASK_KEY), 'locked': server.get('locked'),
                 'campaign_state': record.state if record else None}
        servers.append(entry)
        why = reboot_blocker(server, record, reboot_in_error)
        if why is not None:
            blockers.append(dict(entry, why=why))
    return dict(exists=True, service=service, hypervisor=hypervisor, resource_provider=provider,
                servers=servers, reboot_blockers=blockers, ready=is_ready(service, provider, after))
