"""WSGI entry points for gunicorn.

oslo.config parses ``sys.argv``; under gunicorn that holds gunicorn's own arguments, which the
services would reject, so each entry hides them before the service's WSGI module is imported.
"""
import importlib
import sys


def _load(module):
    sys.argv = [sys.argv[0]]
    return importlib.import_module(module).application


def keystone():
    return _load("keystone.wsgi.api")


def placement():
    return _load("placement.wsgi.api")


def glance():
    return _load("glance.wsgi.api")


def nova():
    # `cloudctl fault api-error nova ...` (cmsandbox/api_faults.py); no faults file, no effect.
    from cmsandbox import api_faults
    return api_faults.wrap("nova", _load("nova.wsgi.osapi_compute"))


def network():
    from cmsandbox import netstub
    return netstub.application
