# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

import contextlib
import json
from unittest import mock

import pytest
import requests

from openstack import exceptions as sdk_exceptions

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None

from ansible_collections.cloudmaint.openstack.plugins.module_utils import microversions as mv
from ansible_collections.cloudmaint.openstack.plugins.module_utils import openstack_module as om


# ---- option filtering -------------------------------------------------------

def params(**overrides):
    """Module params as AnsibleModule would produce them with nothing set."""
    values = dict((name, spec.get('default')) for name, spec in om.openstack_argument_spec().items())
    values.update(overrides)
    return values


def test_unset_options_are_not_passed_so_env_and_clouds_yaml_apply():
    assert om.connection_kwargs(params()) == {}


def test_cloud_name_and_set_options_are_translated_to_sdk_keywords():
    kwargs = om.connection_kwargs(params(
        cloud='sandbox', region_name='RegionOne', validate_certs=False, ca_cert='/ca.pem',
        client_cert='/c.pem', client_key='/k.pem', interface='internal', api_timeout=30,
        auth_type='password', auth={'username': 'u'}))
    assert kwargs == {
        'cloud': 'sandbox', 'region_name': 'RegionOne', 'verify': False, 'cacert': '/ca.pem',
        'cert': '/c.pem', 'key': '/k.pem', 'interface': 'internal', 'api_timeout': 30,
        'auth_type': 'password', 'auth': {'username': 'u'},
    }


def test_false_is_passed_but_none_is_not():
    assert om.connection_kwargs(params(validate_certs=False)) == {'verify': False}
    assert 'verify' not in om.connection_kwargs(params(validate_certs=None))


def test_module_only_options_never_reach_the_sdk():
    kwargs = om.connection_kwargs(params(cloud='x', wait=False, timeout=5, sdk_log_path='/tmp/l', sdk_log_level='DEBUG'))
    assert kwargs == {'cloud': 'x'}


def test_cloud_dict_is_the_whole_config_and_is_copied():
    cloud = {'auth': {'auth_url': 'http://127.0.0.1/identity', 'password': 'p'}, 'region_name': 'R'}
    kwargs = om.connection_kwargs(params(cloud=cloud))
    assert kwargs == cloud
    kwargs['auth']['password'] = 'changed'
    assert cloud['auth']['password'] == 'p'


def test_cloud_dict_combined_with_connection_options_is_rejected():
    with pytest.raises(ValueError, match='region_name, validate_certs'):
        om.connection_kwargs(params(cloud={'auth': {}}, region_name='R', validate_certs=True))


def test_cloud_of_another_type_is_rejected():
    with pytest.raises(ValueError, match='got list'):
        om.connection_kwargs(params(cloud=['sandbox']))


def test_spec_matches_documented_contract():
    spec = om.openstack_argument_spec()
    assert spec['auth']['no_log'] is True
    assert spec['client_key']['no_log'] is False
    assert spec['validate_certs']['aliases'] == ['verify']
    assert spec['interface']['aliases'] == ['endpoint_type']
    assert spec['interface'].get('default') is None
    # wait and timeout belong to the modules that wait, each saying what it waits for
    assert 'wait' not in spec and 'timeout' not in spec
    # a fresh copy each call, so a module cannot mutate the shared spec
    spec['sdk_log_level']['default'] = 'DEBUG'
    assert om.openstack_argument_spec()['sdk_log_level']['default'] == 'INFO'


def test_merge_module_kwargs_concatenates_lists_and_copies():
    base = {'mutually_exclusive': [['a', 'b']], 'supports_check_mode': False}
    merged = om.merge_module_kwargs(base, {'mutually_exclusive': [['c', 'd']], 'supports_check_mode': True})
    assert merged == {'mutually_exclusive': [['a', 'b'], ['c', 'd']], 'supports_check_mode': True}
    assert base['mutually_exclusive'] == [['a', 'b']]


def test_secret_values_are_collected_from_auth_and_cloud_dict():
    found = om.collect_secret_values(params(
        auth={'username': 'admin', 'password': 's3cret'},
        cloud={'auth': {'application_credential_secret': 'appsecret', 'auth_url': 'http://x'},
               'profiles': [{'token': 'tok'}]}))
    assert found == {'s3cret', 'appsecret', 'tok'}


# ---- microversions --------------------------------------------------------

@pytest.mark.parametrize('value, expected', [
    ('2.91', (2, 91)), (' 2.1 ', (2, 1)), ((2, 60), (2, 60)), ([2, 5], (2, 5)),
])
def test_parse_microversion(value, expected):
    assert mv.parse_microversion(value) == expected


@pytest.mark.parametrize('value', ['2', 'latest', '2.x', '', None, 2.91, (2,), ('2', '1')])
def test_parse_microversion_rejects_garbage(value):
    with pytest.raises(ValueError):
        mv.parse_microversion(value)


@pytest.mark.parametrize('left, right, expected', [
    ('2.10', '2.9', 1),     # numeric, not lexical
    ('2.9', '2.10', -1),
    ('2.91', (2, 91), 0),
    ('3.0', '2.99', 1),
])
def test_compare_microversions(left, right, expected):
    assert mv.compare_microversions(left, right) == expected


@pytest.mark.parametrize('available, required, expected', [
    ('2.96', '2.91', True),
    ('2.91', '2.91', True),
    ('2.90', '2.91', False),
    (None, '2.1', False),       # endpoint advertises no microversions
    ('3.5', '2.91', False),     # a different major version is not a superset
])
def test_microversion_satisfied(available, required, expected):
    assert mv.microversion_satisfied(available, required) is expected


def test_format_microversion():
    assert mv.format_microversion((2, 7)) == '2.7'
    assert mv.format_microversion(None) is None


@pytest.mark.parametrize('version, expected', [
    ('4.22.0', True), ('4.0.0', True), ('3.3.0', False), ('5.0.0', False), ('4.23.0.dev3', True),
])
def test_sdk_version_supported(version, expected):
    assert om.sdk_version_supported(version) is expected


# ---- error shaping ------------------------------------------------------------

def http_error(status, body, url, request_id='req-1234', method='POST'):
    response = requests.Response()
    response.status_code = status
    response.reason = 'Reason'
    response.headers['content-type'] = 'application/json'
    response.headers['x-openstack-request-id'] = request_id
    response._content = json.dumps(body).encode()
    response.request = requests.Request(method, url).prepare()
    response.url = url
    with pytest.raises(sdk_exceptions.HttpException) as info:
        sdk_exceptions.raise_from_response(response)
    return info.value


def test_http_error_is_shaped_with_short_message_and_details():
    exc = http_error(409, {'conflictingRequest': {'message': 'Cannot migrate: host is disabled', 'code': 409}},
                     'https://nova.example:8774/v2.1/servers/abc/action')
    shaped = om.shape_sdk_error(exc, 'Live migration of abc failed')
    assert shaped['msg'] == 'Live migration of abc failed: Cannot migrate: host is disabled'
    assert shaped['details'] == {
        'exception': 'ConflictException', 'status_code': 409, 'request_id': 'req-1234',
        'method': 'POST', 'url': 'https://nova.example:8774/v2.1/servers/abc/action',
    }


def test_error_shaping_strips_credentials_from_url_and_message():
    exc = http_error(401, {'error': {'message': 'bad token tok-SECRET-123 for admin'}},
                     'https://admin:hunter2@keystone.example/v3/auth?token=tok-SECRET-123&limit=5')
    shaped = om.shape_sdk_error(exc, 'Listing hypervisors', secrets={'tok-SECRET-123'})
    dumped = json.dumps(shaped)
    assert 'hunter2' not in dumped
    assert 'tok-SECRET-123' not in dumped
    assert shaped['details']['url'] == 'https://keystone.example/v3/auth?token=********&limit=5'
    assert shaped['msg'] == 'Listing hypervisors: bad token ******** for admin'


def test_urls_inside_messages_are_redacted():
    exc = sdk_exceptions.SDKException('Could not reach https://u:pw@host/v3?password=pw2 at all')
    shaped = om.shape_sdk_error(exc, 'Connecting')
    assert 'pw2' not in shaped['msg'] and 'u:pw' not in shaped['msg']
    assert shaped['details'] == {'exception': 'SDKException'}


def test_plain_sdk_exception_keeps_only_first_line():
    exc = sdk_exceptions.ResourceTimeout('Timeout waiting for server abc\nsecond line')
    assert om.shape_sdk_error(exc, 'Waiting')['msg'] == 'Waiting: Timeout waiting for server abc'


def test_redact_url_leaves_harmless_urls_alone():
    url = 'https://nova.example/v2.1/os-hypervisors?with_servers=true'
    assert om.redact_url(url) == url
    assert om.redact_url(None) is None


def test_scrub_masks_longest_secret_first():
    assert om.scrub('pass password', {'pass', 'password'}) == '******** ********'


# ---- the base class, driven like a module (no cloud) --------------------------

class _Exit(Exception):
    def __init__(self, kind, result):
        super().__init__(kind)
        self.kind = kind
        self.result = result


@pytest.fixture
def module_io(monkeypatch):
    """Feed module args and capture exit_json/fail_json output."""
    def set_args(**args):
        if patch_module_args is not None:
            stack.enter_context(patch_module_args(args))
        else:  # ansible-core < 2.19
            monkeypatch.setattr(basic, '_ANSIBLE_ARGS', to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args})))

    def exit_json(self, **kwargs):
        raise _Exit('exit', kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs['msg'] = msg
        raise _Exit('fail', kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    with contextlib.ExitStack() as stack:
        yield set_args


class _Needs291(om.CloudmaintModule):
    argument_spec = dict(host=dict(type='str', required=True))
    module_kwargs = dict(supports_check_mode=True)
    action = 'Draining host'

    def run(self):
        self.require_microversion('compute', '2.91', 'Unlocking servers with a reason')
        return {'changed': True, 'host': self.params['host']}


class _RaisesSdk(om.CloudmaintModule):
    action = 'Draining host'

    def run(self):
        raise http_error(404, {'itemNotFound': {'message': 'Compute host cmp9 could not be found.'}},
                         'http://127.0.0.1/compute/v2.1/os-services')


def test_run_result_is_exited_when_microversion_is_available(module_io):
    module_io(host='cmp1', cloud='sandbox', _ansible_check_mode=True)
    module = _Needs291()
    module._max_microversions['compute'] = '2.96'
    with pytest.raises(_Exit) as info:
        module()
    assert info.value.kind == 'exit'
    stamps = {k: info.value.result.pop(k) for k in ('started_at', 'ended_at')}
    assert info.value.result == {'changed': True, 'host': 'cmp1'}
    # Every result says when the module began and ended (the campaign's step times).
    assert all(len(v) == 20 and v.endswith('Z') for v in stamps.values()) and stamps['started_at'] <= stamps['ended_at']
    assert module.check_mode is True


def test_missing_microversion_fails_naming_feature_and_versions(module_io):
    module_io(host='cmp1')
    module = _Needs291()
    module._max_microversions['compute'] = '2.88'
    with pytest.raises(_Exit) as info:
        module()
    assert info.value.kind == 'fail'
    assert info.value.result['msg'] == (
        'Unlocking servers with a reason needs compute API microversion 2.91, '
        'but the endpoint supports at most 2.88')
    assert info.value.result['details']['available_microversion'] == '2.88'


def test_max_microversion_is_read_from_endpoint_once(module_io):
    module_io(host='cmp1')
    module = _Needs291()
    conn = mock.Mock()
    conn.compute.get_endpoint_data.return_value = mock.Mock(max_microversion=(2, 96))
    module._conn = conn
    assert module.compute_max_microversion() == '2.96'
    assert module.supports_microversion('compute', '2.95') is True
    assert module.supports_microversion('compute', '2.100') is False
    assert conn.compute.get_endpoint_data.call_count == 1


def test_endpoint_without_microversions_supports_none(module_io):
    module_io(host='cmp1')
    module = _Needs291()
    module._conn = mock.Mock()
    module._conn.compute.get_endpoint_data.return_value = mock.Mock(max_microversion=None)
    assert module.compute_max_microversion() is None
    with pytest.raises(_Exit) as info:
        module.require_microversion('compute', '2.1', 'Anything')
    assert info.value.result['msg'].endswith('but the endpoint advertises no microversions')


def test_sdk_exception_in_run_is_shaped(module_io):
    module_io()
    with pytest.raises(_Exit) as info:
        _RaisesSdk()()
    assert info.value.kind == 'fail'
    assert info.value.result['msg'] == 'Draining host: Compute host cmp9 could not be found.'
    assert info.value.result['details']['status_code'] == 404


def test_unknown_cloud_names_searched_files(module_io, monkeypatch, tmp_path):
    clouds = tmp_path / 'clouds.yaml'
    clouds.write_text('clouds:\n  other:\n    auth:\n      auth_url: http://127.0.0.1:1/identity\n')
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(clouds))
    monkeypatch.delenv('OS_CLOUD', raising=False)
    module_io(host='cmp1', cloud='nosuchcloud')
    module = _Needs291()
    with pytest.raises(_Exit) as info:
        module.conn  # pylint: disable=pointless-statement
    assert info.value.kind == 'fail'
    assert info.value.result['msg'].startswith("cloud 'nosuchcloud' not found in %s (clouds.yaml files searched, "
                                               "in order: %s, " % (clouds, clouds))


def test_clouds_yaml_search_path_order():
    assert om.clouds_yaml_search_path(['/a.yaml', '/std.yaml'], '/env.yaml', ['/std.yaml', '/etc.yaml']) == [
        '/env.yaml', '/a.yaml', '/std.yaml', '/etc.yaml']
    assert om.clouds_yaml_search_path(None, None, ['/std.yaml']) == ['/std.yaml']


def test_unreachable_identity_fails_as_authentication_error_without_password(module_io, monkeypatch):
    monkeypatch.delenv('OS_CLOUD', raising=False)
    module_io(host='cmp1', cloud={'auth': {'auth_url': 'http://127.0.0.1:9/identity', 'username': 'admin',
                                           'password': 'pw-xyz', 'project_name': 'admin',
                                           'user_domain_name': 'Default', 'project_domain_name': 'Default'}})
    module = _Needs291()
    with pytest.raises(_Exit) as info:
        module.conn  # pylint: disable=pointless-statement
    assert info.value.kind == 'fail'
    assert info.value.result['msg'].startswith('authentication to cloud (from options and the OS_* environment) failed: ')
    assert 'pw-xyz' not in json.dumps(info.value.result)


def test_incomplete_environment_fails_as_authentication_error(module_io, monkeypatch, tmp_path):
    monkeypatch.setenv('OS_CLIENT_CONFIG_FILE', str(tmp_path / 'absent.yaml'))
    for name in ('OS_CLOUD', 'OS_AUTH_URL', 'OS_USERNAME', 'OS_PASSWORD', 'OS_AUTH_TYPE', 'OS_TOKEN'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(om.openstack.config.loader, 'CONFIG_FILES', [])
    module_io(host='cmp1')
    with pytest.raises(_Exit) as info:
        _Needs291().conn  # pylint: disable=expression-not-assigned
    assert info.value.kind == 'fail'
    assert info.value.result['msg'].startswith('authentication to cloud (from options and the OS_* environment) failed: ')
    assert 'auth_url' in info.value.result['msg']


def test_password_in_cloud_dict_is_registered_for_masking(module_io):
    module_io(host='cmp1', cloud={'auth': {'password': 'pw-from-cloud-dict'}})
    module = _Needs291()
    assert 'pw-from-cloud-dict' in module.ansible.no_log_values


# ---- credentials and remote text ------------------------------------------------

def test_options_named_like_credentials_become_no_log_unless_the_module_decided():
    spec = om.protect_secret_options({
        'webhook_secret': {'type': 'str'},
        'admin_password': {'type': 'str'},
        'refresh_token': {'type': 'str'},
        'project_webhooks': {'type': 'dict'},
        'client_key': {'type': 'str', 'no_log': False},
        'webhook_secret_per_project': {'type': 'bool'},
        'token_endpoint': {'type': 'str'},
        'hooks': {'type': 'list', 'elements': 'dict', 'options': {'url': {}, 'secret': {}}},
    })
    assert spec['webhook_secret']['no_log'] is True
    assert spec['admin_password']['no_log'] is True
    assert spec['refresh_token']['no_log'] is True
    assert spec['project_webhooks']['no_log'] is True
    assert spec['hooks']['options']['secret']['no_log'] is True
    assert spec['client_key']['no_log'] is False
    for name in ('webhook_secret_per_project', 'token_endpoint'):
        assert 'no_log' not in spec[name]
    assert 'no_log' not in spec['hooks']['options']['url']


def test_credential_keys_of_any_spelling_and_numeric_passwords_are_collected():
    found = om.collect_secret_values(params(cloud={
        'auth': {'OS_PASSWORD': 'a1', 'refresh_token': 'a2', 'password': 123456, 'insecure': True},
        'key': '/etc/ssl/client.key', 'region_name': 'R'}))
    assert found == {'a1', 'a2', '123456'}


def test_masking_forms_cover_the_escaped_spellings():
    forms = om.masking_forms({'a\'b"c\\d\te'})
    assert 'a\'b"c\\d\te' in forms
    assert repr('a\'b"c\\d\te')[1:-1] in forms
    assert json.dumps('a\'b"c\\d\te')[1:-1] in forms
    assert om.masking_forms({''}) == set()


def test_cloud_dict_secret_is_masked_even_escaped_in_a_dict_repr(module_io):
    secret = 'p\'w"\\x'
    module_io(host='cmp1', cloud={'auth': {'password': secret}})
    module = _Needs291()
    from ansible.module_utils.common.parameters import remove_values
    logged = remove_values(str(module.params['cloud']), module.ansible.no_log_values)
    assert secret not in logged and repr(secret)[1:-1] not in logged
    assert "'password': '********'" in logged


@pytest.mark.parametrize('raw, shown', [
    ('vm\x1b[2J\x1b[31mred', 'vm\\x1b[2J\\x1b[31mred'),
    ('a\rb\x00c\x7fd\x9be', 'a\\x0db\\x00c\\x7fd\\x9be'),
    ('evil\u202egnp.exe', 'evil\\u202egnp.exe'),
    ('line one\nline two\tcol', 'line one\nline two\tcol'),
    ('café ☕', 'café ☕'),
])
def test_strip_control_escapes_terminal_controls_only(raw, shown):
    assert om.strip_control(raw) == shown


def test_warnings_and_failures_carry_no_terminal_controls(module_io, monkeypatch):
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, msg: warned.append(msg))
    module_io(host='cmp1')
    module = _Needs291()
    module.warn('server \x1b]0;owned\x07web-01 has no flavor')
    assert warned == ['server \\x1b]0;owned\\x07web-01 has no flavor']
    with pytest.raises(_Exit) as info:
        module.fail('server \x1b[2Jweb-01 is in ERROR')
    assert info.value.result['msg'] == 'server \\x1b[2Jweb-01 is in ERROR'
    with pytest.raises(_Exit) as info:
        module.exit(msg='done \x1b[1m')
    assert info.value.result['msg'] == 'done \\x1b[1m'


def test_remote_error_message_is_escaped(module_io):
    module_io()

    class _RaisesEscapes(om.CloudmaintModule):
        def run(self):
            raise http_error(400, {'badRequest': {'message': 'Invalid name \x1b[31mx\x1b[0m'}},
                             'http://127.0.0.1/compute/v2.1/servers')

    with pytest.raises(_Exit) as info:
        _RaisesEscapes()()
    assert info.value.result['msg'].endswith('Invalid name \\x1b[31mx\\x1b[0m')


def test_auth_key_the_plugin_does_not_take_fails_cleanly(module_io, monkeypatch):
    monkeypatch.delenv('OS_CLOUD', raising=False)
    module_io(host='cmp1', cloud={'auth': {'auth_url': 'http://127.0.0.1:9/v3', 'username': 'u', 'password': 'pw-q',
                                           'application_credential_secret': 'acs-q'}})
    with pytest.raises(_Exit) as info:
        _Needs291().conn  # pylint: disable=expression-not-assigned
    assert info.value.result['msg'].startswith('invalid OpenStack client configuration for cloud ')
    assert 'pw-q' not in json.dumps(info.value.result) and 'acs-q' not in json.dumps(info.value.result)
