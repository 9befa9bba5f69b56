# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The maintenance policy: validation, merge onto defaults, and what happens to each server.

Pure logic, stdlib only, no cloud access.  Typical use in a module::

    try:
        policy = Policy(module.params['policy'])
    except PolicyError as exc:
        module.fail_json(msg=str(exc), errors=exc.errors)
    decision = policy.resolve(server_dict, 'medium')

docs/policy.md is the operator-facing reference of everything decided here.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import asdict, dataclass, field, replace

from ansible_collections.cloudmaint.openstack.plugins.module_utils.budgets import validate_budgets
from ansible_collections.cloudmaint.openstack.plugins.module_utils.campaign_metadata import (
    BUSY_STATUSES,
    CAMPAIGN_KEYS,
    GONE_STATUSES,
    MAX_LEN,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.policy_defaults import (
    DEFAULT_POLICY,
    NEW_CLASS_DEFAULTS,
)

POLICY_VAR = 'cloudmaint_policy'

ACTIONS = ('live_migrate', 'cold_migrate', 'shelve_partial', 'stop', 'suspend', 'rebuild', 'delete', 'leave')
# Resolution only: nothing can or needs to be done.
NO_ACTION = 'none'
IMPORTANCES = ('high', 'medium', 'low')
ON_TIMEOUT = ('force_complete', 'abort', 'fallback')
MOVE_BACK = ('auto', 'always', 'never')
SOURCES = ('override', 'owner', 'class', 'project', 'default', 'announced')
LM_DEFAULT = 'default'

# Actions that destroy a server's disks: each needs its own opt-in (allow_delete, allow_rebuild),
# and neither is ever an owner's choice.
DESTRUCTIVE = ('delete', 'rebuild')
TOP_KEYS = ('sla_key', 'default_class', 'owner_key', 'owner_choice', 'allow_delete', 'allow_rebuild', 'classes',
            'projects', 'servers', 'default', 'live_migration', 'post_copy', 'restore', 'budgets')
OWNER_CHOICE_KEYS = ('enabled', 'actions')
CLASS_KEYS = ('action', 'fallbacks', 'downtime_limit_ms', 'notice')
RULE_KEYS = ('action', 'fallbacks')
NOTICE_KEYS = ('period_s', 'max_period_s', 'max_defer_s')
LM_KEYS = ('completion_timeout_s', 'on_timeout', 'max_parallel_per_host', 'max_parallel')
RESTORE_KEYS = ('move_back',)

# Server status -> actions Nova accepts in it (nova/compute/api.py check_instance_state).
# ERROR, SHELVED_OFFLOADED, busy and gone statuses are decided before this table.
POSSIBLE = {
    'ACTIVE': frozenset(('live_migrate', 'cold_migrate', 'shelve_partial', 'stop', 'suspend', 'rebuild',
                         'delete', 'leave')),
    'PAUSED': frozenset(('live_migrate', 'shelve_partial', 'delete', 'leave')),
    'SHUTOFF': frozenset(('cold_migrate', 'shelve_partial', 'rebuild', 'delete', 'leave')),
    'SUSPENDED': frozenset(('shelve_partial', 'delete', 'leave')),
    'SHELVED': frozenset(('delete', 'leave')),
    'RESCUE': frozenset(('delete', 'leave')),
}
# (action, status) where the server is already where the action would take it.
ALREADY_DONE = {('stop', 'SHUTOFF'), ('suspend', 'SUSPENDED'), ('shelve_partial', 'SHELVED')}

_PLAIN_KEY = re.compile(r'^[A-Za-z0-9_-]+$')


class PolicyError(ValueError):
    """One or more problems in a policy.  ``errors`` lists every (path, message); ``path`` is the first path."""

    def __init__(self, errors):
        self.errors = [tuple(pair) for pair in errors]
        self.path = self.errors[0][0] if self.errors else POLICY_VAR
        super().__init__('\n'.join('%s: %s' % pair for pair in self.errors))


@dataclass
class Decision:
    server_id: str | None
    server_name: str | None
    project_id: str | None
    status: str
    importance: str
    sla_class: str
    sla_class_source: str          # 'metadata' | 'default_class'
    action: str                    # one of ACTIONS, or 'none'
    fallbacks: list
    chain: list                    # action + fallbacks, after state adjustments
    policy_chain: list             # the chain as the policy gave it, before state adjustments
    source: str                    # one of SOURCES
    reason: str
    notes: list = field(default_factory=list)
    transient: bool = False        # server busy: resolve again once it settles
    live_migration: dict = field(default_factory=dict)
    downtime_limit_ms: int = 0
    notice: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def start_at_planned(decision: Decision, planned_actions: dict, server: dict) -> Decision:
    """``decision`` started at the fallback a campaign plan chose for ``server`` (``planned_actions``:
    server id -> action; a cold migration when no host with room takes it live), when that
    fallback is in its chain; else ``decision`` as it is.  The drain and the notice both use it, so
    the owner is told what the drain will do. Never by name: tenants choose names."""
    planned = (planned_actions or {}).get(server.get('id'))
    if not planned or planned == decision.action or planned not in decision.chain:
        return decision
    why = 'live (hypervisor versions)' if decision.action == 'live_migrate' else 'as %s' % decision.action
    note = 'the campaign plan starts at %s, a fallback of %s: no host with room takes it %s' % (
        planned, decision.action, why)
    return replace(decision, action=planned, chain=decision.chain[decision.chain.index(planned):],
                   notes=list(decision.notes) + [note])


def as_announced(decision: Decision, announced: tuple, policy) -> Decision:
    """``decision`` as the notice announced it: the chain its owner was told (``announced``),
    adjusted to the server's status now. What the server's labels say now, when it differs, needs
    a new notice to count (a re-run of the notice gives one); until then it is a note.  An
    announced ``delete`` or ``rebuild`` the policy no longer allows is dropped."""
    data = _data(policy)
    chain = [a for a in announced if not (a == 'delete' and not data['allow_delete'])
             and not (a == 'rebuild' and not data['allow_rebuild'])]
    if not chain or decision.transient:
        return decision
    notes = []
    adjusted, _transient = _adjust_for_status(chain, decision.status, None, notes)
    if adjusted == list(decision.chain):
        return decision
    note = ('the notice announced %s; what the server\'s labels say now (%s) needs a new notice, '
            'so the announced chain is done' % (_chain_text(chain), _chain_text(decision.chain)))
    return replace(decision, action=adjusted[0] if adjusted else NO_ACTION, fallbacks=list(adjusted[1:]),
                   chain=list(adjusted), policy_chain=list(chain), source='announced',
                   reason='announced by the notice: %s' % _chain_text(chain),
                   notes=list(decision.notes) + [note] + notes)


# ---------------------------------------------------------------- validation

def _type_name(value) -> str:
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        return 'list'
    if isinstance(value, dict):
        return 'mapping'
    return type(value).__name__


def _got(value) -> str:
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return '%s %r' % (_type_name(value), value)
    return _type_name(value)


def _join(path: str, key) -> str:
    if isinstance(key, int):
        return '%s[%d]' % (path, key)
    if _PLAIN_KEY.match(key):
        return '%s.%s' % (path, key)
    return '%s[%r]' % (path, key)


def _did_you_mean(word, choices) -> str:
    match = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return " (did you mean '%s'?)" % match[0] if match else ''


class _Checker:
    """Collects every problem instead of stopping at the first."""

    def __init__(self):
        self.errors = []

    def error(self, path, msg):
        self.errors.append((path, msg))

    def mapping(self, path, value) -> bool:
        if isinstance(value, dict):
            return True
        self.error(path, 'expected a mapping, got %s' % _got(value))
        return False

    def keys(self, path, value, allowed):
        for key in value:
            if key not in allowed:
                hint = _did_you_mean(key, allowed) or ' (allowed: %s)' % ', '.join(allowed)
                self.error(_join(path, str(key)), 'unknown key %r%s' % (key, hint))

    def integer(self, path, value, minimum):
        if isinstance(value, bool) or not isinstance(value, int):
            self.error(path, 'expected an integer, got %s' % _got(value))
            return None
        if value < minimum:
            self.error(path, 'must be %s, got %d' % ('> 0' if minimum == 1 else '>= %d' % minimum, value))
            return None
        return value

    def boolean(self, path, value):
        if not isinstance(value, bool):
            self.error(path, 'expected true or false, got %s' % _got(value))
            return None
        return value

    def string(self, path, value, max_len=MAX_LEN):
        if not isinstance(value, str) or not value.strip():
            self.error(path, 'expected a non-empty string, got %s' % _got(value))
            return None
        if len(value) > max_len:
            self.error(path, 'is %d characters long; at most %d' % (len(value), max_len))
            return None
        return value

    def choice(self, path, value, choices, what):
        if not isinstance(value, str):
            self.error(path, 'expected a string, got %s' % _got(value))
            return None
        if value not in choices:
            hint = _did_you_mean(value, choices) or ' (choices: %s)' % ', '.join(choices)
            self.error(path, 'unknown %s %r%s' % (what, value, hint))
            return None
        return value

    def action(self, path, value, destructive):
        """An action name; ``destructive``: which of delete and rebuild the operator allowed."""
        if not isinstance(value, str):
            self.error(path, 'expected an action name, got %s' % _got(value))
            return None
        if value not in ACTIONS:
            hint = _did_you_mean(value, ACTIONS) or ' (actions: %s)' % ', '.join(ACTIONS)
            self.error(path, 'unknown action %r%s' % (value, hint))
            return None
        if value in DESTRUCTIVE and value not in destructive:
            self.error(path, "%r is only allowed with allow_%s: true" % (value, value))
            return None
        return value

    def rule(self, path, entry, destructive, require_action=True):
        """An {action, fallbacks} rule; returns (action, fallbacks) normalized."""
        action = entry.get('action')
        if action is None:
            if require_action:
                self.error(_join(path, 'action'), 'action is required')
        else:
            action = self.action(_join(path, 'action'), action, destructive)
        fallbacks = entry.get('fallbacks')
        if fallbacks is None:
            fallbacks = []
        fb_path = _join(path, 'fallbacks')
        if not isinstance(fallbacks, list):
            self.error(fb_path, 'expected a list of actions, got %s' % _got(fallbacks))
            return action, []
        if fallbacks and entry.get('action') is None and not require_action:
            self.error(fb_path, 'fallbacks given without an action')
        out = []
        seen = {}
        terminal = 'the action' if action == 'leave' else None  # where a 'leave' ends the chain
        for index, item in enumerate(fallbacks):
            item_path = _join(fb_path, index)
            name = self.action(item_path, item, destructive)
            if name is None:
                continue
            if name == action:
                self.error(item_path, '%r is already the action (a loop)' % name)
            elif name in seen:
                self.error(item_path, '%r repeats fallbacks[%d] (a loop)' % (name, seen[name]))
            elif terminal:
                self.error(item_path, "unreachable after 'leave' (%s), which never fails" % terminal)
            else:
                out.append(name)
            seen.setdefault(name, index)
            if name == 'leave' and not terminal:
                terminal = 'fallbacks[%d]' % index
        return action, out


def _merge(base, over):
    """Deep merge: mappings merge key by key, anything else in ``over`` replaces."""
    if not isinstance(base, dict) or not isinstance(over, dict):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if key in out else copy.deepcopy(value)
    return out


def _merge_rule(base, over):
    # An action written without fallbacks means "this action, nothing else":
    # the base's fallbacks would otherwise sneak in (or even loop back to it).
    out = _merge(base, over)
    if isinstance(over, dict) and isinstance(out, dict) and 'action' in over and 'fallbacks' not in over:
        out['fallbacks'] = []
    return out


def _str_keys(value):
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return value


def _merge_policy(raw: dict) -> dict:
    merged = copy.deepcopy(DEFAULT_POLICY)
    for key, value in raw.items():
        if value is None and key in DEFAULT_POLICY:
            continue  # `projects:` left empty in YAML: keep the default
        if key == 'classes' and isinstance(value, dict):
            classes = merged['classes']
            for name, entry in _str_keys(value).items():
                if entry is None:
                    classes.pop(name, None)
                elif isinstance(entry, dict):
                    classes[name] = _merge_rule(classes.get(name, NEW_CLASS_DEFAULTS), entry)
                else:
                    classes[name] = entry
        elif key == 'default':
            merged[key] = _merge_rule(merged[key], value)
        elif key in ('projects', 'servers'):
            merged[key] = _str_keys(copy.deepcopy(value))
        else:
            merged[key] = _merge(merged.get(key), value)
    return merged


def validate(policy=None, name: str = POLICY_VAR) -> dict:
    """Merge ``policy`` onto the defaults and check it all; return the normalized policy.

    The result has every key, is JSON-serializable, and validates to itself.
    Raises PolicyError listing every problem found, each with its path.
    """
    if policy is None:
        policy = {}
    if isinstance(policy, Policy):
        return copy.deepcopy(policy.data)
    if not isinstance(policy, dict):
        raise PolicyError([(name, 'expected a mapping, got %s' % _got(policy))])
    check = _Checker()
    check.keys(name, policy, TOP_KEYS)
    merged = _merge_policy(policy)
    operator_lm = policy.get('live_migration') if isinstance(policy.get('live_migration'), dict) else {}
    result = _normalize(check, name, merged, operator_lm)
    if check.errors:
        raise PolicyError(check.errors)
    return result


def _normalize(check: _Checker, name: str, merged: dict, operator_lm: dict) -> dict:
    out = {}
    out['allow_delete'] = bool(check.boolean(_join(name, 'allow_delete'), merged['allow_delete']))
    out['allow_rebuild'] = bool(check.boolean(_join(name, 'allow_rebuild'), merged['allow_rebuild']))
    out['post_copy'] = bool(check.boolean(_join(name, 'post_copy'), merged['post_copy']))
    destructive = frozenset(a for a in DESTRUCTIVE if out['allow_' + a])
    out['sla_key'] = check.string(_join(name, 'sla_key'), merged['sla_key'])
    owner_key = check.string(_join(name, 'owner_key'), merged['owner_key'])
    if owner_key and owner_key == out['sla_key']:
        check.error(_join(name, 'owner_key'), 'must differ from sla_key %r' % out['sla_key'])
    elif owner_key in CAMPAIGN_KEYS:
        check.error(_join(name, 'owner_key'), '%r is a key the campaign writes itself' % owner_key)
    out['owner_key'] = owner_key

    out['owner_choice'] = _owner_choice(check, _join(name, 'owner_choice'), merged['owner_choice'], destructive)
    out['classes'] = _classes(check, _join(name, 'classes'), merged['classes'], destructive)

    default_class = merged['default_class']
    path = _join(name, 'default_class')
    if check.string(path, default_class) and isinstance(merged['classes'], dict):
        if default_class not in merged['classes']:
            hint = _did_you_mean(default_class, merged['classes']) or \
                ' (classes: %s)' % ', '.join(merged['classes'])
            check.error(path, '%r is not a class%s' % (default_class, hint))
    out['default_class'] = default_class

    for section in ('projects', 'servers'):
        out[section] = _rules(check, _join(name, section), merged[section], destructive)

    path = _join(name, 'default')
    out['default'] = {'action': None, 'fallbacks': []}
    if check.mapping(path, merged['default']):
        check.keys(path, merged['default'], RULE_KEYS)
        action, fallbacks = check.rule(path, merged['default'], destructive)
        out['default'] = {'action': action, 'fallbacks': fallbacks}

    class_names = merged['classes'] if isinstance(merged['classes'], dict) else {}
    out['live_migration'] = _live_migration(check, _join(name, 'live_migration'), merged['live_migration'],
                                            class_names, operator_lm)

    path = _join(name, 'restore')
    out['restore'] = {'move_back': None}
    if check.mapping(path, merged['restore']):
        check.keys(path, merged['restore'], RESTORE_KEYS)
        out['restore']['move_back'] = check.choice(_join(path, 'move_back'), merged['restore'].get('move_back'),
                                                   MOVE_BACK, 'move_back')
    out['budgets'] = validate_budgets(check, _join(name, 'budgets'), merged['budgets'])
    return out


def _owner_choice(check, path, value, destructive):
    out = {'enabled': False, 'actions': []}
    if not check.mapping(path, value):
        return out
    check.keys(path, value, OWNER_CHOICE_KEYS)
    out['enabled'] = bool(check.boolean(_join(path, 'enabled'), value.get('enabled')))
    actions = value.get('actions')
    actions_path = _join(path, 'actions')
    if not isinstance(actions, list):
        check.error(actions_path, 'expected a list of actions, got %s' % _got(actions))
        return out
    for index, item in enumerate(actions):
        if item in DESTRUCTIVE:
            check.error(_join(actions_path, index), '%r can never be an owner\'s choice (it destroys the server\'s '
                                                    'disks)' % item)
            continue
        name = check.action(_join(actions_path, index), item, destructive)
        if name is None:
            continue
        if name in out['actions']:
            check.error(_join(actions_path, index), '%r listed twice' % name)
        else:
            out['actions'].append(name)
    return out


def _classes(check, path, value, destructive):
    out = {}
    if not check.mapping(path, value):
        return out
    for cls, entry in value.items():
        cls_path = _join(path, cls)
        if not cls.strip():
            check.error(cls_path, 'class names must not be empty')
            continue
        if not check.mapping(cls_path, entry):
            continue
        check.keys(cls_path, entry, CLASS_KEYS)
        action, fallbacks = check.rule(cls_path, entry, destructive, require_action=False)
        normalized = {'action': action, 'fallbacks': fallbacks,
                      'downtime_limit_ms': check.integer(_join(cls_path, 'downtime_limit_ms'),
                                                         entry.get('downtime_limit_ms'), 1),
                      'notice': _notice(check, _join(cls_path, 'notice'), entry.get('notice'))}
        out[cls] = normalized
    return out


def _notice(check, path, value):
    out = dict.fromkeys(NOTICE_KEYS, 0)
    if not check.mapping(path, value):
        return out
    check.keys(path, value, NOTICE_KEYS)
    for key in NOTICE_KEYS:
        out[key] = check.integer(_join(path, key), value.get(key), 0)
    if out['period_s'] is not None and out['max_period_s'] is not None and out['max_period_s'] < out['period_s']:
        check.error(_join(path, 'max_period_s'),
                    '%s is less than period_s %s' % (out['max_period_s'], out['period_s']))
    return out


def _rules(check, path, value, destructive):
    out = {}
    if not check.mapping(path, value):
        return out
    for key, entry in value.items():
        entry_path = _join(path, key)
        if not check.mapping(entry_path, entry):
            continue
        check.keys(entry_path, entry, RULE_KEYS)
        action, fallbacks = check.rule(entry_path, entry, destructive)
        out[key] = {'action': action, 'fallbacks': fallbacks}
    return out


def _live_migration(check, path, value, class_names, operator_lm):
    out = {}
    if not check.mapping(path, value):
        return out
    for importance, per_class in value.items():
        imp_path = _join(path, str(importance))
        if importance not in IMPORTANCES:
            hint = _did_you_mean(importance, IMPORTANCES) or ' (importance: %s)' % ', '.join(IMPORTANCES)
            check.error(imp_path, 'unknown importance %r%s' % (importance, hint))
            continue
        if not check.mapping(imp_path, per_class):
            continue
        written = operator_lm.get(importance) if isinstance(operator_lm.get(importance), dict) else {}
        base_path = _join(imp_path, LM_DEFAULT)
        if not check.mapping(base_path, per_class.get(LM_DEFAULT)):
            continue
        # Entries inherit what they leave out from the importance's default entry
        # (checked once, so a bad default value is reported once).
        base = _lm_entry(check, base_path, per_class[LM_DEFAULT], dict.fromkeys(LM_KEYS), required=True)
        out[importance] = {LM_DEFAULT: base}
        for cls, entry in per_class.items():
            cls_path = _join(imp_path, str(cls))
            if cls == LM_DEFAULT:
                continue
            if cls not in class_names:
                if cls in written:
                    hint = _did_you_mean(cls, class_names) or ' (classes: %s)' % ', '.join(class_names)
                    check.error(cls_path, 'no SLA class %r%s' % (cls, hint))
                # else: a built-in entry for a class the operator removed
                continue
            if check.mapping(cls_path, entry):
                out[importance][cls] = _lm_entry(check, cls_path, entry, base)
    return out


def _lm_entry(check, path, entry, base, required=False):
    """One live-migration entry; keys it leaves out come from ``base``."""
    check.keys(path, entry, LM_KEYS)
    out = dict(base)
    for key in LM_KEYS:
        if key not in entry:
            if required:
                check.error(_join(path, key), 'required')
            continue
        if key == 'on_timeout':
            out[key] = check.choice(_join(path, key), entry[key], ON_TIMEOUT, 'on_timeout')
        else:
            out[key] = check.integer(_join(path, key), entry[key], 1)
    return out


# ---------------------------------------------------------------- resolution

class Policy:
    """A validated policy.  Build once per run, then resolve every server against it."""

    def __init__(self, policy=None):
        self.data = validate(policy)
        self.trusted_names = frozenset()

    def server_rule_keys(self) -> list:
        return sorted(self.data['servers'])

    def trust_names(self, names):
        """Server names the caller found unique cloud-wide: only those match a ``servers:`` rule
        by name (tenants choose names; by default rules match server ids only)."""
        self.trusted_names = frozenset(names)

    def resolve(self, server: dict, importance: str) -> Decision:
        return _resolve(self.data, server, importance, self.trusted_names)

    def should_move_back(self, rolling: bool) -> bool:
        return should_move_back(self, rolling)


def _data(policy) -> dict:
    return policy.data if isinstance(policy, Policy) else validate(policy)


def should_move_back(policy, rolling: bool) -> bool:
    """Whether restore moves servers back to their origin host (restore.move_back).

    ``auto``: yes after a single-host drain, no after a rolling campaign (each host
    is refilled by the next host's drain anyway).
    """
    mode = _data(policy)['restore']['move_back']
    return mode == 'always' or (mode == 'auto' and not rolling)


def resolve(policy, server: dict, importance: str) -> Decision:
    """Decide what happens to ``server`` for a campaign of the given importance.

    ``policy``: a Policy, or a raw / normalized policy dict (validated here; build
    a Policy once when resolving many servers).  ``server``: plain dict with id,
    name, project_id, project_name (optional), status, task_state (optional),
    metadata.
    """
    if isinstance(policy, Policy):
        return policy.resolve(server, importance)
    return _resolve(_data(policy), server, importance)


def _chain_text(chain) -> str:
    if not chain:
        return 'nothing'
    if len(chain) == 1:
        return '%s, no fallbacks' % chain[0]
    return '%s, fallbacks %s' % (chain[0], ', '.join(chain[1:]))


def _truncate_after_leave(chain):
    return chain[:chain.index('leave') + 1] if 'leave' in chain else chain


def _sla_class(data, metadata, notes):
    label = metadata.get(data['sla_key'])
    if label is None:
        return data['default_class'], 'default_class'
    text = str(label).strip()
    if text in data['classes']:
        return text, 'metadata'
    folded = [name for name in data['classes'] if name.casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0], 'metadata'
    notes.append("metadata %s=%r is not a known SLA class%s: treated as unlabelled (class %s)"
                 % (data['sla_key'], label, _did_you_mean(text, data['classes']), data['default_class']))
    return data['default_class'], 'default_class'


# Actions a `servers:` rule may apply only by server id, never by (tenant-chosen) name.
NAME_REFUSED = frozenset(('delete', 'rebuild'))


def _lookup(rules, *keys):
    for key in keys:
        if key and key in rules:
            return key, rules[key]
    return None, None


def _policy_chain(data, server, metadata, sla_class, class_source, notes, trusted_names):
    """(chain, source, who) before any state adjustment."""
    key, rule = _lookup(data['servers'], server.get('id'))
    name = server.get('name')
    if rule is None and name in data['servers']:
        named = data['servers'][name]
        if name not in trusted_names:
            notes.append('operator override for server name %r ignored: names are chosen by tenants and '
                         'this one is not unique in the cloud (use the server id)' % name)
        elif {named['action'], *named['fallbacks']} & NAME_REFUSED:
            notes.append('operator override for server name %r ignored: delete and rebuild overrides '
                         'need the server id' % name)
        else:
            key, rule = name, named
    owner_value = metadata.get(data['owner_key'])
    if rule is not None:
        if owner_value is not None:
            notes.append('owner annotation %s=%r ignored: operator override applies'
                         % (data['owner_key'], owner_value))
        return [rule['action']] + rule['fallbacks'], 'override', 'operator override for server %s' % key

    owner_action = None
    if owner_value is not None:
        choice = data['owner_choice']
        wanted = str(owner_value).strip().lower()
        if not choice['enabled']:
            notes.append('owner annotation %s=%r ignored: owner choice is disabled'
                         % (data['owner_key'], owner_value))
        elif wanted not in choice['actions']:
            notes.append('owner annotation %s=%r ignored: owners may choose only %s'
                         % (data['owner_key'], owner_value, ', '.join(choice['actions'])))
        else:
            owner_action = wanted

    # An explicit SLA label beats a project rule; a project rule beats the
    # class a server only has by default (default_class).
    cls_rule = data['classes'][sla_class]
    steps = []
    if class_source == 'metadata':
        steps.append(('class', cls_rule, 'SLA class %s' % sla_class))
    key, project_rule = _lookup(data['projects'], server.get('project_id'), server.get('project_name'))
    if project_rule is not None:
        steps.append(('project', project_rule, 'project %s rule' % key))
    if class_source != 'metadata':
        steps.append(('class', cls_rule, 'SLA class %s (default_class, server unlabelled)' % sla_class))
    steps.append(('default', data['default'], 'policy default'))
    source, rule, who = next(step for step in steps if step[1]['action'])
    chain = [rule['action']] + rule['fallbacks']

    if owner_action:
        # The owner's pick comes first; the chain the operator set stays behind it.
        merged = [owner_action] + [a for a in chain if a != owner_action]
        return (_truncate_after_leave(merged), 'owner',
                'owner annotation %s=%s (then %s)' % (data['owner_key'], owner_action, who))
    return chain, source, who


def _adjust_for_status(chain, status, task_state, notes):
    """(chain, transient): the chain Nova can carry out for a server in this status."""
    if status == 'ERROR':
        notes.append('server in ERROR before the campaign: left alone, reported')
        return ['leave'], False
    if status == 'SHELVED_OFFLOADED':
        notes.append('SHELVED_OFFLOADED: not on any host, nothing to do')
        return [], False
    if status in GONE_STATUSES:
        notes.append('server is %s: nothing to do' % status)
        return [], False
    if status == 'UNKNOWN':
        notes.append('status UNKNOWN (its compute service is not answering): resolve again later')
        return [], True
    if status in BUSY_STATUSES or task_state:
        busy = status if status in BUSY_STATUSES else '%s, task %s' % (status, task_state)
        notes.append('server busy (%s): resolve again once it settles' % busy)
        return [], True
    if status not in POSSIBLE:
        notes.append('status %r: no action is known to be safe' % status)
        return [], False

    out = []
    dropped = []
    for action in chain:
        if (action, status) in ALREADY_DONE:
            dropped.append('%s: server already %s, nothing to do (leave)' % (action, status))
            out.append('leave')
            break
        if action not in POSSIBLE[status]:
            if action == 'live_migrate' and status == 'SHUTOFF':
                dropped.append('live_migrate: a SHUTOFF server cannot be live-migrated (cold_migrate can move it); '
                               'dropped')
            else:
                dropped.append('%s: not possible for a %s server; dropped' % (action, status))
            continue
        out.append(action)
        if action == 'leave':
            break
    if not out:
        notes.append('nothing in the chain (%s) is possible for a %s server: reported'
                     % (', '.join(chain), status))
        return out, False
    notes.extend(dropped)
    if out[0] == 'leave' and status == 'PAUSED':
        notes.append('PAUSED server left in place: Nova cannot stop it cleanly, its paused state ends with the '
                     'host reboot')
    return out, False


def _resolve(data, server, importance, trusted_names=frozenset()) -> Decision:
    if importance not in IMPORTANCES:
        hint = _did_you_mean(importance, IMPORTANCES) or ' (importance: %s)' % ', '.join(IMPORTANCES)
        raise PolicyError([('importance', 'unknown importance %r%s' % (importance, hint))])
    if not isinstance(server, dict) or not (server.get('id') or server.get('name')):
        raise ValueError('server must be a dict with an id or a name, got %r' % (server,))
    metadata = server.get('metadata') or {}
    notes = []
    sla_class, class_source = _sla_class(data, metadata, notes)
    policy_chain, source, who = _policy_chain(data, server, metadata, sla_class, class_source, notes,
                                              trusted_names)
    status = str(server.get('status') or '').upper()
    chain, transient = _adjust_for_status(policy_chain, status, server.get('task_state'), notes)

    reason = '%s: %s' % (who, _chain_text(policy_chain))
    if chain != policy_chain:
        reason += '; server %s: %s' % (status or 'without status', _chain_text(chain) if chain else NO_ACTION)
    lm = data['live_migration'][importance]
    cls = data['classes'][sla_class]
    return Decision(
        server_id=server.get('id'),
        server_name=server.get('name'),
        project_id=server.get('project_id'),
        status=status,
        importance=importance,
        sla_class=sla_class,
        sla_class_source=class_source,
        action=chain[0] if chain else NO_ACTION,
        fallbacks=list(chain[1:]),
        chain=list(chain),
        policy_chain=list(policy_chain),
        source=source,
        reason=reason,
        notes=notes,
        transient=transient,
        live_migration=dict(lm.get(sla_class) or lm[LM_DEFAULT], downtime_limit_ms=cls['downtime_limit_ms'],
                            post_copy=data['post_copy']),
        downtime_limit_ms=cls['downtime_limit_ms'],
        notice=dict(cls['notice']),
    )
