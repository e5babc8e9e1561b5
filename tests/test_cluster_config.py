"""cluster.yaml is a `ray up` config that Ray accepts and that keeps the project's guarantees.

No cluster and no AWS: we run the checks `ray up` makes before it contacts the cloud
(ray.autoscaler._private.commands._bootstrap_config: prepare_config, then validate_config; the
AWS bootstrap starts with check_legacy_fields), plus the raw file against Ray's JSON schema.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import ray
import ray.autoscaler
import yaml
from ray._private.authentication.authentication_token_setup import _get_default_token_path
from ray.autoscaler._private.util import check_legacy_fields, prepare_config, validate_config

CLUSTER_YAML = Path(__file__).resolve().parent.parent / "cluster.yaml"
SCHEMA = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
Config = dict[str, Any]


def ray_up_checks(config: Config) -> Config:
    """Validate like `ray up` does offline; return the config with Ray's AWS defaults merged."""
    # The raw file first: merged defaults could hide a missing or mistyped field.
    jsonschema.validate(config, SCHEMA)
    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    check_legacy_fields(prepared)
    return prepared


@pytest.fixture(scope="module")
def text() -> str:
    return CLUSTER_YAML.read_text()


@pytest.fixture
def config(text: str) -> Config:
    return yaml.safe_load(text)


@pytest.fixture
def prepared(config: Config) -> Config:
    return ray_up_checks(config)


def _head(cfg: Config) -> Config:
    return cfg["available_node_types"][cfg["head_node_type"]]


def _workers(cfg: Config) -> dict[str, Config]:
    return {k: v for k, v in cfg["available_node_types"].items() if k != cfg["head_node_type"]}


def _unknown_key(c: Config) -> None:
    c["dashboard_host"] = "127.0.0.1"


def _wrong_type(c: Config) -> None:
    c["max_workers"] = "four"


def _negative_resource(c: Config) -> None:
    _head(c)["resources"]["CPU"] = -1


def _missing_head_type(c: Config) -> None:
    c["head_node_type"] = "no_such_type"


def _too_many_min_workers(c: Config) -> None:
    next(iter(_workers(c).values()))["min_workers"] = c["max_workers"] + 1


def test_ray_accepts_the_file(prepared: Config) -> None:
    """Schema, defaults and Ray's validation all pass (the fixture raises otherwise)."""
    assert prepared["provider"]["type"] == "aws"


@pytest.mark.parametrize(
    "breakage",
    [_unknown_key, _wrong_type, _negative_resource, _missing_head_type, _too_many_min_workers],
)
def test_broken_copies_are_rejected(config: Config, breakage: Callable[[Config], None]) -> None:
    """The same checks fail on a broken copy, so passing above means something."""
    breakage(config)
    with pytest.raises((jsonschema.ValidationError, ValueError)):
        ray_up_checks(config)


def test_images_match_installed_ray_and_python(prepared: Config) -> None:
    docker = prepared["docker"]
    images = [docker[k] for k in ("image", "head_image", "worker_image") if k in docker]
    images += [t["docker"]["worker_image"] for t in _workers(prepared).values()
               if "worker_image" in t.get("docker", {})]
    py = f"py{sys.version_info.major}{sys.version_info.minor}"
    assert images
    for image in images:
        assert re.fullmatch(rf"rayproject/ray:{re.escape(ray.__version__)}-{py}-(gpu|cu\d+)",
                            image), image


def test_torch_pin_matches_local_torch(prepared: Config) -> None:
    """The GPU image has no torch; nodes must train with the version the tests use."""
    local = metadata.version("torch").split("+")[0]
    pins = re.findall(r"torch==([\w.]+)", " ".join(prepared["setup_commands"]))
    assert pins == [local]


def test_head_runs_trial_drivers_only(prepared: Config) -> None:
    from sweep.preflight import TRIAL_DRIVER

    resources = _head(prepared)["resources"]
    assert resources["CPU"] == 0
    assert resources[TRIAL_DRIVER] > 0


def test_gpu_workers_autoscale_from_zero(prepared: Config) -> None:
    workers = _workers(prepared)
    assert workers
    for name, node_type in workers.items():
        assert node_type["min_workers"] == 0, name
        assert node_type["max_workers"] > 0, name
        assert node_type["resources"].get("GPU", 0) > 0, name
        assert node_type["resources"].get("CPU", 0) > 0, name


def test_every_ray_start_enables_token_auth(prepared: Config) -> None:
    """RAY_AUTH_MODE=token must reach each `ray start`; workers don't infer it from the file."""
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        starts = [c for c in prepared[key] if "ray start" in c]
        assert starts, key
        for cmd in starts:
            assert re.search(r"(?<![\w=])RAY_AUTH_MODE=token\s+(\w+=\S*\s+)*ray start\b", cmd), cmd
    assert "--env=RAY_AUTH_MODE=token" in prepared["docker"]["run_options"]


def test_no_auth_mode_other_than_token(text: str) -> None:
    assert set(re.findall(r"RAY_AUTH_MODE=(\w+)", text)) == {"token"}


def test_dashboard_is_local_only(text: str, prepared: Config) -> None:
    """Dashboard reachable only through `ray dashboard`'s SSH tunnel, also after defaults."""
    heads = [c for c in prepared["head_start_ray_commands"] if "ray start" in c]
    assert heads and all("--dashboard-host=127.0.0.1" in c for c in heads)
    assert "0.0.0.0" not in text
    assert "0.0.0.0" not in json.dumps(prepared)  # Ray's AWS defaults use 0.0.0.0


def test_token_file_is_mounted_where_ray_reads_it(prepared: Config) -> None:
    default = "~/" + str(_get_default_token_path().relative_to(Path.home()))
    assert prepared["file_mounts"].get(default) == default


def test_token_generation_command_exists(text: str) -> None:
    """The comment tells users to run `ray get-auth-token --generate`; keep it real."""
    from ray.scripts.scripts import cli

    assert "ray get-auth-token --generate" in text
    command = cli.commands["get-auth-token"]
    assert "--generate" in {opt for p in command.params for opt in p.opts}


def test_no_credentials_in_file(text: str, prepared: Config) -> None:
    assert not re.search(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b", text)  # AWS access key ids
    assert not re.search(r"aws_(secret_access_key|access_key_id|session_token)", text, re.I)
    assert "aws_credentials" not in prepared["provider"]
    assert not re.search(r"RAY_AUTH_TOKEN\s*[=:]", text)  # the token travels as a file only
    for name, node_type in prepared["available_node_types"].items():
        assert "IamInstanceProfile" in node_type["node_config"], name
