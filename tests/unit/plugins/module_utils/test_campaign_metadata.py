# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import campaign_metadata as cm
from ansible_collections.cloudmaint.openstack.plugins.module_utils import policy as pol

UTC = datetime.timezone.utc
NOW = datetime.datetime(2025, 3, 9, 14, 5, 7, 123456, tzinfo=UTC)


def rec(action='live_migrate', state=None, origin='cmp-1', campaign='c-42', prior=None):
    return cm.CampaignRecord(action=action, state=state or cm.ACTION_STATE[action], origin_host=origin,
                             campaign=campaign, at=NOW, prior_status=prior)


# ---------------------------------------------------------------- record

@pytest.mark.parametrize('action, state', [
    ('live_migrate', 'moved'),
    ('cold_migrate', 'moved'),
    ('shelve_partial', 'shelved'),
    ('stop', 'stopped'),
    ('suspend', 'suspended'),
    ('leave', 'left'),
    ('rebuild', 'rebuild_pending'),
])
def test_record_sets_the_namespaced_keys(action, state):
    assert cm.record(action, 'cmp-1', 'c-42', NOW) == {
        'cloudmaint:action': action,
        'cloudmaint:state': state,
        'cloudmaint:origin_host': 'cmp-1',
        'cloudmaint:campaign': 'c-42',
        'cloudmaint:at': '2025-03-09T14:05:07Z',
    }


def test_every_policy_action_but_delete_can_be_recorded():
    assert set(cm.ACTION_STATE) == set(pol.ACTIONS) - {'delete'}


def test_record_converts_time_to_utc_and_keeps_prior_status():
    cet = datetime.timezone(datetime.timedelta(hours=1))
    meta = cm.record('leave', 'cmp-1', 'c-42', datetime.datetime(2025, 1, 1, 0, 30, tzinfo=cet), prior_status='active')
    assert meta['cloudmaint:at'] == '2024-12-31T23:30:00Z'
    assert meta['cloudmaint:prior_status'] == 'ACTIVE'


@pytest.mark.parametrize('args, message', [
    (('delete', 'cmp-1', 'c-42', NOW), "action 'delete' is not recorded"),
    (('none', 'cmp-1', 'c-42', NOW), "action 'none' is not recorded"),
    (('stop', '', 'c-42', NOW), "origin_host must be a non-empty string, got ''"),
    (('stop', 'cmp-1', None, NOW), 'campaign must be a non-empty string, got None'),
    (('stop', 'h' * 256, 'c-42', NOW), 'origin_host is 256 characters long; Nova metadata values hold at most 255'),
    (('stop', 'cmp-1', 'c-42', datetime.datetime(2025, 1, 1)), 'expected a timezone-aware datetime'),
    (('stop', 'cmp-1', 'c-42', '2025-01-01T00:00:00Z'), 'expected a timezone-aware datetime'),
])
def test_record_refuses_what_nova_or_restore_could_not_use(args, message):
    with pytest.raises(ValueError) as info:
        cm.record(*args)
    assert message in str(info.value)


def test_keys_fit_nova_limits_and_share_the_prefix():
    meta = cm.record('stop', 'h' * 255, 'c' * 255, NOW, prior_status='ACTIVE')
    assert all(key.startswith('cloudmaint:') and len(key) <= 255 for key in meta)
    assert all(isinstance(value, str) and len(value) <= 255 for value in meta.values())


def test_keys_to_clear_covers_every_written_key_but_not_the_owner_annotation():
    written = set(cm.record('stop', 'cmp-1', 'c-42', NOW, prior_status='ACTIVE')) | set(cm.mark_restored(NOW))
    cleared = cm.keys_to_clear()
    assert written <= set(cleared)
    assert 'cloudmaint:owner_action' not in cleared
    cleared.append('x')
    assert 'x' not in cm.keys_to_clear()  # a fresh list each time


# ---------------------------------------------------------------- parse

def test_parse_reads_back_what_record_wrote():
    meta = dict(cm.record('cold_migrate', 'cmp-1', 'c-42', NOW, prior_status='SHUTOFF'), sla='pets')
    record, note = cm.parse(meta)
    assert note is None
    assert record == cm.CampaignRecord(action='cold_migrate', state='moved', origin_host='cmp-1', campaign='c-42',
                                       at=NOW.replace(microsecond=0), prior_status='SHUTOFF')
    assert record.to_dict()['at'] == '2025-03-09T14:05:07Z'


@pytest.mark.parametrize('metadata', [None, {}, {'sla': 'pets'}, {'cloudmaint:owner_action': 'stop'}, 'garbage'])
def test_parse_without_campaign_keys_is_nothing(metadata):
    assert cm.parse(metadata) == (None, None)


GOOD = {'cloudmaint:action': 'stop', 'cloudmaint:state': 'stopped', 'cloudmaint:origin_host': 'cmp-1',
        'cloudmaint:campaign': 'c-42', 'cloudmaint:at': '2025-03-09T14:05:07Z'}


@pytest.mark.parametrize('change, reason', [
    ({'cloudmaint:state': None}, 'incomplete campaign record: cloudmaint:state missing or empty'),
    ({'cloudmaint:origin_host': '  '}, 'incomplete campaign record: cloudmaint:origin_host missing or empty'),
    ({'cloudmaint:action': None, 'cloudmaint:campaign': None},
     'incomplete campaign record: cloudmaint:action, cloudmaint:campaign missing or empty'),
    ({'cloudmaint:action': 'teleport'}, "garbled campaign record: cloudmaint:action 'teleport' is not a recorded action"),
    ({'cloudmaint:action': 'delete'}, "garbled campaign record: cloudmaint:action 'delete' is not a recorded action"),
    ({'cloudmaint:state': 'frozen'}, "garbled campaign record: cloudmaint:state 'frozen' is not a known state"),
    ({'cloudmaint:state': 'moved'},
     "garbled campaign record: cloudmaint:state 'moved' does not go with cloudmaint:action 'stop' (expected "
     "'stopped')"),
    ({'cloudmaint:campaign': 42}, 'incomplete campaign record: cloudmaint:campaign missing or empty'),
])
def test_parse_garbled_records(change, reason):
    meta = dict(GOOD)
    for key, value in change.items():
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    assert cm.parse(meta) == (None, reason)


def test_parse_of_a_lone_campaign_key_is_incomplete():
    record, reason = cm.parse({'cloudmaint:origin_host': 'cmp-1'})
    assert record is None
    assert reason.startswith('incomplete campaign record: cloudmaint:action, cloudmaint:state, cloudmaint:campaign')


@pytest.mark.parametrize('at', ['yesterday', '', '2025-13-40T00:00:00Z'])
def test_parse_tolerates_an_unreadable_time(at):
    record, note = cm.parse(dict(GOOD, **{'cloudmaint:at': at}))
    assert record is not None and record.state == 'stopped'
    assert record.at is None
    assert note == 'cloudmaint:at %r unreadable; time ignored' % at


@pytest.mark.parametrize('text, expected', [
    ('2025-03-09T14:05:07Z', datetime.datetime(2025, 3, 9, 14, 5, 7, tzinfo=UTC)),
    ('2025-03-09T15:05:07+01:00', datetime.datetime(2025, 3, 9, 14, 5, 7, tzinfo=UTC)),
    ('2025-03-09T14:05:07', datetime.datetime(2025, 3, 9, 14, 5, 7, tzinfo=UTC)),
    ('2025-03-09T14:05:07.250000z', datetime.datetime(2025, 3, 9, 14, 5, 7, 250000, tzinfo=UTC)),
    ('14:05', None),
    (None, None),
])
def test_parse_time(text, expected):
    assert cm.parse_time(text) == expected


def test_restored_state_goes_with_any_action():
    meta = dict(GOOD, **cm.mark_restored(NOW))
    record, note = cm.parse(meta)
    assert (record.action, record.state, note) == ('stop', 'restored', None)
    assert cm.restore_step(record, 'SHUTOFF', 'cmp-1', True) == ('none', 'already restored')


# ---------------------------------------------------------------- restore_step

RESTORE_CASES = [
    # (record, status, current_host, move_back, step, reason-substring)
    (None, 'ACTIVE', 'cmp-1', True, 'none', 'no campaign record'),
    # moved
    (rec('live_migrate'), 'ACTIVE', 'cmp-2', True, 'move_back', 'live-migrate back to cmp-1'),
    (rec('live_migrate'), 'PAUSED', 'cmp-2', True, 'move_back', 'live-migrate back to cmp-1'),
    (rec('cold_migrate'), 'SHUTOFF', 'cmp-2', True, 'move_back', 'cold-migrate back to cmp-1 (server is SHUTOFF)'),
    (rec('live_migrate'), 'ACTIVE', 'cmp-1', True, 'none', 'already on its origin host cmp-1'),
    (rec('live_migrate'), 'ACTIVE', 'cmp-2', False, 'none', 'moving back is off: stays on cmp-2'),
    (rec('live_migrate'), 'ACTIVE', None, True, 'none', 'current host unknown'),
    (rec('live_migrate'), 'SUSPENDED', 'cmp-2', True, 'none', 'a SUSPENDED server cannot be moved back to cmp-1'),
    (rec('cold_migrate'), 'VERIFY_RESIZE', 'cmp-2', True, 'confirm_resize', 'never confirmed'),
    (rec('live_migrate'), 'MIGRATING', 'cmp-2', True, 'wait', 'server is busy (MIGRATING)'),
    # stopped
    (rec('stop'), 'SHUTOFF', 'cmp-1', True, 'start', 'stopped by campaign c-42'),
    (rec('stop'), 'SHUTOFF', 'cmp-1', False, 'start', 'stopped by campaign c-42'),
    (rec('stop'), 'ACTIVE', 'cmp-1', True, 'none', 'already ACTIVE'),
    (rec('stop'), 'SUSPENDED', 'cmp-1', True, 'none', 'is SUSPENDED, not SHUTOFF'),
    (rec('stop'), 'VERIFY_RESIZE', 'cmp-1', True, 'wait', 'busy (VERIFY_RESIZE)'),
    # shelved
    (rec('shelve_partial'), 'SHELVED', 'cmp-1', True, 'unshelve', 'shelved by campaign c-42'),
    (rec('shelve_partial'), 'SHELVED_OFFLOADED', None, True, 'unshelve', 'shelved by campaign c-42'),
    (rec('shelve_partial'), 'ACTIVE', 'cmp-1', True, 'none', 'already ACTIVE'),
    # suspended
    (rec('suspend'), 'SUSPENDED', 'cmp-1', True, 'resume', 'suspended by campaign c-42'),
    (rec('suspend'), 'ACTIVE', 'cmp-1', True, 'none', 'already ACTIVE'),
    (rec('suspend'), 'SHUTOFF', 'cmp-1', True, 'none', 'is SHUTOFF, not SUSPENDED'),
    # left in place
    (rec('leave', prior='ACTIVE'), 'SHUTOFF', 'cmp-1', True, 'start', 'was ACTIVE before the campaign'),
    (rec('leave', prior='SHUTOFF'), 'SHUTOFF', 'cmp-1', True, 'none', 'was SHUTOFF before the campaign'),
    (rec('leave', prior='PAUSED'), 'SHUTOFF', 'cmp-1', True, 'none', 'was PAUSED before the campaign'),
    (rec('leave'), 'SHUTOFF', 'cmp-1', True, 'none', 'was not recorded'),
    (rec('leave', prior='ACTIVE'), 'ACTIVE', 'cmp-1', True, 'none', 'left in place and now ACTIVE'),
    # rebuild
    (rec('rebuild', prior='ACTIVE'), 'SHUTOFF', 'cmp-1', True, 'rebuild', 'rebuild from its image then start it'),
    (rec('rebuild', prior='SHUTOFF'), 'SHUTOFF', 'cmp-1', True, 'rebuild', 'rebuild from its image, as campaign'),
    (rec('rebuild'), 'SUSPENDED', 'cmp-1', True, 'none', 'a SUSPENDED server cannot be rebuilt'),
    # whatever the record says
    (rec('stop'), 'ERROR', 'cmp-1', True, 'none', 'server in ERROR: left for the operator'),
    (rec('live_migrate'), 'DELETED', None, True, 'none', 'server is DELETED'),
    (rec('stop'), 'SOFT_DELETED', 'cmp-1', True, 'none', 'server is SOFT_DELETED'),
    (rec('stop'), 'UNKNOWN', 'cmp-1', True, 'wait', 'status UNKNOWN'),
    (rec('stop'), None, 'cmp-1', True, 'wait', 'server status unknown'),
    (rec('stop'), 'shutoff', 'cmp-1', True, 'start', 'stopped by campaign'),
    (rec('stop', state='restored'), 'SHUTOFF', 'cmp-1', True, 'none', 'already restored'),
]


@pytest.mark.parametrize('record, status, host, move_back, step, reason', RESTORE_CASES)
def test_restore_step(record, status, host, move_back, step, reason):
    result = cm.restore_step(record, status, host, move_back)
    assert result.step == step
    assert reason in result.reason
    assert result.step in cm.RESTORE_STEPS


def test_restore_is_resumable_step_by_step():
    # One run moves the server back; a later run (another controller) finds nothing left to do.
    record = cm.parse(cm.record('live_migrate', 'cmp-1', 'c-42', NOW, prior_status='ACTIVE'))[0]
    assert cm.restore_step(record, 'ACTIVE', 'cmp-3', True).step == 'move_back'
    assert cm.restore_step(record, 'ACTIVE', 'cmp-1', True).step == 'none'


def test_record_written_but_action_never_done_leads_to_nothing():
    # The campaign records before acting; a crash in between must not cause a wrong step.
    for action, status in (('live_migrate', 'ACTIVE'), ('stop', 'ACTIVE'), ('suspend', 'ACTIVE'),
                           ('shelve_partial', 'ACTIVE')):
        record = cm.parse(cm.record(action, 'cmp-1', 'c-42', NOW, prior_status='ACTIVE'))[0]
        assert cm.restore_step(record, status, 'cmp-1', True).step == 'none', action
