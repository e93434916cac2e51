"""The `ray up` templates are valid cluster launcher configs for the installed Ray.

Checked the way `ray up` checks them: Ray's defaults for the provider merged in, then Ray's
JSON schema. Nothing is launched and no cloud is contacted.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

TEMPLATES = Path(__file__).resolve().parents[2] / "cluster" / "templates"


@pytest.mark.parametrize("name", ["aws.yaml", "onprem.yaml"])
def test_template_passes_rays_schema(name: str) -> None:
    util = pytest.importorskip("ray.autoscaler._private.util")  # Ray's own launcher checks
    config = yaml.safe_load((TEMPLATES / name).read_text(encoding="utf-8"))
    util.validate_config(util.prepare_config(config))


@pytest.mark.parametrize("name", ["aws.yaml", "onprem.yaml"])
def test_template_keeps_token_auth_on(name: str) -> None:
    config = yaml.safe_load((TEMPLATES / name).read_text(encoding="utf-8"))
    assert "~/.ray/auth_token" in config["file_mounts"]
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        start = [c for c in config[key] if "ray start" in c]
        assert start and all("RAY_AUTH_MODE=token" in c for c in start)
    assert any("rung" in c for c in config["setup_commands"])  # workers import the trainable
