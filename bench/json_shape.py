"""Shapes of JSON documents (keys and value types, recursively) and how two shapes differ.

Used to check that the benchmark fixture (bench/fleet_api.py) answers like the
real services: ``shape_of`` folds every answer of one call into one shape, and
``differences`` lists what the fixture's shape has that the real one has not,
and what it lacks.

A shape is a dict: ``types`` (JSON type names seen), for objects ``keys``
(key -> shape) and ``always`` (keys present in every object seen), for arrays
``items``, and for objects whose keys are data (metadata, providers by uuid)
``values``.  Paths name places in a document: ``servers[].flavor.extra_specs``,
``provider_summaries{}.resources``.
"""

JSON_TYPES = ((bool, 'bool'), (int, 'int'), (float, 'float'), (str, 'str'), (dict, 'object'), (list, 'array'),
              (type(None), 'null'))


def type_name(value):
    for python_type, name in JSON_TYPES:
        if type(value) is python_type:  # pylint: disable=unidiomatic-typecheck
            return name
    raise TypeError('not a JSON value: %r' % (value,))


def _empty():
    return {'types': set()}


def _merge(shape, value, path, maps):
    shape['types'].add(type_name(value))
    if isinstance(value, dict):
        if path in maps:
            values = shape.setdefault('values', _empty())
            for item in value.values():
                _merge(values, item, path + '{}', maps)
            return
        keys = shape.setdefault('keys', {})
        for key, item in value.items():
            _merge(keys.setdefault(key, _empty()), item, '%s.%s' % (path, key) if path else key, maps)
        shape['always'] = set(value) if 'always' not in shape else shape['always'] & set(value)
    elif isinstance(value, list):
        items = shape.setdefault('items', _empty())
        for item in value:
            _merge(items, item, path + '[]', maps)


def shape_of(documents, maps=()):
    """One shape for all ``documents`` (each a parsed JSON value); ``maps``: paths of objects keyed by data."""
    shape = _empty()
    for document in documents:
        _merge(shape, document, '', frozenset(maps))
    return shape


def differences(real, fake, path='', also_allowed=None):
    """(problems, unchecked) of ``fake`` measured against ``real``.

    problems: keys or types ``fake`` has that ``real`` never showed, keys
    ``real`` always has that ``fake`` lacks or has only sometimes.
    unchecked: places where ``fake`` has content that ``real`` never showed
    content for (an array always empty, a map without values), so nothing could be compared.
    ``also_allowed``: {path: set of type names} accepted besides the real ones
    (the real service returns them in states the reference cloud is not in).
    """
    also_allowed = also_allowed or {}
    problems, unchecked = [], []
    label = path or '(document)'
    extra_types = fake['types'] - real['types'] - set(also_allowed.get(path, ()))
    if extra_types:
        problems.append('%s: type %s, real API: %s'
                        % (label, '/'.join(sorted(extra_types)), '/'.join(sorted(real['types'])) or 'nothing'))
    if 'keys' in fake or 'keys' in real:
        real_keys, fake_keys = real.get('keys', {}), fake.get('keys', {})
        for key in sorted(set(fake_keys) - set(real_keys)):
            problems.append('%s: key %r the real API does not return' % (label, key))
        for key in sorted(real.get('always', set()) - set(fake_keys)):
            problems.append('%s: key %r missing' % (label, key))
        for key in sorted((real.get('always', set()) & set(fake_keys)) - fake.get('always', set())):
            problems.append('%s: key %r only sometimes present, the real API always has it' % (label, key))
        for key in sorted(set(real_keys) & set(fake_keys)):
            sub = differences(real_keys[key], fake_keys[key], '%s.%s' % (path, key) if path else key, also_allowed)
            problems.extend(sub[0])
            unchecked.extend(sub[1])
    for part, suffix in (('items', '[]'), ('values', '{}')):
        if part not in fake or not fake[part]['types']:
            continue
        if part not in real or not real[part]['types']:
            unchecked.append(path + suffix)
            continue
        sub = differences(real[part], fake[part], path + suffix, also_allowed)
        problems.extend(sub[0])
        unchecked.extend(sub[1])
    return problems, unchecked
