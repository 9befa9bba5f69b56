# -*- coding: utf-8 -*-
# Copyright: (c) 2025, cloudmaint.openstack contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:

    # The campaign identifier as the modules that check it take it, see campaign_problem() in
    # plugins/module_utils/vocabulary.py. Neither required nor defaulted here: a module where the
    # campaign is required sets `required: true` on its own `campaign` option, which Ansible merges
    # over this one.
    DOCUMENTATION = r'''
options:
  campaign:
    description:
      - Identifier of the maintenance campaign.
      - Letters, digits, V(.), V(_) and V(-), starting with a letter or digit, at most 56 characters, so that it fits
        in every notice (255 characters in all), in the compute service's disabled reason and in the keys of the
        campaign's records. Any other value fails the module before anything changes.
    type: str
'''
