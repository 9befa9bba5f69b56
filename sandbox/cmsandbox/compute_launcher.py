"""Runs nova-compute with the simulated hypervisor driver.

Nova imports its virt driver as ``'nova.virt.' + compute_driver``, so a driver that lives outside
Nova must be registered under the ``nova.virt`` package before nova-compute's own main runs.
"""
import sys

import nova.cmd.compute  # noqa: E402  (decides the concurrency mode before anything else)
import nova.virt

from cmsandbox import simdriver

sys.modules["nova.virt.cloudmaint_sim"] = simdriver
nova.virt.cloudmaint_sim = simdriver

if __name__ == "__main__":
    nova.cmd.compute.main()
