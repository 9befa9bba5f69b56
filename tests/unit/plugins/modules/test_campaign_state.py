# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.modules import campaign_state


class RacingNova(object):
    """Another host of the batch creates the ledger between this one's listing and its POST."""

    def __init__(self, status=409):
        self.existing = []
        self.status = status
        self.requests = 0

    def aggregates(self):
        self.requests += 1
        return list(self.existing)

    def create_aggregate(self, name):
        self.requests += 1
        self.existing.append({'id': 7, 'name': name, 'metadata': {}})
        raise NovaError(self.status, 'Aggregate %s already exists.' % name, 'POST', '/os-aggregates')


def module(nova):
    found = campaign_state.CampaignStateModule.__new__(campaign_state.CampaignStateModule)
    found.params = {'ledger': 'cloudmaint-ledger'}
    found._nova = nova
    return found


@pytest.mark.parametrize('status', [409, 500])
def test_ledger_created_by_another_host_of_the_batch_is_used(status):
    # 500: Nova's own name check passed for both, the database's unique key caught the second
    nova = RacingNova(status)
    assert module(nova)._ledger(create=True) == {'id': 7, 'name': 'cloudmaint-ledger', 'metadata': {}}


def test_a_server_error_without_a_ledger_after_it_is_not_hidden():
    nova = RacingNova(500)

    def fails(name):
        raise NovaError(500, 'Unexpected API Error creating %s.' % name, 'POST', '/os-aggregates')
    nova.create_aggregate = fails
    with pytest.raises(NovaError):
        module(nova)._ledger(create=True)


def test_other_errors_creating_the_ledger_are_not_hidden():
    with pytest.raises(NovaError):
        module(RacingNova(status=403))._ledger(create=True)
