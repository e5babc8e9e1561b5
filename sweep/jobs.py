"""Sweeps as Ray jobs: submit from a laptop through the Ray Jobs API, then status, logs, stop.

`sweep submit FILE` validates FILE locally (a bad spec exits 2 and nothing is sent), uploads the
project's source tree as the job's `working_dir` (without .git, .venv, results/ and other
build or cache output) and runs `sweep run` on the cluster. The spec travels as text in the
job's environment (`XSTILTS_SPEC_YAML`), not as a path, so FILE may live anywhere, even
outside the tree or in an ignored folder, and the job runs the file as it was when submitted;
`python -m sweep.submitted` (the entrypoint) writes it to a temp file and calls `sweep run` on it.
The cluster runs the entrypoint with the `python` on its PATH, which needs the project's
dependencies. Storage must be absolute or a URI: a relative one would land in the job's
unpacked copy of the tree.

The address is the cluster's dashboard URL (`--address`, else `$RAY_ADDRESS`), e.g.
`http://127.0.0.1:8265`. On a cluster with token authentication (`RAY_AUTH_MODE=token`) every
request carries `Authorization: Bearer <token>`, the token found as Ray finds it: `$RAY_AUTH_TOKEN`,
else the file `$RAY_AUTH_TOKEN_PATH`, else `~/.ray/auth_token` (unless `RAY_AUTH_MODE=disabled`).

Exit status: `status` (and `logs --follow`, once the job ends) 0 for a job that is PENDING,
RUNNING or SUCCEEDED, 1 for FAILED or STOPPED (the sweep did not finish; its finished stages
are kept and a resubmission with --resume continues); every command exits 2 for bad input or
when the cluster cannot be used: an invalid spec, no address, an unreachable address, a missing
or rejected token, an unknown job id.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sweep.errors import JobsError
from sweep.lock import check_free
from trainables.storage import Location

if TYPE_CHECKING:
    from ray.job_submission import JobDetails, JobSubmissionClient

    from sweep.spec import Spec

SPEC_ENV = "XSTILTS_SPEC_YAML"  # the submitted spec's text, in the job's environment
SPEC_NAME_ENV = "XSTILTS_SPEC_NAME"  # its file name, for the job's messages
MAX_SPEC_BYTES = 100_000  # an environment string must stay under Linux's 128 KiB limit
CONNECT_TIMEOUT_S = 10  # an address that drops packets fails in seconds, not minutes
# Never uploaded, whatever .gitignore says: Ray honours .gitignore files by default, but
# RAY_RUNTIME_ENV_IGNORE_GITIGNORE=1 or RAY_OVERRIDE_RUNTIME_ENV_DEFAULT_EXCLUDES would turn
# that (and its own .git/.venv default) off. Patterns are gitwildmatch from the tree's root.
EXCLUDES = [".git", ".venv", "venv", "__pycache__", "*.pyc", "*.egg-info", "/build", "/dist",
            ".pytest_cache", ".ruff_cache", "/results"]
# `sweep stop` works like Ctrl-C: Ray's job supervisor (which gets the job's env_vars) sends
# SIGINT instead of SIGTERM and waits before SIGKILL, so Tune saves the running experiment
# and a resubmission with --resume continues it.
STOP_LIKE_CTRL_C = {"RAY_JOB_STOP_SIGNAL": "SIGINT", "RAY_JOB_STOP_WAIT_TIME_S": "60"}
FAILED_STATUSES = {"FAILED", "STOPPED"}


def resolve_address(address: str | None) -> str:
    """The dashboard URL to talk to: `address`, else $RAY_ADDRESS, with http:// by default."""
    chosen = address or os.environ.get("RAY_ADDRESS")
    if not chosen:
        raise JobsError("no cluster address: pass --address http://HOST:8265 (the Ray "
                        "dashboard) or export RAY_ADDRESS=http://HOST:8265")
    if "://" not in chosen:
        chosen = f"http://{chosen}"
    if not chosen.startswith(("http://", "https://")):
        raise JobsError(f"{chosen}: not a dashboard URL; use http://HOST:8265 (or https://)")
    return chosen.rstrip("/")


def auth_token() -> tuple[str, str] | None:
    """The token (and where it came from) in the order Ray's own loader uses, or None."""
    if os.environ.get("RAY_AUTH_MODE", "").lower() == "disabled":
        return None
    if os.environ.get("RAY_AUTH_TOKEN", "").strip():
        return os.environ["RAY_AUTH_TOKEN"].strip(), "$RAY_AUTH_TOKEN"
    path = os.environ.get("RAY_AUTH_TOKEN_PATH")
    source = "$RAY_AUTH_TOKEN_PATH" if path else "~/.ray/auth_token"
    path = Path(path).expanduser() if path else Path.home() / ".ray" / "auth_token"
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return (token, f"{source} ({path})") if token else None


@contextmanager
def _talking_to(address: str) -> Iterator[None]:
    """Turn Ray's connection, authentication and HTTP errors into one-line JobsErrors."""
    # Lazy, as every Ray import here: Ray loads only when a command talks to a cluster.
    import aiohttp
    import requests
    from ray.exceptions import AuthenticationError

    try:
        yield
    except AuthenticationError as error:
        found = auth_token()
        if error.message.startswith("Authentication required") or found is None:
            raise JobsError(f"{address} requires a Ray auth token and none was found: set "
                            "RAY_AUTH_TOKEN, or RAY_AUTH_TOKEN_PATH, or write it to "
                            "~/.ray/auth_token") from None
        raise JobsError(f"{address} rejected the auth token from {found[1]}") from None
    except aiohttp.WSServerHandshakeError as error:
        if error.status in (401, 403):
            raise JobsError(f"{address} rejected the request (HTTP {error.status}): a missing "
                            "or wrong Ray auth token") from None
        raise JobsError(f"{address}: log stream refused (HTTP {error.status})") from None
    except (ConnectionError, requests.RequestException, aiohttp.ClientError) as error:
        raise JobsError(f"cannot reach the Ray dashboard at {address} "
                        f"({type(error).__name__}); is the cluster up and is this its "
                        "dashboard URL?") from None
    except RuntimeError as error:  # the SDK's "Request failed with status code ...: ..."
        first = (str(error).strip().splitlines() or [""])[0]
        raise JobsError(f"{address}: {first}") from None


@contextmanager
def _without_address_overrides() -> Iterator[None]:
    """Ray lets $RAY_ADDRESS / $RAY_API_SERVER_ADDRESS override the address the client is
    given; hide them while it is built, so an explicit --address wins."""
    names = ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")
    saved = {name: os.environ.pop(name) for name in names if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def connect(address: str | None) -> tuple[JobSubmissionClient, str]:
    """A Jobs API client for the cluster (its version checked), and the address used."""
    from ray.job_submission import JobSubmissionClient  # lazy: see _talking_to

    class _Client(JobSubmissionClient):
        def _do_request(self, method: str, endpoint: str, **kwargs: Any):
            # The SDK sets no timeout; bound the connect phase only (uploads may be slow).
            kwargs.setdefault("timeout", (CONNECT_TIMEOUT_S, None))
            return super()._do_request(method, endpoint, **kwargs)

    # The SDK logs each packaging step at INFO, and warns that .git and .venv are now left
    # out by default, which EXCLUDES does anyway; keep the output to what the user needs.
    for name, level in (("ray.dashboard.modules.dashboard_sdk", logging.WARNING),
                        ("ray.dashboard.modules.job.sdk", logging.WARNING),
                        ("ray._private.runtime_env.packaging", logging.WARNING),
                        ("ray._private.runtime_env.working_dir", logging.ERROR)):
        logging.getLogger(name).setLevel(level)
    url = resolve_address(address)
    found = auth_token()
    # Sent explicitly: Ray's client attaches the token only when this process itself has
    # RAY_AUTH_MODE=token, which a laptop talking to a remote cluster need not have.
    headers = {"Authorization": f"Bearer {found[0]}"} if found else {}
    with _talking_to(url), _without_address_overrides():
        return _Client(url, headers=headers), url


def project_root() -> Path:
    """The source tree this `sweep` was imported from; it is what the job runs."""
    root = Path(__file__).resolve().parent.parent
    if not (root / "pyproject.toml").is_file():
        raise JobsError(f"{root}: not a source checkout (no pyproject.toml); submit from one")
    return root


def job_request(file: str, text: str, spec: Spec, storage: str | None,
                resume: bool) -> dict[str, Any]:
    """The keyword arguments of `submit_job` for one validated spec."""
    chosen = storage or spec.storage
    # A relative storage would land in the job's unpacked working_dir copy on one node.
    if not chosen or not (chosen.startswith(("/", "~")) or "://" in chosen):
        raise JobsError(f"storage {chosen or 'results/' + spec.name!r} is relative; on a "
                        "cluster give an absolute path or a URI, with --storage or the "
                        "spec's storage field")
    if len(text.encode("utf-8")) > MAX_SPEC_BYTES:
        raise JobsError(f"{file}: larger than {MAX_SPEC_BYTES} bytes, too large to submit")
    arguments = ["--storage", storage] if storage else []
    arguments += ["--resume"] if resume else []
    return {
        "entrypoint": shlex.join(["python", "-m", "sweep.submitted", *arguments]),
        "runtime_env": {
            "working_dir": str(project_root()),
            "excludes": EXCLUDES,
            "env_vars": {SPEC_ENV: text, SPEC_NAME_ENV: Path(file).name, **STOP_LIKE_CTRL_C},
        },
        "metadata": {"sweep": spec.name, "spec_file": str(Path(file).resolve()),
                     "storage": chosen},
    }


def submit(address: str | None, file: str, spec: Spec, storage: str | None = None,
           resume: bool = False) -> tuple[str, str]:
    """Send the source tree and spec and start `sweep run` as a job: (job id, address)."""
    request = job_request(file, Path(file).read_text(encoding="utf-8"), spec, storage, resume)
    if resume:
        # A driver still running on that storage refuses the job's own run; where this
        # machine can read the storage, it is refused here, before anything is sent.
        with suppress(OSError):
            check_free(Location.parse(request["metadata"]["storage"]))
    client, url = connect(address)
    with _talking_to(url):
        return client.submit_job(**request), url


def details(address: str | None, job_id: str) -> JobDetails:
    """The job's status, message, metadata and times."""
    client, url = connect(address)
    with _talking_to(url):
        return client.get_job_info(job_id)


def status_exit_code(status: str) -> int:
    """0 for a job that is waiting, running or succeeded; 1 for one that failed or stopped."""
    return 1 if str(status) in FAILED_STATUSES else 0


def logs(address: str | None, job_id: str) -> str:
    """All the logs the job's driver has written so far."""
    client, url = connect(address)
    with _talking_to(url):
        return client.get_job_logs(job_id)


def follow(address: str | None, job_id: str) -> str:
    """Stream the job's logs to stdout until it ends; return its final status."""
    client, url = connect(address)

    async def stream() -> None:
        async for chunk in client.tail_job_logs(job_id):
            sys.stdout.write(chunk)
            sys.stdout.flush()

    with _talking_to(url):
        client.get_job_info(job_id)  # an unknown id: a clear error, not a closed socket
        asyncio.run(stream())
        return str(client.get_job_status(job_id))


def stop(address: str | None, job_id: str) -> bool:
    """Ask the job to stop; False if it was not running."""
    client, url = connect(address)
    with _talking_to(url):
        return client.stop_job(job_id)
