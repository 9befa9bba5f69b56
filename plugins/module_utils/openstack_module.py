# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Base class shared by every module of cloudmaint.openstack.

A module subclasses CloudmaintModule, declares its own ``argument_spec`` and
``module_kwargs`` and implements ``run()``; the entry point is then simply::

    def main():
        HostDrainModule()()

The common connection options (documented in the ``cloudmaint.openstack.cloud``
doc fragment) carry the names openstack.cloud users know.  Options left unset
are not passed to openstacksdk, so clouds.yaml and the ``OS_*`` environment
variables keep working exactly as openstacksdk resolves them.

Everything that needs no cloud (option filtering, microversion arithmetic,
error shaping, secret redaction) is a plain function so it can be unit tested.

Credentials: every option named like one (and those in ``SECRET_OPTIONS``) is
no_log, and the passwords and tokens inside a ``cloud`` dict are known to
AnsibleModule before it logs its invocation, so neither syslog, the journal,
results nor errors show them.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.cloudmaint.openstack.plugins.module_utils import policy as policy_mod
from ansible_collections.cloudmaint.openstack.plugins.module_utils.microversions import (
    format_microversion,
    microversion_satisfied,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.nova_api import (
    NovaClient,
    NovaError,
    looks_like_uuid,
)
from ansible_collections.cloudmaint.openstack.plugins.module_utils.server_actions import Waiter

SDK_IMPORT_ERROR = None
try:
    import openstack
    import openstack.config
    import openstack.connection
    import openstack.exceptions as sdk_exceptions
    HAS_OPENSTACKSDK = True
except ImportError:
    openstack = None
    sdk_exceptions = None
    HAS_OPENSTACKSDK = False
    SDK_IMPORT_ERROR = traceback.format_exc()

try:
    import keystoneauth1.exceptions as ksa_exceptions
except ImportError:
    ksa_exceptions = None

if HAS_OPENSTACKSDK:
    # keystoneauth1 raises its own exceptions (e.g. MissingRequiredOptions from
    # connect()) before openstacksdk gets a chance to wrap them.
    SDK_ERRORS = (sdk_exceptions.SDKException,) + ((ksa_exceptions.ClientException,) if ksa_exceptions else ())
else:
    SDK_ERRORS = ()

MIN_SDK_VERSION = '4.0.0'
MAX_SDK_VERSION = '5.0.0'  # exclusive
APP_NAME = 'cloudmaint.openstack'
REDACTED = '********'

# Options of the shared argument spec that end up in openstack.connect(),
# mapped to the keyword openstacksdk expects.
CONNECTION_OPTION_MAP = {
    'auth': 'auth',
    'auth_type': 'auth_type',
    'region_name': 'region_name',
    'validate_certs': 'verify',
    'ca_cert': 'cacert',
    'client_cert': 'cert',
    'client_key': 'key',
    'api_timeout': 'api_timeout',
    'interface': 'interface',
}

# Keys whose values are credentials wherever they appear (auth dicts, a cloud
# dict, URL query strings).  Compared case-insensitively.
SECRET_KEYS = frozenset((
    'password',
    'token',
    'auth_token',
    'secret',
    'application_credential_secret',
    'passcode',
    'totp',
    'client_secret',
    'access_token',
    'temp_url_sig',
    'signature',
    'x-auth-token',
))

# A key ending in one of these words holds a credential too (os_password, refresh_token, client_secret).
_SECRET_KEY_RE = re.compile(r'(?:^|[_-])(?:password|passwd|passphrase|passcode|secret|token|totp|sig|signature)$', re.I)

# Options whose values are credentials although their names do not say so: operators' webhook
# URLs often carry a token in the path or query.
SECRET_OPTIONS = frozenset((
    'project_webhooks',
))

# C0 controls but tab and newline, DEL, C1 controls (ESC and CSI start terminal escape sequences),
# and the bidirectional overrides and isolates that reorder what a terminal shows.
_CONTROL_RE = re.compile(r'[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]')


def _utc_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


def openstack_argument_spec():
    """Return a fresh copy of the options shared by every module."""
    return dict(
        cloud=dict(type='raw'),
        auth=dict(type='dict', no_log=True),
        auth_type=dict(type='str'),
        region_name=dict(type='str'),
        validate_certs=dict(type='bool', aliases=['verify']),
        ca_cert=dict(type='str', aliases=['cacert']),
        client_cert=dict(type='str', aliases=['cert']),
        # client_key is the path of a key file, not key material.
        client_key=dict(type='str', aliases=['key'], no_log=False),
        api_timeout=dict(type='int'),
        interface=dict(type='str', choices=['public', 'internal', 'admin'], aliases=['endpoint_type']),
        sdk_log_path=dict(type='str'),
        sdk_log_level=dict(type='str', default='INFO', choices=['INFO', 'DEBUG']),
    )


def is_secret_key(key):
    """True when a dict key or option name names a credential."""
    key = str(key)
    return key.lower() in SECRET_KEYS or bool(_SECRET_KEY_RE.search(key))


def protect_secret_options(spec):
    """Mark ``no_log`` every option and suboption of ``spec`` that holds a credential (in place).

    AnsibleModule masks a no_log option in the invocation it logs to syslog or the journal at
    start, in its results and in its errors. An option whose module sets ``no_log`` either way
    (``client_key``, a path) is left as the module decided.
    """
    for name, opts in spec.items():
        if 'no_log' not in opts and (name in SECRET_OPTIONS or is_secret_key(name)):
            opts['no_log'] = True
        if isinstance(opts.get('options'), dict):
            protect_secret_options(opts['options'])
    return spec


def merge_module_kwargs(base, extra):
    """Merge AnsibleModule keyword arguments; list-valued ones are concatenated."""
    merged = copy.deepcopy(base)
    for key, value in (extra or {}).items():
        if isinstance(value, (list, tuple)) and isinstance(merged.get(key), (list, tuple)):
            merged[key] = list(merged[key]) + list(value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def connection_kwargs(params):
    """Translate module parameters into openstack.connect() keyword arguments.

    Only options the user actually set are returned, so anything left out is
    resolved by openstacksdk from clouds.yaml or OS_* environment variables.
    A ``cloud`` given as a dict is a complete connection config; combining it
    with other connection options is ambiguous and raises ValueError.
    """
    cloud = params.get('cloud')
    explicit = dict(
        (sdk_key, params[opt])
        for opt, sdk_key in CONNECTION_OPTION_MAP.items()
        if params.get(opt) is not None
    )
    if isinstance(cloud, dict):
        if explicit:
            clashing = sorted(opt for opt, sdk_key in CONNECTION_OPTION_MAP.items() if sdk_key in explicit)
            raise ValueError(
                'cloud is a dict (a complete connection config), so these options must not be set as well: %s'
                % ', '.join(clashing))
        return copy.deepcopy(cloud)
    if cloud is not None and not isinstance(cloud, str):
        raise ValueError('cloud must be the name of a cloud in clouds.yaml or a dict, got %s' % type(cloud).__name__)
    if cloud:
        explicit['cloud'] = cloud
    return explicit


def collect_secret_values(params):
    """Return the credential strings found in ``auth`` and a ``cloud`` dict.

    ``auth`` is no_log already, but a ``cloud`` dict is not: it is usually just
    a name, and no_log on it would mask every value of the dict (region, user,
    even numbers) wherever it appears. Its passwords and tokens are registered
    for masking instead. A number given as a password counts as its text.
    """
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if is_secret_key(key) and isinstance(item, (str, int, float)) and not isinstance(item, bool):
                    if str(item):
                        found.add(str(item))
                else:
                    walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(params.get('auth'))
    walk(params.get('cloud'))
    return found


def masking_forms(secrets):
    """Each secret as it may appear in text: itself, and escaped as in a Python repr or JSON.

    AnsibleModule logs a dict option as ``str(dict)``, where a password with a quote,
    a backslash or a control character appears escaped, not as given.
    """
    forms = set()
    for secret in secrets:
        forms.add(secret)
        forms.add(repr(secret)[1:-1])
        forms.add(json.dumps(secret)[1:-1])
        forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.discard('')
    return forms


def strip_control(text):
    """``text`` with its control characters written as escapes (ESC as ``\\x1b``), so that text from
    the cloud (server names, metadata, API messages) cannot drive the operator's terminal."""
    if text is None:
        return None

    def escape(match):
        code = ord(match.group(0))
        return '\\x%02x' % code if code < 0x100 else '\\u%04x' % code

    return _CONTROL_RE.sub(escape, str(text))


def version_tuple(version):
    """'4.22.0' -> (4, 22, 0); pre-release suffixes such as '4.23.0.dev3' are ignored."""
    parts = []
    for part in str(version).split('.'):
        match = re.match(r'\d+', part)
        if not match:
            break
        parts.append(int(match.group(0)))
    return tuple(parts)


def sdk_version_supported(version, minimum=MIN_SDK_VERSION, maximum=MAX_SDK_VERSION):
    """True when ``minimum <= version < maximum``."""
    return version_tuple(minimum) <= version_tuple(version) < version_tuple(maximum)


def redact_url(url):
    """Drop user:password@ from a URL and mask credential query parameters."""
    if not url:
        return url
    url = re.sub(r'^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@', r'\1', str(url))

    def mask(match):
        key = match.group(2)
        if key.lower() in SECRET_KEYS:
            return '%s%s=%s' % (match.group(1), key, REDACTED)
        return match.group(0)

    return re.sub(r'([?&;])([^=&;#]+)=([^&;#]*)', mask, url)


def scrub(text, secrets):
    """Replace every occurrence of the given secret strings in ``text``."""
    if text is None:
        return None
    text = str(text)
    # Longest first, so a secret containing another one is masked whole.
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def _first_line(text):
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[0] if lines else ''


def short_api_message(exc):
    """The most useful one-line message of an openstacksdk/keystoneauth exception.

    For an HTTP error that is the service's own fault message (``details``),
    not the SDK's generic 'Client Error for url: ...' wrapper.
    """
    details = getattr(exc, 'details', None)
    message = getattr(exc, 'message', None)
    if isinstance(details, str) and details.strip():
        text = details
    elif isinstance(message, str) and message.strip() and message != 'Error':
        text = message
    else:
        text = str(exc) or type(exc).__name__
    return _first_line(text)


def error_details(exc, secrets=()):
    """Return a dict describing an API error, with credentials removed."""
    details = {'exception': type(exc).__name__}
    status_code = getattr(exc, 'status_code', None)
    if status_code is None:
        status_code = getattr(exc, 'http_status', None)
    if status_code is not None:
        details['status_code'] = status_code
    request_id = getattr(exc, 'request_id', None)
    if request_id:
        details['request_id'] = request_id
    method = getattr(exc, 'method', None)
    if isinstance(method, str) and method:
        details['method'] = method
    url = getattr(exc, 'url', None)
    if isinstance(url, str) and url:
        details['url'] = scrub(redact_url(url), secrets)
    return details


def shape_sdk_error(exc, action_msg, secrets=()):
    """Return the fail_json() keyword arguments for an SDK error."""
    message = scrub(short_api_message(exc), secrets)
    message = re.sub(r'[a-zA-Z][a-zA-Z0-9+.-]*://\S+', lambda m: redact_url(m.group(0)), message)
    msg = '%s: %s' % (action_msg, message) if action_msg else message
    return dict(msg=msg, details=error_details(exc, secrets))


def installed_sdk_version():
    """Version string of the installed openstacksdk distribution."""
    from importlib import metadata

    try:
        return metadata.version('openstacksdk')
    except metadata.PackageNotFoundError:
        return '0'


def clouds_yaml_search_path(extra_paths, environ_override, standard_paths):
    """clouds.yaml files in the order openstacksdk reads them (the first that exists wins)."""
    paths = ([environ_override] if environ_override else []) + list(extra_paths or ()) + list(standard_paths)
    return list(dict.fromkeys(paths))


def config_file_used(searched):
    """The clouds.yaml openstacksdk reads: the first of ``searched`` that exists."""
    for path in searched:
        if os.path.exists(os.path.expanduser(path)):
            return path
    return None


class ConnectError(Exception):
    """No connection. ``action`` says what failed, ``cause`` is the SDK's exception if there is one;
    ``str()`` is both in one line."""

    def __init__(self, action, cause=None, secrets=()):
        super(ConnectError, self).__init__(action)
        self.action = action
        self.cause = cause
        self.secrets = list(secrets)

    def __str__(self):
        if self.cause is None:
            return self.action
        return scrub('%s: %s' % (self.action, short_api_message(self.cause)), self.secrets)


def connect(kwargs, extra_config_files=()):
    """An authorized openstacksdk Connection, for the modules and the inventory alike.

    ``kwargs`` are openstack.connect()'s (see connection_kwargs); ``extra_config_files`` are
    clouds.yaml files read before the standard ones. ConnectError says why there is none.
    """
    from openstack.config import loader

    cloud = kwargs.get('cloud') if isinstance(kwargs.get('cloud'), str) else None
    label = "'%s'" % cloud if cloud else '(from options and the OS_* environment)'
    secrets = masking_forms(collect_secret_values(kwargs))
    try:
        config = openstack.config.OpenStackConfig(
            config_files=list(extra_config_files) + list(loader.CONFIG_FILES), app_name=APP_NAME)
        region = config.get_one(**kwargs)
        secrets |= masking_forms(collect_secret_values({'auth': region.config.get('auth')}))
        conn = openstack.connection.Connection(config=region)
        conn.authorize()
    except sdk_exceptions.ConfigException as exc:
        if cloud and 'not found' in str(exc).lower():
            searched = clouds_yaml_search_path(extra_config_files, os.environ.get('OS_CLIENT_CONFIG_FILE'),
                                               loader.CONFIG_FILES)
            raise ConnectError("cloud '%s' not found in %s (clouds.yaml files searched, in order: %s)"
                               % (cloud, config_file_used(searched) or 'any clouds.yaml', ', '.join(searched)))
        raise ConnectError('invalid OpenStack client configuration for cloud %s' % label, exc, secrets)
    except SDK_ERRORS as exc:
        raise ConnectError('authentication to cloud %s failed' % label, exc, secrets)
    except TypeError as exc:
        # keystoneauth's answer to an auth key its plugin does not take (a password plugin
        # given application_credential_secret, say).
        raise ConnectError('invalid OpenStack client configuration for cloud %s: %s' % (label, exc))
    return conn


class _CredentialAwareAnsibleModule(AnsibleModule):
    """AnsibleModule that knows the credentials inside a ``cloud`` dict from the start.

    AnsibleModule logs its invocation (every option's value) to syslog or the journal before the
    module's own code runs; registering these values afterwards is too late for that log.
    """

    def _load_params(self):
        super(_CredentialAwareAnsibleModule, self)._load_params()
        self.no_log_values.update(masking_forms(collect_secret_values(self.params)))


class CloudmaintModule:
    """Base for cloudmaint.openstack modules: subclass, set argument_spec, implement run()."""

    argument_spec = {}
    module_kwargs = {}

    #: Prefix of the error message when an SDK exception escapes run().
    action = 'OpenStack API call failed'

    def __init__(self):
        spec = openstack_argument_spec()
        spec.update(copy.deepcopy(self.argument_spec))
        protect_secret_options(spec)
        self.ansible = _CredentialAwareAnsibleModule(argument_spec=spec, **merge_module_kwargs({}, self.module_kwargs))
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.results = {'changed': False}
        self.started_at = _utc_stamp()
        self._conn = None
        self._nova = None
        self._max_microversions = {}

        # Credentials from a cloud dict, masked in every result, warning and error as well
        # (AnsibleModule registered them before it logged its invocation).
        self._secrets = masking_forms(collect_secret_values(self.params))
        self.ansible.no_log_values.update(self._secrets)

        if not HAS_OPENSTACKSDK:
            self.ansible.fail_json(msg=missing_required_lib('openstacksdk >= %s' % MIN_SDK_VERSION),
                                   exception=SDK_IMPORT_ERROR)
        installed = installed_sdk_version()
        if not sdk_version_supported(installed):
            self.fail('openstacksdk %s is installed; this collection needs >= %s and < %s'
                      % (installed, MIN_SDK_VERSION, MAX_SDK_VERSION))

    # ---- connection -------------------------------------------------------

    @property
    def conn(self):
        """The openstack.connection.Connection, created and authorized on first use."""
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self):
        try:
            kwargs = connection_kwargs(self.params)
        except ValueError as exc:
            return self.fail(str(exc))
        if self.params['sdk_log_path']:
            openstack.enable_logging(debug=self.params['sdk_log_level'] == 'DEBUG',
                                     path=self.params['sdk_log_path'])
        try:
            return connect(kwargs)
        except ConnectError as exc:
            if exc.cause is not None:
                return self.fail_from_sdk(exc.cause, exc.action)
            return self.fail(str(exc))

    # ---- the Compute client, waits and the policy ---------------------------

    #: Seconds between two looks at a server or service while waiting.
    poll_interval = 1.0

    @property
    def nova(self):
        """The Compute API client (one per module run), at the cloud's highest microversion."""
        if self._nova is None:
            self._nova = NovaClient(self.conn, self.compute_max_microversion())
        return self._nova

    def waiter(self):
        return Waiter(poll_s=self.poll_interval)

    def load_policy(self, raw):
        """The maintenance policy, validated before anything changes (every bad key named by its path)."""
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

    # ---- microversions ----------------------------------------------------

    def max_microversion(self, service):
        """Highest microversion the ``service`` endpoint advertises, as 'X.Y', or None (cached)."""
        if service not in self._max_microversions:
            proxy = getattr(self.conn, service)
            endpoint_data = proxy.get_endpoint_data()
            advertised = getattr(endpoint_data, 'max_microversion', None) if endpoint_data else None
            try:
                self._max_microversions[service] = format_microversion(advertised) if advertised else None
            except ValueError:
                self.warn('ignoring unparsable max microversion %r advertised by the %s endpoint' % (advertised, service))
                self._max_microversions[service] = None
        return self._max_microversions[service]

    def compute_max_microversion(self):
        """Highest compute (nova) microversion the endpoint advertises, e.g. '2.96'."""
        return self.max_microversion('compute')

    def supports_microversion(self, service, version):
        """True when the ``service`` endpoint supports microversion ``version``."""
        return microversion_satisfied(self.max_microversion(service), version)

    def require_microversion(self, service, version, feature):
        """Fail the module unless ``service`` supports microversion ``version``."""
        available = self.max_microversion(service)
        if not microversion_satisfied(available, version):
            if available:
                limit = 'the endpoint supports at most %s' % available
            else:
                limit = 'the endpoint advertises no microversions'
            self.fail('%s needs %s API microversion %s, but %s'
                      % (feature, service, format_microversion(version), limit),
                      details={'service': service, 'required_microversion': format_microversion(version),
                               'available_microversion': available})

    # ---- results ------------------------------------------------------------

    # ansible-core prints warnings and a failure's msg to the terminal as they are (other results
    # go out escaped as JSON or YAML): control characters from remote text are escaped here.

    def _stamped(self, result):
        """When the module began and ended, in every result: the campaign's step times."""
        result.setdefault('started_at', self.started_at)
        result.setdefault('ended_at', _utc_stamp())
        return result

    def fail(self, msg, **kwargs):
        self.ansible.fail_json(msg=strip_control(scrub(msg, self._secrets)), **self._stamped(kwargs))

    def fail_from_sdk(self, exc, action_msg):
        shaped = shape_sdk_error(exc, action_msg, self._secrets)
        shaped['msg'] = strip_control(shaped['msg'])
        self.ansible.fail_json(**self._stamped(shaped))

    def warn(self, msg):
        self.ansible.warn(strip_control(scrub(msg, self._secrets)))

    def exit(self, **result):
        """exit_json() with the accumulated ``self.results`` updated by ``result``."""
        self.results.update(result)
        self.results.setdefault('changed', False)
        if isinstance(self.results.get('msg'), str):
            self.results['msg'] = strip_control(self.results['msg'])
        self.ansible.exit_json(**self._stamped(self.results))

    def run(self):
        """Do the module's work; return a result dict or call exit()/fail() directly."""
        raise NotImplementedError('%s must implement run()' % type(self).__name__)

    def __call__(self):
        # The one place where an API error becomes the module's failure.
        try:
            result = self.run()
        except NovaError as exc:
            return self.fail('%s API: %s' % (exc.service, exc), details=exc.details)
        except SDK_ERRORS as exc:
            return self.fail_from_sdk(exc, self.action)
        return self.exit(**(result or {}))
