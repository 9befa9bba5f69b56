# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.cloudmaint.openstack.plugins.module_utils import policy as pol
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy_defaults import DEFAULT_POLICY


def server(status='ACTIVE', sla=None, owner=None, **extra):
    metadata = dict(extra.pop('metadata', {}))
    if sla is not None:
        metadata['sla'] = sla
    if owner is not None:
        metadata['cloudmaint:owner_action'] = owner
    base = {'id': 'srv-id', 'name': 'web-1', 'project_id': 'prj-id', 'project_name': 'shop',
            'status': status, 'metadata': metadata}
    base.update(extra)
    return base


def trusted(raw, *names):
    """A policy whose ``servers:`` rules may match these names (found unique cloud-wide)."""
    policy = pol.Policy(raw)
    policy.trust_names(names)
    return policy


def errors_of(policy):
    with pytest.raises(pol.PolicyError) as info:
        pol.validate(policy)
    return info.value.errors


# ---------------------------------------------------------------- defaults and merge

def test_empty_and_none_policies_are_the_defaults():
    normalized = pol.validate(None)
    assert normalized == pol.validate({})
    assert normalized['default_class'] == 'cattle'
    assert sorted(normalized['classes']) == ['cattle', 'pandas', 'pets']
    assert normalized['allow_delete'] is False
    assert normalized['restore'] == {'move_back': 'auto'}


def test_normalized_policy_is_json_and_validates_to_itself():
    normalized = pol.validate({'classes': {'gold': {'action': 'cold_migrate'}},
                               'projects': {'ci': {'action': 'shelve_partial', 'fallbacks': ['stop']}}})
    assert json.loads(json.dumps(normalized)) == normalized
    assert pol.validate(normalized) == normalized


def test_validate_does_not_mutate_defaults_or_input():
    before = copy.deepcopy(DEFAULT_POLICY)
    raw = {'classes': {'pets': {'fallbacks': ['stop']}}, 'owner_choice': {'actions': ['leave']}}
    raw_before = copy.deepcopy(raw)
    normalized = pol.validate(raw)
    normalized['classes']['cattle']['fallbacks'].append('suspend')
    assert DEFAULT_POLICY == before
    assert raw == raw_before
    assert pol.validate(None)['classes']['cattle']['fallbacks'] == ['cold_migrate', 'stop']


def test_class_override_merges_key_by_key():
    classes = pol.validate({'classes': {'pets': {'downtime_limit_ms': 1500,
                                                 'notice': {'period_s': 120}}}})['classes']
    assert classes['pets'] == {'action': 'live_migrate', 'fallbacks': ['cold_migrate'], 'downtime_limit_ms': 1500,
                               'notice': {'period_s': 120, 'max_period_s': 1800, 'max_defer_s': 900}}
    assert classes['cattle']['downtime_limit_ms'] == 30000  # untouched classes stay


def test_action_without_fallbacks_replaces_the_whole_chain():
    # pets' built-in fallbacks are [cold_migrate]: keeping them would make a loop.
    classes = pol.validate({'classes': {'pets': {'action': 'cold_migrate'}}})['classes']
    assert (classes['pets']['action'], classes['pets']['fallbacks']) == ('cold_migrate', [])
    default = pol.validate({'default': {'action': 'stop'}})['default']
    assert default == {'action': 'stop', 'fallbacks': []}


def test_fallbacks_alone_keep_the_action():
    classes = pol.validate({'classes': {'cattle': {'fallbacks': ['stop']}}})['classes']
    assert (classes['cattle']['action'], classes['cattle']['fallbacks']) == ('live_migrate', ['stop'])


def test_new_class_gets_new_class_defaults():
    gold = pol.validate({'classes': {'gold': {'action': 'live_migrate'}}})['classes']['gold']
    assert gold == {'action': 'live_migrate', 'fallbacks': [], 'downtime_limit_ms': 500,
                    'notice': {'period_s': 0, 'max_period_s': 0, 'max_defer_s': 0}}


def test_class_removed_with_null_takes_its_builtin_live_migration_entries_along():
    normalized = pol.validate({'classes': {'pandas': None}})
    assert 'pandas' not in normalized['classes']
    assert all('pandas' not in per_class for per_class in normalized['live_migration'].values())


def test_null_top_level_keys_keep_defaults_and_lists_replace():
    normalized = pol.validate({'projects': None, 'owner_choice': {'actions': ['leave']}})
    assert normalized['projects'] == {}
    assert normalized['owner_choice'] == {'enabled': True, 'actions': ['leave']}


def test_live_migration_merges_per_field_and_new_class_inherits_importance_default():
    normalized = pol.validate({
        'classes': {'gold': {'action': 'live_migrate'}},
        'live_migration': {'medium': {'pets': {'completion_timeout_s': 900},
                                      'gold': {'on_timeout': 'abort'}}},
    })
    medium = normalized['live_migration']['medium']
    assert medium['pets'] == {'completion_timeout_s': 900, 'on_timeout': 'force_complete',
                              'max_parallel_per_host': 1, 'max_parallel': 4}
    assert medium['gold'] == {'completion_timeout_s': 300, 'on_timeout': 'abort',
                              'max_parallel_per_host': 1, 'max_parallel': 4}


def test_numeric_yaml_keys_become_strings():
    normalized = pol.validate({'projects': {1234: {'action': 'stop'}}})
    assert normalized['projects'] == {'1234': {'action': 'stop', 'fallbacks': []}}


# ---------------------------------------------------------------- validation errors

P = 'cloudmaint_policy'

VALIDATION_CASES = [
    # unknown keys, with and without a suggestion
    ({'clases': {}}, P + '.clases', "unknown key 'clases' (did you mean 'classes'?)"),
    ({'classes': {'pets': {'fallback': ['stop']}}}, P + '.classes.pets.fallback',
     "unknown key 'fallback' (did you mean 'fallbacks'?)"),
    ({'classes': {'pets': {'notice': {'period': 5}}}}, P + '.classes.pets.notice.period',
     "unknown key 'period' (did you mean 'period_s'?)"),
    ({'live_migration': {'low': {'pets': {'completion_timeout': 5}}}},
     P + '.live_migration.low.pets.completion_timeout',
     "unknown key 'completion_timeout' (did you mean 'completion_timeout_s'?)"),
    ({'restore': {'zzz': 1}}, P + '.restore.zzz', "unknown key 'zzz' (allowed: move_back)"),
    ({'projects': {'ci': {'action': 'stop', 'note': 'x'}}}, P + '.projects.ci.note',
     "unknown key 'note' (allowed: action, fallbacks)"),
    # actions
    ({'classes': {'pets': {'fallbacks': ['stop', 'cold_migrat']}}}, P + '.classes.pets.fallbacks[1]',
     "unknown action 'cold_migrat' (did you mean 'cold_migrate'?)"),
    ({'default': {'action': 'evacuate'}}, P + '.default.action',
     "unknown action 'evacuate' (actions: live_migrate, cold_migrate, shelve_partial, stop, suspend, rebuild, "
     "delete, leave)"),
    ({'classes': {'pets': {'action': 42}}}, P + '.classes.pets.action', 'expected an action name, got integer 42'),
    # loops and unreachable fallbacks
    ({'classes': {'pets': {'fallbacks': ['stop', 'live_migrate']}}}, P + '.classes.pets.fallbacks[1]',
     "'live_migrate' is already the action (a loop)"),
    ({'projects': {'ci': {'action': 'shelve_partial', 'fallbacks': ['stop', 'suspend', 'stop']}}},
     P + '.projects.ci.fallbacks[2]', "'stop' repeats fallbacks[0] (a loop)"),
    ({'servers': {'db-1': {'action': 'leave', 'fallbacks': ['stop']}}}, P + '.servers.db-1.fallbacks[0]',
     "unreachable after 'leave' (the action), which never fails"),
    ({'default': {'action': 'live_migrate', 'fallbacks': ['leave', 'stop']}}, P + '.default.fallbacks[1]',
     "unreachable after 'leave' (fallbacks[0]), which never fails"),
    ({'classes': {'pets': {'action': None, 'fallbacks': ['stop']}}}, P + '.classes.pets.fallbacks',
     'fallbacks given without an action'),
    ({'projects': {'ci': {'fallbacks': ['stop']}}}, P + '.projects.ci.action', 'action is required'),
    # delete gating, everywhere it can appear
    ({'classes': {'cattle': {'fallbacks': ['delete']}}}, P + '.classes.cattle.fallbacks[0]',
     "'delete' is only allowed with allow_delete: true"),
    ({'projects': {'ci': {'action': 'delete'}}}, P + '.projects.ci.action',
     "'delete' is only allowed with allow_delete: true"),
    ({'servers': {'tmp-1': {'action': 'delete'}}}, P + '.servers.tmp-1.action',
     "'delete' is only allowed with allow_delete: true"),
    ({'default': {'action': 'stop', 'fallbacks': ['delete']}}, P + '.default.fallbacks[0]',
     "'delete' is only allowed with allow_delete: true"),
    ({'owner_choice': {'actions': ['leave', 'delete']}}, P + '.owner_choice.actions[1]',
     "'delete' can never be an owner's choice (it destroys the server's disks)"),
    # numbers
    ({'live_migration': {'medium': {'pets': {'completion_timeout_s': 0}}}},
     P + '.live_migration.medium.pets.completion_timeout_s', 'must be > 0, got 0'),
    ({'live_migration': {'high': {'cattle': {'completion_timeout_s': -30}}}},
     P + '.live_migration.high.cattle.completion_timeout_s', 'must be > 0, got -30'),
    ({'live_migration': {'low': {'pandas': {'max_parallel': 0}}}},
     P + '.live_migration.low.pandas.max_parallel', 'must be > 0, got 0'),
    ({'live_migration': {'low': {'pets': {'max_parallel_per_host': -1}}}},
     P + '.live_migration.low.pets.max_parallel_per_host', 'must be > 0, got -1'),
    ({'classes': {'pets': {'downtime_limit_ms': 0}}}, P + '.classes.pets.downtime_limit_ms', 'must be > 0, got 0'),
    ({'classes': {'pets': {'notice': {'max_defer_s': -1}}}}, P + '.classes.pets.notice.max_defer_s',
     'must be >= 0, got -1'),
    ({'classes': {'pets': {'notice': {'max_period_s': 30}}}}, P + '.classes.pets.notice.max_period_s',
     '30 is less than period_s 60'),
    # types
    ({'live_migration': {'medium': {'pets': {'completion_timeout_s': '300'}}}},
     P + '.live_migration.medium.pets.completion_timeout_s', "expected an integer, got string '300'"),
    ({'classes': {'pets': {'downtime_limit_ms': True}}}, P + '.classes.pets.downtime_limit_ms',
     'expected an integer, got boolean'),
    ({'classes': {'pets': {'downtime_limit_ms': 2.5}}}, P + '.classes.pets.downtime_limit_ms',
     'expected an integer, got number 2.5'),
    ({'classes': ['cattle', 'pets']}, P + '.classes', 'expected a mapping, got list'),
    ({'classes': {'pets': {'fallbacks': {'cold_migrate': 1}}}}, P + '.classes.pets.fallbacks',
     'expected a list of actions, got mapping'),
    ({'classes': {'pets': {'notice': [60]}}}, P + '.classes.pets.notice', 'expected a mapping, got list'),
    ({'allow_delete': 'yes'}, P + '.allow_delete', "expected true or false, got string 'yes'"),
    ({'owner_choice': {'enabled': 'true'}}, P + '.owner_choice.enabled', "expected true or false, got string 'true'"),
    ({'owner_choice': {'actions': 'stop'}}, P + '.owner_choice.actions', "expected a list of actions, got string 'stop'"),
    ({'sla_key': ''}, P + '.sla_key', "expected a non-empty string, got string ''"),
    ({'sla_key': 'x' * 256}, P + '.sla_key', 'is 256 characters long; at most 255'),
    ({'servers': {'web-1': 'leave'}}, P + '.servers.web-1', "expected a mapping, got string 'leave'"),
    ({'live_migration': {'medium': None}}, P + '.live_migration.medium', 'expected a mapping, got null'),
    # names that must exist
    ({'live_migration': {'hihg': {}}}, P + '.live_migration.hihg', "unknown importance 'hihg' (did you mean 'high'?)"),
    ({'live_migration': {'urgent': {}}}, P + '.live_migration.urgent',
     "unknown importance 'urgent' (importance: high, medium, low)"),
    ({'live_migration': {'medium': {'pet': {'completion_timeout_s': 60}}}}, P + '.live_migration.medium.pet',
     "no SLA class 'pet' (did you mean 'pets'?)"),
    ({'default_class': 'catle'}, P + '.default_class', "'catle' is not a class (did you mean 'cattle'?)"),
    ({'classes': {'cattle': None}}, P + '.default_class', "'cattle' is not a class (classes: pets, pandas)"),
    ({'live_migration': {'low': {'default': {'on_timeout': 'pause'}}}}, P + '.live_migration.low.default.on_timeout',
     "unknown on_timeout 'pause' (choices: force_complete, abort, fallback)"),
    ({'live_migration': {'low': {'pets': {'on_timeout': 'force-complete'}}}},
     P + '.live_migration.low.pets.on_timeout', "unknown on_timeout 'force-complete' (did you mean 'force_complete'?)"),
    ({'restore': {'move_back': 'sometimes'}}, P + '.restore.move_back',
     "unknown move_back 'sometimes' (choices: auto, always, never)"),
    # keys that would collide
    ({'owner_key': 'sla'}, P + '.owner_key', "must differ from sla_key 'sla'"),
    ({'owner_key': 'cloudmaint:origin_host'}, P + '.owner_key',
     "'cloudmaint:origin_host' is a key the campaign writes itself"),
    ({'owner_choice': {'actions': ['stop', 'leave', 'stop']}}, P + '.owner_choice.actions[2]', "'stop' listed twice"),
    # paths for keys that are not plain words
    ({'projects': {'team.alpha': {'action': 'stopp'}}}, P + ".projects['team.alpha'].action",
     "unknown action 'stopp' (did you mean 'stop'?)"),
]


@pytest.mark.parametrize('policy, path, message', VALIDATION_CASES,
                         ids=['%d-%s' % (i, case[1].split('.', 1)[-1]) for i, case in enumerate(VALIDATION_CASES)])
def test_each_validation_error_names_its_path(policy, path, message):
    assert errors_of(policy) == [(path, message)]


def test_policy_that_is_not_a_mapping():
    assert errors_of(['cattle']) == [(P, 'expected a mapping, got list')]


def test_all_errors_are_collected_into_one_exception():
    with pytest.raises(pol.PolicyError) as info:
        pol.validate({
            'allow_delete': 'no',
            'classes': {'pets': {'fallbacks': ['cold_migrat']}},
            'live_migration': {'medium': {'pandas': {'max_parallel': 0}}},
            'restore': {'move_back': 'later'},
        })
    exc = info.value
    assert [error[0] for error in exc.errors] == [
        P + '.allow_delete',
        P + '.classes.pets.fallbacks[0]',
        P + '.live_migration.medium.pandas.max_parallel',
        P + '.restore.move_back',
    ]
    assert exc.path == P + '.allow_delete'
    lines = str(exc).splitlines()
    assert len(lines) == 4
    assert lines[1] == P + ".classes.pets.fallbacks[0]: unknown action 'cold_migrat' (did you mean 'cold_migrate'?)"
    assert isinstance(exc, ValueError)


def test_a_bad_live_migration_default_is_reported_once():
    errors = errors_of({'live_migration': {'medium': {'default': {'completion_timeout_s': 0}}},
                        'classes': {'gold': {'action': 'stop'}}})
    assert errors == [(P + '.live_migration.medium.default.completion_timeout_s', 'must be > 0, got 0')]


def test_custom_root_name_in_paths():
    with pytest.raises(pol.PolicyError) as info:
        pol.validate({'sla_kye': 'x'}, name='policy')
    assert info.value.errors == [('policy.sla_kye', "unknown key 'sla_kye' (did you mean 'sla_key'?)")]


def test_delete_is_accepted_everywhere_with_allow_delete():
    normalized = pol.validate({
        'allow_delete': True,
        'classes': {'cattle': {'fallbacks': ['cold_migrate', 'delete']}},
        'projects': {'ci': {'action': 'delete'}},
        'servers': {'tmp-1': {'action': 'delete'}},
        'default': {'action': 'live_migrate', 'fallbacks': ['delete']},
    })
    assert normalized['classes']['cattle']['fallbacks'] == ['cold_migrate', 'delete']
    assert normalized['projects']['ci']['action'] == 'delete'
    assert normalized['servers']['tmp-1']['action'] == 'delete'
    assert normalized['default']['fallbacks'] == ['delete']


# ---------------------------------------------------------------- resolution: precedence

PRECEDENCE_CASES = [
    # (policy, server, action, chain, source, sla_class)
    ('unlabelled server: default_class cattle',
     {}, server(), 'live_migrate', ['live_migrate', 'cold_migrate', 'stop'], 'class', 'cattle'),
    ('labelled pets',
     {}, server(sla='pets'), 'live_migrate', ['live_migrate', 'cold_migrate'], 'class', 'pets'),
    ('labelled pandas',
     {}, server(sla='pandas'), 'live_migrate', ['live_migrate'], 'class', 'pandas'),
    ('label matched without case',
     {}, server(sla=' Pets '), 'live_migrate', ['live_migrate', 'cold_migrate'], 'class', 'pets'),
    ('project by id beats the implied class',
     {'projects': {'prj-id': {'action': 'shelve_partial', 'fallbacks': ['stop']}}},
     server(), 'shelve_partial', ['shelve_partial', 'stop'], 'project', 'cattle'),
    ('project by name',
     {'projects': {'shop': {'action': 'stop'}}}, server(), 'stop', ['stop'], 'project', 'cattle'),
    ('project id beats project name',
     {'projects': {'shop': {'action': 'stop'}, 'prj-id': {'action': 'suspend'}}},
     server(), 'suspend', ['suspend'], 'project', 'cattle'),
    ('explicit SLA label beats project',
     {'projects': {'prj-id': {'action': 'stop'}}},
     server(sla='pets'), 'live_migrate', ['live_migrate', 'cold_migrate'], 'class', 'pets'),
    ('class without action falls through to project',
     {'classes': {'pets': {'action': None}}, 'projects': {'prj-id': {'action': 'stop'}}},
     server(sla='pets'), 'stop', ['stop'], 'project', 'pets'),
    ('class without action and no project: default',
     {'classes': {'pets': {'action': None}}, 'default': {'action': 'cold_migrate', 'fallbacks': ['stop']}},
     server(sla='pets'), 'cold_migrate', ['cold_migrate', 'stop'], 'default', 'pets'),
    ('default_class without action: default',
     {'classes': {'cattle': {'action': None}}, 'default': {'action': 'suspend'}},
     server(), 'suspend', ['suspend'], 'default', 'cattle'),
    ('default_class pets: unlabelled servers follow pets',
     {'default_class': 'pets'}, server(), 'live_migrate', ['live_migrate', 'cold_migrate'], 'class', 'pets'),
    ('unknown label: treated as unlabelled, project applies',
     {'projects': {'prj-id': {'action': 'stop'}}}, server(sla='gold'), 'stop', ['stop'], 'project', 'cattle'),
    ('owner annotation beats class, class chain kept behind it',
     {}, server(sla='pets', owner='stop'), 'stop', ['stop', 'live_migrate', 'cold_migrate'], 'owner', 'pets'),
    ('owner annotation beats project',
     {'projects': {'prj-id': {'action': 'shelve_partial', 'fallbacks': ['stop']}}},
     server(owner='suspend'), 'suspend', ['suspend', 'shelve_partial', 'stop'], 'owner', 'cattle'),
    ('owner pick already in the chain moves to the front',
     {}, server(owner='cold_migrate'), 'cold_migrate', ['cold_migrate', 'live_migrate', 'stop'], 'owner', 'cattle'),
    ('owner leave ends the chain',
     {}, server(sla='pets', owner='leave'), 'leave', ['leave'], 'owner', 'pets'),
    ('owner value is read without case and spaces',
     {}, server(owner=' Shelve_Partial\n'), 'shelve_partial',
     ['shelve_partial', 'live_migrate', 'cold_migrate', 'stop'], 'owner', 'cattle'),
    ('owner choice not allowed: ignored',
     {'owner_choice': {'actions': ['leave']}}, server(owner='stop'),
     'live_migrate', ['live_migrate', 'cold_migrate', 'stop'], 'class', 'cattle'),
    ('owner choice disabled: ignored',
     {'owner_choice': {'enabled': False}}, server(owner='leave'),
     'live_migrate', ['live_migrate', 'cold_migrate', 'stop'], 'class', 'cattle'),
    ('operator override by id beats owner and class',
     {'servers': {'srv-id': {'action': 'leave'}}}, server(sla='pets', owner='stop'), 'leave', ['leave'],
     'override', 'pets'),
    ('operator override by a trusted name',
     trusted({'servers': {'web-1': {'action': 'cold_migrate', 'fallbacks': ['stop']}}}, 'web-1'), server(),
     'cold_migrate', ['cold_migrate', 'stop'], 'override', 'cattle'),
    ('operator override by a name not trusted: ignored',
     {'servers': {'web-1': {'action': 'cold_migrate', 'fallbacks': ['stop']}}}, server(),
     'live_migrate', ['live_migrate', 'cold_migrate', 'stop'], 'class', 'cattle'),
    ('override by id beats override by name',
     trusted({'servers': {'web-1': {'action': 'stop'}, 'srv-id': {'action': 'suspend'}}}, 'web-1'), server(),
     'suspend', ['suspend'], 'override', 'cattle'),
    ('delete override by a trusted name: ignored',
     trusted({'allow_delete': True, 'servers': {'web-1': {'action': 'delete'}}}, 'web-1'), server(),
     'live_migrate', ['live_migrate', 'cold_migrate', 'stop'], 'class', 'cattle'),
    ('delete override by id',
     {'allow_delete': True, 'servers': {'srv-id': {'action': 'delete'}}}, server(),
     'delete', ['delete'], 'override', 'cattle'),
    ('custom owner key',
     {'owner_key': 'maintenance'}, server(metadata={'maintenance': 'stop'}),
     'stop', ['stop', 'live_migrate', 'cold_migrate'], 'owner', 'cattle'),
    ('custom sla key',
     {'sla_key': 'tier'}, server(metadata={'tier': 'pandas', 'sla': 'pets'}),
     'live_migrate', ['live_migrate'], 'class', 'pandas'),
]


@pytest.mark.parametrize('policy, srv, action, chain, source, sla_class',
                         [case[1:] for case in PRECEDENCE_CASES], ids=[case[0] for case in PRECEDENCE_CASES])
def test_precedence(policy, srv, action, chain, source, sla_class):
    decision = pol.resolve(policy, srv, 'medium')
    got = (decision.action, decision.chain, decision.source, decision.sla_class)
    assert got == (action, chain, source, sla_class)
    assert decision.fallbacks == chain[1:]
    assert decision.policy_chain == chain  # ACTIVE: nothing adjusted


NOTE_CASES = [
    ({'owner_choice': {'actions': ['leave']}}, server(owner='stop'),
     "owner annotation cloudmaint:owner_action='stop' ignored: owners may choose only leave"),
    ({'owner_choice': {'enabled': False}}, server(owner='leave'),
     "owner annotation cloudmaint:owner_action='leave' ignored: owner choice is disabled"),
    ({}, server(owner='delete'),
     "owner annotation cloudmaint:owner_action='delete' ignored: owners may choose only live_migrate, "
     "cold_migrate, shelve_partial, stop, suspend, leave"),
    (trusted({'servers': {'web-1': {'action': 'leave'}}}, 'web-1'), server(owner='stop'),
     "owner annotation cloudmaint:owner_action='stop' ignored: operator override applies"),
    ({'servers': {'web-1': {'action': 'leave'}}}, server(),
     "operator override for server name 'web-1' ignored: names are chosen by tenants and this one is not unique "
     "in the cloud (use the server id)"),
    (trusted({'servers': {'web-1': {'action': 'leave'}}}, 'db-1'), server(),
     "operator override for server name 'web-1' ignored: names are chosen by tenants and this one is not unique "
     "in the cloud (use the server id)"),
    (trusted({'allow_rebuild': True, 'servers': {'web-1': {'action': 'rebuild'}}}, 'web-1'), server(),
     "operator override for server name 'web-1' ignored: delete and rebuild overrides need the server id"),
    (trusted({'allow_delete': True, 'servers': {'web-1': {'action': 'stop', 'fallbacks': ['delete']}}}, 'web-1'),
     server(), "operator override for server name 'web-1' ignored: delete and rebuild overrides need the server id"),
    ({}, server(sla='panda'),
     "metadata sla='panda' is not a known SLA class (did you mean 'pandas'?): treated as unlabelled (class cattle)"),
]


@pytest.mark.parametrize('policy, srv, note', NOTE_CASES)
def test_ignored_inputs_leave_a_note(policy, srv, note):
    assert pol.resolve(policy, srv, 'medium').notes == [note]


def test_class_source_tells_labelled_from_unlabelled():
    assert pol.resolve({}, server(sla='cattle'), 'low').sla_class_source == 'metadata'
    assert pol.resolve({}, server(), 'low').sla_class_source == 'default_class'
    assert pol.resolve({}, server(sla='gold'), 'low').sla_class_source == 'default_class'


REASON_CASES = [
    ({}, server(sla='pets'), 'SLA class pets: live_migrate, fallbacks cold_migrate'),
    ({}, server(sla='pandas'), 'SLA class pandas: live_migrate, no fallbacks'),
    ({}, server(), 'SLA class cattle (default_class, server unlabelled): live_migrate, fallbacks cold_migrate, stop'),
    ({'projects': {'shop': {'action': 'stop'}}}, server(), 'project shop rule: stop, no fallbacks'),
    ({'servers': {'srv-id': {'action': 'leave'}}}, server(), 'operator override for server srv-id: leave, no fallbacks'),
    ({'classes': {'cattle': {'action': None}}}, server(), 'policy default: live_migrate, fallbacks cold_migrate, stop'),
    ({}, server(sla='pandas', owner='stop'),
     'owner annotation cloudmaint:owner_action=stop (then SLA class pandas): stop, fallbacks live_migrate'),
    ({}, server('SHUTOFF', sla='pets'),
     'SLA class pets: live_migrate, fallbacks cold_migrate; server SHUTOFF: cold_migrate, no fallbacks'),
    ({}, server('SHELVED_OFFLOADED', sla='pandas'),
     'SLA class pandas: live_migrate, no fallbacks; server SHELVED_OFFLOADED: none'),
]


@pytest.mark.parametrize('policy, srv, reason', REASON_CASES)
def test_reason_is_one_readable_sentence(policy, srv, reason):
    assert pol.resolve(policy, srv, 'medium').reason == reason


# ---------------------------------------------------------------- resolution: server status

STATUS_CASES = [
    # (status, sla, extra, chain, notes-substrings, transient)
    ('ACTIVE', 'cattle', {}, ['live_migrate', 'cold_migrate', 'stop'], [], False),
    ('active', 'pets', {}, ['live_migrate', 'cold_migrate'], [], False),
    ('SHUTOFF', 'pets', {}, ['cold_migrate'],
     ['live_migrate: a SHUTOFF server cannot be live-migrated (cold_migrate can move it); dropped'], False),
    ('SHUTOFF', 'cattle', {}, ['cold_migrate', 'leave'],
     ['cannot be live-migrated', 'stop: server already SHUTOFF, nothing to do (leave)'], False),
    ('SHUTOFF', 'pandas', {}, [], ['nothing in the chain (live_migrate) is possible for a SHUTOFF server: reported'],
     False),
    ('PAUSED', 'cattle', {}, ['live_migrate'],
     ['cold_migrate: not possible for a PAUSED server; dropped', 'stop: not possible for a PAUSED server; dropped'],
     False),
    ('SUSPENDED', 'cattle', {}, [],
     ['nothing in the chain (live_migrate, cold_migrate, stop) is possible for a SUSPENDED server: reported'], False),
    ('SHELVED', 'cattle', {}, [], ['nothing in the chain (live_migrate, cold_migrate, stop)'], False),
    ('SHELVED_OFFLOADED', 'cattle', {}, [], ['SHELVED_OFFLOADED: not on any host, nothing to do'], False),
    ('ERROR', 'pandas', {}, ['leave'], ['server in ERROR before the campaign: left alone, reported'], False),
    ('RESCUE', 'cattle', {}, [], ['nothing in the chain'], False),
    ('DELETED', 'cattle', {}, [], ['server is DELETED: nothing to do'], False),
    ('MIGRATING', 'pets', {}, [], ['server busy (MIGRATING): resolve again once it settles'], True),
    ('VERIFY_RESIZE', 'pets', {}, [], ['server busy (VERIFY_RESIZE)'], True),
    ('ACTIVE', 'pets', {'task_state': 'powering-off'}, [],
     ['server busy (ACTIVE, task powering-off): resolve again once it settles'], True),
    ('UNKNOWN', 'pets', {}, [], ['status UNKNOWN (its compute service is not answering)'], True),
    ('', 'pets', {}, [], ["status '': no action is known to be safe"], False),
    ('NEBULOUS', 'pets', {}, [], ["status 'NEBULOUS': no action is known to be safe"], False),
]


@pytest.mark.parametrize('status, sla, extra, chain, notes, transient', STATUS_CASES)
def test_server_status_adjusts_the_chain(status, sla, extra, chain, notes, transient):
    decision = pol.resolve({}, server(status, sla=sla, **extra), 'medium')
    assert decision.chain == chain
    assert decision.action == (chain[0] if chain else 'none')
    assert decision.transient is transient
    assert len(decision.notes) == len(notes)
    for got, expected in zip(decision.notes, notes):
        assert expected in got


ACTION_STATUS_CASES = [
    # one-action chains set by an override, against one status
    ('stop', 'SHUTOFF', ['leave']),
    ('suspend', 'SUSPENDED', ['leave']),
    ('shelve_partial', 'SHELVED', ['leave']),
    ('shelve_partial', 'SUSPENDED', ['shelve_partial']),
    ('shelve_partial', 'PAUSED', ['shelve_partial']),
    ('cold_migrate', 'PAUSED', []),
    ('cold_migrate', 'SHUTOFF', ['cold_migrate']),
    ('suspend', 'SHUTOFF', []),
    ('rebuild', 'SHUTOFF', ['rebuild']),
    ('rebuild', 'PAUSED', []),
    ('delete', 'SUSPENDED', ['delete']),
    ('leave', 'SHELVED', ['leave']),
    ('stop', 'ERROR', ['leave']),
    ('delete', 'ERROR', ['leave']),
    ('leave', 'SHELVED_OFFLOADED', []),
]


@pytest.mark.parametrize('action, status, chain', ACTION_STATUS_CASES)
def test_what_nova_accepts_per_status(action, status, chain):
    policy = {'allow_delete': True, 'allow_rebuild': True, 'servers': {'srv-id': {'action': action}}}
    decision = pol.resolve(policy, server(status), 'medium')
    assert decision.chain == chain
    assert decision.policy_chain == [action]


@pytest.mark.parametrize('policy, path, message', [
    ({'servers': {'srv-id': {'action': 'rebuild'}}}, 'servers.srv-id.action',
     "'rebuild' is only allowed with allow_rebuild: true"),
    ({'allow_delete': True, 'default': {'action': 'stop', 'fallbacks': ['rebuild']}}, 'default.fallbacks[0]',
     "'rebuild' is only allowed with allow_rebuild: true"),
    ({'allow_rebuild': True, 'owner_choice': {'enabled': True, 'actions': ['stop', 'rebuild']}},
     'owner_choice.actions[1]', "'rebuild' can never be an owner's choice (it destroys the server's disks)"),
    ({'allow_delete': True, 'owner_choice': {'enabled': True, 'actions': ['delete']}},
     'owner_choice.actions[0]', "'delete' can never be an owner's choice (it destroys the server's disks)"),
])
def test_destructive_actions_need_their_own_opt_in_and_are_never_the_owners(policy, path, message):
    assert ('cloudmaint_policy.' + path, message) in errors_of(policy)


def test_leave_on_paused_server_warns_that_it_cannot_be_stopped():
    decision = pol.resolve({'servers': {'srv-id': {'action': 'leave'}}}, server('PAUSED'), 'medium')
    assert decision.action == 'leave'
    assert decision.notes == ['PAUSED server left in place: Nova cannot stop it cleanly, its paused state ends '
                              'with the host reboot']


def test_fallback_becomes_action_when_the_action_is_impossible():
    policy = {'projects': {'prj-id': {'action': 'suspend', 'fallbacks': ['cold_migrate', 'stop']}}}
    decision = pol.resolve(policy, server('SHUTOFF'), 'medium')
    assert (decision.action, decision.fallbacks) == ('cold_migrate', ['leave'])
    assert decision.policy_chain == ['suspend', 'cold_migrate', 'stop']
    assert decision.source == 'project'


# ---------------------------------------------------------------- importance x class

EXPECTED_LIVE_MIGRATION = {
    # importance, class: (completion_timeout_s, on_timeout, max_parallel_per_host, max_parallel)
    ('high', 'cattle'): (60, 'force_complete', 1, 8),
    ('high', 'pets'): (120, 'force_complete', 1, 8),
    ('high', 'pandas'): (300, 'force_complete', 1, 4),
    ('medium', 'cattle'): (120, 'force_complete', 1, 4),
    ('medium', 'pets'): (600, 'force_complete', 1, 4),
    ('medium', 'pandas'): (1800, 'fallback', 1, 2),
    ('low', 'cattle'): (300, 'abort', 1, 2),
    ('low', 'pets'): (300, 'abort', 1, 2),
    ('low', 'pandas'): (300, 'abort', 1, 1),
}


@pytest.mark.parametrize('importance, sla_class', sorted(EXPECTED_LIVE_MIGRATION))
def test_live_migration_defaults_per_importance_and_class(importance, sla_class):
    decision = pol.resolve({}, server(sla=sla_class), importance)
    lm = decision.live_migration
    assert (lm['completion_timeout_s'], lm['on_timeout'], lm['max_parallel_per_host'],
            lm['max_parallel']) == EXPECTED_LIVE_MIGRATION[(importance, sla_class)]
    assert decision.importance == importance


@pytest.mark.parametrize('importance, expected', [
    ('high', (120, 'force_complete', 1, 8)),
    ('medium', (300, 'force_complete', 1, 4)),
    ('low', (300, 'abort', 1, 2)),
])
def test_class_without_entry_uses_the_importance_default(importance, expected):
    decision = pol.resolve({'classes': {'gold': {'action': 'live_migrate'}}}, server(sla='gold'), importance)
    lm = decision.live_migration
    assert (lm['completion_timeout_s'], lm['on_timeout'], lm['max_parallel_per_host'], lm['max_parallel']) == expected


def test_operator_live_migration_entry_is_used_for_its_class_only():
    policy = pol.Policy({'live_migration': {'low': {'pets': {'on_timeout': 'fallback', 'max_parallel': 3}}}})
    assert policy.resolve(server(sla='pets'), 'low').live_migration == {
        'completion_timeout_s': 300, 'on_timeout': 'fallback', 'max_parallel_per_host': 1, 'max_parallel': 3,
        'downtime_limit_ms': 2000, 'post_copy': False}
    assert policy.resolve(server(sla='pets'), 'medium').live_migration['on_timeout'] == 'force_complete'
    assert policy.resolve(server(sla='cattle'), 'low').live_migration['on_timeout'] == 'abort'


@pytest.mark.parametrize('sla_class, downtime, notice', [
    ('cattle', 30000, {'period_s': 0, 'max_period_s': 600, 'max_defer_s': 0}),
    ('pets', 2000, {'period_s': 60, 'max_period_s': 1800, 'max_defer_s': 900}),
    ('pandas', 500, {'period_s': 300, 'max_period_s': 3600, 'max_defer_s': 3600}),
])
def test_downtime_and_notice_come_from_the_class(sla_class, downtime, notice):
    decision = pol.resolve({}, server(sla=sla_class), 'medium')
    assert (decision.downtime_limit_ms, decision.notice) == (downtime, notice)


def test_class_parameters_follow_the_class_even_when_a_project_decides_the_action():
    policy = {'default_class': 'pets', 'projects': {'prj-id': {'action': 'stop'}}}
    decision = pol.resolve(policy, server(), 'high')
    assert (decision.source, decision.action, decision.sla_class) == ('project', 'stop', 'pets')
    assert decision.downtime_limit_ms == 2000
    assert decision.live_migration['completion_timeout_s'] == 120


@pytest.mark.parametrize('importance, message', [
    ('urgent', "unknown importance 'urgent' (importance: high, medium, low)"),
    ('meduim', "unknown importance 'meduim' (did you mean 'medium'?)"),
    (None, 'unknown importance None (importance: high, medium, low)'),
])
def test_unknown_importance_is_refused(importance, message):
    with pytest.raises(pol.PolicyError) as info:
        pol.resolve({}, server(), importance)
    assert info.value.errors == [('importance', message)]


# ---------------------------------------------------------------- API shape

def test_decision_to_dict_is_json_serializable():
    decision = pol.resolve({}, server('SHUTOFF', sla='pets', owner='bogus'), 'medium')
    data = json.loads(json.dumps(decision.to_dict()))
    assert data['server_id'] == 'srv-id'
    assert data['server_name'] == 'web-1'
    assert data['project_id'] == 'prj-id'
    assert data['status'] == 'SHUTOFF'
    assert data['action'] == 'cold_migrate'
    assert data['chain'] == ['cold_migrate']
    assert data['policy_chain'] == ['live_migrate', 'cold_migrate']
    assert data['source'] == 'class'
    assert len(data['notes']) == 2
    assert data['live_migration']['completion_timeout_s'] == 600
    assert data['notice']['period_s'] == 60


def test_decision_does_not_share_lists_with_the_policy():
    policy = pol.Policy()
    first = policy.resolve(server(), 'medium')
    first.chain.append('delete')
    first.live_migration['max_parallel'] = 99
    second = policy.resolve(server(), 'medium')
    assert second.chain == ['live_migrate', 'cold_migrate', 'stop']
    assert second.live_migration['max_parallel'] == 4


def test_resolve_validates_a_raw_policy():
    with pytest.raises(pol.PolicyError) as info:
        pol.resolve({'default_class': 'none-such'}, server(), 'medium')
    assert info.value.path == P + '.default_class'


def test_policy_object_and_function_agree():
    raw = {'projects': {'shop': {'action': 'shelve_partial'}}}
    assert pol.Policy(raw).resolve(server(), 'low') == pol.resolve(raw, server(), 'low')
    assert pol.validate(pol.Policy(raw)) == pol.validate(raw)


@pytest.mark.parametrize('bad', [None, {}, {'status': 'ACTIVE'}, 'web-1'])
def test_server_needs_an_id_or_name(bad):
    with pytest.raises(ValueError, match='server must be a dict with an id or a name'):
        pol.resolve({}, bad, 'medium')


def test_server_known_by_name_only_and_without_metadata():
    decision = pol.resolve(trusted({'servers': {'web-1': {'action': 'stop'}}}, 'web-1'),
                           {'name': 'web-1', 'status': 'ACTIVE', 'metadata': None}, 'medium')
    assert (decision.server_id, decision.action, decision.source) == (None, 'stop', 'override')
    assert decision.reason == 'operator override for server web-1: stop, no fallbacks'


def test_server_rule_keys_are_what_the_module_checks_for_uniqueness():
    policy = pol.Policy({'servers': {'web-1': {'action': 'stop'}, 'srv-id': {'action': 'leave'}}})
    assert policy.server_rule_keys() == ['srv-id', 'web-1']


def test_names_are_untrusted_until_the_caller_says_so():
    raw = {'servers': {'web-1': {'action': 'stop'}}}
    policy = pol.Policy(raw)
    assert policy.resolve(server(), 'medium').source == 'class'
    policy.trust_names(['web-1'])
    assert policy.resolve(server(), 'medium').source == 'override'
    policy.trust_names([])
    assert policy.resolve(server(), 'medium').source == 'class'
    assert pol.resolve(raw, server(), 'medium').source == 'class'


@pytest.mark.parametrize('action', sorted(pol.NAME_REFUSED))
def test_delete_and_rebuild_never_apply_by_name(action):
    policy = trusted({'allow_delete': True, 'allow_rebuild': True, 'servers': {'web-1': {'action': action}}},
                     'web-1')
    decision = policy.resolve(server(), 'medium')
    assert action not in decision.chain
    by_id = pol.Policy({'allow_delete': True, 'allow_rebuild': True, 'servers': {'srv-id': {'action': action}}})
    assert by_id.resolve(server(), 'medium').chain == [action]


@pytest.mark.parametrize('move_back, rolling, expected', [
    ('auto', False, True),
    ('auto', True, False),
    ('always', True, True),
    ('always', False, True),
    ('never', False, False),
    ('never', True, False),
])
def test_should_move_back(move_back, rolling, expected):
    raw = {'restore': {'move_back': move_back}}
    assert pol.should_move_back(raw, rolling) is expected
    assert pol.Policy(raw).should_move_back(rolling) is expected


def test_default_policy_is_valid_and_its_chains_use_known_actions():
    normalized = pol.validate(DEFAULT_POLICY)
    for cls in normalized['classes'].values():
        assert set([cls['action']] + cls['fallbacks']) <= set(pol.ACTIONS)
    assert set(normalized['owner_choice']['actions']) <= set(pol.ACTIONS) - {'delete'}
    assert set(normalized['live_migration']) == set(pol.IMPORTANCES)
