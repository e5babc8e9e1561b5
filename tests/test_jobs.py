"""`sweep submit/status/logs/stop`: fast checks of the client side, and one real Ray head with
token authentication that runs a submitted sweep (slow)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest
import requests
import yaml
from small import SMALL_DATA, SMALL_MODEL

from sweep import jobs
from sweep.cli import main

TINY = {
    "name": "jobs-tiny",
    "model": SMALL_MODEL,
    "data": SMALL_DATA,
    "intermediate_tasks": ["synth_nli"],
    "target_tasks": ["synth_xnli"],
    "retrieval_tasks": [],
    "search": {
        "intermediate": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 32,
                         "evals_per_epoch": 1},
        "target": {"intermediate": ["none", "synth_nli"], "epochs": 1, "batch_size": 32,
                   "learning_rate": {"choice": [3e-3]}, "evals_per_epoch": 1},
    },
    "scheduler": {"type": "fifo"},
    "searcher": {"type": "grid"},
    "resources": {"workers_per_trial": 1, "max_concurrent_trials": 1},
    "evaluation": {"full_table": True, "splits": ["test"], "languages": ["en", "de"]},
}


def write_spec(folder: Path, **changes) -> Path:
    path = folder / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, **changes}))
    return path


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def clean_env(monkeypatch):
    """No address or token settings leaking in from the shell that runs the tests."""
    for name in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS", "RAY_AUTH_TOKEN",
                 "RAY_AUTH_TOKEN_PATH", "RAY_AUTH_MODE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the cluster was contacted")

    monkeypatch.setattr(jobs, "connect", refuse)


# -- fast: nothing sent, or a closed port -------------------------------------------------------

def test_bad_spec_exits_2_before_anything_is_sent(tmp_path, clean_env, no_network, capsys):
    bad = write_spec(tmp_path, target_tasks=["xnli_typo"])
    assert main(["submit", str(bad), "--address", "http://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "invalid search space" in err and "target_tasks[0]: got 'xnli_typo'" in err


def test_relative_storage_is_refused(tmp_path, clean_env, no_network, capsys):
    spec = write_spec(tmp_path)  # no storage: the default results/<name> is relative
    assert main(["submit", str(spec), "--address", "http://127.0.0.1:9"]) == 2
    assert "relative" in capsys.readouterr().err
    assert main(["submit", str(spec), "--address", "http://127.0.0.1:9",
                 "--storage", "runs/x"]) == 2


@pytest.mark.parametrize("command", ["submit", "status", "logs", "stop"])
def test_missing_address_exits_2(command, tmp_path, clean_env, capsys):
    target = str(write_spec(tmp_path, storage="/tmp/x")) if command == "submit" else "job1"
    assert main([command, target]) == 2
    assert "RAY_ADDRESS" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["submit", "status", "logs", "stop"])
def test_unreachable_address_is_one_line_and_fast(command, tmp_path, clean_env, capsys):
    target = str(write_spec(tmp_path, storage="/tmp/x")) if command == "submit" else "job1"
    address = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    assert main([command, target, "--address", address]) == 2
    assert time.monotonic() - started < 10
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot reach the Ray dashboard at {address}")
    assert len(err.strip().splitlines()) == 1


def test_address_comes_from_ray_address(clean_env, capsys):
    port = closed_port()
    clean_env.setenv("RAY_ADDRESS", f"127.0.0.1:{port}")  # no scheme: http
    assert main(["status", "job1"]) == 2
    assert f"http://127.0.0.1:{port}" in capsys.readouterr().err
    clean_env.setenv("RAY_ADDRESS", "ray://127.0.0.1:10001")
    assert main(["status", "job1"]) == 2
    assert "not a dashboard URL" in capsys.readouterr().err


def test_token_is_found_where_ray_looks(tmp_path, clean_env):
    clean_env.setenv("HOME", str(tmp_path))
    assert jobs.auth_token() is None
    (tmp_path / ".ray").mkdir()
    (tmp_path / ".ray" / "auth_token").write_text("from-home\n")
    assert jobs.auth_token()[0] == "from-home"
    (tmp_path / "other").write_text("from-path")
    clean_env.setenv("RAY_AUTH_TOKEN_PATH", str(tmp_path / "other"))
    assert jobs.auth_token()[0] == "from-path"
    clean_env.setenv("RAY_AUTH_TOKEN", "from-env")
    assert jobs.auth_token() == ("from-env", "$RAY_AUTH_TOKEN")
    clean_env.setenv("RAY_AUTH_MODE", "disabled")
    assert jobs.auth_token() is None


def test_job_request_carries_the_spec_text(tmp_path):
    from sweep.spec import load_spec

    path = write_spec(tmp_path)
    text = path.read_text()
    request = jobs.job_request(str(path), text, load_spec(path), "/tmp/my runs/a", True)
    assert request["entrypoint"] == ("python -m sweep.submitted "
                                     "--storage '/tmp/my runs/a' --resume")
    env = request["runtime_env"]
    assert env["env_vars"] == {jobs.SPEC_ENV: text, jobs.SPEC_NAME_ENV: "tiny.yaml",
                               **jobs.STOP_LIKE_CTRL_C}
    assert Path(env["working_dir"], "sweep", "jobs.py").is_file()
    assert request["metadata"]["storage"] == "/tmp/my runs/a"


def test_upload_leaves_out_ignored_and_build_files(tmp_path):
    """EXCLUDES alone keep .git, .venv, results/ and caches out, even with Ray's own
    .gitignore handling and default excludes switched off."""
    from ray._private.runtime_env.packaging import create_package

    package = tmp_path / "package.zip"
    create_package(str(jobs.project_root()), package, include_gitignore=False,
                   excludes=jobs.EXCLUDES)
    names = zipfile.ZipFile(package).namelist()
    assert "sweep/jobs.py" in names and "pyproject.toml" in names
    top = {name.split("/")[0] for name in names}
    assert not top & {".git", ".venv", "results", ".pytest_cache", ".ruff_cache"}
    assert not [name for name in names if "__pycache__" in name or ".egg-info" in name]


def test_job_side_entrypoint_runs_the_submitted_text(tmp_path, monkeypatch, capsys):
    from sweep.submitted import run_submitted

    monkeypatch.delenv(jobs.SPEC_ENV, raising=False)
    assert run_submitted([]) == 2
    monkeypatch.setenv(jobs.SPEC_ENV, yaml.safe_dump({**TINY, "target_tasks": ["nope"]}))
    monkeypatch.setenv(jobs.SPEC_NAME_ENV, "mine.yaml")
    assert run_submitted(["--storage", str(tmp_path / "run")]) == 2
    assert "mine.yaml: invalid search space" in capsys.readouterr().err


# -- slow: a real head with token authentication ------------------------------------------------

def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def free_range(size: int) -> int:
    """The first port of `size` free ones, below Linux's ephemeral range."""
    for base in range(20_000 + secrets.randbelow(100) * 100, 32_000, 500):
        sockets = []
        try:
            for port in range(base, base + size):
                sockets.append(socket.socket())
                sockets[-1].bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError("no free port range")


def process_tree(root: int) -> set[int]:
    """`root` and all its descendants, from /proc."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        tree.update(children)
        frontier = children
    return tree


def running(pids: set[int]) -> list[str]:
    """`ps` lines of those of `pids` that still run (zombies count as gone)."""
    table = subprocess.run(["ps", "-eo", "pid=,stat=,args="], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    return [line for line in table
            if int(line.split()[0]) in pids and not line.split()[1].startswith("Z")]


def stop_head(process: subprocess.Popen, temp_dir: str) -> None:
    """Stop the head and everything it started, by PID; never `ray stop`, which would end
    every Ray on the machine. SIGTERM to `ray start` shuts the node down (seconds); then
    SIGTERM and SIGKILL whatever it left (workers run in process groups of their own)."""
    started = process_tree(process.pid)
    process.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=60)
    for signum in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)  # its own session: only processes it started
        for line in running(started):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(line.split()[0]), signum)
        deadline = time.monotonic() + 10
        while running(started) and time.monotonic() < deadline:
            time.sleep(0.5)
    process.wait(timeout=10)
    assert not running(started)
    leftovers = subprocess.run(["ps", "-eo", "args="], capture_output=True, text=True).stdout
    assert temp_dir not in leftovers  # no gcs_server, raylet or agent of this head


@pytest.fixture(scope="module")
def head():
    """A real Ray head (`ray start --head --block`) with token auth, on ports of its own."""
    token_file = Path.home() / ".ray" / "auth_token"  # the test session's temp HOME
    if not token_file.is_file():
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(secrets.token_hex(32))
    temp_dir = tempfile.mkdtemp(prefix="xs-job-", dir="/tmp")  # short: socket paths
    (gcs, dashboard, client, agent, agent_grpc, runtime_env, metrics, node_manager,
     object_manager) = free_ports(9)
    workers = free_range(200)
    venv_bin = str(Path(sys.executable).parent)
    env = {key: value for key, value in os.environ.items()
           if key not in ("RAY_ADDRESS", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")}
    env.update(RAY_AUTH_MODE="token", PATH=f"{venv_bin}:{env.get('PATH', '')}",
               XSTILTS_CACHE=os.environ["XSTILTS_CACHE"],
               # On SIGTERM `ray start` drains the node for up to 30 s, and after a job
               # something it leaves keeps the node busy that long; a test head needs none.
               RAY_GRACEFUL_SHUTDOWN_DRAIN_TIMEOUT_S="0")
    command = [
        f"{venv_bin}/ray", "start", "--head", "--block", "--disable-usage-stats",
        "--node-ip-address=127.0.0.1", f"--port={gcs}", "--dashboard-host=127.0.0.1",
        f"--dashboard-port={dashboard}", f"--temp-dir={temp_dir}", "--num-cpus=2",
        '--resources={"trial_driver": 1}', f"--ray-client-server-port={client}",
        f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={runtime_env}", f"--metrics-export-port={metrics}",
        f"--node-manager-port={node_manager}", f"--object-manager-port={object_manager}",
        f"--min-worker-port={workers}", f"--max-worker-port={workers + 199}",
    ]
    log_path = Path(temp_dir) / "head.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    url = f"http://127.0.0.1:{dashboard}"
    try:
        headers = {"Authorization": f"Bearer {token_file.read_text().strip()}"}
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"ray start exited:\n{log_path.read_text()}"
            assert time.monotonic() < deadline, f"head not up:\n{log_path.read_text()}"
            try:
                if requests.get(f"{url}/api/jobs/", headers=headers, timeout=5).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        yield url
    finally:
        stop_head(process, temp_dir)
        shutil.rmtree(temp_dir, ignore_errors=True)


def wait_for_end(url: str, job_id: str, timeout: float = 300):
    deadline = time.monotonic() + timeout
    info = jobs.details(url, job_id)
    while not info.status.is_terminal() and time.monotonic() < deadline:
        time.sleep(2)
        info = jobs.details(url, job_id)
    return info


def submit(capsys, *argv: str) -> str:
    """`sweep submit ...` in-process; the job id it prints."""
    capsys.readouterr()
    assert main(["submit", *argv]) == 0, capsys.readouterr().err
    return capsys.readouterr().out.strip()


@pytest.mark.slow
def test_head_rejects_requests_without_the_token(head, tmp_path, clean_env, capsys):
    assert requests.get(f"{head}/api/jobs/", timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer " + "0" * 64}
    assert requests.get(f"{head}/api/jobs/", headers=wrong, timeout=10).status_code == 403
    clean_env.setenv("RAY_AUTH_TOKEN", "0" * 64)
    assert main(["status", "job1", "--address", head]) == 2
    assert capsys.readouterr().err.strip() == (
        f"error: {head} rejected the auth token from $RAY_AUTH_TOKEN")
    # No token at all: a fresh process, because once this one has run ray.init (other tests),
    # Ray's own client attaches the token it cached.
    env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
    env["HOME"] = str(tmp_path)  # no ~/.ray/auth_token there
    refused = subprocess.run([sys.executable, "-m", "sweep", "status", "job1", "--address", head],
                             env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "requires a Ray auth token and none was found" in refused.stderr


def wait_for_log(url: str, job_id: str, text: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while text not in jobs.logs(url, job_id):
        assert time.monotonic() < deadline, jobs.logs(url, job_id)
        time.sleep(1)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:ssl=None is deprecated:DeprecationWarning")  # Ray's SDK
def test_submit_stop_resume_and_read_back(head, tmp_path, clean_env, capsys):
    storage = tmp_path / "run"
    spec = write_spec(tmp_path)  # outside the uploaded tree: the spec travels as text
    # An explicit --address wins over $RAY_ADDRESS, which Ray's client would otherwise prefer.
    clean_env.setenv("RAY_ADDRESS", f"http://127.0.0.1:{closed_port()}")
    first = submit(capsys, str(spec), "--address", head, "--storage", str(storage))
    assert first.startswith("raysubmit_")
    clean_env.setenv("RAY_ADDRESS", head)

    # `sweep stop` mid-stage works like Ctrl-C: sweep run saves the experiment and says so.
    wait_for_log(head, first, "[intermediate/synth_nli]")
    assert main(["stop", first]) == 0
    assert "stop requested" in capsys.readouterr().out
    assert str(wait_for_end(head, first, 120).status) == "STOPPED"
    assert main(["status", first]) == 1
    assert f"{first}: STOPPED" in capsys.readouterr().out
    assert "interrupted:" in jobs.logs(head, first)

    # The same storage without --resume: refused (the job fails; status exits 1) ...
    refused = submit(capsys, str(spec), "--storage", str(storage))
    assert str(wait_for_end(head, refused, 120).status) == "FAILED"
    assert main(["status", refused]) == 1
    assert "--resume" in jobs.logs(head, refused)

    # ... with --resume, the interrupted sweep is finished.
    resumed = submit(capsys, str(spec), "--storage", str(storage), "--resume")
    info = wait_for_end(head, resumed)
    assert str(info.status) == "SUCCEEDED", jobs.logs(head, resumed)
    assert main(["status", resumed]) == 0
    out = capsys.readouterr().out
    assert f"{resumed}: SUCCEEDED" in out and f"sweep results {storage}" in out
    assert main(["logs", resumed]) == 0
    assert "sweep 'jobs-tiny' done" in capsys.readouterr().out
    assert main(["logs", resumed, "--follow"]) == 0  # a finished job: all of it, then exit
    assert "sweep 'jobs-tiny' done" in capsys.readouterr().out
    assert main(["stop", resumed]) == 0
    assert "not running" in capsys.readouterr().out

    # Read back on this side, with no cluster involved.
    assert main(["results", str(storage)]) == 0
    table = capsys.readouterr().out
    assert "intermediate task x target task" in table and "synth_xnli" in table
    assert "synth_nli" in table and "none" in table
