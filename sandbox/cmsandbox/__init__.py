"""The cloudmaint.openstack sandbox cloud: real OpenStack services on 127.0.0.1."""
