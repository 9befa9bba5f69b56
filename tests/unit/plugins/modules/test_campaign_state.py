# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import NovaError
from ansible_collections.cloudmaint.openstack.plugins.modules import campaign_state


class Response(object):
    def __init__(self, body):
        self.body = body

    def json(self):
        return self.body


class RacingNova(object):
    """Another host of the batch creates the ledger between this one's listing and its POST."""

    def __init__(self, status=409):
        self.aggregates = []
        self.status = status
        self.requests = 0

    def get_json(self, path, microversion):
        self.requests += 1
        return {'aggregates': list(self.aggregates)}

    def request(self, method, path, microversion, json=None):
        self.requests += 1
        self.aggregates.append({'id': 7, 'name': json['aggregate']['name'], 'metadata': {}})
        raise NovaError(self.status, 'Aggregate %s already exists.' % json['aggregate']['name'], 'POST', path)


def module(nova):
    found = campaign_state.CampaignStateModule.__new__(campaign_state.CampaignStateModule)
    found.params = {'ledger': 'cloudmaint-ledger'}
    found._nova = nova
    return found


def test_ledger_created_by_another_host_of_the_batch_is_used():
    nova = RacingNova()
    assert module(nova)._ledger(create=True) == {'id': 7, 'name': 'cloudmaint-ledger', 'metadata': {}}


def test_other_errors_creating_the_ledger_are_not_hidden():
    with pytest.raises(NovaError):
        module(RacingNova(status=403))._ledger(create=True)
