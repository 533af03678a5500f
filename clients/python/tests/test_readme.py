"""The README's example runs as printed against a fresh server configured with
the tokens the repository README shows."""
from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from support import WebhookdServer, base_config

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def readme_server():
    config = base_config()
    del config.tokens[:]
    config.tokens.add(token="admin-token-0123456789", principal="ops", roles=[1])
    config.tokens.add(token="publisher-token-0123456", principal="app", roles=[2])
    config.tokens.add(token="alice-token-0123456789", principal="alice", roles=[3])
    process = WebhookdServer(config)
    yield process
    process.stop()


def test_readme_example(readme_server):
    text = README.read_text()
    [example] = [block for block in re.findall(r"```python\n(.*?)```", text, re.DOTALL)
                 if "ADDRESS =" in block]
    code = example.replace('ADDRESS = "127.0.0.1:7443"',
                           f'ADDRESS = "{readme_server.address}"')
    assert code != example
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(README), "exec"), {"__name__": "readme_example"})
    printed = out.getvalue()
    assert "deliveries created: 1" in printed
    assert re.search(r"^delivery \S+ \{'id': 42, 'name': 'Ada'\}$", printed, re.M), printed
    assert "rejected" not in printed
    assert "StatusCode.INVALID_ARGUMENT subscription.site " in printed
