# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The maintenance policy used when an operator sets nothing (``cloudmaint_policy`` unset).

An operator's ``cloudmaint_policy`` is deep-merged onto DEFAULT_POLICY by
``policy.validate()``; docs/policy.md explains every value and why it was chosen.
Plain data only: never mutate these objects, ``validate()`` works on copies.
"""

from __future__ import annotations


def _push(completion_timeout_s, on_timeout, max_parallel):
    """How hard one class's live migrations are pushed, one at a time per source host."""
    return {'completion_timeout_s': completion_timeout_s, 'on_timeout': on_timeout,
            'max_parallel_per_host': 1, 'max_parallel': max_parallel}


DEFAULT_POLICY = {
    'sla_key': 'sla',
    'default_class': 'cattle',
    'owner_key': 'cloudmaint:owner_action',
    'owner_choice': {
        'enabled': True,
        'actions': ['live_migrate', 'cold_migrate', 'shelve_partial', 'stop', 'suspend', 'leave'],
    },
    'allow_delete': False,
    'allow_rebuild': False,
    # Nova's [libvirt] live_migration_permit_post_copy (default False): without it force-complete
    # pauses the guest until its migration ends.
    'post_copy': False,
    'classes': {
        'cattle': {
            'action': 'live_migrate',
            'fallbacks': ['cold_migrate', 'stop'],
            'downtime_limit_ms': 30000,
            'notice': {'period_s': 0, 'max_period_s': 600, 'max_defer_s': 0},
        },
        'pets': {
            'action': 'live_migrate',
            'fallbacks': ['cold_migrate'],
            'downtime_limit_ms': 2000,
            'notice': {'period_s': 60, 'max_period_s': 1800, 'max_defer_s': 900},
        },
        'pandas': {
            'action': 'live_migrate',
            'fallbacks': [],
            'downtime_limit_ms': 500,
            'notice': {'period_s': 300, 'max_period_s': 3600, 'max_defer_s': 3600},
        },
    },
    'projects': {},
    'servers': {},
    'default': {'action': 'live_migrate', 'fallbacks': ['cold_migrate', 'stop']},
    # importance -> SLA class (or 'default') -> how hard a live migration is pushed.
    'live_migration': {
        # The host must be emptied (failing hardware, urgent security fix): every
        # migration has to finish, so all classes are forced once the timeout passes.
        'high': {
            'default': _push(120, 'force_complete', 8),
            'cattle': _push(60, 'force_complete', 8),
            'pets': _push(120, 'force_complete', 8),
            'pandas': _push(300, 'force_complete', 4),
        },
        # Routine patching: cattle and pets are forced after a while; pandas are
        # never forced (post-copy loses the VM if the network breaks mid-way).
        'medium': {
            'default': _push(300, 'force_complete', 4),
            'cattle': _push(120, 'force_complete', 4),
            'pets': _push(600, 'force_complete', 4),
            'pandas': _push(1800, 'fallback', 2),
        },
        # Defragmentation / rebalancing: nothing has to move, so nothing is forced.
        'low': {
            'default': _push(300, 'abort', 2),
            'cattle': _push(300, 'abort', 2),
            'pets': _push(300, 'abort', 2),
            'pandas': _push(300, 'abort', 1),
        },
    },
    'restore': {'move_back': 'auto'},
    'budgets': [],
}

# Fields a class added by the operator leaves out.  Strict migration downtime
# (a class someone bothered to add is rarely cattle), no fallbacks, no notice.
NEW_CLASS_DEFAULTS = {
    'action': None,
    'fallbacks': [],
    'downtime_limit_ms': 500,
    'notice': {'period_s': 0, 'max_period_s': 0, 'max_defer_s': 0},
}
