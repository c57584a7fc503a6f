"""The novaload demo target: a realistic aiohttp service that k6 scenarios load-test on loopback.

Public API: :class:`TargetSettings`, :func:`create_app`, :func:`serve`,
:class:`TargetProcess`, :func:`is_target_running`. Run it with
``python -m novaload.target`` (or ``novaload target serve``).
"""

from novaload.target.app import SERVICE_NAME, create_app
from novaload.target.process import TargetProcess, is_target_running
from novaload.target.server import base_url, serve
from novaload.target.settings import TargetSettings

__all__ = [
    "SERVICE_NAME",
    "TargetProcess",
    "TargetSettings",
    "base_url",
    "create_app",
    "is_target_running",
    "serve",
]
