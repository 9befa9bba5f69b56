# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # Options shared by every module, see plugins/module_utils/openstack_module.py.
    DOCUMENTATION = r'''
options:
  cloud:
    description:
      - Name of a cloud in C(clouds.yaml), or a dict holding a complete connection configuration
        (the keyword arguments of C(openstack.connect()), for example C(auth), C(region_name)).
      - When a dict is given, none of the other connection options may be set.
      - Passwords, tokens and secrets in a dict (keys such as C(password), C(token),
        C(application_credential_secret), or ending in C(_password), C(_secret), C(_token)) are masked in the
        module's log (syslog or journal), results and errors; the rest of the dict is shown.
      - When omitted, openstacksdk uses the E(OS_CLOUD) environment variable or the E(OS_*) variables
        (E(OS_AUTH_URL), E(OS_USERNAME), ...). E(OS_CLIENT_CONFIG_FILE) selects the C(clouds.yaml) file.
    type: raw
  auth:
    description:
      - Authentication parameters (for example C(auth_url), C(username), C(password), C(project_name),
        C(user_domain_name), C(project_domain_name)), overriding those of the selected cloud.
      - The exact keys depend on O(auth_type).
      - Not logged; every value of the dict is masked in results and errors.
    type: dict
  auth_type:
    description:
      - Name of the keystoneauth authentication plugin, for example C(password), C(token),
        C(v3applicationcredential).
      - Defaults to what the cloud configuration says, or C(password).
    type: str
  region_name:
    description:
      - Region to use when the cloud has more than one.
    type: str
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the API endpoints.
      - When omitted, the cloud configuration decides (openstacksdk verifies by default).
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - Path of a CA bundle used to verify the API endpoints' certificates.
    type: str
    aliases: [cacert]
  client_cert:
    description:
      - Path of a client certificate for TLS client authentication.
    type: str
    aliases: [cert]
  client_key:
    description:
      - Path of the private key belonging to O(client_cert).
    type: str
    aliases: [key]
  api_timeout:
    description:
      - Timeout in seconds for a single API request.
      - When omitted, the cloud configuration decides (openstacksdk waits without limit by default).
    type: int
  interface:
    description:
      - Endpoint interface to pick from the service catalog.
      - When omitted, the cloud configuration decides (openstacksdk uses V(public) by default).
    type: str
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  sdk_log_path:
    description:
      - Path of a file to which openstacksdk writes its log. No log is written when omitted.
    type: str
  sdk_log_level:
    description:
      - Log level of the openstacksdk log written to O(sdk_log_path).
    type: str
    default: INFO
    choices: [INFO, DEBUG]
requirements:
  - python >= 3.10
  - openstacksdk >= 4.0.0, < 5.0.0
notes:
  - Connection options that are not set are not passed to openstacksdk, so C(clouds.yaml),
    E(OS_CLOUD), E(OS_CLIENT_CONFIG_FILE) and the other E(OS_*) environment variables apply as usual.
  - Options holding credentials are never logged, and text from the cloud in messages and warnings has its
    control characters escaped (C(\x1b) for ESC), so that it cannot drive the operator's terminal.
  - Every module of the collection is in the action group C(cloudmaint.openstack.openstack), so the
    connection options can be set once for a play with C(module_defaults) on
    C(group/cloudmaint.openstack.openstack).
'''
