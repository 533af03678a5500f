"""Build hook: generate the protobuf modules when a build starts without them.

The metadata is in pyproject.toml. Generated code is not committed, so
`pip install clients/python` from a fresh clone runs generate.sh first, with
the build environment's Python (grpcio-tools is a build requirement), before
setuptools discovers the packages under src/.
"""
import os
import subprocess
import sys

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))
GENERATED = os.path.join(HERE, "src", "webhooks", "v1", "event_pb2.py")
PROTOS = os.path.join(HERE, "..", "..", "protos", "webhooks", "v1")

if not os.path.exists(GENERATED):
    if not os.path.isdir(PROTOS):
        sys.exit("webhookd-client: src/webhooks/v1 is not generated and "
                 "../../protos is missing; run clients/python/generate.sh in "
                 "a checkout of the repository")
    subprocess.check_call(["bash", os.path.join(HERE, "generate.sh")],
                          env=dict(os.environ, PYTHON=sys.executable))

setup()
