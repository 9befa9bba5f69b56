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


# ---------------------------------------------------------------- new_record

@pytest.mark.parametrize('action, state', [
    ('live_migrate', 'moved'),
    ('cold_migrate', 'moved'),
    ('shelve_partial', 'shelved'),
    ('stop', 'stopped'),
    ('suspend', 'suspended'),
    ('leave', 'left'),
    ('rebuild', 'rebuild_pending'),
])
def test_new_record_states_what_the_action_leaves(action, state):
    assert cm.new_record(action, 'cmp-1', 'c-42', NOW) == cm.CampaignRecord(
        action=action, state=state, origin_host='cmp-1', campaign='c-42', at=NOW)


def test_every_policy_action_but_delete_can_be_recorded():
    assert set(cm.ACTION_STATE) == set(pol.ACTIONS) - {'delete'}


def test_record_converts_time_to_utc_and_keeps_prior_status():
    cet = datetime.timezone(datetime.timedelta(hours=1))
    record = cm.new_record('leave', 'cmp-1', 'c-42', datetime.datetime(2025, 1, 1, 0, 30, tzinfo=cet),
                           prior_status='active')
    assert record.to_dict()['at'] == '2024-12-31T23:30:00Z'
    assert record.prior_status == 'ACTIVE'
    assert record.locked is False


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
        cm.new_record(*args)
    assert message in str(info.value)


def test_campaign_keys_tenants_could_write_stay_reserved():
    assert set(cm.CAMPAIGN_KEYS) == {'cloudmaint:origin_host', 'cloudmaint:action', 'cloudmaint:campaign',
                                     'cloudmaint:at', 'cloudmaint:state', 'cloudmaint:prior_status'}
    assert 'cloudmaint:owner_action' not in cm.CAMPAIGN_KEYS


def test_mark_restored_and_with_lock_return_new_records():
    record = cm.new_record('stop', 'cmp-1', 'c-42', NOW, prior_status='ACTIVE')
    later = NOW + datetime.timedelta(hours=1)
    restored = cm.mark_restored(cm.with_lock(record), later)
    assert (restored.state, restored.at, restored.locked, restored.prior_status) == ('restored', later, True, 'ACTIVE')
    assert (record.state, record.at, record.locked) == ('stopped', NOW, False)


# ---------------------------------------------------------------- encode / decode

def test_encode_is_one_short_value_without_host_or_campaign():
    record = cm.with_lock(cm.new_record('cold_migrate', 'cmp-1', 'c-42', NOW, prior_status='SHUTOFF'))
    assert cm.encode(record) == 'cold_migrate|moved|SHUTOFF|2025-03-09T14:05:07Z|locked'
    assert cm.encode(cm.new_record('stop', 'cmp-1', 'c-42', NOW)) == 'stop|stopped||2025-03-09T14:05:07Z|'


def test_decode_reads_back_what_encode_wrote():
    record = cm.with_lock(cm.new_record('cold_migrate', 'cmp-1', 'c-42', NOW, prior_status='SHUTOFF'))
    back, note = cm.decode(cm.encode(record), 'cmp-1', 'c-42')
    assert note is None
    assert back == cm.CampaignRecord(action='cold_migrate', state='moved', origin_host='cmp-1', campaign='c-42',
                                     at=NOW.replace(microsecond=0), prior_status='SHUTOFF', locked=True)
    assert back.to_dict() == {'action': 'cold_migrate', 'state': 'moved', 'origin_host': 'cmp-1',
                              'campaign': 'c-42', 'at': '2025-03-09T14:05:07Z', 'prior_status': 'SHUTOFF',
                              'locked': True}


def test_decode_takes_host_and_campaign_from_where_the_record_is_kept():
    value = cm.encode(cm.new_record('stop', 'cmp-1', 'c-42', NOW))
    back, _note = cm.decode(value, 'cmp-9', 'c-7')
    assert (back.origin_host, back.campaign) == ('cmp-9', 'c-7')


GOOD = 'stop|stopped|ACTIVE|2025-03-09T14:05:07Z|'


@pytest.mark.parametrize('value, reason', [
    (None, 'unreadable campaign record None'),
    (42, 'unreadable campaign record 42'),
    ('', "unreadable campaign record ''"),
    ('stop|stopped', "unreadable campaign record 'stop|stopped'"),
    (GOOD + '|extra', "unreadable campaign record %r" % (GOOD + '|extra')),
    ('teleport|stopped|||', "garbled campaign record: 'teleport' is not a recorded action"),
    ('delete|stopped|||', "garbled campaign record: 'delete' is not a recorded action"),
    ('stop|frozen|||', "garbled campaign record: state 'frozen' does not go with action 'stop'"),
    ('stop|moved|||', "garbled campaign record: state 'moved' does not go with action 'stop'"),
])
def test_decode_garbled_values(value, reason):
    assert cm.decode(value, 'cmp-1', 'c-42') == (None, reason)


def test_decode_refuses_a_value_longer_than_nova_keeps():
    value = GOOD + 'x' * (256 - len(GOOD))
    assert len(value) == 256
    record, reason = cm.decode(value, 'cmp-1', 'c-42')
    assert record is None and reason.startswith('unreadable campaign record')


@pytest.mark.parametrize('at', ['yesterday', '', '2025-13-40T00:00:00Z'])
def test_decode_tolerates_an_unreadable_time(at):
    record, note = cm.decode('stop|stopped|ACTIVE|%s|' % at, 'cmp-1', 'c-42')
    assert record is not None and record.state == 'stopped'
    assert record.at is None
    assert note == 'time %r unreadable; ignored' % at


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
    record, note = cm.decode(cm.encode(cm.mark_restored(cm.new_record('stop', 'cmp-1', 'c-42', NOW), NOW)),
                             'cmp-1', 'c-42')
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
    # rebuild, without knowing whether the host rebooted: never (it wipes the disks)
    (rec('rebuild', prior='ACTIVE'), 'SHUTOFF', 'cmp-1', True, 'start',
     'Nova cannot tell whether its host rebooted since campaign c-42 stopped it'),
    (rec('rebuild', prior='SHUTOFF'), 'SHUTOFF', 'cmp-1', True, 'none', 'not rebuilt'),
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


REBUILD_CASES = [
    # (prior status, status now, host rebooted since the record, step, reason-substring)
    ('ACTIVE', 'SHUTOFF', True, 'rebuild', 'rebuild from its image then start it'),
    ('SHUTOFF', 'SHUTOFF', True, 'rebuild', 'rebuild from its image, as campaign c-42 decided'),
    ('ACTIVE', 'SUSPENDED', True, 'none', 'a SUSPENDED server cannot be rebuilt'),
    ('ACTIVE', 'SHUTOFF', False, 'start', 'its host has not rebooted since campaign c-42 stopped it'),
    ('ACTIVE', 'ACTIVE', False, 'none', 'not rebuilt'),
    ('SHUTOFF', 'SHUTOFF', False, 'none', 'not rebuilt'),
    ('ACTIVE', 'SHUTOFF', None, 'start', 'Nova cannot tell whether its host rebooted'),
]


@pytest.mark.parametrize('prior, status, rebooted, step, reason', REBUILD_CASES)
def test_rebuild_only_after_a_reboot_of_its_host(prior, status, rebooted, step, reason):
    result = cm.restore_step(rec('rebuild', prior=prior), status, 'cmp-1', True, rebooted, 'booted at ...')
    assert (result.step, reason in result.reason) == (step, True), result


def test_restore_is_resumable_step_by_step():
    # One run moves the server back; a later run (another controller) finds nothing left to do.
    record = cm.decode(cm.encode(cm.new_record('live_migrate', 'cmp-1', 'c-42', NOW, prior_status='ACTIVE')),
                       'cmp-1', 'c-42')[0]
    assert cm.restore_step(record, 'ACTIVE', 'cmp-3', True).step == 'move_back'
    assert cm.restore_step(record, 'ACTIVE', 'cmp-1', True).step == 'none'


def test_record_written_but_action_never_done_leads_to_nothing():
    # The campaign records before acting; a crash in between must not cause a wrong step.
    for action, status in (('live_migrate', 'ACTIVE'), ('stop', 'ACTIVE'), ('suspend', 'ACTIVE'),
                           ('shelve_partial', 'ACTIVE')):
        record = cm.new_record(action, 'cmp-1', 'c-42', NOW, prior_status='ACTIVE')
        assert cm.restore_step(record, status, 'cmp-1', True).step == 'none', action
