# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # The maintenance policy, for every module that takes one (see CloudmaintModule.load_policy in
    # plugins/module_utils/openstack_module.py, plugins/module_utils/policy.py and docs/policy.md):
    #   extends_documentation_fragment: [cloudmaint.openstack.policy]
    DOCUMENTATION = r'''
options:
  policy:
    description:
      - The maintenance policy, usually the C(cloudmaint_policy) variable. What it leaves out comes from the
        collection's built-in defaults, so every key is optional. See C(docs/policy.md) for its keys.
      - It is validated before anything changes; a mistake fails the module with every bad key named by its path.
    type: dict
    default: {}
'''

    # The campaign's importance, for the modules that take one besides the policy:
    #   extends_documentation_fragment: [cloudmaint.openstack.policy, cloudmaint.openstack.policy.importance]
    # (Every class attribute of a doc fragment must be a plain string literal: ansible-test's yamllint reads them.)
    IMPORTANCE = r'''
options:
  importance:
    description:
      - How important it is that the work finishes. V(high) for an evacuation that must finish, V(medium) for routine
        patching, V(low) for a defragmentation that may skip servers.
      - Selects the live-migration completion policy, C(live_migration.<importance>) in O(policy), that is how long
        a live migration may run and whether it is then forced to complete, aborted or followed by the next action
        of the server's chain.
    type: str
    choices: [high, medium, low]
    default: medium
'''
