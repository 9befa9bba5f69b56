# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the maintenance modules share beyond the connection: the Compute API client, the
policy (validated before anything changes), waits, and destination hints."""

from __future__ import annotations

from ansible_collections.cloudmaint.openstack.plugins.module_utils import policy as policy_mod
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import (
    NovaClient,
    NovaError,
    looks_like_uuid,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.openstack_module import (
    CloudmaintModule,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_actions import Waiter


class MaintenanceModule(CloudmaintModule):
    """Base of every module of the collection that talks to Nova."""

    poll_interval = 1.0

    def __init__(self):
        super(MaintenanceModule, self).__init__()
        self._nova = None

    @property
    def nova(self):
        if self._nova is None:
            self._nova = NovaClient(self.conn, self.compute_max_microversion())
        return self._nova

    def waiter(self):
        return Waiter(poll_s=self.poll_interval)

    def load_policy(self, raw):
        try:
            policy = policy_mod.Policy(raw or {})
        except policy_mod.PolicyError as exc:
            return self.fail('invalid maintenance policy:\n%s' % exc,
                             errors=[{'path': path, 'error': msg} for path, msg in exc.errors])
        policy.trust_names(self.unique_server_names(k for k in policy.server_rule_keys() if not looks_like_uuid(k)))
        return policy

    def unique_server_names(self, names):
        """The names among ``names`` that exactly one server in the whole cloud has (one request each)."""
        unique = []
        for name in names:
            try:
                found = self.nova.find_server(name)
            except NovaError as exc:
                if exc.status == 409:      # ambiguous
                    continue
                raise
            if found is not None:
                unique.append(name)
        return unique

    def action_timeout(self, policy, importance):
        """How long any server's action may take: the longest completion timeout of the
        policy for this importance, plus ``timeout`` for what follows it. For waits on tasks
        of unknown class; a server's own action waits its class's timeout plus ``timeout``."""
        entries = policy.data['live_migration'][importance].values()
        longest = max([e.get('completion_timeout_s', 0) for e in entries] or [0])
        return longest + self.params['timeout']

    def hint_hosts(self):
        """Usable hosts with free RAM and zone, for the likely-destination hints of a plan."""
        try:
            hypervisors = self.nova.hypervisors()
            zone_of = self.nova.zones_by_host()
        except NovaError as exc:
            self.warn('no destination hints: %s' % exc.message)
            return []
        hosts = []
        for hv in hypervisors:
            service = hv.get('service') or {}
            name = service.get('host') or hv.get('hypervisor_hostname')
            hosts.append({
                'name': name,
                'zone': zone_of.get(name),
                'usable': hv.get('state') == 'up' and hv.get('status') == 'enabled',
                'free_ram_mb': (hv.get('memory_mb') or 0) - (hv.get('memory_mb_used') or 0),
            })
        return hosts

    def __call__(self):
        try:
            super(MaintenanceModule, self).__call__()
        except NovaError as exc:
            self.fail('Compute API: %s' % exc, details=exc.details)
